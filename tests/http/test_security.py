#!/usr/bin/env python3
"""suit-httpd's security promises: the bearer token (missing, wrong, right;
a wrong one closes the connection), a non-loopback listener refused
without a token, the probes open only to loopback clients unless
configured, root refused, and no patient facts in the gateway's log even
at debug level.

usage: test_security.py [CASE...]     (needs SUITD_BIN and SUIT_HTTPD_BIN)
"""
import os
import socket

import httpdlib
from httpdlib import Stack, case

TOKEN = "gateway-t0ken-with-some-length"
MARKER = "zzhttpdmarkerzumab"


def write_token(dirpath, text=TOKEN + "\n"):
    path = os.path.join(dirpath, "http.token")
    with open(path, "w") as f:
        f.write(text)
    return path


def own_address():
    """A non-loopback IPv4 address of this machine, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))      # TEST-NET-1: nothing is sent
        ip = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ip.startswith("127.") else ip


@case
def bearer_token():
    with Stack(start_suitd=True) as s:
        s.httpd.args += ["--token-file", write_token(s.suitd.dir)]
        s.start()
        g = s.httpd
        for path in ["/v1/ping", "/v1/ruleset"]:
            st, h, res = g.json("GET", path)
            assert st == 401 and res["error"]["code"] == -32005, (path, st, res)
            assert h["www-authenticate"] == 'Bearer realm="suit-httpd"', h
        st, h, res = g.assess()
        assert st == 401, (st, res)
        # A wrong token: 401, and the connection is closed (one guess each).
        for bad in ["Bearer nope", "Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "x",
                    "Basic " + TOKEN, TOKEN, "Bearer"]:
            c = g.conn()
            st, h, res = g.json("GET", "/v1/ping", headers={"Authorization": bad}, conn=c)
            assert st == 401, (bad, st)
            if bad.lower().startswith("bearer ") or bad.startswith("Basic"):
                assert h.get("connection") == "close", (bad, h)
            c.close()
        # The right one, in any case of the scheme.
        for good in ["Bearer " + TOKEN, "bearer " + TOKEN, "BEARER  " + TOKEN]:
            st, _, res = g.json("GET", "/v1/ping", headers={"Authorization": good})
            assert st == 200 and res["gateway"]["name"] == "suit-httpd", (good, st, res)
        st, _, res = g.assess(headers={"Authorization": "Bearer " + TOKEN})
        assert st == 200 and res["verdict"] == "defer", (st, res)
        # A request with a body and no token is answered before its body is
        # read, and the connection closed.
        out = g.raw(b"POST /v1/assess HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1000000\r\n\r\n{")
        assert out.startswith(b"HTTP/1.1 401 "), out[:100]
        # Loopback probes need no token.
        for path in ["/healthz", "/readyz", "/metrics"]:
            st, _, _ = g.request("GET", path)
            assert st == 200, (path, st)
        text = g.metrics()
        assert httpdlib.metric_value(text, "suit_httpd_requests_total",
                                     {"endpoint": "/v1/ping", "status": "401"}) == 7


@case
def token_file_problems_stop_the_start():
    with Stack() as s:
        empty = write_token(s.suitd.dir, "\n")
        s.httpd.args += ["--token-file", empty]
        s.httpd.start(expect_ready=False)
        assert s.httpd.wait_exit(10) == 1, s.httpd.log_text()
        assert "holds no token" in s.httpd.log_text(), s.httpd.log_text()
    with Stack() as s:
        s.httpd.args += ["--token-file", os.path.join(s.suitd.dir, "missing")]
        s.httpd.start(expect_ready=False)
        assert s.httpd.wait_exit(10) == 1
        assert "No such file" in s.httpd.log_text(), s.httpd.log_text()


@case
def non_loopback_listen_needs_a_token():
    for listen in ["0.0.0.0:0", "[::]:0"]:
        with Stack(listen=listen) as s:
            s.httpd.start(expect_ready=False)
            assert s.httpd.wait_exit(10) == 1, s.httpd.log_text()
            log = s.httpd.log_text()
            assert "refusing to listen on %s without a token" % listen in log, log
            assert "--token-file" in log and "127.0.0.1:7480" in log, log
    with Stack(listen="0.0.0.0:0") as s:
        s.httpd.args += ["--token-file", write_token(s.suitd.dir)]
        s.start()
        # loopback clients of a wildcard listener still need the token
        st, _, _ = s.httpd.json("GET", "/v1/ping")
        assert st == 401, st


@case
def probes_only_on_loopback_unless_configured():
    ip = own_address()
    if not ip:
        return "SKIPPED: this machine has no non-loopback IPv4 address to connect from"
    with Stack(listen="0.0.0.0:0") as s:
        s.httpd.args += ["--token-file", write_token(s.suitd.dir)]
        s.start()
        g = s.httpd
        g.host = ip                     # connect through the outside address
        for path in ["/healthz", "/readyz", "/metrics"]:
            st, _, _ = g.request("GET", path)
            assert st == 401, (path, st)
            st, _, _ = g.request("GET", path, headers={"Authorization": "Bearer " + TOKEN})
            assert st == 200, (path, st)
    with Stack(listen="0.0.0.0:0") as s:
        s.httpd.args += ["--token-file", write_token(s.suitd.dir), "--open-health-metrics"]
        s.start()
        g = s.httpd
        g.host = ip
        for path in ["/healthz", "/readyz", "/metrics"]:
            st, _, _ = g.request("GET", path)
            assert st == 200, (path, st)
        st, _, _ = g.request("GET", "/v1/ping")
        assert st == 401, "the API must still want the token"


@case
def root_is_refused():
    if os.geteuid() != 0:
        return "SKIPPED: not running as root"
    with Stack() as s:
        env = dict(os.environ)
        env.pop("SUITD_ALLOW_ROOT", None)
        s.httpd.env = env
        s.httpd.start(expect_ready=False)
        assert s.httpd.wait_exit(10) == 2, s.httpd.log_text()
        assert "refusing to run as root" in s.httpd.log_text()


@case
def no_patient_facts_in_the_log():
    with Stack(httpd_args=["--log-level", "debug"]).start() as s:
        g = s.httpd
        p = dict(httpdlib.PATIENT, medications=[{"name": MARKER, "days_since_last_dose": 3}])
        assert g.assess(p)[0] == 200
        assert g.assess(dict(p, area=MARKER))[0] == 400
        assert g.assess(dict(p, age=MARKER))[0] == 400
        g.request("POST", "/v1/assess", body=('{"patient": {"x": "%s", }' % MARKER).encode(),
                  headers={"Content-Type": "application/json"})
        g.request("GET", "/" + MARKER)
        g.request("GET", "/v1/ping?" + MARKER + "=1")
        s.suitd.stop()
        g.assess(p)
        log = g.log_text()
        assert "/v1/assess 200" in log, "debug logging is not on: " + log[-500:]
        assert MARKER not in log, "a patient fact reached the log:\n" + log


if __name__ == "__main__":
    httpdlib.run("http_security")
