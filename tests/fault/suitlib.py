"""Shared helpers for the fault and abuse tests: start a real suitd, talk
MessagePack-RPC to it, read its memory, and report like Check does.

Python 3 standard library only.  Every test script starts its own daemon
from $SUITD_BIN in a temporary directory, with its own Unix socket and
--listen 127.0.0.1:0, and removes everything it made.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpack  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("SUITD_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
RULES = os.environ.get("SUITD_RULES") or os.path.join(SOURCE_DIR, "rules")

# Medication names distinctive enough to grep logs for.  The engine does not
# know them, which is fine: the request is still valid and still assessed.
MARKER_MED = "zzfaultmarkerzumab"

# A complete patient from rules/tests/medications.json: verdict defer, 60 days.
PATIENT = {"age": 35, "pregnant": False, "breastfeeding": False, "fitzpatrick": 2,
           "area": "cheeks", "indication": "acne-scars",
           "medications": [{"name": "isotretinoin", "days_since_last_dose": 120}]}
EXPECT_VERDICT = "defer"
EXPECT_DEFER_DAYS = 60


def suitd_bin():
    b = os.environ.get("SUITD_BIN")
    if not b:
        for cand in ("build-fault", "build"):
            p = os.path.join(SOURCE_DIR, cand, "daemon", "suitd")
            if os.path.exists(p):
                return p
        sys.exit("SUITD_BIN is not set")
    return b


class DaemonError(Exception):
    pass


class Daemon:
    """One suitd serve process with its own temp dir, socket and log.
    (tests/http/httpdlib.py's Gateway is one of these for suit-httpd.)"""

    name = "suitd"      # in messages

    def __init__(self, rules=None, args=(), listen="127.0.0.1:0", socket_path=None,
                 tmpdir=None, env=None):
        self.own_dir = tmpdir is None
        self.dir = tmpdir or tempfile.mkdtemp(prefix="suitd-fault-")
        self.sock = socket_path or os.path.join(self.dir, "suitd.sock")
        # Unique per daemon: a restart in the same directory must not see
        # the previous one's "ready" line.
        fd, self.log = tempfile.mkstemp(prefix="stderr-", suffix=".log", dir=self.dir)
        os.close(fd)
        self.rules = rules or RULES
        self.args = list(args)
        self.listen = listen
        self.env = env
        self.proc = None
        self.port = None
        self.tcp_host = None
        self.tcp_addrs = []

    def command(self):
        cmd = [suitd_bin(), "serve", "--socket", self.sock, "--rules", self.rules]
        if self.listen is not None:
            cmd += ["--listen", self.listen]
        return cmd + self.args

    def start(self, timeout=30, expect_ready=True):
        """Spawns the daemon and, unless expect_ready is False, waits for
        its ready line (wait_ready).  Call once per Daemon."""
        assert self.proc is None, "Daemon.start called twice: the first process would leak"
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf,
                                     env=self.env, preexec_fn=_raise_nofile)
        if not expect_ready:
            return self
        return self.wait_ready(timeout)

    def wait_ready(self, timeout=30):
        """Waits for "suitd: ready" and reads the TCP ports from the log;
        raises DaemonError if the daemon exits first."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.log_text()
            if "suitd: ready" in text:
                m = re.findall(r"listening on tcp:\[?([0-9a-fA-F.:]+?)\]?:(\d+)\n", text)
                self.tcp_addrs = [(h, int(p)) for h, p in m]
                if m:
                    self.tcp_host, self.port = m[-1][0], int(m[-1][1])
                return self
            if self.proc.poll() is not None:
                raise DaemonError("suitd exited with %s before ready:\n%s"
                                  % (self.proc.returncode, text[-2000:]))
            time.sleep(0.02)
        raise DaemonError("suitd not ready after %ds:\n%s" % (timeout, self.log_text()[-2000:]))

    def wait_exit(self, timeout=30):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def vm_peak_kb(self):
        return int(self.status_field("VmPeak").split()[0])

    def sanitized(self):
        """True for an AddressSanitizer build, whose quarantine keeps up to
        256 MB of freed memory resident: RSS checks get that much slack."""
        with open("/proc/%d/maps" % self.proc.pid) as f:
            return any("asan" in line for line in f)

    def rss_slack_kb(self, kb):
        return kb + (320 * 1024 if self.sanitized() else 0)

    def status_field(self, name):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(name + ":"):
                    return line.split(":", 1)[1].strip()
        return None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit status (or None if it had to
        be killed)."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        rc = self.wait_exit(timeout)
        if rc is None:
            self.proc.kill()
            self.proc.wait()
        if rc != 0:
            # The daemon's own words are the quickest diagnosis.
            print("  %s stopped with status %r; its log ends:\n%s"
                  % (self.name, rc, self.log_text()[-3000:]))
        return rc

    def close(self):
        if self.proc and self.alive():
            self.proc.kill()
            self.proc.wait()
        if getattr(self, "logf", None):
            self.logf.close()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def unix(self, timeout=10):
        return Client.unix(self.sock, timeout)

    def tcp(self, timeout=10):
        return Client.tcp(self.tcp_host or "127.0.0.1", self.port, timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _raise_nofile():
    """Runs in the child before exec.  The daemon inherits the test's file
    limit: raise it to the hard one so --max-connections above 1024 can be
    tested.  And ask the kernel to kill the daemon if the test dies (a CTest
    timeout, a crash of the script), so no daemon outlives its test."""
    import ctypes
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class RpcError(Exception):
    def __init__(self, err):
        self.err = err
        self.code = err.get("code") if isinstance(err, dict) else None
        self.message = err.get("message") if isinstance(err, dict) else str(err)
        super().__init__("%s %s" % (self.code, self.message))


class Client:
    """A blocking MessagePack-RPC client on one socket."""

    def __init__(self, sock):
        self.sock = sock
        self.unpacker = mpack.Unpacker()
        self.msgid = 0
        self.early = {}     # responses read while waiting for another msgid

    @classmethod
    def unix(cls, path, timeout=10):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(path)
        return cls(s)

    @classmethod
    def tcp(cls, host, port, timeout=10):
        s = socket.create_connection((host, port), timeout=timeout)
        return cls(s)

    def send_raw(self, data):
        self.sock.sendall(data)

    def request(self, method, params=None):
        self.msgid = (self.msgid + 1) & 0xFFFFFFFF
        self.send_raw(mpack.packb([0, self.msgid, method, [] if params is None else params]))
        return self.msgid

    def read_obj(self):
        """Next object from the server; raises EOFError when it closes."""
        while True:
            try:
                return self.unpacker.next()
            except mpack.NeedMore:
                pass
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed by suitd")
            self.unpacker.feed(data)

    def response(self, msgid):
        """(error, result) of the response to msgid; responses may come out
        of order, so others are kept for later."""
        if msgid in self.early:
            return self.early.pop(msgid)
        while True:
            o = self.read_obj()
            if isinstance(o, list) and len(o) == 4 and o[0] == 1:
                if o[1] == msgid:
                    return o[2], o[3]
                self.early[o[1]] = (o[2], o[3])

    def call_raw(self, method, params=None):
        """Returns (error, result) as sent."""
        return self.response(self.request(method, params))

    def call(self, method, params=None):
        err, res = self.call_raw(method, params)
        if err is not None:
            raise RpcError(err)
        return res

    def assess(self, patient=None, options=None):
        params = [patient or PATIENT]
        if options is not None:
            params.append(options)
        return self.call("assess", params)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check_answer(res):
    """The result for PATIENT must be the known verdict."""
    assert isinstance(res, dict), "result is not a map: %r" % (res,)
    assert res.get("verdict") == EXPECT_VERDICT, "verdict %r, expected %r" % (
        res.get("verdict"), EXPECT_VERDICT)
    return res


def copy_rules(dst_dir, rules=None):
    """A private copy of the bundled ruleset, to change one file in."""
    dst = os.path.join(dst_dir, "rules")
    shutil.copytree(rules or RULES, dst)
    return dst


def wait_until(fn, timeout=10, step=0.05, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for %s" % what)


class Load:
    """Background clients sending `assess` for PATIENT in a loop and checking
    every answer.  Counts ok and failed requests; keeps the first failures.
    connect() returns a new Client; reconnect_every makes some clients open a
    connection per request, as real clients do."""

    def __init__(self, connect, clients=2, reconnect_every=0, pause=0.0):
        import threading
        self.connect = connect
        self.ok = 0
        self.failed = 0
        self.errors = []
        self.pause = pause
        self.reconnect_every = reconnect_every
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(clients)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def _fail(self, what):
        with self.lock:
            self.failed += 1
            if len(self.errors) < 10:
                self.errors.append(what)

    def _run(self, i):
        c = None
        n = 0
        while not self.stop_flag.is_set():
            try:
                if c is None:
                    c = self.connect()
                check_answer(c.assess())
                with self.lock:
                    self.ok += 1
            except Exception as e:  # noqa: BLE001 - every failure is counted
                self._fail("%s: %s" % (type(e).__name__, e))
                if c:
                    c.close()
                c = None
            n += 1
            if c and self.reconnect_every and n % self.reconnect_every == 0:
                c.close()
                c = None
            if self.pause:
                time.sleep(self.pause)
        if c:
            c.close()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(60)
        return self

    def summary(self):
        return "%d ok, %d failed %s" % (self.ok, self.failed, self.errors[:3])


# ---- a Check-like runner ----------------------------------------------

_CASES = []


def case(fn):
    _CASES.append(fn)
    return fn


def run(suite):
    """Runs every @case (or those named in argv), each with its own daemon,
    and prints Check's summary line.  Exit status 1 on any failure."""
    only = set(sys.argv[1:])
    cases = [c for c in _CASES if not only or c.__name__ in only]
    failures = errors = 0
    for c in cases:
        t0 = time.time()
        try:
            r = c()
            status = "Skipped: %s" % r if isinstance(r, str) else "Passed"
        except AssertionError as e:
            failures += 1
            status = "Failure: %s" % e
        except Exception as e:  # noqa: BLE001 - a crash of the test itself is an error
            errors += 1
            status = "Error: %s" % "".join(traceback.format_exception_only(type(e), e)).strip()
            traceback.print_exc()
        print("%s:%s: %s (%.1fs)" % (suite, c.__name__, status, time.time() - t0), flush=True)
    n = len(cases)
    ok = n - failures - errors
    pct = (100 * ok // n) if n else 100
    print("%d%%: Checks: %d, Failures: %d, Errors: %d" % (pct, n, failures, errors), flush=True)
    sys.exit(1 if failures or errors else 0)
