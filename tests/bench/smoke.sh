#!/bin/sh
# Smoke run of suit-bench (issue 6): starts a real suitd on a private Unix
# socket, drives it for 5 seconds, and checks that the tool works: exit
# status 0, requests answered, no errors.  It asserts nothing about speed.
#
# usage: smoke.sh SUITD SUIT_BENCH RULES_DIR
set -u
# A test rig run as root: its daemons use root-owned temporary directories,
# so let them stay root (suitd otherwise refuses root without --user).
export SUITD_ALLOW_ROOT=1
suitd=$1 bench=$2 rules=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/suit-bench-smoke.XXXXXX") || exit 1
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/out" ] && cat "$dir/out"; exit 1; }

"$suitd" serve --socket "$dir/s.sock" --listen none --rules "$rules" --workers 2 \
    --log-level warn 2>"$dir/daemon.log" &
pid=$!
i=0
while [ ! -S "$dir/s.sock" ]; do
    i=$((i + 1))
    [ $i -gt 100 ] && { cat "$dir/daemon.log"; fail "suitd did not create its socket"; }
    kill -0 "$pid" 2>/dev/null || { cat "$dir/daemon.log"; fail "suitd exited"; }
    sleep 0.1
done

# assess mix, closed loop, pipelined, with the daemon's RSS
"$bench" --socket "$dir/s.sock" --rules "$rules" -c 4 -P 4 -d 5 --pid "$pid" >"$dir/out" 2>&1
rc=$?
cat "$dir/out"
[ $rc -eq 0 ] || fail "suit-bench exited with $rc"
grep -Eq '^requests +[1-9][0-9]* ok, 0 errors' "$dir/out" || fail "no answered requests, or errors"
grep -Eq '^rss +before [1-9][0-9]* KiB.*after [1-9][0-9]* KiB' "$dir/out" || fail "no RSS"

# the other modes, briefly: open loop ping, JSON, in-process
"$bench" --socket "$dir/s.sock" -c 2 -P 1 -d 1 --rate 200 --method ping --json >"$dir/out" 2>&1 \
    || fail "ping --rate --json run failed"
grep -q '"errors": 0' "$dir/out" || fail "ping run: errors"
"$bench" --in-process --rules "$rules" -n 200 >"$dir/out" 2>&1 || fail "--in-process run failed"
grep -Eq '^requests +200 ok, 0 errors' "$dir/out" || fail "--in-process: not 200 ok"
# named policies, alternating per request
mkdir "$dir/policies"
printf '[policy]\nisotretinoin-washout-days = 90\n' >"$dir/policies/clinic-a.ini"
"$bench" --in-process --rules "$rules" --policy-dir "$dir/policies" --policies default,clinic-a \
    -n 200 >"$dir/out" 2>&1 || fail "--in-process --policies run failed"
grep -Eq '^requests +200 ok, 0 errors' "$dir/out" || fail "--in-process --policies: not 200 ok"
echo "PASS: suit-bench smoke"
