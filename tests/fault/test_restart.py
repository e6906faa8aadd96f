#!/usr/bin/env python3
"""Crash and reload: kill -9 under load, then a restart on the same socket
must remove the stale socket file, start cleanly and answer at once; a
reload storm (100 SIGHUPs during load) must not fail a single request;
SIGTERM under load drains: every request the daemon answered before the
signal was complete, and it exits 0.

Environment:
  SUITD_FAULT_SIGHUPS  SIGHUPs in the storm (default 100)

usage: test_restart.py [CASE...]     (needs SUITD_BIN)
"""
import os
import signal
import stat
import tempfile
import time

import suitlib
from suitlib import case

N_HUP = int(os.environ.get("SUITD_FAULT_SIGHUPS") or 100)


@case
def kill9_under_load_then_restart_on_same_socket():
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "suitd.sock")
        a = suitlib.Daemon(socket_path=sock, tmpdir=tmp)
        try:
            a.start()
            load = suitlib.Load(a.unix, clients=3).start()
            time.sleep(1)
            a.proc.kill()   # SIGKILL: no cleanup at all
            a.proc.wait()
            load.stop()
        finally:
            a.close()   # kills it if an error came first; tmp is not its own
        assert load.ok > 0, load.summary()
        assert stat.S_ISSOCK(os.stat(sock).st_mode), "the stale socket file is gone?"
        # The same path, at once.
        b = suitlib.Daemon(socket_path=sock, tmpdir=tmp)
        try:
            b.start()
            assert "stale socket" in b.log_text(), b.log_text()
            # Answers the first request after ready, on both listeners.
            with b.unix() as c:
                suitlib.check_answer(c.assess())
            with b.tcp() as c:
                suitlib.check_answer(c.assess())
            load = suitlib.Load(b.unix, clients=2).start()
            time.sleep(0.5)
            load.stop()
            assert load.failed == 0 and load.ok > 0, load.summary()
            assert b.stop() == 0
            assert not os.path.exists(sock), "socket file left after a clean exit"
        finally:
            b.close()


@case
def second_daemon_on_a_live_socket_refused():
    """A live daemon's socket is not stale: a second one must refuse to
    start rather than steal it, and the first keeps serving."""
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "suitd.sock")
        with suitlib.Daemon(socket_path=sock, tmpdir=tmp) as a:
            a.start()
            b = suitlib.Daemon(socket_path=sock, tmpdir=tempfile.mkdtemp())
            b.own_dir = True
            try:
                b.start(expect_ready=False)
                rc = b.wait_exit(30)
                assert rc is not None and rc != 0, "a second daemon started on a live socket"
                assert "already listening" in b.log_text(), b.log_text()
            finally:
                b.close()
            with a.unix() as c:
                suitlib.check_answer(c.assess())


@case
def reload_storm_no_failed_request():
    with suitlib.Daemon() as d:
        d.start()
        load = suitlib.Load(d.unix, clients=2).start()
        tload = suitlib.Load(d.tcp, clients=1, reconnect_every=4).start()
        for _ in range(N_HUP):
            d.signal(signal.SIGHUP)
            time.sleep(0.02)
        # Let the last reloads finish under load.
        def settled():
            with d.unix() as c:
                st = c.call("stats")
            return st if st["reloads"]["ok"] >= 1 and st["queue_depth"] == 0 else None
        st = suitlib.wait_until(settled, 120, step=0.5, what="the reloads to finish")
        time.sleep(1)
        load.stop()
        tload.stop()
        assert d.alive(), "suitd died in the reload storm"
        assert load.failed == 0 and tload.failed == 0, "failed requests: %s / %s" % (
            load.summary(), tload.summary())
        assert load.ok > 0 and tload.ok > 0
        with d.unix() as c:
            st = c.call("stats")
        assert st["reloads"]["failed"] == 0, st["reloads"]
        print("  %d SIGHUPs: reloads %s; %s; %s" % (N_HUP, st["reloads"], load.summary(),
                                                   tload.summary()))
        assert d.stop() == 0


@case
def sigterm_under_load_drains_and_exits_zero():
    with suitlib.Daemon() as d:
        d.start()
        c = d.unix(timeout=30)
        ids = [c.request("assess", [suitlib.PATIENT]) for _ in range(40)]
        # One answer proves the daemon has read the stream; then stop it.
        err, res = c.response(ids[0])
        assert err is None
        d.signal(signal.SIGTERM)
        answered = 1
        for i in ids[1:]:
            try:
                err, res = c.response(i)
            except (EOFError, ConnectionResetError):
                break
            # Every reply that comes is complete: a result or a clear
            # shutting-down error, never a torn frame.
            if err is None:
                suitlib.check_answer(res)
            else:
                assert "shutting down" in err["message"], err
            answered += 1
        rc = d.wait_exit(30)
        assert rc == 0, "exit status %r after SIGTERM" % rc
        print("  SIGTERM: %d of %d pipelined requests answered" % (answered, len(ids)))


@case
def sigterm_during_reload_exits():
    # A SIGTERM that lands while a SIGHUP reload runs (loading, linting and
    # running the ruleset's cases takes a few hundred ms) once left the
    # daemon waiting for a drained check that never came.
    for attempt in range(3):
        with suitlib.Daemon() as d:
            d.start()
            d.signal(signal.SIGHUP)
            time.sleep(0.05 * attempt)
            d.signal(signal.SIGTERM)
            rc = d.wait_exit(20)
            assert rc is not None, "suitd hung after SIGTERM during a reload:\n%s" % (
                d.log_text()[-2000:],)
            assert rc == 0, "exit status %r after SIGTERM during a reload" % rc


if __name__ == "__main__":
    suitlib.run("fault_restart")
