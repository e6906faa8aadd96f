#!/usr/bin/env python3
"""The dependency rules between suitd's folders, checked on the source.

Run by ctest (test `layers`) and so by CI; exits non-zero on a violation
and names the file, the line and the rule it breaks.

  proto/    includes no other project folder; never <uv.h> or CLIPS
  engine/   never <uv.h>, never daemon/; engine_internal.h only here
  tools/    the engine and proto only; never <uv.h>
  daemon/   never the engine's private header; its modules form a DAG;
            leaf modules (log, stats, mailbox, decision_log, config) never
            reach server.h; runner and reload never reach conn, dispatch,
            shard or server
  client/   proto only
  bench/    proto, and the engine's public header for --in-process
  http/     proto only (it talks to suitd over the protocol)
  tests/    unit tests link the libraries: no .c of a product folder is
            compiled a second time by a tests/ CMake file

usage: layers.py [SOURCE_DIR]
"""
import os
import re
import sys

TOP = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                      os.path.join(os.path.dirname(__file__), ".."))
FOLDERS = ["proto", "engine", "tools", "daemon", "client", "bench", "http"]
# Which project folders each folder may include headers from (besides
# itself).
ALLOWED = {
    "proto": set(),
    "engine": {"proto"},
    "tools": {"engine", "proto"},
    "daemon": {"engine", "proto", "tools"},
    "client": {"proto"},
    "bench": {"engine", "proto"},
    "http": {"proto"},
}
NO_UV = {"proto", "engine", "tools", "client", "bench", "http"}
NO_CLIPS = {"proto", "tools", "daemon", "client", "bench", "http"}
DAEMON_LEAVES = {"log", "stats", "mailbox", "decision_log", "config"}
DAEMON_ENGINE_SIDE = {"runner", "reload"}
DAEMON_LOOP_SIDE = {"conn", "dispatch", "shard", "server"}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')

problems = []


def problem(path, line, msg):
    problems.append("%s:%d: %s" % (os.path.relpath(path, TOP), line, msg))


def sources(folder):
    root = os.path.join(TOP, folder)
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.join(dirpath, f)


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, text in enumerate(fh, 1):
            m = INCLUDE.match(text)
            if m:
                yield n, m.group(1), m.group(2)


# Which folder owns each project header (by file name: the project has no
# two headers of the same name).
owner = {}
for folder in FOLDERS:
    for path in sources(folder):
        if path.endswith(".h"):
            name = os.path.basename(path)
            if name in owner and owner[name][0] != folder:
                problem(path, 1, "header name %s also in %s/" % (name, owner[name][0]))
            owner[name] = (folder, path)

checked = 0
module_edges = {}       # daemon module -> daemon modules it includes
for folder in FOLDERS:
    for path in sources(folder):
        checked += 1
        mod = os.path.splitext(os.path.basename(path))[0]
        for n, kind, name in includes(path):
            base = os.path.basename(name)
            if kind == "<":
                if base == "uv.h" and folder in NO_UV:
                    problem(path, n, "%s/ must not include <uv.h>" % folder)
                if name.startswith("clips") and folder in NO_CLIPS:
                    problem(path, n, "%s/ must not include CLIPS (<%s>)" % (folder, name))
                continue
            if base not in owner:
                continue        # a system header written with quotes
            dep, _ = owner[base]
            if base == "engine_internal.h" and folder != "engine":
                problem(path, n, "only engine/ may include engine_internal.h")
            if dep != folder and dep not in ALLOWED[folder]:
                problem(path, n, "%s/ must not include %s/%s" % (folder, dep, base))
            if folder == "daemon" and dep == "daemon":
                dmod = os.path.splitext(base)[0]
                if dmod != mod:
                    module_edges.setdefault(mod, set()).add(dmod)

# The daemon's module graph: no cycle, and the layering above.
def reach(start):
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        for d in module_edges.get(m, ()):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


daemon_dir = os.path.join(TOP, "daemon")
for mod in sorted(module_edges):
    r = reach(mod)
    where = os.path.join(daemon_dir, mod + ".c")
    if not os.path.exists(where):
        where = os.path.join(daemon_dir, mod + ".h")
    if mod in r:
        problem(where, 1, "daemon module %s is in an include cycle" % mod)
    if mod in DAEMON_LEAVES and "server" in r:
        problem(where, 1, "leaf module %s must not reach server.h" % mod)
    if mod in DAEMON_ENGINE_SIDE and r & DAEMON_LOOP_SIDE:
        problem(where, 1, "%s must not reach %s" % (mod, ", ".join(sorted(r & DAEMON_LOOP_SIDE))))
    if mod == "conn" and r & {"dispatch", "server"}:
        problem(where, 1, "conn must not reach %s" % ", ".join(sorted(r & {"dispatch", "server"})))

# Tests link the libraries; a tests/ CMake file never names a product .c.
src_ref = re.compile(r'(?:CMAKE_SOURCE_DIR\}|\.\./\.\.)/(%s)/[^\s)]*\.c\b' % "|".join(FOLDERS))
for dirpath, _, files in os.walk(os.path.join(TOP, "tests")):
    for f in files:
        if f.endswith(".cmake") or f == "CMakeLists.txt":
            path = os.path.join(dirpath, f)
            with open(path, encoding="utf-8") as fh:
                for n, text in enumerate(fh, 1):
                    m = src_ref.search(text)
                    if m:
                        problem(path, n, "compiles %s/ source again: link its library" % m.group(1))

for p in problems:
    print(p)
print("layers: %d files checked" % checked)
print("%d passed, %d failed" % (0 if problems else 1, len(problems)))
sys.exit(1 if problems else 0)
