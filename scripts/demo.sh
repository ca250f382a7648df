#!/usr/bin/env bash
# The main job on its built-in default, until the collectd demo replaces it: installs
# what is missing, builds, streams one real VM trace from ../shared/traces through the
# forecasting engine under PROTOCOL.md (7 daily refits, 168 hourly origins, horizons
# 5/15/60 min), shows a few forecasts and scores them beside naive and seasonal naive.
# Usage: scripts/demo.sh [TRACE.csv]   (default: Bitbrains VM rnd-26)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
trace=${1:-$top/../shared/traces/bitbrains_rnd/rnd-26.csv}
[ -f "$trace" ] || { echo "demo: trace $trace not found (is ../shared/traces there?)" >&2; exit 1; }
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" release >/dev/null
bin="$top/build/release"
out=$(mktemp -d "${TMPDIR:-/tmp}/foresight-demo.XXXXXX")
trap 'rm -rf "$out"' EXIT

echo "== replaying $(basename "$trace") through foresight (no look-ahead)"
"$bin/tools/foresight-replay" --protocol -o "$out/foresight.csv" -R "$out/fits.csv" "$trace"
echo
echo "== first forecasts (vm,metric,origin_ts,h,mean,lo,hi; h in 5-minute slots)"
head -n 7 "$out/foresight.csv"
echo
echo "== models chosen at each daily refit (metric, season, choice for h = 1, 3, 12)"
cut -d, -f2,4-7 "$out/fits.csv" | column -t -s,
mkdir -p "$out/vm/$(basename "$(dirname "$trace")")"
cp "$trace" "$out/vm/$(basename "$(dirname "$trace")")/"
"$bin/bench/fc-peers" --traces "$out/vm" --out "$out"
echo
echo "== scores over the 7 test days (MASE: lower is better; coverage target 0.90)"
"$bin/bench/fc-score" --traces "$out/vm" --table "$out/foresight.csv" "$out/naive.csv" "$out/snaive.csv"
