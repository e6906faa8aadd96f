#!/usr/bin/env python3
"""The decision log (--decision-log) against a real daemon (issues 13 and
17): what a symbolic link, a full disk, a stalled device and logrotate do
to it, and what an auditor finds in it.

usage: test_decision_log.py [CASE...]     (needs SUITD_BIN)
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import suitlib
from suitlib import case


def read_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    assert not data or data.endswith(b"\n"), "the log ends in a partial record: %r" % data[-200:]
    return [json.loads(line) for line in data.decode().splitlines()]


def stats_dlog(d):
    with d.unix() as c:
        return c.call("stats")["decision_log"]


def writer_tid(pid):
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() == "suitd-dlog":
                return int(tid)
    return None


@case
def audit_fields_and_ids():
    """Each record has a unique decision_id, also in the result; the
    client's request_id is validated, echoed and logged; the ruleset,
    policy and instance are named; latency has microsecond precision."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "decisions.jsonl")
        with suitlib.Daemon(args=["--decision-log", path]) as d:
            d.start()
            with d.unix() as c:
                a = c.assess(options={"request_id": "visit-81/a_b.c:d"})
                b = c.assess()
                assert a["request_id"] == "visit-81/a_b.c:d", a
                assert "request_id" not in b, b
                assert a["decision_id"] and b["decision_id"] and a["decision_id"] != b["decision_id"]
                # the longest id there may be is taken (suit-httpd's CDS
                # Hooks ids need more than 64)
                longest = "cds:" + "x" * 124
                r = c.assess(options={"request_id": longest})
                assert r["request_id"] == longest, r
                for bad in ("has space", "x" * 129, "", "é", 7):
                    err, _ = c.call_raw("assess", [suitlib.PATIENT, {"request_id": bad}])
                    assert err is not None and err["code"] == -32602, (bad, err)
                    assert "options.request_id" in err["message"], err
            assert d.stop() == 0
        lines = read_lines(path)
        ok = [x for x in lines if "verdict" in x]
        assert len(ok) == 3, lines
        assert [x["decision_id"] for x in ok[:2]] == [a["decision_id"], b["decision_id"]], (ok, a, b)
        assert ok[2]["request_id"] == longest, ok[2]
        assert ok[0]["request_id"] == "visit-81/a_b.c:d" and "request_id" not in ok[1]
        ids = [x["decision_id"] for x in lines if "decision_id" in x]
        assert len(ids) == len(set(ids)), ids
        x = ok[0]
        assert x["instance"]["host"] == os.uname().nodename, x
        assert x["instance"]["version"] and x["instance"]["pid"] == d.proc.pid, x
        assert x["ruleset"] == a["ruleset"]["sha256"] and x["ruleset_name"] == a["ruleset"]["name"]
        assert x["ruleset_version"] == a["ruleset"]["version"], x
        assert x["policy"] == a["policy"]["name"] and x["policy_sha256"] == a["policy"]["sha256"]
        text = open(path).read()
        lat = text.split('"latency_ms":')[1].split("}")[0]
        assert len(lat.split(".")[-1]) <= 3, "latency printed as %s" % lat


@case
def symlink_at_the_log_path_refused():
    """Started as root with --user, a symbolic link at the log path (to a
    root-owned 0600 file) is refused: the daemon neither appends to nor
    chowns what it points to."""
    if os.geteuid() != 0:
        return "needs root (--user)"
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        secret = os.path.join(tmp, "secret")
        with open(secret, "w") as f:
            f.write("root only\n")
        os.chmod(secret, 0o600)
        link = os.path.join(tmp, "decisions.jsonl")
        os.symlink(secret, link)
        d = suitlib.Daemon(args=["--decision-log", link, "--user", "nobody"],
                           env={k: v for k, v in os.environ.items() if k != "SUITD_ALLOW_ROOT"})
        try:
            d.start(expect_ready=False)
            rc = d.wait_exit(30)
            log = d.log_text()
        finally:
            d.close()
        st = os.stat(secret)
        assert st.st_uid == 0 and (st.st_mode & 0o777) == 0o600, "the target was handed over"
        assert open(secret).read() == "root only\n", "the daemon wrote through the link"
        assert rc not in (None, 0), "started with a link at the log path:\n" + log
        assert "symbolic link" in log, log
        # A regular file is handed to --user by descriptor.
        os.unlink(link)
        with suitlib.Daemon(args=["--decision-log", link, "--user", "nobody"],
                            env={k: v for k, v in os.environ.items()
                                 if k != "SUITD_ALLOW_ROOT"}) as d:
            os.chmod(d.dir, 0o755)
            d.start()
            assert os.stat(link).st_uid == pwd.getpwnam("nobody").pw_uid
            with d.unix() as c:
                suitlib.check_answer(c.assess())
            d.stop()
        assert len(read_lines(link)) == 1


