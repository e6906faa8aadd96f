#!/usr/bin/env python3
"""The reload watchdog (issue 13 items 4, 8 and 9; issue 17 item 7): a
reload that takes longer than --reload-timeout is abandoned, its callers
(the `reload` method, those folded after it) get `timeout`, the old ruleset
keeps serving, and a reload asked for while the abandoned one still runs
gets a clear refusal; SIGTERM during a reload that would take minutes exits
within --shutdown-timeout; a storm of SIGHUPs during a reload is folded
into one more run and the log says so; a failed reload logs one summary
line and the first few failures, not one line per case.

The slow rulesets are copies of the daemon tests' contract ruleset
(tests/daemon/rulesets/contract) with a case file added after start-up
whose cases run the `slow` rule into the engine deadline (--rule-deadline),
so a reload takes about cases x deadline: CLIPS cannot be interrupted, so
the load really is stuck for that long.

usage: test_reload.py [CASE...]     (needs SUITD_BIN)
"""
import json
import os
import re
import signal
import tempfile
import time

import suitlib
from suitlib import case

CONTRACT = os.path.join(suitlib.SOURCE_DIR, "tests", "daemon", "rulesets", "contract")

# A patient of the contract ruleset that runs the slow rule for far longer
# than any deadline used here (36.5 million loop steps, about 4 s).
SLOW_PATIENT = {"age": 30, "pregnant": False, "breastfeeding": False, "fitzpatrick": 2,
                "area": "face", "indication": "fine-lines",
                "conditions": [{"name": "slow", "days_ago": 36500}]}
# The contract ruleset's answer for suitlib.PATIENT-like requests.
ISO = {"age": 30, "pregnant": False, "breastfeeding": False, "fitzpatrick": 2,
       "area": "face", "indication": "acne-scars",
       "medications": [{"name": "isotretinoin", "days_since_last_dose": 100}]}


def contract_copy(tmp):
    return suitlib.copy_rules(tmp, CONTRACT)


def add_slow_cases(rules, n):
    cases = [{"name": "slow %d" % i, "patient": SLOW_PATIENT,
              "expect": {"verdict": "suitable"}} for i in range(n)]
    with open(os.path.join(rules, "tests", "slow.json"), "w") as f:
        json.dump(cases, f)


def remove_slow_cases(rules):
    os.unlink(os.path.join(rules, "tests", "slow.json"))


def stats(dm):
    with dm.unix() as c:
        return c.call("stats")


def assert_serves_old(dm, sha):
    with dm.unix() as c:
        res = c.call("assess", [ISO])
        assert res["verdict"] == "defer", res
        assert res["ruleset"]["sha256"] == sha, "the ruleset changed"


@case
def reload_timeout_answers_every_waiter():
    """A reload that would take 6 s, with --reload-timeout 1: the caller
    and one folded after it get `timeout` after about a second, the old
    ruleset keeps serving, a reload (or SIGHUP) while the abandoned one still
    runs is refused at once with the reason, reloads.timed_out counts it,
    and once the stuck load has ended reloads work again."""
    with tempfile.TemporaryDirectory() as tmp:
        rules = contract_copy(tmp)
        with suitlib.Daemon(rules=rules, args=["--reload-timeout", "1", "--rule-deadline", "1500",
                                               "--workers", "1"]) as dm:
            dm.start()
            with dm.unix() as c:
                sha = c.call("ping")["ruleset"]["sha256"]
            add_slow_cases(rules, 4)
            a = dm.unix(timeout=30)
            b = dm.unix(timeout=30)
            t0 = time.time()
            ida = a.request("reload")
            # b asks while a's run is going: folded into the next run.
            suitlib.wait_until(lambda: "reload (conn" in dm.log_text(), 5, what="the reload start")
            idb = b.request("reload")
            err, _ = a.response(ida)
            took = time.time() - t0
            assert err is not None and err["code"] == -32003, err
            assert "timed out after 1 s (--reload-timeout)" in err["message"], err
            assert "old ruleset keeps serving" in err["message"], err
            assert took < 4, "the reload caller waited %.1f s, not the 1 s timeout" % took
            err, _ = b.response(idb)
            assert err is not None and err["code"] == -32003, err
            a.close()
            b.close()
            assert_serves_old(dm, sha)

            # The stuck load is still running: refused at once, and why.
            with dm.unix(timeout=5) as c:
                t0 = time.time()
                err, _ = c.call_raw("reload")
                assert time.time() - t0 < 2
            assert err is not None and err["code"] == -32003, err
            assert "still running" in err["message"], err
            dm.signal(signal.SIGHUP)
            suitlib.wait_until(lambda: "reload (SIGHUP): reload refused" in dm.log_text(), 5,
                               what="the SIGHUP refusal in the log")
            st = stats(dm)
            assert st["reloads"] == {"ok": 0, "failed": 0, "timed_out": 1}, st["reloads"]
            assert st["errors"].get("timeout") == 3, st["errors"]
            assert_serves_old(dm, sha)

            # The abandoned run ends (its cases hit their deadlines); its
            # result is discarded, not counted, and reloads work again.
            remove_slow_cases(rules)
            suitlib.wait_until(lambda: "result is discarded" in dm.log_text(), 30,
                               what="the abandoned reload to end")
            with dm.unix(timeout=30) as c:
                res = c.call("reload")
                assert res["cases_passed"] == 7, res
            st = stats(dm)
            assert st["reloads"] == {"ok": 1, "failed": 0, "timed_out": 1}, st["reloads"]
            assert dm.stop() == 0


