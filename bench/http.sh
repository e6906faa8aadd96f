#!/bin/bash
# bench/http.sh: the HTTP/JSON path next to the MessagePack path, from one
# run (BENCHMARKS.md section 7).  Starts one suitd and one suit-httpd in
# front of it, then drives the same patients (rules/tests/*.json) straight
# to suitd's Unix socket and through the gateway's POST /v1/assess, with the
# same clients, and prints both and their ratio.  Needs a Release build
# (default build-bench; BUILD=dir to change) and jq.
#
#   bench/http.sh                     10 s each, 16 clients, 1 request each in flight
#   DURATION=5 CONNS=32 bench/http.sh
#
# Every run's suit-bench JSON goes to $OUT (default a temp dir, printed).
set -euo pipefail
export SUITD_ALLOW_ROOT=1       # a test rig run as root (see bench/run.sh)

src=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$src/build-bench}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
WORKERS=${WORKERS:-2}
CONNS=${CONNS:-16}
DEPTH=${DEPTH:-1}
THREADS=${THREADS:-}            # suit-httpd --threads (default: its own)
RULES=${RULES:-$src/rules}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/suit-bench-http.XXXXXX")}
mkdir -p "$OUT"

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$src" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" --target suitd suit-httpd suit-bench -j2 >/dev/null
BENCH=$BUILD/bench/suit-bench

pid= hpid=
cleanup() {
    [ -n "$hpid" ] && kill -TERM "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null || true
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT

sock=$OUT/suitd.sock
rm -f "$sock"
"$BUILD/daemon/suitd" serve --socket "$sock" --listen none --rules "$RULES" \
    --workers "$WORKERS" --idle-timeout 0 --log-level warn 2>>"$OUT/suitd.log" &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "suitd did not start; see $OUT/suitd.log" >&2; exit 1; }
"$BUILD/http/suit-httpd" --suitd "$sock" --listen 127.0.0.1:0 --log-level warn \
    ${THREADS:+--threads "$THREADS"} 2>"$OUT/suit-httpd.log" &
hpid=$!
for _ in $(seq 100); do grep -q "suit-httpd: ready" "$OUT/suit-httpd.log" && break; sleep 0.1; done
addr=$(sed -n 's|.*listening on http://\(.*\)$|\1|p' "$OUT/suit-httpd.log")
[ -n "$addr" ] || { cat "$OUT/suit-httpd.log" >&2; exit 1; }
sleep 0.5

common=(--rules "$RULES" -c "$CONNS" -P "$DEPTH" -d "$DURATION" --warmup "$WARMUP" --json)
echo "== MessagePack: unix:$sock" >&2
"$BENCH" --socket "$sock" --pid "$pid" "${common[@]}" >"$OUT/msgpack.json"
echo "== HTTP: http://$addr (suit-httpd pid $hpid)" >&2
"$BENCH" --http "$addr" --pid "$hpid" "${common[@]}" >"$OUT/http.json"

j() { jq -r "$2" "$OUT/$1.json"; }
calc() { python3 -c "print($1)"; }
mt=$(j msgpack .throughput) ht=$(j http .throughput)
m50=$(j msgpack '.latency_us.p50') h50=$(j http '.latency_us.p50')
m99=$(j msgpack '.latency_us.p99') h99=$(j http '.latency_us.p99')
printf '\n%d clients, %d in flight each, %s s, %s suitd workers, load average %s\n' \
    "$CONNS" "$DEPTH" "$DURATION" "$WORKERS" "$(cut -d' ' -f1 /proc/loadavg)"
printf '| path | requests/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|\n'
printf '| MessagePack (Unix socket) | %.0f | %.2f | %.2f | %s |\n' "$mt" "$(calc "$m50/1000")" \
    "$(calc "$m99/1000")" "$(j msgpack .errors)"
printf '| HTTP/JSON (suit-httpd) | %.0f | %.2f | %.2f | %s |\n' "$ht" "$(calc "$h50/1000")" \
    "$(calc "$h99/1000")" "$(j http .errors)"
printf '| HTTP / MessagePack | %.2fx | %.2fx | %.2fx | |\n' "$(calc "$ht/$mt")" \
    "$(calc "$h50/$m50")" "$(calc "$h99/$m99")"
printf '\nCPU per request: suitd %.1f us (MessagePack run); suit-httpd %.1f us (HTTP run, %s)\n' \
    "$(j msgpack .daemon_cpu_us_per_request)" "$(j http .daemon_cpu_us_per_request)" \
    "$(grep -o '[0-9]* threads' "$OUT/suit-httpd.log" | head -1)"
echo "runs in $OUT" >&2