@case
def fifo_at_the_log_path_refused():
    with tempfile.TemporaryDirectory() as tmp:
        fifo = os.path.join(tmp, "decisions.jsonl")
        os.mkfifo(fifo)
        d = suitlib.Daemon(args=["--decision-log", fifo])
        try:
            d.start(expect_ready=False)
            rc = d.wait_exit(30)
            log = d.log_text()
        finally:
            d.close()
        assert rc not in (None, 0) and "cannot open --decision-log" in log, (rc, log)
        assert "ready" not in log, log


def small_fs(size="64k"):
    """A tiny tmpfs (root), or None."""
    if os.geteuid() != 0:
        return None
    mnt = tempfile.mkdtemp(prefix="suitd-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", mnt],
                       capture_output=True)
    if r.returncode != 0:
        os.rmdir(mnt)
        return None
    return mnt


def unmount(mnt):
    subprocess.run(["umount", mnt], capture_output=True)
    os.rmdir(mnt)


@case
def full_disk_counted_rate_limited_never_torn():
    """400 assessments onto a 64 KiB filesystem: every record in the file
    is whole, the rest are counted in stats decision_log.lost, and the
    error line is not repeated per record."""
    mnt = small_fs()
    if not mnt:
        return "needs root and tmpfs"
    try:
        path = os.path.join(mnt, "decisions.jsonl")
        with suitlib.Daemon(args=["--decision-log", path]) as d:
            d.start()
            n = 400
            with d.unix() as c:
                # In batches: a client that leaves 64 KiB of answers unread
                # stops being read (PROTOCOL.md 4.6), so 400 pipelined
                # requests would wait on each other.
                for _ in range(0, n, 16):
                    ids = [c.request("assess", [suitlib.PATIENT]) for _ in range(16)]
                    for i in ids:
                        err, res = c.response(i)
                        assert err is None, err
            st = suitlib.wait_until(lambda: (lambda s: s if s["queued"] == 0 else None)(
                stats_dlog(d)), 20, what="the writer to finish")
            log = d.log_text()
            d.stop()
        lines = read_lines(path)
        assert 0 < len(lines) < n, len(lines)
        assert st["written"] == len(lines), (st, len(lines))
        assert st["lost"] == n - len(lines), (st, len(lines))
        errors = log.count("cannot write the decision log")
        assert 1 <= errors <= 3, "%d error lines for %d lost records" % (errors, st["lost"])
    finally:
        unmount(mnt)


@case
def full_disk_with_decision_log_required():
    """--decision-log-required: a decision that cannot be recorded is an
    error answer; every decision answered is in the file."""
    mnt = small_fs()
    if not mnt:
        return "needs root and tmpfs"
    try:
        path = os.path.join(mnt, "decisions.jsonl")
        with suitlib.Daemon(args=["--decision-log", path, "--decision-log-required"]) as d:
            d.start()
            answered, refused = [], 0
            with d.unix() as c:
                for _ in range(300):
                    err, res = c.call_raw("assess", [suitlib.PATIENT])
                    if err is None:
                        answered.append(res["decision_id"])
                    else:
                        assert err["code"] == -32603 and "decision log" in err["message"], err
                        refused += 1
                st = c.call("stats")["decision_log"]
                assert st["required"] is True
            d.stop()
        lines = read_lines(path)
        assert refused > 0 and answered, (refused, len(answered))
        assert [x["decision_id"] for x in lines] == answered, "an answered decision is missing"
    finally:
        unmount(mnt)


