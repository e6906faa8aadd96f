#!/usr/bin/env python3
"""Security promises, against a real daemon: admin methods only on the Unix
socket; the Unix socket is 0660; TCP on a non-loopback address only with a
token; with a token, nothing before `auth`, a wrong token refused (one
guess per connection); patient facts absent from the logs and the decision
log by default, present only with --log-facts; privileges dropped with
--user when started as root.

usage: test_security.py [CASE...]     (needs SUITD_BIN)
"""
import os
import pwd
import stat
import subprocess
import tempfile

import suitlib
from suitlib import case

TOKEN = "s3cret-token-0123456789abcdef"


def non_loopback_ipv4():
    """An address of this machine that is not loopback (eth0's), else the
    wildcard, which is not loopback either."""
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                             capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            parts = line.split()
            if "inet" in parts:
                return parts[parts.index("inet") + 1].split("/")[0]
    except (OSError, subprocess.SubprocessError):
        pass
    return "0.0.0.0"


@case
def reload_refused_on_tcp_allowed_on_unix():
    with suitlib.Daemon() as d:
        d.start()
        with d.tcp() as c:
            err, _ = c.call_raw("reload")
            assert err is not None and err["code"] == -32005, err
            assert "Unix socket" in err["message"], err
            # The connection still works for ordinary methods.
            suitlib.check_answer(c.assess())
        with d.unix(timeout=120) as c:
            res = c.call("reload")
            assert res, res


@case
def unix_socket_mode_0660():
    with suitlib.Daemon() as d:
        d.start()
        mode = stat.S_IMODE(os.stat(d.sock).st_mode)
        assert mode == 0o660, "socket mode %o, expected 660" % mode


@case
def non_loopback_without_token_refuses_to_start():
    for addr in (non_loopback_ipv4(), "0.0.0.0"):
        d = suitlib.Daemon(listen=addr + ":0")
        try:
            d.start(expect_ready=False)
            rc = d.wait_exit(30)
            log = d.log_text()
            assert rc is not None and rc != 0, "suitd listened on %s without a token" % addr
            assert "without a token" in log and "--token-file" in log, log
            assert "ready" not in log
        finally:
            d.close()


def write_token(dirpath, text):
    path = os.path.join(dirpath, "token")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


@case
def token_required_before_anything_and_checked():
    addr = non_loopback_ipv4()
    with tempfile.TemporaryDirectory() as tmp:
        tok = write_token(tmp, TOKEN + "\n")
        with suitlib.Daemon(listen=addr + ":0",
                            args=["--listen", "127.0.0.1:0", "--token-file", tok]) as d:
            d.start()
            hosts = sorted(h for h, _ in d.tcp_addrs)
            assert hosts == sorted([addr, "127.0.0.1"]), d.tcp_addrs
            # With a token configured, loopback TCP needs it too (it is open
            # to every local user, unlike the 0660 Unix socket).
            lo = [a for a in d.tcp_addrs if a[0] == "127.0.0.1"][0]
            with suitlib.Client.tcp(*lo) as c:
                err, _ = c.call_raw("assess", [suitlib.PATIENT])
                assert err is not None and err["code"] == -32005, err
                assert c.call("auth", [TOKEN]) is True
                suitlib.check_answer(c.assess())
            d.tcp_host, d.port = [a for a in d.tcp_addrs if a[0] == addr][0]
            # Before auth: every method is refused (one connection each:
            # the third refused request closes a connection, see
            # test_hostile.py).
            for m, p in (("ping", []), ("assess", [suitlib.PATIENT]), ("stats", []),
                         ("ruleset", []), ("reload", [])):
                with d.tcp() as c:
                    err, res = c.call_raw(m, p)
                    assert err is not None and err["code"] == -32005, (m, err)
                    assert res is None
            with d.tcp() as c:
                err, _ = c.call_raw("ping")
                assert err is not None and err["code"] == -32005, err
                # Then the right token opens it.
                assert c.call("auth", [TOKEN]) is True
                suitlib.check_answer(c.assess())
                # Still no admin over TCP, token or not.
                err, _ = c.call_raw("reload")
                assert err is not None and err["code"] == -32005, err
            # Wrong tokens, including a prefix, the token plus one byte, one
            # wrong last byte and an empty one: refused and the connection
            # closed (one guess per connection).
            for guess in (TOKEN[:-1], TOKEN + "x", TOKEN[:-1] + "g", "", "x" * 2000):
                with d.tcp() as c:
                    err, _ = c.call_raw("auth", [guess])
                    assert err is not None and err["code"] == -32005, (guess, err)
                    try:
                        err2, res2 = c.call_raw("ping")
                        raise AssertionError("still open after a wrong token: %r" % ((err2, res2),))
                    except (EOFError, ConnectionResetError, BrokenPipeError):
                        pass
            # Malformed auth params: an error, not a crash.
            with d.tcp() as c:
                err, _ = c.call_raw("auth", [123])
                assert err is not None and err["code"] in (-32602, -32005), err
            # The Unix socket needs no token (its file mode guards it).
            with d.unix() as c:
                suitlib.check_answer(c.assess())
                st = c.call("stats")
            assert st["dropped"]["auth"] >= 5, st["dropped"]
            assert TOKEN not in d.log_text(), "the token was logged"


