#!/usr/bin/env python3
"""Connection limits: 10,000 connections opened and left idle, then normal
clients (served); --max-connections reached (new connections refused at
once, counted, never a crash or a hang, and served again once others
leave); idle connections closed after --idle-timeout.

The test raises its own file limit (and the daemon's, which inherits it) to
the hard limit; with a hard limit too low for 10,000 it uses what it can
and says so.

Environment:
  SUITD_FAULT_IDLE_CONNS  idle connections to open (default 10000)

usage: test_connections.py [CASE...]     (needs SUITD_BIN)
"""
import os
import resource
import socket
import time

import mpack
import suitlib
from suitlib import case

N_IDLE = int(os.environ.get("SUITD_FAULT_IDLE_CONNS") or 10000)


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(want, soft)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_idle(d, n):
    """n connections, alternating Unix and TCP, none sending anything."""
    socks = []
    for i in range(n):
        if i % 2 == 0:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            # A full Unix listen backlog answers EAGAIN at once rather than
            # waiting: give the daemon time to accept, as a client would.
            deadline = time.time() + 30
            while True:
                try:
                    s.connect(d.sock)
                    break
                except BlockingIOError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.01)
        else:
            s = socket.create_connection(("127.0.0.1", d.port), timeout=30)
        socks.append(s)
    return socks


def stats(d):
    with d.unix() as c:
        return c.call("stats")


@case
def ten_thousand_idle_connections():
    limit = raise_nofile(N_IDLE + 200)
    n = min(N_IDLE, limit - 200)
    if n < N_IDLE:
        print("  file limit %d: opening %d idle connections, not %d" % (limit, n, N_IDLE))
    with suitlib.Daemon(args=["--max-connections", str(n + 100)]) as d:
        d.start()
        rss0 = d.rss_kb()
        t0 = time.time()
        socks = open_idle(d, n)
        # Every one of them is accepted and held (none refused).
        st = suitlib.wait_until(lambda: (lambda s: s if s["connections"]["current"] >= n + 1
                                         else None)(stats(d)), 60,
                                what="%d connections accepted" % n)
        assert st["connections"]["refused"] == 0, st["connections"]
        rss1 = d.rss_kb()
        # Normal clients are served while they sit there.
        load = suitlib.Load(d.unix, clients=2)
        load.start()
        tload = suitlib.Load(d.tcp, clients=1, reconnect_every=3).start()
        time.sleep(2)
        load.stop()
        tload.stop()
        assert load.failed == 0 and load.ok > 0, load.summary()
        assert tload.failed == 0 and tload.ok > 0, tload.summary()
        print("  %d idle connections in %.1fs; RSS %d -> %d kB (%.1f kB each); %s"
              % (n, time.time() - t0, rss0, rss1, (rss1 - rss0) / n, load.summary()))
        for s in socks:
            s.close()
        suitlib.wait_until(lambda: stats(d)["connections"]["current"] == 1, 60,
                           what="the idle connections to be closed")
        assert d.alive()
        assert d.stop() == 0


@case
def max_connections_refuses_then_recovers():
    cap = 50
    # No Unix reserve here, so that both listeners meet the cap (the reserve
    # has its own case in test_hostile.py).
    with suitlib.Daemon(args=["--max-connections", str(cap), "--unix-reserve", "0"]) as d:
        d.start()
        socks = open_idle(d, cap)
        # Make sure the daemon has accepted every one (a ping answered on
        # each); then the next one, on either listener, is closed at once
        # rather than left hanging.
        ping = mpack.packb([0, 1, "ping", []])
        for s in socks:
            s.sendall(ping)
            u = mpack.Unpacker()
            while True:
                data = s.recv(4096)
                assert data, "a connection under the cap was closed"
                u.feed(data)
                try:
                    u.next()
                    break
                except mpack.NeedMore:
                    pass
        for mk in (d.unix, d.tcp):
            c = mk(timeout=10)
            try:
                c.request("ping")
                try:
                    # At most the refusal itself (overloaded, under msgid 0),
                    # never an answer to the ping; then the close.
                    o = c.read_obj()
                    assert o[0] == 1 and o[1] == 0 and o[2]["code"] == -32002, \
                        "connection over the cap was served: %r" % (o,)
                    o = c.read_obj()
                    raise AssertionError("connection over the cap was served: %r" % (o,))
                except (EOFError, ConnectionResetError, BrokenPipeError):
                    pass
                except socket.timeout:
                    raise AssertionError("connection over the cap left hanging")
            except (ConnectionResetError, BrokenPipeError):
                pass
            finally:
                c.close()
        assert d.alive()
        for s in socks[:10]:
            s.close()
        # Served again once others leave.
        st = suitlib.wait_until(lambda: _try_stats(d), 10, what="a free slot")
        assert st["connections"]["refused"] >= 2, st["connections"]
        with d.tcp() as c:
            suitlib.check_answer(c.assess())
        for s in socks[10:]:
            s.close()
        assert d.stop() == 0


def _try_stats(d):
    try:
        return stats(d)
    except (EOFError, OSError):
        return None


@case
def idle_connections_closed_after_idle_timeout():
    with suitlib.Daemon(args=["--idle-timeout", "1"]) as d:
        d.start()
        idle = d.unix()
        busy = d.unix()
        t0 = time.time()
        # The busy one keeps talking and stays; the idle one is closed.
        while time.time() - t0 < 3:
            suitlib.check_answer(busy.assess())
            time.sleep(0.2)
        idle.sock.settimeout(5)
        try:
            o = idle.read_obj()
            raise AssertionError("idle connection got %r" % (o,))
        except EOFError:
            pass
        suitlib.check_answer(busy.assess())
        st = busy.call("stats")
        assert st["dropped"]["idle"] >= 1, st["dropped"]


if __name__ == "__main__":
    suitlib.run("fault_connections")