def stall_writer(pid, seconds):
    """Makes every write() of the decision log's writer thread (and only
    that thread) take `seconds`, as a hung device would: strace on its
    thread id injects the delay.  Returns the strace process."""
    tid = writer_tid(pid)
    assert tid, "no suitd-dlog writer thread"
    p = subprocess.Popen(["strace", "-qq", "-o", "/dev/null", "-p", str(tid), "-e", "trace=write",
                          "-e", "inject=write:delay_enter=%d" % int(seconds * 1e6)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    assert p.poll() is None, "strace: %s" % p.stderr.read()
    return p


@case
def stalled_log_does_not_stall_the_daemon():
    """While every log write takes 5 s, ping and assess still answer at
    once; records beyond --decision-log-queue are dropped and counted, and
    those queued are written once the device recovers."""
    if not shutil.which("strace"):
        return "needs strace"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "decisions.jsonl")
        with suitlib.Daemon(args=["--decision-log", path, "--decision-log-queue", "5"]) as d:
            d.start()
            with d.unix() as c:
                suitlib.check_answer(c.assess())
            st = stall_writer(d.proc.pid, 5)
            try:
                with d.unix(timeout=3) as c:
                    suitlib.check_answer(c.assess())    # the writer takes this one and hangs
                    time.sleep(0.3)
                    t0 = time.time()
                    for _ in range(20):
                        c.call("ping")
                        suitlib.check_answer(c.assess())
                    took = time.time() - t0
                    s = c.call("stats")["decision_log"]
                assert took < 2.5, "20 pings and assessments took %.1f s" % took
                assert s["dropped"] >= 14 and s["queued"] >= 5, s
                warned = d.log_text().count("is not keeping up")
                assert warned == 1, "%d warnings for %d drops" % (warned, s["dropped"])
            finally:
                st.kill()
                st.wait()
            s = suitlib.wait_until(lambda: (lambda s: s if s["queued"] == 0 else None)(
                stats_dlog(d)), 30, what="the queue to drain")
            d.stop()
        lines = read_lines(path)
        assert len(lines) == s["written"] == 22 - s["dropped"], (len(lines), s)


@case
def shutdown_with_a_stalled_required_log():
    """--decision-log-required and a device that never finishes a write:
    after SIGTERM the waiting clients get an error (never a decision) at
    --shutdown-timeout, and the daemon stops waiting for the log."""
    if not shutil.which("strace"):
        return "needs strace"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "decisions.jsonl")
        with suitlib.Daemon(args=["--decision-log", path, "--decision-log-required",
                                  "--shutdown-timeout", "1"]) as d:
            d.start()
            st = stall_writer(d.proc.pid, 120)
            try:
                with d.unix(timeout=30) as c:
                    ids = [c.request("assess", [suitlib.PATIENT]) for _ in range(3)]
                    time.sleep(0.5)
                    t0 = time.time()
                    d.signal(signal.SIGTERM)
                    for i in ids:
                        err, res = c.response(i)
                        assert err is not None and res is None, res
                        assert "decision log" in err["message"], err
                    took = time.time() - t0
                suitlib.wait_until(lambda: "not taking writes" in d.log_text(), 10,
                                   what="the daemon giving up on the log")
            finally:
                # A thread stopped by strace (as one in a hung write would
                # be) holds the process's exit until it is let go.
                st.kill()
                st.wait()
            rc = d.wait_exit(20)
            assert rc is not None, "the daemon did not exit:\n" + d.log_text()[-2000:]
            assert took < 6, "the answers took %.1f s" % took


@case
def sigusr1_reopens_for_logrotate():
    """Rename the file, SIGUSR1: later records go to a new file at the
    path, none is lost, none is in both."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "decisions.jsonl")
        with suitlib.Daemon(args=["--decision-log", path]) as d:
            d.start()
            sent = []
            with d.unix() as c:
                for _ in range(10):
                    sent.append(c.assess()["decision_id"])
                suitlib.wait_until(lambda: stats_dlog(d)["queued"] == 0, 10, what="writes")
                os.rename(path, path + ".1")
                for _ in range(5):      # still the old file: not yet signalled
                    sent.append(c.assess()["decision_id"])
                d.signal(signal.SIGUSR1)
                suitlib.wait_until(lambda: os.path.exists(path), 10, what="the new file")
                for _ in range(10):
                    sent.append(c.assess()["decision_id"])
                s = suitlib.wait_until(lambda: (lambda s: s if s["queued"] == 0 else None)(
                    stats_dlog(d)), 10, what="writes")
            assert s["reopened"] == 1, s
            assert "reopened" in d.log_text()
            d.stop()
        old = [x["decision_id"] for x in read_lines(path + ".1")]
        new = [x["decision_id"] for x in read_lines(path)]
        # Records queued when the signal came may go to either file.
        assert len(old) >= 10 and len(new) >= 10, (len(old), len(new))
        assert old + new == sent, "records lost or out of order"


def big_patient():
    """Unknown terms in every list: 258 findings, a record of about 6.8 kB,
    over stdio's 4096-byte buffer."""
    p = dict(suitlib.PATIENT)
    p["medications"] = [{"name": "zzmed%d" % i, "days_since_last_dose": 1} for i in range(64)]
    p["conditions"] = [{"name": "zzcond%d" % i, "days_ago": 1} for i in range(64)]
    p["procedures"] = [{"name": "zzproc%d" % i, "days_ago": 1} for i in range(64)]
    p["allergies"] = ["zzall%d" % i for i in range(64)]
    return p


