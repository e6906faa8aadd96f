#!/bin/sh
# Smoke run of suit-bench --http (issue 14): a real suitd and a real
# suit-httpd in front of it, driven for 2 seconds through POST /v1/assess
# and GET /v1/ping.  It checks that the tool works (exit 0, answers, no
# errors), never a timing: the figures live in BENCHMARKS.md section 7
# (bench/http.sh).
#
# usage: http_smoke.sh SUITD SUIT_HTTPD SUIT_BENCH RULES_DIR
set -u
export SUITD_ALLOW_ROOT=1
suitd=$1 httpd=$2 bench=$3 rules=$4
dir=$(mktemp -d "${TMPDIR:-/tmp}/suit-bench-http-smoke.XXXXXX") || exit 1
pid= hpid=
cleanup() {
    for p in $hpid $pid; do
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
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
    sleep 0.1
done
printf 'bench-token\n' >"$dir/token"
"$httpd" --suitd "$dir/s.sock" --listen 127.0.0.1:0 --token-file "$dir/token" \
    --log-level warn 2>"$dir/httpd.log" &
hpid=$!
i=0
until grep -q "suit-httpd: ready" "$dir/httpd.log"; do
    i=$((i + 1))
    [ $i -gt 100 ] && { cat "$dir/httpd.log"; fail "suit-httpd did not start"; }
    sleep 0.1
done
addr=$(sed -n 's|.*listening on http://\(.*\)$|\1|p' "$dir/httpd.log")

"$bench" --http "$addr" --token-file "$dir/token" --rules "$rules" -c 4 -P 2 -d 2 \
    --pid "$hpid" >"$dir/out" 2>&1
rc=$?
cat "$dir/out"
[ $rc -eq 0 ] || fail "suit-bench --http exited with $rc"
grep -Eq '^requests +[1-9][0-9]* ok, 0 errors' "$dir/out" || fail "no answered requests, or errors"
grep -q "over http://$addr" "$dir/out" || fail "not the HTTP path"
"$bench" --http "$addr" --token-file "$dir/token" --method ping -c 2 -d 1 --rate 100 --json \
    >"$dir/out" 2>&1 || fail "ping --rate --json run failed"
grep -q '"errors": 0' "$dir/out" || fail "ping run: errors"
grep -q '"transport": "http"' "$dir/out" || fail "JSON lacks the transport"
# Without the token: a 401, counted by its status (the gateway then closes
# the connection rather than read a body from an unauthenticated client).
"$bench" --http "$addr" --rules "$rules" -c 1 -n 20 >"$dir/out" 2>&1
[ $? -eq 1 ] || fail "requests without the token did not fail"
grep -q "error 401 (HTTP status): 1" "$dir/out" || fail "the 401 was not counted"
echo "PASS: suit-bench --http smoke"
