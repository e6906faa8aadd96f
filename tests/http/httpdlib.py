"""Shared helpers for the suit-httpd integration tests: start a real suitd
(tests/fault/suitlib.py) and a real suit-httpd in front of it, and talk
HTTP to the gateway with Python's http.client or raw sockets.

Python 3 standard library only.  Every case starts its own suitd and its
own gateway (listening on 127.0.0.1:0) in a temporary directory and
removes everything it made.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fault"))
import mpack  # noqa: E402,F401  (re-exported for the tests)
import suitlib  # noqa: E402
from suitlib import case, run, wait_until  # noqa: E402,F401

SOURCE_DIR = suitlib.SOURCE_DIR
RULES = suitlib.RULES
CONTRACT_RULES = os.path.join(SOURCE_DIR, "tests", "daemon", "rulesets", "contract")

# A complete patient from rules/tests/medications.json: defer 60 days.
PATIENT = suitlib.PATIENT


def httpd_bin():
    b = os.environ.get("SUIT_HTTPD_BIN")
    if not b:
        p = os.path.join(SOURCE_DIR, "build", "http", "suit-httpd")
        if os.path.exists(p):
            return p
        sys.exit("SUIT_HTTPD_BIN is not set")
    return b


class GatewayError(Exception):
    pass


class Gateway(suitlib.Daemon):
    """One suit-httpd process with its own log, in front of `suitd` (an
    address).  Starting, stopping and the log are suitlib.Daemon's."""

    name = "suit-httpd"

    def __init__(self, suitd, args=(), listen="127.0.0.1:0", tmpdir=None, env=None):
        super().__init__(args=args, listen=listen, tmpdir=tmpdir, env=env)
        self.suitd = suitd
        self.host = None

    def command(self):
        cmd = [httpd_bin(), "--suitd", self.suitd]
        if self.listen is not None:
            cmd += ["--listen", self.listen]
        return cmd + self.args

    def wait_ready(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.log_text()
            if "suit-httpd: ready" in text:
                m = re.search(r"listening on http://\[?([0-9a-fA-F.:]+?)\]?:(\d+)\n", text)
                assert m, "no listening line in:\n" + text
                self.host, self.port = m.group(1), int(m.group(2))
                return self
            if self.proc.poll() is not None:
                raise GatewayError("suit-httpd exited with %s before ready:\n%s"
                                   % (self.proc.returncode, text[-2000:]))
            time.sleep(0.02)
        raise GatewayError("suit-httpd not ready after %ds:\n%s" % (timeout, self.log_text()))

    def conn(self, timeout=10):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        """(status, headers dict with lowercase names, body bytes)."""
        c = conn or self.conn()
        h = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        names = [k.lower() for k, _ in r.getheaders()]
        twice = sorted(set(n for n in names if names.count(n) > 1))
        assert not twice, "%s %s: headers sent twice: %s" % (method, path, twice)
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if conn is None:
            c.close()
        return r.status, hdrs, data

    def json(self, method, path, body=None, headers=None, conn=None):
        st, h, data = self.request(method, path, body, headers, conn)
        try:
            return st, h, json.loads(data) if data else None
        except ValueError:
            raise AssertionError("not JSON (%d): %r" % (st, data[:300]))

    def assess(self, patient=None, options=None, query="", headers=None, conn=None):
        body = {"patient": patient if patient is not None else PATIENT}
        if options is not None:
            body["options"] = options
        return self.json("POST", "/v1/assess" + query, body, headers, conn)

    def metrics(self, headers=None):
        st, h, data = self.request("GET", "/metrics", headers=headers)
        assert st == 200, "GET /metrics: %d %r" % (st, data[:200])
        return data.decode()

    def raw(self, data, wait=2.0, read_until_close=True):
        """Sends bytes on a new connection; returns what came back until the
        gateway closed it (or `wait` seconds of silence)."""
        s = socket.create_connection((self.host, self.port), timeout=wait)
        try:
            s.sendall(data)
            out = b""
            while True:
                try:
                    d = s.recv(65536)
                except socket.timeout:
                    break
                if not d:
                    break
                out += d
                if not read_until_close:
                    break
            return out
        finally:
            s.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        log = self.log_text()
        rc = self.stop() if self.alive() else None
        self.close()
        if exc_type is None and rc not in (None, 0):
            raise AssertionError("suit-httpd exited with status %s on SIGTERM; its log ends:\n%s"
                                 % (rc, log[-3000:]))


class Stack:
    """A suitd and a gateway in front of it on its Unix socket."""

    def __init__(self, httpd_args=(), suitd_args=(), rules=None, listen="127.0.0.1:0",
                 start_suitd=True, suitd_listen="none"):
        self.suitd = suitlib.Daemon(rules=rules, args=list(suitd_args), listen=suitd_listen)
        self.httpd = Gateway("unix:" + self.suitd.sock, args=httpd_args, listen=listen,
                             tmpdir=self.suitd.dir)
        self.retired = []
        if start_suitd:
            self.suitd.start()

    def start(self, **kw):
        self.httpd.start(**kw)
        return self

    def start_suitd_again(self):
        """A new suitd process on the same socket (after suitd.stop()); the
        first Daemon keeps owning the directory until close."""
        old = self.suitd
        self.retired.append(old)
        self.suitd = suitlib.Daemon(rules=old.rules, args=old.args, listen=old.listen,
                                    tmpdir=old.dir, socket_path=old.sock)
        self.suitd.start()

    def close(self):
        """Stops the gateway with SIGTERM (so a sanitizer build reports
        leaks in its exit status) and returns that status, or None when it
        was not running."""
        rc = self.httpd.stop() if self.httpd.alive() else None
        self.httpd.close()
        self.suitd.close()
        for d in self.retired:
            d.close()
        return rc

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        log = self.httpd.log_text()
        rc = self.close()
        if exc_type is None and rc not in (None, 0):
            raise AssertionError("suit-httpd exited with status %s on SIGTERM; its log ends:\n%s"
                                 % (rc, log[-3000:]))


def parse_responses(data):
    """Splits a byte stream of HTTP/1.1 responses (Content-Length framed)
    into [(status, headers, body)]."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, "truncated response: %r" % data[:200]
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        out.append((status, hdrs, rest[:n]))
        data = rest[n:]
    return out


def promtool_check(text):
    """None when promtool accepts text; its complaint otherwise; "absent"
    when it is not installed."""
    try:
        p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=60)
    except FileNotFoundError:
        return "absent"
    out = (p.stdout + p.stderr).decode()
    return None if p.returncode == 0 and not out.strip() else out


def metric_value(text, name, labels=None):
    """The value of the sample name{labels} in an exposition, or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if labels is None or all(got.get(k) == v for k, v in labels.items()):
            if labels is None and got:
                continue
            return float(m.group(4))
    return None
