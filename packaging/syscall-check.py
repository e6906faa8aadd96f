#!/usr/bin/env python3
"""Checks a strace log of suitd against the unit's SystemCallFilter=.

usage: syscall-check.py UNIT_FILE STRACE_LOG
Expands the filter's groups with `systemd-analyze syscall-filter` and applies
the lines in order, as systemd does when the first one is an allow-list: an
allow line adds its calls, a `~` line removes its calls (so a later allow line
can give back one call of a denied group); then fails, listing them,
if the daemon made a system call the unit would refuse.  This tests the
seccomp filter on machines where systemd itself is not running.
"""
import re
import subprocess
import sys

_cache = {}


def expand(name):
    """The system calls a name or @group stands for, groups expanded."""
    if not name.startswith("@"):
        return {name}
    if name not in _cache:
        out = subprocess.run(["systemd-analyze", "syscall-filter", name],
                             capture_output=True, text=True, check=True).stdout
        calls = set()
        for line in out.splitlines()[1:]:
            t = line.strip()
            if t and not t.startswith("#"):
                calls |= expand(t)
        _cache[name] = calls
    return _cache[name]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip())
    permitted, first = set(), None
    with open(sys.argv[1]) as f:
        for line in f:
            m = re.match(r"\s*SystemCallFilter=(.*)", line)
            if not m:
                continue
            value = m.group(1).strip()
            inverted = value.startswith("~")
            if first is None:
                first = "deny" if inverted else "allow"
            calls = set()
            for name in value.lstrip("~").split():
                calls |= expand(name)
            if inverted:
                permitted -= calls
            else:
                permitted |= calls
    if first != "allow":
        sys.exit("syscall-check: no allow-list SystemCallFilter= first in %s" % sys.argv[1])
    used = set()
    with open(sys.argv[2]) as f:
        for line in f:
            m = re.match(r"\s*(?:\[pid\s+)?\d*\]?\s*([a-z_0-9]+)\(", line)
            if m:
                used.add(m.group(1))
    if not used:
        sys.exit("syscall-check: no system calls in %s" % sys.argv[2])
    refused = sorted(used - permitted)
    if refused:
        sys.exit("syscall-check: the unit's filter would refuse: %s" % " ".join(refused))
    print("  %d distinct system calls, all allowed by the unit's SystemCallFilter="
          % len(used))


if __name__ == "__main__":
    main()
