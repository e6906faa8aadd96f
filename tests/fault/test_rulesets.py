#!/usr/bin/env python3
"""Hostile rulesets: a rule that loops forever, rules that fire endlessly,
a rule that calls (exit), one that calls (system ...), one with a syntax
error.  Each is a copy of rules/ with one file added, made at test time.
Each must be refused (by `suitd check`, and by `suitd serve` at start or on
reload) or stopped with a clear error when it runs, and the daemon must
keep serving other requests.

usage: test_rulesets.py [CASE...]     (needs SUITD_BIN)
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import suitlib
from suitlib import case

HOSTILE = {
    "loop": ("loop-forever", """
(defrule hostile-loop-forever
  (condition (name loop-forever))
  =>
  (bind ?x 0)
  (while TRUE do (bind ?x 1)))
"""),
    "fire": ("fire-forever", """
(deftemplate hostile-counter (slot n (type INTEGER)))
(defrule hostile-fire-start
  (condition (name fire-forever))
  =>
  (assert (hostile-counter (n 0))))
(defrule hostile-fire-step
  ?c <- (hostile-counter (n ?n))
  =>
  (retract ?c)
  (assert (hostile-counter (n (+ ?n 1)))))
"""),
    "exit": ("call-exit", """
(defrule hostile-call-exit
  (condition (name call-exit))
  =>
  (exit))
"""),
    "system": ("call-system", """
(defrule hostile-call-system
  (condition (name call-system))
  =>
  (system "touch @MARK@"))
"""),
    "syntax": (None, """
