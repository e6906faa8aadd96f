#!/usr/bin/env python3
"""The daemon's own log (issue 17 item 5), against a real daemon: priority
prefixes when stderr is the journal, the client's address on a wrong
token, and at debug level one line per request (method, msgid, outcome,
latency) without patient facts.

usage: test_logs.py [CASE...]     (needs SUITD_BIN)
"""
import os
import re
import signal
import subprocess
import tempfile
import time

import suitlib
from suitlib import case

TOKEN = "s3cret-token-0123456789abcdef"


def spawn(args, journal):
    """suitd serve with stderr in a file; with journal, JOURNAL_STREAM names
    that file as systemd does for the journal's stream."""
    tmp = tempfile.mkdtemp(prefix="suitd-logs-")
    log = os.path.join(tmp, "stderr")
    f = open(log, "wb")
    env = dict(os.environ)
    st = os.fstat(f.fileno())
    if journal:
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    else:
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino + 1)  # some other file
    sock = os.path.join(tmp, "suitd.sock")
    p = subprocess.Popen([suitlib.suitd_bin(), "serve", "--socket", sock, "--rules",
                          suitlib.RULES] + args, stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                         env=env)
    f.close()

    def text():
        with open(log, "rb") as g:
            return g.read().decode("utf-8", "replace")
    suitlib.wait_until(lambda: "ready" in text() or p.poll() is not None, 60, what="ready")
    return p, sock, text, tmp


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None


@case
def journal_priorities():
    """With stderr the journal: <N> prefixes, no "suitd:"; a refused
    reload is <3> (journalctl -p err finds it)."""
    with tempfile.TemporaryDirectory() as t:
        rules = suitlib.copy_rules(t)
        p, sock, text, tmp = spawn(["--listen", "none", "--rules", rules], journal=True)
        try:
            with open(os.path.join(rules, "candidacy.clp"), "a") as f:
                f.write("\n(defrule hostile-broken (condition (name x)) =>\n")
            with suitlib.Client.unix(sock, timeout=120) as c:
                err, _ = c.call_raw("reload")
                assert err is not None, "the broken ruleset was taken"
            assert stop(p) == 0
            lines = text().splitlines()
        finally:
            if p.poll() is None:
                p.kill()
        assert lines and all(re.match(r"<[3467]>", l) for l in lines), lines
        assert not any("suitd:" in l for l in lines), lines
        assert any(l.startswith("<6>ready") for l in lines), lines
        assert any(l.startswith("<6>listening on unix:") for l in lines), lines
        assert any(l.startswith("<3>") and "reload" in l for l in lines), lines


@case
def not_journal_keeps_the_plain_format():
    p, sock, text, tmp = spawn(["--listen", "none"], journal=False)
    try:
        assert stop(p) == 0
        t = text()
    finally:
        if p.poll() is None:
            p.kill()
    assert "suitd: ready" in t and "<6>" not in t, t


@case
def wrong_token_logs_the_peer_address():
    with tempfile.TemporaryDirectory() as t:
        tok = os.path.join(t, "token")
        fd = os.open(tok, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, TOKEN.encode())
        os.close(fd)
        with suitlib.Daemon(args=["--token-file", tok]) as d:
            d.start()
            with d.tcp() as c:
                err, _ = c.call_raw("auth", ["wrong"])
                assert err is not None
                port = c.sock.getsockname()[1]
            suitlib.wait_until(lambda: "wrong token" in d.log_text(), 10, what="the warning")
            log = d.log_text()
            d.stop()
        assert "wrong token from 127.0.0.1:%d on tcp:" % port in log, log
        assert TOKEN not in log and "wrong\n" not in log


@case
def debug_logs_one_line_per_request():
    """--log-level debug: ping, assess (ok, invalid), stats, an unknown
    method, a refused admin method each get one line with method, msgid,
    outcome and latency; no patient fact appears."""
    with suitlib.Daemon(args=["--log-level", "debug"]) as d:
        d.start()
        with d.unix() as c:
            c.call("ping")                                          # msgid 1
            c.assess()                                              # 2
            bad = dict(suitlib.PATIENT, medications=[{"name": suitlib.MARKER_MED,
                                                      "days_since_last_dose": "x"}])
            c.call_raw("assess", [bad])                             # 3
            c.call("stats")                                         # 4
            c.call_raw("zz" + suitlib.MARKER_MED)                   # 5
        with d.tcp() as c:
            c.call_raw("reload")                                    # 1 on TCP
        suitlib.wait_until(lambda: "reload msgid 1:" in d.log_text(), 10, what="lines")
        log = d.log_text()
        d.stop()
    req = [l for l in log.splitlines() if re.search(r" msgid \d+: (ok|error) ", l)]
    want = [r"ping msgid 1: ok \(\d+\.\d{3} ms\)",
            r"assess msgid 2: ok \(\d+\.\d{3} ms\)",
            r"assess msgid 3: error -32602 [a-z ]+ \(\d+\.\d{3} ms\)",
            r"stats msgid 4: ok \(",
            r"\(unknown method\) msgid 5: error -32601 ",
            r"reload msgid 1: error -32005 "]
    for w in want:
        assert sum(1 for l in req if re.search(w, l)) == 1, "no single line /%s/ in:\n%s" % (
            w, "\n".join(req))
    assert len(req) == len(want), "\n".join(req)
    assert suitlib.MARKER_MED not in log, "a patient fact (or the method name) is logged"


if __name__ == "__main__":
    suitlib.run("logs")
