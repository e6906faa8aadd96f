#!/usr/bin/env python3
"""Hostile rulesets: a rule that loops forever, rules that fire endlessly,
a rule that calls (exit), one that calls (system ...), one with a syntax
error.  Each is a copy of rules/ with one file added, made at test time.
Each must be refused (by `suitd check`, and by `suitd serve` at start or on
reload) or stopped with a clear error when it runs, and the daemon must
keep serving other requests.  Start-up and reload make one decision
(ruleset_check): the same rulesets are refused by both.

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


@case
def file_functions_refused_on_reload():
    """Issue 13 item 11: save-instances (it wrote files where the rule
    chose) and fetch (it read /etc/passwd) passed the linter; a reload
    adding them is refused, naming them, and the old ruleset keeps
    answering.  Every other forbidden function: test_lint.c."""
    refused_on_reload("\n(defrule hostile-files (patient (age ?a)) =>\n"
                      "  (fetch \"/etc/passwd\") (save-instances \"/tmp/suitd-fault-x\"))\n",
                      "forbidden function or construct 'fetch'")


# ---- one decision for start-up and reload (issue 11) ---------------------

WRONG_CASE = """[{"name": "pregnancy is fine (wrong on purpose)",
  "patient": {"age": 35, "pregnant": true, "breastfeeding": false, "fitzpatrick": 2,
              "area": "cheeks", "indication": "acne-scars"},
  "expect": {"verdict": "suitable"}}]