@case
def sigterm_during_a_long_reload_exits_within_shutdown_timeout():
    """Issue 13 item 8: SIGHUP, then SIGTERM with --shutdown-timeout 2,
    while a reload's cases would run for about 100 s: the daemon exits 0
    within about 2 s (the unit's TimeoutStopSec is 20 s), and a client
    waiting for that reload is told, not left hanging."""
    with tempfile.TemporaryDirectory() as tmp:
        rules = contract_copy(tmp)
        with suitlib.Daemon(rules=rules, args=["--shutdown-timeout", "2", "--rule-deadline",
                                               "2000", "--workers", "1"]) as dm:
            dm.start()
            add_slow_cases(rules, 50)
            dm.signal(signal.SIGHUP)
            suitlib.wait_until(lambda: "reload (SIGHUP): checking" in dm.log_text(), 5,
                               what="the SIGHUP reload to start")
            waiter = dm.unix(timeout=30)
            wid = waiter.request("reload")     # folded after the SIGHUP's run
            time.sleep(0.3)
            t0 = time.time()
            dm.signal(signal.SIGTERM)
            rc = dm.wait_exit(20)
            took = time.time() - t0
            assert rc is not None, "suitd still running 20 s after SIGTERM:\n%s" % (
                dm.log_text()[-2000:])
            assert rc == 0, "exit status %r" % rc
            assert took < 5, "SIGTERM took %.1f s with --shutdown-timeout 2" % took
            try:
                err, _ = waiter.response(wid)
                assert err is not None and "shutting down" in err["message"], err
            except (EOFError, ConnectionResetError):
                raise AssertionError("the reload's caller got no answer before the exit")
            waiter.close()
            assert "abandoning the reload" in dm.log_text(), dm.log_text()[-2000:]
            print("  exited %.1f s after SIGTERM" % took)


@case
def sighup_storm_during_a_reload_folds_into_one_run():
    """Issue 17 item 7: SIGHUPs arriving during a reload become one more
    run after it (not one per signal), and the log says so once."""
    with tempfile.TemporaryDirectory() as tmp:
        rules = contract_copy(tmp)
        with suitlib.Daemon(rules=rules, args=["--rule-deadline", "1000",
                                               "--workers", "1"]) as dm:
            dm.start()
            add_slow_cases(rules, 2)
            dm.signal(signal.SIGHUP)
            suitlib.wait_until(lambda: "reload (SIGHUP): checking" in dm.log_text(), 5,
                               what="the SIGHUP reload to start")
            for _ in range(10):
                dm.signal(signal.SIGHUP)
                time.sleep(0.02)
            suitlib.wait_until(lambda: stats(dm)["reloads"]["failed"] >= 2, 30,
                               what="two reloads to end")
            time.sleep(1.5)     # a third run, if there were one, would have ended
            st = stats(dm)
            assert st["reloads"]["failed"] == 2, st["reloads"]
            log = dm.log_text()
            assert log.count("folded into one more run after the current one") == 1, log
            assert log.count("starting the run asked for during the last one") == 1, log
            assert dm.stop() == 0


@case
def failed_reload_logs_a_summary_not_every_case():
    """Issue 13 item 8: 30 failing cases make one summary line and the
    first few failures in the log; the caller still gets the list."""
    with tempfile.TemporaryDirectory() as tmp:
        rules = contract_copy(tmp)
        with suitlib.Daemon(rules=rules) as dm:
            dm.start()
            wrong = [{"name": "wrong on purpose %d" % i,
                      "patient": dict(ISO, medications=[]),
                      "expect": {"verdict": "contraindicated"}} for i in range(30)]
            with open(os.path.join(rules, "tests", "wrong.json"), "w") as f:
                json.dump(wrong, f)
            mark = len(dm.log_text())
            with dm.unix(timeout=60) as c:
                err, _ = c.call_raw("reload")
            assert err is not None and err["code"] == -32004, err
            assert "30 test cases failed" in err["message"], err
            details = (err.get("data") or {}).get("details") or []
            assert len(details) >= 30, "the caller gets %d details" % len(details)
            log = dm.log_text()[mark:]
            lines = [ln for ln in log.splitlines() if "reload" in ln and "error" in ln]
            named = [ln for ln in lines if "wrong on purpose" in ln]
            assert 1 <= len(named) <= 5, "%d log lines name a failed case:\n%s" % (
                len(named), "\n".join(lines))
            assert len(lines) <= 7, "a failed reload logged %d lines:\n%s" % (
                len(lines), "\n".join(lines))
            assert re.search(r"and 25 more", log), log
            assert dm.stop() == 0


if __name__ == "__main__":
    suitlib.run("fault_reload")