@case
def token_file_empty_refuses_to_start():
    with tempfile.TemporaryDirectory() as tmp:
        tok = write_token(tmp, "\n")
        d = suitlib.Daemon(listen="0.0.0.0:0", args=["--token-file", tok])
        try:
            d.start(expect_ready=False)
            rc = d.wait_exit(30)
            assert rc is not None and rc != 0, "started with an empty token"
            assert "empty token" in d.log_text(), d.log_text()
        finally:
            d.close()


def facts_run(extra_args):
    """Assess a valid patient and three invalid ones, each carrying the
    marker medication name, at --log-level debug with a decision log;
    returns (stderr log, decision log)."""
    m = suitlib.MARKER_MED
    with tempfile.TemporaryDirectory() as tmp:
        dlog = os.path.join(tmp, "decisions.jsonl")
        with suitlib.Daemon(args=["--log-level", "debug", "--decision-log", dlog] + extra_args) as d:
            d.start()
            with d.unix() as c:
                p = dict(suitlib.PATIENT, medications=[{"name": m, "days_since_last_dose": 3}])
                err, res = c.call_raw("assess", [p, {"explain": True}])
                assert err is None, err
                bad = [dict(suitlib.PATIENT, medications=[{"name": m, "days_since_last_dose": "x"}]),
                       dict(suitlib.PATIENT, **{m: 1}),
                       dict(suitlib.PATIENT, area=m),
                       dict(suitlib.PATIENT, conditions=[{"name": m, "days_ago": -5}])]
                for b in bad:
                    err, _ = c.call_raw("assess", [b])
                    assert err is not None and err["code"] == -32602, err
            with d.tcp() as c:
                c.call_raw("assess", [dict(suitlib.PATIENT, area=m)])
            assert d.stop() == 0
            with open(dlog) as f:
                return d.log_text(), f.read()


@case
def patient_facts_not_logged_by_default():
    log, dlog = facts_run([])
    assert dlog.strip(), "the decision log is empty"
    assert suitlib.MARKER_MED not in log, "a patient fact is in the log:\n" + log
    assert suitlib.MARKER_MED not in dlog, "a patient fact is in the decision log:\n" + dlog
    # Nor other facts as fields (finding ids such as needle-depth-cheeks
    # are the decision, not input, and are expected there).
    for key in ('"age"', '"area"', '"medications"', '"pregnant"', '"patient"'):
        assert key not in dlog, "%s in the decision log: %s" % (key, dlog)


@case
def patient_facts_logged_only_with_log_facts():
    log, dlog = facts_run(["--log-facts"])
    assert "--log-facts" in log, "no warning that facts may be logged"
    assert suitlib.MARKER_MED in log, "--log-facts did not log the facts:\n" + log
    assert suitlib.MARKER_MED not in dlog, "--log-facts put a fact in the decision log"


@case
def privileges_dropped_with_user():
    if os.geteuid() != 0:
        return "not root"
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        return "no user nobody"
    tmp = tempfile.mkdtemp(prefix="suitd-priv-")
    os.chmod(tmp, 0o755)
    with suitlib.Daemon(tmpdir=tmp, args=["--user", "nobody"]) as d:
        d.own_dir = True
        d.start()
        uids = d.status_field("Uid").split()
        gids = d.status_field("Gid").split()
        assert all(int(u) == nobody.pw_uid for u in uids), "Uid: %s" % uids
        assert all(int(g) == nobody.pw_gid for g in gids), "Gid: %s" % gids
        assert os.stat(d.sock).st_uid == nobody.pw_uid, "socket not handed to nobody"
        assert "running as nobody" in d.log_text()
        with d.unix() as c:
            suitlib.check_answer(c.assess())
        with d.tcp() as c:
            suitlib.check_answer(c.assess())


@case
def root_without_user_refused():
    """Started as root without --user the daemon refuses to start and says
    how to fix it; SUITD_ALLOW_ROOT=1 (what these test rigs set) insists,
    with a warning.  The systemd unit uses DynamicUser= instead."""
    if os.geteuid() != 0:
        return "not root"
    env = dict(os.environ)
    env.pop("SUITD_ALLOW_ROOT", None)
    with suitlib.Daemon(env=env) as d:
        d.start(expect_ready=False)
        rc = d.wait_exit(20)
        assert rc == 2, "exit status %r, log: %s" % (rc, d.log_text())
        assert "refusing to run as root" in d.log_text(), d.log_text()
        assert "--user NAME" in d.log_text(), d.log_text()
        assert not os.path.exists(d.sock), "a refused daemon left its socket"
    env["SUITD_ALLOW_ROOT"] = "1"
    with suitlib.Daemon(env=env) as d:
        d.start()
        assert "SUITD_ALLOW_ROOT=1: running as root" in d.log_text(), d.log_text()


if __name__ == "__main__":
    suitlib.run("fault_security")
