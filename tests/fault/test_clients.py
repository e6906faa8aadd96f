#!/usr/bin/env python3
"""Misbehaving clients: slow writers (one byte a second), clients that
never read their replies, clients that disconnect mid-request or while
replies are being written.  Other clients must keep getting correct
answers, the daemon must not crash, and it must not keep the dead
connections (stats connections.current returns to what it was).

usage: test_clients.py [CASE...]     (needs SUITD_BIN)
"""
import os
import socket
import struct
import threading
import time

import mpack
import suitlib
from suitlib import case

SLOW_SECONDS = int(os.environ.get("SUITD_FAULT_SLOW_SECONDS") or 6)


def current_connections(d):
    with d.unix() as c:
        return c.call("stats")["connections"]["current"] - 1   # minus this one


@case
def slow_clients_one_byte_a_second():
    """Twenty clients each send a request one byte a second for several
    seconds; meanwhile the others are served; then the slow ones finish
    and get the right answer."""
    with suitlib.Daemon() as d:
        d.start()
        load = suitlib.Load(d.unix, clients=2).start()
        frame = mpack.packb([0, 7, "assess", [suitlib.PATIENT]])
        results = []

        def slow(i):
            try:
                c = d.unix(timeout=60) if i % 2 else d.tcp(timeout=60)
                for b in frame[:SLOW_SECONDS]:
                    c.send_raw(bytes([b]))
                    time.sleep(1)
                c.send_raw(frame[SLOW_SECONDS:])
                err, res = c.response(7)
                assert err is None, err
                suitlib.check_answer(res)
                results.append(True)
                c.close()
            except Exception as e:  # noqa: BLE001
                results.append(e)

        ts = [threading.Thread(target=slow, args=(i,)) for i in range(20)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        load.stop()
        assert all(r is True for r in results) and len(results) == 20, results
        assert load.failed == 0 and load.ok > 0, load.summary()
        assert d.alive()


@case
def client_that_never_reads_is_dropped():
    """A client pipelines requests and never reads: the daemon must stop
    reading it once its answers pile up (backpressure) and drop it as a
    slow reader (at --max-output, or once it has not read for
    --idle-timeout), not buffer without bound."""
    max_output = 256 * 1024
    with suitlib.Daemon(args=["--max-output", str(max_output), "--idle-timeout", "3"]) as d:
        d.start()
        rss0 = d.rss_kb()
        load = suitlib.Load(d.unix, clients=2).start()
        frame = mpack.packb([0, 1, "assess", [suitlib.PATIENT]])
        dropped = []

        def hog(use_tcp):
            c = d.tcp() if use_tcp else d.unix()
            s = c.sock
            # Small receive buffer, so the kernel cannot hide the problem.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(20)
            try:
                for _ in range(20000):
                    s.sendall(frame)
                dropped.append(False)
            except (BrokenPipeError, ConnectionResetError):
                dropped.append(True)
            except socket.timeout:
                # The daemon stopped reading (back-pressure) instead: also
                # bounded; it must still drop us at --max-output.
                dropped.append("blocked")
            finally:
                c.close()

        ts = [threading.Thread(target=hog, args=(i % 2 == 1,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        load.stop()
        with d.unix() as c:
            st = c.call("stats")
        assert d.alive(), "suitd died"
        assert load.failed == 0 and load.ok > 0, load.summary()
        assert st["dropped"]["slow_reader"] >= 1, "no slow reader dropped: %s %s" % (
            st["dropped"], dropped)
        rss1 = d.rss_kb()
        print("  never-read: %s; dropped %s; RSS %d -> %d kB" % (load.summary(), st["dropped"],
                                                              rss0, rss1))
        assert rss1 - rss0 < d.rss_slack_kb(64 * 1024), "RSS grew from %d to %d kB" % (rss0, rss1)
        suitlib.wait_until(lambda: current_connections(d) == 0, 20, what="connections closed")


def rst_close(s):
    """Close with a reset rather than a FIN: SO_LINGER with a zero timeout."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


@case
def disconnect_mid_request_and_mid_reply():
    with suitlib.Daemon() as d:
        d.start()
        rss0 = d.rss_kb()
        load = suitlib.Load(d.unix, clients=2).start()
        frame = mpack.packb([0, 1, "assess", [suitlib.PATIENT]])
        for i in range(60):
            use_tcp = i % 2 == 1
            c = d.tcp() if use_tcp else d.unix()
            kind = i % 3
            if kind == 0:
                # Half a request, then gone.
                c.send_raw(frame[:len(frame) // 2])
                c.close()
            elif kind == 1:
                # Many requests, gone before the replies are written.
                c.send_raw(frame * 200)
                if use_tcp:
                    rst_close(c.sock)
                else:
                    c.close()
            else:
                # Reads part of the replies, then gone mid-reply.
                c.send_raw(frame * 50)
                c.sock.recv(1000)
                if use_tcp:
                    rst_close(c.sock)
                else:
                    c.close()
        load.stop()
        assert d.alive(), "suitd died"
        assert load.failed == 0 and load.ok > 0, load.summary()
        suitlib.wait_until(lambda: current_connections(d) == 0, 30,
                           what="the dropped connections to be closed")
        rss1 = d.rss_kb()
        print("  disconnects: %s; RSS %d -> %d kB" % (load.summary(), rss0, rss1))
        assert rss1 - rss0 < d.rss_slack_kb(64 * 1024), "RSS grew from %d to %d kB" % (rss0, rss1)
        with d.unix() as c:
            suitlib.check_answer(c.assess())


@case
def half_close_is_answered():
    """Real clients write a request and shut down their side: the answer
    still comes, then the daemon closes."""
    with suitlib.Daemon() as d:
        d.start()
        for mk in (d.unix, d.tcp):
            c = mk()
            c.request("assess", [suitlib.PATIENT])
            c.request("ping")
            c.sock.shutdown(socket.SHUT_WR)
            err, res = c.response(1)
            assert err is None
            suitlib.check_answer(res)
            err, res = c.response(2)
            assert err is None and res["protocol"]
            try:
                o = c.read_obj()
                raise AssertionError("unexpected object after the answers: %r" % (o,))
            except EOFError:
                pass
            c.close()


if __name__ == "__main__":
    suitlib.run("fault_clients")
