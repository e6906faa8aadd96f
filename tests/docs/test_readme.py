#!/usr/bin/env python3
"""README.md is true because this test checks it against the real thing.

  sessions   every fenced block that starts with "$ " is a session: each
             "$ COMMAND" line is run again (suit from SUIT_BIN, against a
             real suitd from SUITD_BIN with the bundled ruleset, reached
             through SUIT_ADDR; suitd, for `$ suitd diff ...`, from SUITD_BIN
             too), and what it printed must be the lines that follow it in
             the README.  Dates ("(on 2027-01-23)"), round trip times and
             suitd diff's timing line are masked; the ruleset's hash is not,
             so a README written before the rules changed fails here.  The
             sessions of rules/README.md are checked the same way.
  commands   every other `suit ...` line in a fenced block must be a command
             line suit accepts (it is run with --help appended, which still
             refuses unknown commands and options), and none may pipe one
             suit command into another.
  layout     the layout table lists every top folder of the repository.

With SUIT_UPDATE_DOCS=1 the sessions are rewritten from the real output
instead (review the diff: git diff README.md).  Commands run with the
source directory as the working directory (examples/patient.json), under
sh, one by one; `echo $?` sees the previous command's status.

Environment (set by ctest): SUITD_BIN, SUIT_BIN, SUITD_RULES,
SUITD_SOURCE_DIR.  Prints Check's summary line.
"""
import difflib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("SUITD_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
SRC = os.path.abspath(SRC)
README = os.path.join(SRC, "README.md")
# Other documents whose sessions are rerun (their commands and layout are not
# checked: only README.md has those).
SESSION_DOCS = [os.path.join(SRC, "rules", "README.md")]
SUITD = os.environ.get("SUITD_BIN", "")
SUIT = os.environ.get("SUIT_BIN", "")
RULES = os.environ.get("SUITD_RULES") or os.path.join(SRC, "rules")
UPDATE = os.environ.get("SUIT_UPDATE_DOCS", "") not in ("", "0")

MASKS = [
    (re.compile(r"\(on \d{4}-\d{2}-\d{2}\)"), "(on YYYY-MM-DD)"),
    (re.compile(r"round trip \d+(\.\d+)? ms"), "round trip N ms"),
    (re.compile(r'"round_trip_ms": \d+(\.\d+)?'), '"round_trip_ms": N'),
    # suitd diff's timing line (stderr): threads and seconds vary
    (re.compile(r"^suitd diff: (\d+) patients on \d+ threads? in .*$"),
     r"suitd diff: \1 patients on N threads in N s"),
]


def mask(text):
    for rx, repl in MASKS:
        text = rx.sub(repl, text)
    return text


def fenced_blocks(lines):
    """(start, end) line indexes of each fenced block's content."""
    blocks, start = [], None
    for i, line in enumerate(lines):
        if line.startswith("```"):
            if start is None:
                start = i + 1
            else:
                blocks.append((start, i))
                start = None
    if start is not None:
        raise SystemExit("README.md: a fenced block is not closed")
    return blocks


def parse_session(lines):
    """[(command, [output lines])] of one session block."""
    steps = []
    for line in lines:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif not steps:
            raise ValueError("a session must start with '$ '")
        else:
            steps[-1][1].append(line)
    for cmd, _ in steps:
        if cmd.endswith("\\"):
            raise ValueError("a session command must fit on one line: " + cmd)
    return steps


class Daemon:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="suitd-readme-")
        self.sock = os.path.join(self.dir, "suitd.sock")
        self.log = os.path.join(self.dir, "suitd.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [SUITD, "serve", "--rules", RULES, "--socket", self.sock, "--listen", "none",
                 "--policy-dir", os.path.join(SRC, "examples", "policies")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with open(self.log) as f:
                if "suitd: ready" in f.read():
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        with open(self.log) as f:
            sys.stderr.write(f.read())
        self.stop()
        raise SystemExit("test_readme: suitd did not become ready")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def session_env(daemon, bindir):
    env = dict(os.environ)
    for k in ("NO_COLOR", "SUIT_TOKEN_FILE", "XDG_RUNTIME_DIR"):
        env.pop(k, None)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    env["SUIT_ADDR"] = "unix:" + daemon.sock
    env["TERM"] = "dumb"
    return env


def run_session(steps, env):
    """The session as it runs now: [(command, [output lines])]."""
    out, status = [], 0
    for cmd, _ in steps:
        p = subprocess.run(["sh", "-c", "(exit %d); %s" % (status, cmd)], cwd=SRC, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        status = p.returncode
        text = p.stdout.decode("utf-8", "replace")
        out.append((cmd, text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")))
    return out


def render(steps):
    lines = []
    for cmd, output in steps:
        lines.append("$ " + cmd)
        lines.extend(output)
    return lines


def check_commands(lines, blocks, sessions, env):
    """Every `suit ...` line outside the sessions is one suit accepts."""
    problems = []
    for start, end in blocks:
        if (start, end) in sessions:
            continue
        joined, cur = [], ""
        for line in lines[start:end]:
            cur += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
            if not line.endswith("\\"):
                joined.append(cur)
                cur = ""
        for line in joined:
            code = line.split("  #")[0].strip()
            if not code.startswith("suit "):
                continue
            try:
                words = shlex.split(code)
            except ValueError as e:
                problems.append("README.md: cannot parse '%s': %s" % (code, e))
                continue
            cut = len(words)
            for i, w in enumerate(words):
                if w in ("|", "<", ">", ";", "&&"):
                    cut = min(cut, i)
            if any(w == "|" and nxt == "suit" for w, nxt in zip(words, words[1:])):
                problems.append("README.md: '%s' pipes one suit command into another; "
                                "list them one per line" % code)
                continue
            args = words[1:cut]
            # A file the command reads must be in the repository.
            files = [b for a, b in zip(words, words[1:]) if a in ("-f", "--file", "<")]
            for f in files:
                if f != "-" and not os.path.exists(os.path.join(SRC, f)):
                    problems.append("README.md: '%s' reads %s, which is not in the "
                                    "repository" % (code, f))
            p = subprocess.run([SUIT] + args + ["--help"], cwd=SRC, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
            if p.returncode != 0:
                problems.append("README.md: suit refuses '%s': %s" %
                                (code, p.stderr.decode().strip()))
    return problems


def top_folders():
    try:
        files = subprocess.run(["git", "-C", SRC, "ls-files"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, check=True).stdout.decode().split("\n")
        return sorted({f.split("/")[0] for f in files if "/" in f})
    except (OSError, subprocess.CalledProcessError):
        return sorted(d for d in os.listdir(SRC)
                      if os.path.isdir(os.path.join(SRC, d)) and d != ".git"
                      and not d.startswith("build") and d not in ("out", "tmp"))


def check_layout(text):
    m = re.search(r"^## Layout\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        return ["README.md: no '## Layout' section"]
    listed = set(re.findall(r"^\| `([^`/]+)/` \|", m.group(1), re.M))
    missing = [d for d in top_folders() if d not in listed]
    extra = [d for d in sorted(listed) if not os.path.isdir(os.path.join(SRC, d))]
    problems = ["README.md: the layout table does not list %s/" % d for d in missing]
    problems += ["README.md: the layout table lists %s/, which does not exist" % d for d in extra]
    return problems


def check_sessions(path, lines, sessions, env, new_lines):
    """Reruns the sessions of one document; returns (checks, failures)."""
    checks = failures = 0
    name = os.path.relpath(path, SRC)
    # Later blocks first, so that rewriting one keeps the others' indexes.
    for start, end in reversed(sessions):
        checks += 1
        want = parse_session(lines[start:end])
        got = run_session(want, env)
        if UPDATE:
            new_lines[start:end] = render(got)
            continue
        want_text = [mask(l) for l in render(want)]
        got_text = [mask(l) for l in render(got)]
        if want_text != got_text:
            failures += 1
            print("%s:%d: the session differs from a real run "
                  "(SUIT_UPDATE_DOCS=1 rewrites it):" % (name, start + 1))
            sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(
                want_text, got_text, name, "real run", lineterm="", n=2))
    return checks, failures


def doc_sessions(text):
    lines = text.split("\n")
    blocks = fenced_blocks(lines)
    return lines, blocks, [(s, e) for s, e in blocks if e > s and lines[s].startswith("$ ")]


def main():
    for what, path in (("SUITD_BIN", SUITD), ("SUIT_BIN", SUIT)):
        if not path or not os.access(path, os.X_OK):
            print("test_readme: %s (%s) is not an executable" % (what, path or "unset"))
            return 1
    with open(README, encoding="utf-8") as f:
        text = f.read()
    lines = text.split("\n")
    blocks = fenced_blocks(lines)
    # The <!-- http-session --> block (curl against suit-httpd) is
    # tests/http/test_example.py's: it needs a gateway.
    sessions = [(s, e) for s, e in blocks if e > s and lines[s].startswith("$ ")
                and not (s >= 2 and lines[s - 2].strip() == "<!-- http-session -->")]
    if not sessions:
        print("test_readme: README.md has no sessions")
        return 1

    bindir = tempfile.mkdtemp(prefix="suit-readme-bin-")
    os.symlink(os.path.abspath(SUIT), os.path.join(bindir, "suit"))
    os.symlink(os.path.abspath(SUITD), os.path.join(bindir, "suitd"))
    daemon = Daemon()
    checks = failures = 0
    new_lines = list(lines)
    try:
        env = session_env(daemon, bindir)
        c, f = check_sessions(README, lines, sessions, env, new_lines)
        checks, failures = checks + c, failures + f
        for path in SESSION_DOCS:
            with open(path, encoding="utf-8") as fh:
                other_text = fh.read()
            o_lines, _, o_sessions = doc_sessions(other_text)
            o_new = list(o_lines)
            c, f = check_sessions(path, o_lines, o_sessions, env, o_new)
            checks, failures = checks + c, failures + f
            if UPDATE and o_sessions:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write("\n".join(o_new))
        checks += 1
        problems = check_commands(lines, blocks, sessions, env)
        checks += 1
        problems += check_layout(text)
        for p in problems:
            print(p)
        failures += 1 if problems else 0
    finally:
        daemon.stop()
        shutil.rmtree(bindir, ignore_errors=True)

    if UPDATE:
        with open(README, "w", encoding="utf-8") as f:
            f.write("\n".join(new_lines))
        print("test_readme: rewrote %d session(s) in %s" % (len(sessions), README))
    pct = 100 * (checks - failures) // checks
    print("%d%%: Checks: %d, Failures: %d, Errors: 0" % (pct, checks, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