"""


def add_failing_case(d):
    with open(os.path.join(d, "tests", "zz-wrong.json"), "w") as f:
        f.write(WRONG_CASE)


def add_forbidden_call(d):
    with open(os.path.join(d, "candidacy.clp"), "a") as f:
        f.write("\n(defrule hostile-exit (condition (name call-exit)) => (exit))\n")


def add_finding_without_source(d):
    with open(os.path.join(d, "candidacy.clp"), "a") as f:
        f.write("\n(defrule hostile-no-source (condition (name never-sent)) =>\n"
                "  (assert (finding (id x) (category input) (severity info) (summary \"x\"))))\n")


# name -> (change to a copy of rules/, policy file text or None, whether it
# may serve, text the refusal must name)
VARIANTS = {
    "good": (None, None, True, None),
    "good, policy changing a case-relevant value": (
        None, "[policy]\nisotretinoin-washout-days = 90\n", True, None),
    "a failing case": (add_failing_case, None, False, "pregnancy is fine (wrong on purpose)"),
    "a forbidden call (pre-check)": (add_forbidden_call, None, False,
                                     "forbidden function or construct 'exit'"),
    "a finding without a source (lint)": (add_finding_without_source, None, False,
                                          "finding has no source"),
    "a policy value out of range": (None, "[policy]\nisotretinoin-washout-days = 3650\n", False,
                                    "policy.ini:2: isotretinoin-washout-days: must be between "
                                    "0 and 365"),
}


def start_outcome(tmp, change, policy):
    """Starts suitd on a changed copy: (True, log) when it served, (False,
    log) when it refused to start (with a non-zero status)."""
    d = suitlib.copy_rules(os.path.join(tmp, "start"))
    if change:
        change(d)
    args = []
    if policy is not None:
        pf = os.path.join(tmp, "policy.ini")
        with open(pf, "w") as f:
            f.write(policy)
        args = ["--policy", pf]
    dm = suitlib.Daemon(rules=d, args=args)
    try:
        dm.start(expect_ready=False)
        served = None
        deadline = time.time() + 60
        while time.time() < deadline and served is None:
            if "suitd: ready" in dm.log_text():
                served = True
            elif not dm.alive():
                served = False
            time.sleep(0.05)
        assert served is not None, "suitd neither started nor exited"
        if served:
            dm.wait_ready(5)
            with dm.unix() as c:
                res = c.assess()
            # PATIENT stopped isotretinoin 120 days ago: deferred under the
            # default 180-day washout, not under a clinic's 90.
            want = "suitable" if policy and "= 90" in policy else suitlib.EXPECT_VERDICT
            assert res["verdict"] == want, "verdict %r, expected %r" % (res["verdict"], want)
            assert dm.stop() == 0
        else:
            assert dm.proc.returncode != 0, "refused, but exit status 0"
        return served, dm.log_text()
    finally:
        dm.close()


def reload_outcome(tmp, change, policy):
    """Starts suitd on the good ruleset, then changes its folder (and policy
    file) in place and asks for a reload: (True, ruleset) or (False, error)."""
    live = suitlib.copy_rules(os.path.join(tmp, "reload"))
    pf = os.path.join(tmp, "reload-policy.ini")
    with open(pf, "w") as f:
        f.write("[policy]\n")
    with suitlib.Daemon(rules=live, args=["--policy", pf]) as dm:
        dm.start()
        with dm.unix() as c:
            before = c.call("ruleset")
        if change:
            change(live)
        if policy is not None:
            with open(pf, "w") as f:
                f.write(policy)
        with dm.unix(timeout=120) as c:
            err, res = c.call_raw("reload")
            after = c.call("ruleset")
            now = c.assess()
        assert dm.alive()
        if err is None:
            want = "suitable" if policy and "= 90" in policy else suitlib.EXPECT_VERDICT
            assert now["verdict"] == want, "verdict %r after the reload, expected %r" % (
                now["verdict"], want)
            return True, after
        assert_keeps_serving(dm)
        assert err["code"] == -32004, err
        assert after == before, "a refused reload changed the ruleset"
        text = err["message"] + "\n" + "\n".join(((err.get("data") or {}).get("details")) or [])
        return False, text


@case
def startup_and_reload_make_the_same_decision():
    """Issue 11: start-up and reload refuse the same broken rulesets (a
    failing case, a lint error, a bad policy value) and accept the same
    good ones, also with a policy file that changes a value the cases
    depend on (the README's isotretinoin-washout-days = 90: cases run under
    the ruleset's own defaults)."""
    for name, (change, policy, ok, must_name) in VARIANTS.items():
        with tempfile.TemporaryDirectory() as tmp:
            served, log = start_outcome(tmp, change, policy)
            reloaded, what = reload_outcome(tmp, change, policy)
        assert served == ok, "%s: start-up %s it:\n%s" % (
            name, "served" if served else "refused", log[-2000:])
        assert reloaded == ok, "%s: reload %s it: %s" % (
            name, "took" if reloaded else "refused", what)
        if not ok:
            assert must_name in log, "%s: the start-up log does not name %r:\n%s" % (
                name, must_name, log[-2000:])
            assert "cannot load the ruleset" in log
            assert must_name in what, "%s: the reload error does not name %r: %s" % (
                name, must_name, what)
        elif policy:
            assert what["policy"]["isotretinoin-washout-days"] == 90, what["policy"]


@case
def start_with_failing_cases_flag():
    """--start-with-failing-cases starts anyway, with a warning naming the
    failed cases; a reload of the same ruleset is still refused."""
    with tempfile.TemporaryDirectory() as tmp:
        d = suitlib.copy_rules(tmp)
        add_failing_case(d)
        with suitlib.Daemon(rules=d, args=["--start-with-failing-cases"]) as dm:
            dm.start()
            log = dm.log_text()
            assert "warn: --start-with-failing-cases" in log, log
            assert "1 of its test cases failed" in log, log
            assert "pregnancy is fine (wrong on purpose)" in log, log
            with dm.unix() as c:
                suitlib.check_answer(c.assess())
                err, _ = c.call_raw("reload")
            assert err is not None and err["code"] == -32004, err
            assert "1 test case failed" in err["message"], err
            assert dm.stop() == 0


@case
def defglobal_expression_never_runs():
    """CLIPS evaluates a defglobal's expression while it loads: the
    pre-check refuses (open ...) there before CLIPS sees the text, at
    start-up and on reload, and the file it would create never appears."""
    with tempfile.TemporaryDirectory() as tmp:
        mark = os.path.join(tmp, "created-by-the-ruleset")

        def change(d):
            with open(os.path.join(d, "candidacy.clp"), "a") as f:
                f.write('\n(defglobal ?*pwn* = (open "%s" pwn "w"))\n' % mark)
        served, log = start_outcome(tmp, change, None)
        assert not served and "forbidden function or construct 'open'" in log, log
        assert not os.path.exists(mark), "the defglobal ran at start-up"
        reloaded, what = reload_outcome(tmp, change, None)
        assert not reloaded and "'open'" in what, what
        assert not os.path.exists(mark), "the defglobal ran on reload"


@case
def fifo_in_the_rules_folder():
    """Issue 13 item 9: a FIFO where a rule file should be used to block
    the reload for ever (and every later reload); it is refused at once,
    naming the file, and the daemon keeps serving."""
    with tempfile.TemporaryDirectory() as tmp:
        live = suitlib.copy_rules(tmp)
        with suitlib.Daemon(rules=live) as dm:
            dm.start()
            target = os.path.join(live, "aftercare.clp")
            os.unlink(target)
            os.mkfifo(target)
            with dm.unix(timeout=20) as c:
                t0 = time.time()
                err, _ = c.call_raw("reload")
                took = time.time() - t0
            assert err is not None and err["code"] == -32004, err
            details = "\n".join((err.get("data") or {}).get("details") or [])
            assert "aftercare.clp:1: a FIFO" in details, err
            assert took < 20
            assert_keeps_serving(dm)
            assert dm.stop() == 0
        served, log = start_outcome(tmp, lambda d: (os.unlink(os.path.join(d, "aftercare.clp")),
                                                    os.mkfifo(os.path.join(d, "aftercare.clp"))),
                                    None)
        assert not served and "a FIFO" in log, log


if __name__ == "__main__":
    suitlib.run("fault_rulesets")
