#!/usr/bin/env python3
"""Local attacks (issue 13): what another user of the same machine can do
to suitd and to suit.

  - reading the token file: one that group or others may read is
    reported at start (as ssh does for keys).
  - squatting the default socket: another user binds the name first, to
    receive the patient facts that suit sends and answer with a forged
    verdict.  suitd's fallback socket lives in a private directory
    (/tmp/suitd-UID/, 0700) that it refuses when someone else owns it, and
    suit asks the kernel who listens (SO_PEERCRED) before it sends anything.

Run as root (the attackers and victims are made-up uids via setpriv);
skipped otherwise.

usage: test_local_attacks.py [CASE...]     (needs SUITD_BIN and SUIT_BIN)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import suitlib
from suitlib import case

# Made-up uids with no passwd entry (setpriv takes numbers), chosen away
# from the system ranges so no real user or other test shares them.
VICTIM = 61317
SQUATTER = 61318

# A squatter: binds the socket named in argv[1] (making its directory,
# open to all, if need be), accepts one client and reports how many bytes
# it received, answering each request with a forged "suitable".
SQUATTER_PY = r"""
import os, socket, sys, time
path = sys.argv[1]
os.makedirs(os.path.dirname(path), mode=0o777, exist_ok=True)
os.chmod(os.path.dirname(path), 0o777)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o777)
s.listen(4)
print("listening", flush=True)
s.settimeout(20)
got = 0
try:
    c, _ = s.accept()
    c.settimeout(2)
    while True:
        try:
            d = c.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        got += len(d)
        # [1, msgid, nil, {"verdict": "suitable"}] for msgid 1, whatever came
        c.sendall(bytes([0x94, 0x01, 0x01, 0xc0, 0x81, 0xa7]) + b"verdict" +
                  bytes([0xa8]) + b"suitable")
except socket.timeout:
    pass
print("received", got, flush=True)
"""


def suit_bin():
    b = os.environ.get("SUIT_BIN")
    if not b:
        sys.exit("SUIT_BIN is not set")
    return b


def as_uid(uid, cmd, **kw):
    return ["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups"] + cmd


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("XDG_RUNTIME_DIR", "SUIT_ADDR", "SUITD_ALLOW_ROOT")}
    env.update(extra or {})
    return env


def start_squatter(path):
    p = subprocess.Popen(as_uid(SQUATTER, [sys.executable, "-c", SQUATTER_PY, path]),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.strip() == "listening", "squatter did not start: %r %s" % (
        line, p.stderr.read())
    return p


def squatter_received(p):
    out, err = p.communicate(timeout=30)
    for line in out.splitlines():
        if line.startswith("received"):
            return int(line.split()[1])
    raise AssertionError("squatter said nothing: %r %r" % (out, err))


def run_suit(args, uid=VICTIM, env=None, timeout=30):
    return subprocess.run(as_uid(uid, [suit_bin()] + args), capture_output=True, text=True,
                          env=clean_env(env), timeout=timeout)


def need_root():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return "needs root and setpriv (the attacker is another uid)"
    return None


PATIENT_ARGS = ["check", "--age", "30", "--area", "cheeks", "--indication", "acne-scars",
                "--fitzpatrick", "2", "--pregnant", "yes"]


def world_dir():
    """A directory like /tmp: anyone may make things in it (sticky)."""
    d = tempfile.mkdtemp(prefix="suitd-local-")
    os.chmod(d, 0o1777)
    return d


@case
def suit_refuses_a_squatted_socket():
    """suit --socket PATH where another user listens: nothing is sent, the
    forged verdict is never printed, exit 77."""
    why = need_root()
    if why:
        return why
    d = world_dir()
    try:
        path = os.path.join(d, "squat", "suitd.sock")
        sq = start_squatter(path)
        r = run_suit(["--socket", path] + PATIENT_ARGS)
        got = squatter_received(sq)
        assert got == 0, "the squatter received %d bytes of patient facts" % got
        assert "uitable" not in r.stdout, "suit printed the forged verdict: %s" % r.stdout
        assert r.returncode == 77, "exit %d: %s %s" % (r.returncode, r.stdout, r.stderr)
        assert "uid %d" % SQUATTER in r.stderr and "not sending" in r.stderr, r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


@case
def default_socket_squatted_before_the_daemon():
    """The squatter binds the victim's default socket (no XDG_RUNTIME_DIR)
    first: suit's default lookup refuses it, and the victim's own daemon
    refuses to start in the squatter's directory."""
    why = need_root()
    if why:
        return why
    private = "/tmp/suitd-%d" % VICTIM
    shutil.rmtree(private, ignore_errors=True)
    sq = None
    try:
        sq = start_squatter(private + "/suitd.sock")
        r = run_suit(PATIENT_ARGS)
        got = squatter_received(sq)
        sq = None
        assert got == 0, "the squatter received %d bytes of patient facts" % got
        assert "uitable" not in r.stdout, "suit printed the forged verdict: %s" % r.stdout
        assert r.returncode == 77, "exit %d: %s %s" % (r.returncode, r.stdout, r.stderr)
        os.unlink(private + "/suitd.sock")
        # The victim's daemon will not use a directory someone else owns.
        p = subprocess.run(as_uid(VICTIM, [suitlib.suitd_bin(), "serve", "--rules",
                                           suitlib.RULES, "--listen", "none"]),
                           capture_output=True, text=True, env=clean_env(), timeout=60)
        assert p.returncode != 0, "suitd started in a squatter's directory: %s" % p.stderr
        assert "belongs to uid %d" % SQUATTER in p.stderr, p.stderr
    finally:
        if sq:
            sq.kill()
            sq.wait()
        shutil.rmtree(private, ignore_errors=True)