(defrule hostile-broken
  (condition (name x))
  =>
  (assert (finding (id x)))
(defrule
"""),
}


def make_ruleset(tmp, kind):
    """rules/ copied to tmp with hostile.clp added to the manifest."""
    trigger, text = HOSTILE[kind]
    d = suitlib.copy_rules(tmp)
    mark = os.path.join(tmp, "system-ran")
    body = text.replace("@MARK@", mark)
    if trigger:
        body = ("(deffacts hostile-terms\n  (term (kind condition) (name %s) (canonical %s)))\n"
                % (trigger, trigger)) + body
    with open(os.path.join(d, "hostile.clp"), "w") as f:
        f.write(body)
    man = os.path.join(d, "manifest.ini")
    with open(man) as f:
        text = f.read()
    text, n = re.subn(r"(?m)^(files\s*=.*)$", r"\1 hostile.clp", text, count=1)
    assert n == 1, "manifest.ini has no files line"
    with open(man, "w") as f:
        f.write(text)
    return d, trigger, mark


def suitd_check(d):
    p = subprocess.run([suitlib.suitd_bin(), "check", d], capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stdout + p.stderr


def trigger_patient(trigger):
    p = dict(suitlib.PATIENT)
    p["conditions"] = [{"name": trigger}]
    return p


def assert_keeps_serving(daemon):
    with daemon.unix() as c:
        suitlib.check_answer(c.assess())
    with daemon.tcp() as c:
        suitlib.check_answer(c.assess())
    assert daemon.alive(), "suitd died"


def run_at_assess(kind, expect_in_message):
    """Serve the hostile ruleset (it passes load) and assess the trigger: a
    clear error, not a hang or a crash, and the daemon keeps serving."""
    with tempfile.TemporaryDirectory() as tmp:
        d, trigger, _ = make_ruleset(tmp, kind)
        with suitlib.Daemon(rules=d, args=["--rule-deadline", "500", "--max-firings", "5000"]) as dm:
            dm.start()
            with dm.unix(timeout=30) as c:
                t0 = time.time()
                err, res = c.call_raw("assess", [trigger_patient(trigger)])
                took = time.time() - t0
            assert err is not None, "the %s rule gave a result, not an error" % kind
            assert err["code"] == -32004, "code %r (%s), expected -32004" % (err["code"], err)
            assert expect_in_message in err["message"], err["message"]
            # Not a timing assertion: just that it was stopped rather than
            # hitting the client's 30 s socket timeout.
            assert took < 30
            # The worker that ran it is usable again, and the others too.
            for _ in range(4):
                assert_keeps_serving(dm)
            with dm.unix() as c:
                err, _ = c.call_raw("assess", [trigger_patient(trigger)])
                assert err is not None and err["code"] == -32004
            assert dm.stop() == 0, "suitd did not exit cleanly"


@case
def loop_forever_stopped_by_deadline():
    run_at_assess("loop", "deadline")


@case
def endless_firing_stopped_by_cap():
    run_at_assess("fire", "firing")


@case
def syntax_error_refused_by_check_and_serve():
    with tempfile.TemporaryDirectory() as tmp:
        d, _, _ = make_ruleset(tmp, "syntax")
        rc, out = suitd_check(d)
        assert rc != 0, "suitd check accepted a syntax error"
        assert "hostile.clp:" in out, "check does not name the file and line: %s" % out
        dm = suitlib.Daemon(rules=d)
        try:
            dm.start(expect_ready=False)
            rc = dm.wait_exit(60)
            assert rc is not None and rc != 0, "suitd serve started with a broken ruleset"
            log = dm.log_text()
            assert "hostile.clp:" in log and "cannot load the ruleset" in log, log
            assert "ready" not in log
        finally:
            dm.close()


def refused_on_reload(bad_rule, must_name):
    """Appends bad_rule to the live ruleset's candidacy.clp: SIGHUP and the
    admin reload both refuse it, the log's reload error names must_name,
    and the old ruleset keeps answering."""
    with tempfile.TemporaryDirectory() as tmp:
        live = suitlib.copy_rules(tmp)
        with suitlib.Daemon(rules=live) as dm:
            dm.start()
            with dm.unix() as c:
                before = c.call("ruleset")
            with open(os.path.join(live, "candidacy.clp"), "a") as f:
                f.write(bad_rule)
            dm.signal(signal.SIGHUP)
            suitlib.wait_until(lambda: "reload failed" in dm.log_text(), 120, what="reload failure")
            log = dm.log_text()
            assert must_name in log.split("reload failed", 1)[1], \
                "the reload error does not name %r: %s" % (must_name, log)
            assert_keeps_serving(dm)
            with dm.unix(timeout=120) as c:
                assert c.call("ruleset") == before, "the ruleset changed"
                # The admin method reports the same refusal to its caller.
                err, _ = c.call_raw("reload")
                assert err is not None and err["code"] == -32004, err
                assert c.call("ruleset") == before
            assert_keeps_serving(dm)
            assert dm.alive()


@case
def syntax_error_refused_on_reload_old_ruleset_kept():
    """SIGHUP with a broken ruleset in place: the reload fails, naming the
    file, and the old one keeps answering."""
    refused_on_reload("\n(defrule hostile-broken (condition (name x)) =>\n", "candidacy.clp:")


def forbidden_case(kind, name):
    """(exit) and (system ...) are forbidden by the linter.  suitd check
    must refuse them; suitd serve must refuse to load them, or stop the
    rule with a clear error; either way the daemon keeps serving and no
    shell command runs."""
    with tempfile.TemporaryDirectory() as tmp:
        d, trigger, mark = make_ruleset(tmp, kind)
        rc, out = suitd_check(d)
        assert rc != 0, "suitd check accepted (%s)" % name
        assert "forbidden function or construct '%s'" % name in out, out
        dm = suitlib.Daemon(rules=d)
        try:
            dm.start(expect_ready=False)
            while not dm.log_text().count("ready") and dm.alive():
                time.sleep(0.05)
            if not dm.alive():
                assert dm.proc.returncode != 0
                assert name in dm.log_text(), "refused without naming (%s): %s" % (
                    name, dm.log_text())
                return
            dm.wait_ready(timeout=1)   # parses the ports from the ready log
            with dm.unix() as c:
                err, res = c.call_raw("assess", [trigger_patient(trigger)])
            assert dm.alive(), "(%s) ended the daemon" % name
            assert not os.path.exists(mark), "(system ...) ran a shell command"
            assert_keeps_serving(dm)
            assert err is not None, (
                "suitd serve loaded a ruleset calling (%s) and the rule ran without an "
                "error (verdict %r)" % (name, res and res.get("verdict")))
            assert name in err["message"], err
        finally:
            dm.close()


@case
def exit_refused_or_stopped():
    forbidden_case("exit", "exit")


@case
def system_refused_or_stopped():
    forbidden_case("system", "system")


@case
def forbidden_function_refused_on_reload():
    """A forbidden call added to the live ruleset: SIGHUP and the admin
    reload both refuse it, naming it; the old ruleset keeps answering."""
    refused_on_reload("\n(defrule hostile-exit (condition (name call-exit)) => (exit))\n", "exit")


if __name__ == "__main__":
    suitlib.run("fault_rulesets")
