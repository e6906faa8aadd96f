#!/usr/bin/env python3
"""Load generator for suitd behind a load balancer, used by test-haproxy.sh.

Opens N TCP connections, keeps P `assess` requests in flight on each with a
mix of patients from the ruleset's test cases, and counts every outcome:
answered, answered with an error (by code), and lost because the connection
broke while they were in flight.  A broken connection is reopened at once
(through the balancer, so it lands on a live instance).  At the end the
requests still in flight are waited for, so none is left uncounted.
Prints one JSON object.

usage: loadgen.py --connect HOST:PORT [--connections N] [--pipeline P]
                  [--duration SEC] [--cases DIR] [--token-file FILE]
"""
import argparse
import glob
import json
import os
import socket
import sys
import threading
import time

# One MessagePack codec for all the repository's Python: the fault tests'.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "fault"))
import mpack  # noqa: E402


def load_patients(cases_dir):
    patients = []
    for path in sorted(glob.glob(os.path.join(cases_dir, "*.json"))):
        with open(path) as f:
            cases = json.load(f)
        for case in cases if isinstance(cases, list) else cases.get("cases", []):
            # Cases that expect an error (invalid params) are left out: in
            # this run every error response is a failure.
            if (isinstance(case, dict) and isinstance(case.get("patient"), dict)
                    and "error" not in case.get("expect", {})):
                patients.append(case["patient"])
    if not patients:
        sys.exit("loadgen: no patients in %s/*.json" % cases_dir)
    return patients


class Conn(threading.Thread):
    """One client connection with its own counters (no shared state)."""

    def __init__(self, idx, args, requests, stop_at):
        super().__init__(daemon=True)
        self.idx = idx
        self.args = args
        self.requests = requests      # pre-packed params, cycled
        self.stop_at = stop_at
        self.ok = 0
        self.errors = {}              # error code -> count
        self.lost = 0                 # in flight when the connection broke
        self.breaks = []              # (time, requests lost) per broken connection
        self.connect_failures = 0
        self.latencies = []
        self.unanswered_at_end = 0

    def _open(self):
        host, port = self.args.connect.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(10)
        return s

    def _auth(self, s):
        s.sendall(mpack.packb([0, 0, "auth", [self.args.token]]))
        dec = mpack.Unpacker()
        while True:
            data = s.recv(4096)
            if not data:
                raise ConnectionError("closed during auth")
            dec.feed(data)
            try:
                resp = dec.next()
                break
            except mpack.NeedMore:
                continue
        if resp[2] is not None:
            raise RuntimeError("auth refused: %r" % (resp[2],))

    def run(self):
        msgid = self.idx * 100000000
        nreq = len(self.requests)
        k = self.idx
        sock = None
        inflight = {}                 # msgid -> send time
        dec = mpack.Unpacker()
        while True:
            now = time.monotonic()
            if now >= self.stop_at and not inflight:
                break
            if sock is None:
                if now >= self.stop_at:
                    break
                try:
                    sock = self._open()
                    if self.args.token:
                        self._auth(sock)
                except OSError:
                    self.connect_failures += 1
                    sock = None
                    time.sleep(0.05)
                    continue
                dec = mpack.Unpacker()
            try:
                out = bytearray()
                while len(inflight) < self.args.pipeline and time.monotonic() < self.stop_at:
                    msgid += 1
                    out += mpack.packb([0, msgid, "assess", [self.requests[k % nreq]]])
                    k += 1
                    inflight[msgid] = time.monotonic()
                if out:
                    sock.sendall(out)
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("closed by peer")
                dec.feed(data)
                while True:
                    try:
                        resp = dec.next()
                    except mpack.NeedMore:
                        break
                    _, rid, err, _result = resp
                    sent = inflight.pop(rid, None)
                    if sent is None:
                        raise RuntimeError("response to unknown msgid %r" % rid)
                    self.latencies.append(time.monotonic() - sent)
                    if err is None:
                        self.ok += 1
                    else:
                        code = err.get("code") if isinstance(err, dict) else err
                        self.errors[str(code)] = self.errors.get(str(code), 0) + 1
            except socket.timeout:
                # The run is over and the peer stays silent: count and stop.
                if time.monotonic() >= self.stop_at + 5:
                    self.unanswered_at_end += len(inflight)
                    inflight.clear()
                    break
            except (OSError, ConnectionError):
                self.lost += len(inflight)
                self.breaks.append((time.time(), len(inflight)))
                inflight.clear()
                try:
                    sock.close()
                except OSError:
                    pass
                sock = None
        if sock is not None:
            sock.close()


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, int(p / 100.0 * len(sorted_values)))
    return sorted_values[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connect", required=True, help="HOST:PORT")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--cases", default="rules/tests")
    ap.add_argument("--token-file")
    args = ap.parse_args()
    args.token = None
    if args.token_file:
        with open(args.token_file, "rb") as f:
            args.token = f.read().rstrip(b" \t\r\n").decode()

    patients = load_patients(args.cases)
    started = time.time()
    stop_at = time.monotonic() + args.duration
    conns = [Conn(i, args, patients, stop_at) for i in range(args.connections)]
    for c in conns:
        c.start()
    for c in conns:
        c.join()
    elapsed = time.time() - started

    lat = sorted(x for c in conns for x in c.latencies)
    errors = {}
    for c in conns:
        for code, n in c.errors.items():
            errors[code] = errors.get(code, 0) + n
    ms = lambda v: None if v is None else round(v * 1000, 3)  # noqa: E731
    print(json.dumps({
        "connections": args.connections,
        "pipeline": args.pipeline,
        "started": started,
        "seconds": round(elapsed, 3),
        "ok": sum(c.ok for c in conns),
        "errors": errors,
        "lost_in_flight": sum(c.lost for c in conns),
        "unanswered_at_end": sum(c.unanswered_at_end for c in conns),
        "broken_connections": sum(len(c.breaks) for c in conns),
        "max_breaks_per_connection": max(len(c.breaks) for c in conns),
        "break_times": sorted(t for c in conns for t, _ in c.breaks),
        "connect_failures": sum(c.connect_failures for c in conns),
        "throughput_rps": round(len(lat) / elapsed, 1) if elapsed else None,
        "latency_ms": {"p50": ms(percentile(lat, 50)), "p90": ms(percentile(lat, 90)),
                       "p99": ms(percentile(lat, 99)), "p99.9": ms(percentile(lat, 99.9)),
                       "max": ms(lat[-1] if lat else None)},
    }))


if __name__ == "__main__":
    main()
