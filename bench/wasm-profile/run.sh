#!/usr/bin/env bash
# Profiles s3gate.wasm under Node's V8 with a mock proxy-wasm host (see README.md), for both
# signing configurations, RUNS times each; prints each run's report and then min-max ranges.
#
#   bench/wasm-profile/run.sh [--wasm PATH] [--runs 3] [--requests 200000] [--warmup 20000]
#
# Results (JSON and .cpuprofile, which Chrome DevTools / speedscope open) go to $OUT
# (default /tmp/s3gate-wasm-profile).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WASM="$REPO/target/wasm32-wasip1/release/s3gate.wasm"
RUNS=3
PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --wasm) WASM="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    *) PASS+=("$1"); shift ;;
  esac
done
OUT="${OUT:-/tmp/s3gate-wasm-profile}"
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.cpuprofile
for run in $(seq 1 "$RUNS"); do
  for mode in envoy-signing filter-signing; do
    flag=()
    [ "$mode" = filter-signing ] && flag=(--filter-signing)
    echo "=== run $run, $mode"
    node --no-warnings "$HERE/profile.mjs" --wasm "$WASM" "${flag[@]}" \
      --json "$OUT/$mode-$run.json" "${PASS[@]+"${PASS[@]}"}"
    echo
  done
done
node "$HERE/summary.mjs" "$OUT"/*.json
