#!/bin/bash
# bench/policies.sh: what choosing a named policy per request costs
# (issue 16, BENCHMARKS.md "Named policies").  Needs a Release build
# (default build-bench; BUILD=dir), jq and valgrind.
#
# Mixes, each every patient of rules/tests (201) once per policy listed:
#   single       no options.policy: today's single policy
#   one-named    options.policy "default" on every request (the lookup alone)
#   alternating  --policies default,clinic-a: the policy changes on every request
#   four         --policies default,clinic-a,clinic-b,clinic-c
# clinic-a sets isotretinoin-washout-days = 90, clinic-b two holds, clinic-c
# five values.  Each round runs every mix once, back to back, so a ratio
# compares runs made under the same load from other sessions; the spread
# over ROUNDS rounds shows how much that load moved them.
#
#   bench/policies.sh              5 rounds of 5 s, in-process and daemon, then callgrind
#   ROUNDS=3 DURATION=3 bench/policies.sh
set -euo pipefail
export SUITD_ALLOW_ROOT=1

src=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$src/build-bench}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
RULES=${RULES:-$src/rules}
CALLGRIND=${CALLGRIND:-1}
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$src" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" --target suitd suit-bench -j2 >/dev/null
SUITD=$BUILD/daemon/suitd
BENCH=$BUILD/bench/suit-bench
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/suit-bench-policies.XXXXXX")}
mkdir -p "$OUT/policies"
cat >"$OUT/policies/clinic-a.ini" <<'EOF'
[policy]
isotretinoin-washout-days = 90
EOF
cat >"$OUT/policies/clinic-b.ini" <<'EOF'
[policy]
botulinum-toxin-hold-days = 90
nsaid-hold-days = 7
EOF
cat >"$OUT/policies/clinic-c.ini" <<'EOF'
[policy]
isotretinoin-washout-days = 365
sunburn-hold-days = 28
min-age = 21
chemical-peel-hold-days = 60
enforce-supplement-hold = 1
EOF

mixes="single one-named alternating four"
args_of() {
    case $1 in
    single) ;;
    one-named) echo "--policies default" ;;
    alternating) echo "--policies default,clinic-a" ;;
    four) echo "--policies default,clinic-a,clinic-b,clinic-c" ;;
    esac
}

pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; }
trap cleanup EXIT

# ratio FIELD MODE MIX: "median min max" of MIX's FIELD over single's, per round
ratios() {
    local field=$1 mode=$2 mix=$3
    for r in $(seq "$ROUNDS"); do
        jq -n --slurpfile a "$OUT/$mode-$mix-$r.json" --slurpfile b "$OUT/$mode-single-$r.json" \
            "\$a[0].$field / \$b[0].$field"
    done | sort -g | awk '{v[NR]=$1} END {printf "%.3f (min %.3f, max %.3f)", v[int((NR+1)/2)], v[1], v[NR]}'
}

echo "suit-bench named policies, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "runs: $OUT"
for r in $(seq "$ROUNDS"); do
    for m in $mixes; do
        # shellcheck disable=SC2046
        "$BENCH" --in-process --rules "$RULES" --policy-dir "$OUT/policies" $(args_of $m) \
            -d "$DURATION" --warmup 1 --json >"$OUT/inproc-$m-$r.json"
    done
done

sock=$OUT/suitd.sock
"$SUITD" serve --rules "$RULES" --policy-dir "$OUT/policies" --socket "$sock" --listen none \
    --workers 2 --idle-timeout 0 --log-level warn 2>"$OUT/suitd.log" &
pid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
for r in $(seq "$ROUNDS"); do
    for m in $mixes; do
        # shellcheck disable=SC2046
        "$BENCH" --socket "$sock" --rules "$RULES" $(args_of $m) -c 16 -P 8 -d "$DURATION" \
            --warmup 1 --pid "$pid" --json >"$OUT/daemon-$m-$r.json"
    done
done
kill -TERM "$pid"
wait "$pid" || true
pid=

echo
echo "| mix | in-process req/s | in-process CPU per request | daemon req/s | daemon CPU per request |"
echo "|---|---|---|---|---|"
for m in $mixes; do
    printf '| %s | %s | %s | %s | %s |\n' "$m" \
        "$(ratios throughput inproc $m)" "$(ratios cpu_us_per_request inproc $m)" \
        "$(ratios throughput daemon $m)" "$(ratios daemon_cpu_us_per_request daemon $m)"
done
echo "(ratios to the single mix of the same round: median, min and max over $ROUNDS rounds)"
for m in single alternating; do
    printf 'absolute, round 1, %s: in-process %.0f req/s, %.1f us CPU; daemon %.0f req/s, %.1f us daemon CPU\n' \
        "$m" "$(jq .throughput "$OUT/inproc-$m-1.json")" "$(jq .cpu_us_per_request "$OUT/inproc-$m-1.json")" \
        "$(jq .throughput "$OUT/daemon-$m-1.json")" "$(jq .daemon_cpu_us_per_request "$OUT/daemon-$m-1.json")"
done

if [ "$CALLGRIND" = 1 ]; then
    # Instructions per request: (-n 3000 run) - (-n 1000 run), / 2000, so
    # loading and the ruleset's own cases cancel out.  Not moved by other
    # sessions' load, but blind to cache misses.
    echo
    echo "| mix | instructions per request (callgrind) | ratio |"
    echo "|---|---|---|"
    base=
    for m in $mixes; do
        for n in 1000 3000; do
            # shellcheck disable=SC2046
            valgrind --tool=callgrind --callgrind-out-file="$OUT/cg-$m-$n.out" \
                "$BENCH" --in-process --rules "$RULES" --policy-dir "$OUT/policies" \
                $(args_of $m) -n $n >/dev/null 2>"$OUT/cg-$m-$n.log"
        done
        a=$(sed -n 's/.*Collected : //p' "$OUT/cg-$m-1000.log")
        b=$(sed -n 's/.*Collected : //p' "$OUT/cg-$m-3000.log")
        per=$(( (b - a) / 2000 ))
        [ -z "$base" ] && base=$per
        printf '| %s | %d | %.3f |\n' "$m" "$per" "$(echo "$per / $base" | bc -l)"
    done
fi
