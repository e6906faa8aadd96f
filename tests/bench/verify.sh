#!/bin/sh
# The in-process reference runs what the daemon runs (issue 11): suit-bench
# --verify sends every case of the ruleset's own case files (those that
# expect an error too) to a real suitd and compares each packed reply, byte
# for byte, with the in-process request pipeline's.  Nothing is masked: an
# assess reply holds no per-run value.
#
# A negative control proves the comparison can fail: a daemon serving a
# clinic's policy file answers some cases differently from an in-process
# pipeline without it, and --verify must say so.
#
# usage: verify.sh SUITD SUIT_BENCH RULES_DIR
set -u
export SUITD_ALLOW_ROOT=1
suitd=$1 bench=$2 rules=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/suit-bench-verify.XXXXXX") || exit 1
pid=
stop() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
    fi
}
trap 'stop; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/out" ] && cat "$dir/out"; exit 1; }

start() {   # start SOCKET ARGS...
    sock=$1
    shift
    "$suitd" serve --socket "$sock" --listen none --rules "$rules" --workers 2 \
        --log-level warn "$@" 2>"$dir/daemon.log" &
    pid=$!
    i=0
    while [ ! -S "$sock" ]; do
        i=$((i + 1))
        [ $i -gt 200 ] && { cat "$dir/daemon.log"; fail "suitd did not create its socket"; }
        kill -0 "$pid" 2>/dev/null || { cat "$dir/daemon.log"; fail "suitd exited"; }
        sleep 0.1
    done
}

# How many cases the ruleset has: all of them are compared.
cases=$("$suitd" test "$rules" | sed -n 's/^\([0-9][0-9]*\) passed, 0 failed$/\1/p')
[ -n "$cases" ] || fail "cannot count the ruleset's cases"

# 1. The whole mix, with a decision log (the daemon keeps each result).
start "$dir/a.sock" --decision-log "$dir/decisions.jsonl"
"$bench" --socket "$dir/a.sock" --rules "$rules" --verify >"$dir/out" 2>&1
rc=$?
cat "$dir/out"
[ $rc -eq 0 ] || fail "suit-bench --verify exited with $rc"
grep -q "^verify *$cases of $cases replies identical to the in-process pipeline's, 0 differ$" \
    "$dir/out" || fail "not all $cases replies identical"
stop

# 2. The negative control, then the same daemon compared fairly.
printf '[policy]\nisotretinoin-washout-days = 90\n' >"$dir/policy.ini"
start "$dir/b.sock" --policy "$dir/policy.ini"
"$bench" --socket "$dir/b.sock" --rules "$rules" --verify >"$dir/out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "a daemon under another policy was not told apart (exit $rc)"
grep -q "^differ: " "$dir/out" || fail "no difference reported"
"$bench" --socket "$dir/b.sock" --rules "$rules" --policy "$dir/policy.ini" --verify \
    >"$dir/out" 2>&1 || fail "same policy: replies differ"
grep -q " 0 differ$" "$dir/out" || fail "same policy: replies differ"
stop

# 3. Named policies, alternating per request (--policies), on a daemon
#    whose workers keep fewer environments than there are policies: every
#    reply is still the in-process one, so no result depends on what an
#    environment served before.
mkdir "$dir/policies"
printf '[policy]\nisotretinoin-washout-days = 90\n' >"$dir/policies/clinic-a.ini"
printf '[policy]\nbotulinum-toxin-hold-days = 90\nnsaid-hold-days = 7\n' \
    >"$dir/policies/clinic-b.ini"
start "$dir/c.sock" --policy-dir "$dir/policies" --policy-environments 2
"$bench" --socket "$dir/c.sock" --rules "$rules" --policy-dir "$dir/policies" \
    --policies default,clinic-a,clinic-b --verify >"$dir/out" 2>&1
rc=$?
cat "$dir/out"
[ $rc -eq 0 ] || fail "named policies: suit-bench --verify exited with $rc"
all=$((cases * 3))
grep -q "^verify *$all of $all replies identical to the in-process pipeline's, 0 differ$" \
    "$dir/out" || fail "named policies: not all $all replies identical"
# without the policies in-process, the same requests must differ
"$bench" --socket "$dir/c.sock" --rules "$rules" --policies default,clinic-a,clinic-b \
    --verify >"$dir/out" 2>&1
[ $? -eq 1 ] || fail "named policies: a pipeline without them was not told apart"
stop
echo "PASS: suit-bench --verify ($cases cases, byte for byte; and under three named policies)"
