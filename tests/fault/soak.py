#!/usr/bin/env python3
"""Soak: mixed valid and invalid traffic against one suitd for a long time
(default 600 s), with a SIGHUP reload every 30 s.  Run through soak.sh.

Valid traffic is every patient of rules/tests/*.json, whose verdict must
match the case's expected one; invalid traffic is wrong types, unknown
keys and methods, malformed frames, garbage bytes, huge declared lengths,
slow and vanishing clients.  At the end it prints crashes (must be 0), the
count of each outcome, and the daemon's RSS at start and end, and exits 1
if the daemon died, a valid request failed, an invalid one got an
unexpected answer, or RSS grew more than SOAK_RSS_GROWTH_KB (65536).
"""
import glob
import json
import os
import random
import signal
import socket
import sys
import threading
import time
from collections import Counter

import mpack
import suitlib

SECONDS = int(os.environ.get("SOAK_SECONDS") or 600)
CLIENTS = int(os.environ.get("SOAK_CLIENTS") or 4)
RSS_GROWTH_KB = int(os.environ.get("SOAK_RSS_GROWTH_KB") or 65536)


def load_cases():
    cases = []
    for path in sorted(glob.glob(os.path.join(suitlib.RULES, "tests", "*.json"))):
        with open(path, encoding="utf-8") as f:
            for c in json.load(f):
                if "patient" in c and "verdict" in c.get("expect", {}):
                    cases.append((c["patient"], c["expect"]["verdict"]))
    return cases


class Soak:
    def __init__(self, d, cases):
        self.d = d
        self.cases = cases
        self.counts = Counter()
        self.bad = []        # unexpected outcomes, first few kept
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def count(self, what, unexpected=None):
        with self.lock:
            self.counts[what] += 1
            if unexpected is not None:
                self.counts["UNEXPECTED"] += 1
                if len(self.bad) < 20:
                    self.bad.append("%s: %s" % (what, unexpected))

    def connect(self, rnd):
        return self.d.unix(timeout=30) if rnd.random() < 0.6 else self.d.tcp(timeout=30)

    def expect_error(self, c, what, method, params, code):
        err, _ = c.call_raw(method, params)
        if err is None or err.get("code") != code:
            self.count(what, "expected %d, got %r" % (code, err))
        else:
            self.count(what)

    def expect_close(self, what, data, rnd):
        c = self.connect(rnd)
        try:
            c.send_raw(data)
            # Random bytes can be a valid prefix the daemon rightly waits
            # on; after EOF it must close either way.
            try:
                c.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass   # already closed by the daemon: fine
            c.sock.settimeout(10)
            while True:
                c.read_obj()
        except (EOFError, ConnectionResetError, BrokenPipeError):
            self.count(what)
        except socket.timeout:
            self.count(what, "connection left open")
        finally:
            c.close()

    def one(self, c, rnd):
        r = rnd.random()
        if r < 0.55:
            patient, verdict = rnd.choice(self.cases)
            err, res = c.call_raw("assess", [patient])
            if err is not None:
                # Overload is a legitimate answer under pressure; count it.
                if err.get("code") == -32002:
                    self.count("assess overloaded")
                else:
                    self.count("assess valid", "error %r" % (err,))
            elif res.get("verdict") != verdict:
                self.count("assess valid", "verdict %r, expected %r" % (res.get("verdict"), verdict))
            else:
                self.count("assess valid")
        elif r < 0.65:
            p = dict(rnd.choice(self.cases)[0])
            p[rnd.choice(["age", "fitzpatrick", "pregnant", "area"])] = rnd.choice(
                [-3, "x" * 300, [1, 2], {"a": 1}, 1.5e300, None])
            err, _ = c.call_raw("assess", [p])
            if err is None or err.get("code") != -32602:
                # None is a legal value for some keys (missing): accept a result.
                if err is None:
                    self.count("assess wrong type (accepted)")
                else:
                    self.count("assess wrong type", "got %r" % (err,))
            else:
                self.count("assess wrong type")
        elif r < 0.70:
            p = dict(rnd.choice(self.cases)[0], **{"zz-unknown-%d" % rnd.randrange(1000): 1})
            self.expect_error(c, "assess unknown key", "assess", [p], -32602)
        elif r < 0.74:
            self.expect_error(c, "unknown method", "no-such-method", [], -32601)
        elif r < 0.78:
            msgid = rnd.randrange(1 << 31)
            c.send_raw(mpack.packb([0, msgid, 12345, []]))
            err, _ = c.response(msgid)
            if err is None or err.get("code") != -32600:
                self.count("invalid frame", "got %r" % (err,))
            else:
                self.count("invalid frame")
        elif r < 0.82:
            res = c.call("ping")
            self.count("ping" if res.get("protocol") else "ping bad")
        elif r < 0.84:
            c.call("stats")
            self.count("stats")
        elif r < 0.87:
            self.expect_close("garbage bytes", os.urandom(rnd.randrange(1, 200000)), rnd)
        elif r < 0.90:
            hdr = rnd.choice([b"\xdb\xff\xff\xff\xff", b"\xdd\x10\x00\x00\x00",
                              b"\xdf\x08\x00\x00\x00", b"\xc1"])
            self.expect_close("huge header", b"\x94\x00\x01\xa6assess\x91" + hdr, rnd)
        elif r < 0.94:
            # Disconnect mid-request or mid-reply.
            x = self.connect(rnd)
            frame = mpack.packb([0, 1, "assess", [rnd.choice(self.cases)[0]]])
            x.send_raw(frame * rnd.randrange(1, 30) + frame[:rnd.randrange(1, len(frame))])
            x.close()
            self.count("disconnect")
        elif r < 0.97:
            # One-shot client that half-closes after writing.
            x = self.connect(rnd)
            patient, verdict = rnd.choice(self.cases)
            msgid = x.request("assess", [patient])
            x.sock.shutdown(socket.SHUT_WR)
            err, res = x.response(msgid)
            x.close()
            if err is None and res.get("verdict") == verdict:
                self.count("half-close")
            elif err is not None and err.get("code") == -32002:
                self.count("assess overloaded")
            else:
                self.count("half-close", "got %r" % ((err, res and res.get("verdict")),))
        else:
            # Slow writer: a ping a byte at a time.
            x = self.connect(rnd)
            frame = mpack.packb([0, 9, "ping", []])
            for b in frame:
                x.send_raw(bytes([b]))
                time.sleep(0.05)
            err, res = x.response(9)
            x.close()
            self.count("slow ping", None if err is None else "got %r" % (err,))

    def worker(self, seed):
        rnd = random.Random(seed)
        c = None
        while not self.stop.is_set():
            try:
                if c is None:
                    c = self.connect(rnd)
                self.one(c, rnd)
                if rnd.random() < 0.05:
                    c.close()
                    c = None
            except Exception as e:  # noqa: BLE001 - counted, the soak goes on
                self.count("client exception", "%s: %s" % (type(e).__name__, e))
                if c:
                    c.close()
                c = None
        if c:
            c.close()


