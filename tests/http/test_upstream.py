#!/usr/bin/env python3
"""suit-httpd and the suitd behind it: suitd stopped and restarted under
the gateway (503 with Retry-After, /readyz 503 with the reason, then
recovery without restarting the gateway), a gateway started before suitd,
suitd overloaded (503, Retry-After), suitd's timeout and a suitd that
never answers (504), suitd over TCP with its token, and the gateway
refusing to start with a bad suitd token file.

usage: test_upstream.py [CASE...]     (needs SUITD_BIN and SUIT_HTTPD_BIN)
"""
import os
import socket
import threading
import time

import httpdlib
import suitlib
from httpdlib import Gateway, Stack, case

SLOW_PATIENT = {"age": 30, "pregnant": False, "breastfeeding": False, "fitzpatrick": 2,
                "area": "face", "indication": "fine-lines"}


def slow(n):
    """A patient of the contract ruleset whose rule loops n thousand times."""
    return dict(SLOW_PATIENT, conditions=[{"name": "slow", "days_ago": n}])


def unavailable(st, h, res):
    assert st == 503, (st, res)
    assert h.get("retry-after") == "1", h
    assert res["error"]["code"] == -32603 and "retry later" in res["error"]["message"], res


@case
def suitd_stopped_and_restarted_under_the_gateway():
    with Stack(httpd_args=["--threads", "2"]).start() as s:
        g = s.httpd
        conn = g.conn()     # one kept-alive client across the outage
        for _ in range(4):
            st, _, res = g.assess(conn=conn)
            assert st == 200, (st, res)
        assert s.suitd.stop() == 0
        for _ in range(4):
            unavailable(*g.assess(conn=conn))
            unavailable(*g.assess())
        st, h, ready = g.json("GET", "/readyz")
        assert st == 503 and ready["ready"] is False, (st, ready)
        assert "unreachable" in ready["reason"] and s.suitd.sock in ready["reason"], ready
        assert h.get("retry-after") == "1", h
        st, _, body = g.json("GET", "/healthz")
        assert st == 200, "liveness must not depend on suitd"
        text = g.metrics()
        assert httpdlib.metric_value(text, "suit_httpd_suitd_up") == 0, text
        assert "suitd_requests_total" not in text
        assert httpdlib.metric_value(text, "suit_httpd_suitd_errors_total",
                                     {"reason": "unreachable"}) >= 8
        verdict = httpdlib.promtool_check(text)
        assert verdict in (None, "absent"), verdict

        # The same socket again: every thread's connection comes back.
        s.start_suitd_again()
        pid = g.proc.pid
        for _ in range(8):
            st, _, res = g.assess(conn=conn)
            assert st == 200 and res["verdict"] == "defer", (st, res)
            st, _, res = g.assess()
            assert st == 200, (st, res)
        st, _, ready = g.json("GET", "/readyz")
        assert st == 200 and ready["ready"] is True, ready
        assert g.alive() and g.proc.pid == pid
        text = g.metrics()
        assert httpdlib.metric_value(text, "suit_httpd_suitd_up") == 1
        conn.close()
        assert "suitd is unreachable" in g.log_text(), "the outage was not logged"


@case
def restart_between_calls_is_invisible():
    """suitd restarted while the gateway's connections sit idle: the next
    calls find them dead and go again on new ones, so clients see no
    error at all."""
    with Stack(httpd_args=["--threads", "1"]).start() as s:
        g = s.httpd
        assert g.assess()[0] == 200
        assert s.suitd.stop() == 0
        s.start_suitd_again()
        for _ in range(5):
            st, _, res = g.assess()
            assert st == 200, (st, res)
        text = g.metrics()
        assert httpdlib.metric_value(text, "suit_httpd_suitd_connects_total") >= 2


@case
def gateway_started_before_suitd():
    with Stack(start_suitd=False) as s:
        s.httpd.start()
        g = s.httpd
        assert "suitd does not answer yet" in g.log_text(), g.log_text()
        st, _, ready = g.json("GET", "/readyz")
        assert st == 503 and not ready["ready"], ready
        unavailable(*g.assess())
        s.suitd.start()
        st, _, ready = g.json("GET", "/readyz")
        assert st == 200, ready
        assert g.assess()[0] == 200