@case
def private_dir_made_and_checked():
    """Without XDG_RUNTIME_DIR the daemon makes /tmp/suitd-UID (0700, its
    own) and suit reaches it there; a directory of its own but open to
    others is refused with the chmod to run."""
    why = need_root()
    if why:
        return why
    private = "/tmp/suitd-%d" % VICTIM
    shutil.rmtree(private, ignore_errors=True)
    log = tempfile.NamedTemporaryFile(prefix="suitd-local-", suffix=".log", delete=False)
    os.chmod(log.name, 0o666)
    proc = None
    try:
        proc = subprocess.Popen(as_uid(VICTIM, [suitlib.suitd_bin(), "serve", "--rules",
                                                suitlib.RULES, "--listen", "none"]),
                                stdout=log, stderr=log, env=clean_env())
        suitlib.wait_until(lambda: "ready" in open(log.name).read(), 60, what="ready")
        st = os.lstat(private)
        assert st.st_uid == VICTIM and (st.st_mode & 0o777) == 0o700, oct(st.st_mode)
        r = run_suit(["ping"])
        assert r.returncode == 0, "%d %s %s" % (r.returncode, r.stdout, r.stderr)
        proc.terminate()
        proc.wait(30)
        proc = None
        os.chmod(private, 0o755)
        p = subprocess.run(as_uid(VICTIM, [suitlib.suitd_bin(), "serve", "--rules",
                                           suitlib.RULES, "--listen", "none"]),
                           capture_output=True, text=True, env=clean_env(), timeout=60)
        assert p.returncode != 0, "suitd used a 0755 socket directory"
        assert "must be 0700" in p.stderr, p.stderr
        # A symbolic link there (to a directory the victim owns) is refused too.
        shutil.rmtree(private)
        target = tempfile.mkdtemp(prefix="suitd-local-")
        os.chown(target, VICTIM, VICTIM)
        os.chmod(target, 0o700)
        os.symlink(target, private)
        p = subprocess.run(as_uid(VICTIM, [suitlib.suitd_bin(), "serve", "--rules",
                                           suitlib.RULES, "--listen", "none"]),
                           capture_output=True, text=True, env=clean_env(), timeout=60)
        os.unlink(private)
        shutil.rmtree(target, ignore_errors=True)
        assert p.returncode != 0, "suitd followed a symbolic link for its socket directory"
        assert "not a directory" in p.stderr, p.stderr
    finally:
        if proc:
            proc.kill()
            proc.wait()
        os.unlink(log.name)
        if os.path.islink(private):
            os.unlink(private)
        shutil.rmtree(private, ignore_errors=True)