def main():
    cases = load_cases()
    if not cases:
        sys.exit("soak: no cases with an expected verdict in %s/tests" % suitlib.RULES)
    with suitlib.Daemon(args=sys.argv[1:]) as d:
        d.start()
        with d.unix() as c:
            c.assess()
        rss_start = d.rss_kb()
        soak = Soak(d, cases)
        threads = [threading.Thread(target=soak.worker, args=(i,), daemon=True)
                   for i in range(CLIENTS)]
        t0 = time.time()
        for t in threads:
            t.start()
        rss_max = rss_start
        last_hup = t0
        crashed = False
        while time.time() - t0 < SECONDS:
            time.sleep(1)
            if not d.alive():
                crashed = True
                break
            rss_max = max(rss_max, d.rss_kb())
            if time.time() - last_hup >= 30:
                d.signal(signal.SIGHUP)
                last_hup = time.time()
                soak.count("SIGHUP sent")
            if int(time.time() - t0) % 60 == 0:
                print("soak: %4ds: %d requests, RSS %d kB" % (
                    time.time() - t0, sum(soak.counts.values()), d.rss_kb()), flush=True)
        soak.stop.set()
        for t in threads:
            t.join(60)
        st = None
        rss_end = -1
        if d.alive():
            with d.unix() as c:
                st = c.call("stats")
            rss_end = d.rss_kb()
            rc = d.stop(30)
            crashed = crashed or rc != 0
        print("soak: %d s, %d client threads" % (time.time() - t0, CLIENTS))
        print("soak: crashes: %d" % (1 if crashed else 0))
        for k in sorted(soak.counts):
            print("soak:   %-28s %d" % (k, soak.counts[k]))
        if st:
            print("soak: daemon errors by name: %s" % json.dumps(st["errors"], sort_keys=True))
            print("soak: daemon dropped: %s" % json.dumps(st["dropped"], sort_keys=True))
            print("soak: daemon reloads: %s, connections: %s" % (st["reloads"], st["connections"]))
            print("soak: latency ms: %s" % st["latency_ms"])
        print("soak: RSS start %d kB, max %d kB, end %d kB" % (rss_start, rss_max, rss_end))
        for b in soak.bad:
            print("soak: unexpected: %s" % b)
        if crashed:
            print("soak: FAILED: suitd crashed or exited badly\n" + d.log_text()[-3000:])
            return 1
        if soak.counts["UNEXPECTED"]:
            print("soak: FAILED: %d unexpected outcomes" % soak.counts["UNEXPECTED"])
            return 1
        if rss_end - rss_start > RSS_GROWTH_KB:
            print("soak: FAILED: RSS grew by %d kB" % (rss_end - rss_start))
            return 1
        print("soak: passed")
        return 0


if __name__ == "__main__":
    sys.exit(main())