@case
def suitd_overloaded_is_503_with_retry_after():
    args = ["--workers", "1", "--max-queue", "1", "--rule-deadline", "20000"]
    with Stack(suitd_args=args, rules=httpdlib.CONTRACT_RULES,
               httpd_args=["--threads", "8"]).start() as s:
        g = s.httpd
        results = []
        lock = threading.Lock()

        def one():
            r = g.assess(slow(300))
            with lock:
                results.append(r)
        ts = [threading.Thread(target=one) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        codes = sorted(r[0] for r in results)
        assert len(codes) == 8 and 200 in codes and 503 in codes, codes
        for st, h, res in results:
            if st == 503:
                assert res["error"]["code"] == -32002, res
                assert h["retry-after"] == "1", h
            else:
                assert st == 200, (st, res)
        text = g.metrics()
        assert httpdlib.metric_value(text, "suit_httpd_suitd_errors_total",
                                     {"reason": "overloaded"}) == codes.count(503)
        # and it recovers
        assert g.assess(SLOW_PATIENT)[0] == 200


@case
def suitd_timeout_is_504():
    args = ["--request-timeout", "100", "--rule-deadline", "20000", "--workers", "1"]
    with Stack(suitd_args=args, rules=httpdlib.CONTRACT_RULES).start() as s:
        st, _, res = s.httpd.assess(slow(20000))
        assert st == 504 and res["error"]["code"] == -32003, (st, res)
        text = s.httpd.metrics()
        assert httpdlib.metric_value(text, "suit_httpd_suitd_errors_total",
                                     {"reason": "timeout"}) == 1


@case
def suitd_that_never_answers_is_504():
    """A listener that accepts and never says a word: the gateway gives up
    after suitd_timeout, answers 504, and does not reuse that connection."""
    with Stack(start_suitd=False, httpd_args=["--suitd-timeout", "400", "--threads", "1"]) as s:
        path = s.suitd.sock
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(path)
        ls.listen(16)
        held = []
        stop = threading.Event()

        def accept():
            ls.settimeout(0.2)
            while not stop.is_set():
                try:
                    c, _ = ls.accept()
                    held.append(c)
                except socket.timeout:
                    pass
        t = threading.Thread(target=accept)
        t.start()
        try:
            s.httpd.start()
            t0 = time.time()
            st, _, res = s.httpd.assess()
            took = time.time() - t0
            assert st == 504 and res["error"]["code"] == -32003, (st, res)
            assert 0.3 < took < 3, took
            st, _, res = s.httpd.assess()
            assert st == 504, (st, res)
            # each timed-out connection was dropped, not reused
            assert len(held) >= 3, len(held)     # the start-up probe, and one per call
        finally:
            stop.set()
            t.join()
            for c in held:
                c.close()
            ls.close()


@case
def suitd_over_tcp_with_its_token():
    d = suitlib.Daemon(listen="127.0.0.1:0")
    tok = os.path.join(d.dir, "suitd.token")
    with open(tok, "w") as f:
        f.write("s3cret-suitd-token\n")
    wrong = os.path.join(d.dir, "wrong.token")
    with open(wrong, "w") as f:
        f.write("not-it\n")
    d.args = ["--token-file", tok]
    try:
        d.start()
        addr = "tcp:127.0.0.1:%d" % d.port
        with Gateway(addr, args=["--suitd-token-file", tok], tmpdir=d.dir) as g:
            g.start()
            st, _, res = g.assess()
            assert st == 200 and res["verdict"] == "defer", (st, res)
        with Gateway(addr, tmpdir=d.dir) as g:
            g.start()
            st, _, res = g.assess()
            # suitd says not permitted to a gateway that did not authenticate
            assert st == 502, (st, res)
            assert "suitd_token_file" in g.log_text(), g.log_text()
        with Gateway(addr, args=["--suitd-token-file", wrong], tmpdir=d.dir) as g:
            g.start()
            unavailable(*g.assess())
            st, _, ready = g.json("GET", "/readyz")
            assert st == 503 and "refused the gateway's auth" in ready["reason"], ready
        empty = os.path.join(d.dir, "empty.token")
        open(empty, "w").close()
        with Gateway(addr, args=["--suitd-token-file", empty], tmpdir=d.dir) as g:
            g.start(expect_ready=False)
            assert g.wait_exit(10) == 1, g.log_text()
            assert "holds no token" in g.log_text(), g.log_text()
    finally:
        d.close()


if __name__ == "__main__":
    httpdlib.run("http_upstream")