@case
def logrotate_with_the_shipped_file():
    """packaging/suitd.logrotate run by logrotate itself (-f), with its path
    pointed at a temporary folder and its signal sent to this daemon rather
    than through systemctl: the old records are in the rotated file, the new
    ones in a new file, none lost."""
    lr = shutil.which("logrotate") or ("/usr/sbin/logrotate"
                                        if os.path.exists("/usr/sbin/logrotate") else None)
    if not lr:
        return "needs logrotate"
    shipped = open(os.path.join(suitlib.SOURCE_DIR, "packaging", "suitd.logrotate")).read()
    assert "/var/log/suitd/*.jsonl" in shipped and "--signal=USR1" in shipped, shipped
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        path = os.path.join(tmp, "decisions.jsonl")
        with suitlib.Daemon(args=["--decision-log", path]) as d:
            d.start()
            conf = os.path.join(tmp, "suitd.logrotate")
            text = shipped.replace("/var/log/suitd/", tmp + "/")
            text = "\n".join("\t\tkill -USR1 %d" % d.proc.pid if "systemctl kill" in l else l
                             for l in text.splitlines()) + "\n"
            with open(conf, "w") as f:
                f.write(text)
            os.chmod(conf, 0o644)
            sent = []
            with d.unix() as c:
                for _ in range(10):
                    sent.append(c.assess()["decision_id"])
                suitlib.wait_until(lambda: stats_dlog(d)["queued"] == 0, 10, what="writes")
                r = subprocess.run([lr, "-f", "-s", os.path.join(tmp, "state"), conf],
                                   capture_output=True, text=True, timeout=60)
                assert r.returncode == 0, r.stdout + r.stderr
                suitlib.wait_until(lambda: os.path.exists(path), 10, what="the new file")
                for _ in range(10):
                    sent.append(c.assess()["decision_id"])
                suitlib.wait_until(lambda: stats_dlog(d)["queued"] == 0, 10, what="writes")
            d.stop()
        old = [x["decision_id"] for x in read_lines(path + ".1")]
        new = [x["decision_id"] for x in read_lines(path)]
        assert old == sent[:10] and new == sent[10:], (old, new, sent)


@case
def one_write_per_record():
    """Every record is one write() call of the whole line (strace on the
    writer thread), also those over 4096 bytes, so a crash can never leave
    half a record."""
    if not shutil.which("strace"):
        return "needs strace"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "decisions.jsonl")
        trace = os.path.join(tmp, "trace")
        with suitlib.Daemon(args=["--decision-log", path]) as d:
            d.start()
            tid = writer_tid(d.proc.pid)
            assert tid, "no writer thread"
            st = subprocess.Popen(["strace", "-qq", "-s", "0", "-e", "trace=write,writev",
                                   "-o", trace, "-p", str(tid)])
            time.sleep(0.5)
            with d.unix() as c:
                for i in range(20):
                    c.assess(big_patient() if i % 2 else None,
                             options={"explain": True, "request_id": "r%d" % i})
            suitlib.wait_until(lambda: stats_dlog(d)["queued"] == 0, 10, what="writes")
            time.sleep(0.3)
            st.send_signal(signal.SIGINT)
            st.wait()
            d.stop()
        sizes = [len(l) + 1 for l in open(path).read().splitlines()]
        assert len([s for s in sizes if s > 4096]) == 10, sizes
        calls = [l for l in open(trace).read().splitlines() if l.startswith(("write", "writev"))]
        assert len(calls) == 20, calls
        for call, size in zip(calls, sizes):
            assert call.startswith("write(") and call.rstrip().endswith("= %d" % size), (call, size)


if __name__ == "__main__":
    suitlib.run("decision_log")