@case
def service_user_trusted():
    """A daemon run by the configured service user (SUIT_SERVICE_USER) is
    accepted: the check refuses strangers, not the operator's own setup."""
    why = need_root()
    if why:
        return why
    d = world_dir()
    proc = None
    try:
        sock = os.path.join(d, "suitd.sock")
        os.chown(d, SQUATTER, SQUATTER)
        log = os.path.join(d, "log")
        with open(log, "wb") as lf:
            proc = subprocess.Popen(as_uid(SQUATTER, [suitlib.suitd_bin(), "serve", "--rules",
                                                      suitlib.RULES, "--listen", "none",
                                                      "--socket", sock]),
                                    stdout=lf, stderr=lf, env=clean_env())
        suitlib.wait_until(lambda: "ready" in open(log).read(), 60, what="ready")
        os.chmod(sock, 0o666)
        r = run_suit(["--socket", sock, "ping"])
        assert r.returncode == 77, "a stranger's daemon was used: %d %s" % (r.returncode,
                                                                          r.stderr)
        r = run_suit(["--socket", sock, "ping"], env={"SUIT_SERVICE_USER": str(SQUATTER)})
        assert r.returncode == 0, "%d %s %s" % (r.returncode, r.stdout, r.stderr)
    finally:
        if proc:
            proc.kill()
            proc.wait()
        shutil.rmtree(d, ignore_errors=True)


@case
def token_file_open_to_others_warned():
    """A token file that group or others may read is shared with them: the
    daemon says so at start, with the chmod to run; a 0600 one is quiet."""
    with tempfile.TemporaryDirectory() as tmp:
        tok = os.path.join(tmp, "token")
        with open(tok, "w") as f:
            f.write("s3cret-token-0123456789\n")
        for mode, warned in ((0o644, "other users"), (0o640, "its group"), (0o600, None)):
            os.chmod(tok, mode)
            with suitlib.Daemon(args=["--token-file", tok]) as d:
                d.start()
                log = d.log_text()
                d.stop()
            if warned:
                assert "--token-file %s is open to %s" % (tok, warned) in log, log
                assert "chmod 600 " + tok in log, log
            else:
                assert "is open to" not in log, log


@case
def suit_escapes_terminal_controls():
    """Terms with terminal escapes (clear screen, OSC 52 clipboard write,
    a C1 CSI) come back quoted by the daemon; suit prints them escaped,
    never raw."""
    evil = "face\x1b[2J\x1b]52;c;SGVsbG8=\x07\u009b31m\x7f"
    with tempfile.TemporaryDirectory() as tmp:
        pfile = os.path.join(tmp, "patient.json")
        for key in ("area", "indication"):
            p = dict(suitlib.PATIENT)
            p[key] = evil
            with open(pfile, "w") as f:
                json.dump(p, f)
            with suitlib.Daemon() as d:
                d.start()
                r = subprocess.run([suit_bin(), "--socket", d.sock, "check", "-f", pfile],
                                   capture_output=True, timeout=30)
                d.stop()
            out = r.stdout + r.stderr
            assert r.returncode == 65, (r.returncode, out)
            for bad in (b"\x1b", b"\x07", b"\xc2\x9b", b"\x7f"):
                assert bad not in out, "suit printed %r raw: %r" % (bad, out)
            assert b"face\\e[2J\\e]52;c;SGVsbG8=\\x07\\u009b31m\\x7f" in out, out


if __name__ == "__main__":
    suitlib.run("local_attacks")
