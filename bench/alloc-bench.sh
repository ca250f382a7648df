#!/bin/sh
# alloc-bench.sh -- the allocation part of `make bench` (PROTOCOL.md part B): the
# planner's allocations from foresight-replay --alloc over the Bitbrains VMs of TRACES,
# scored by the reference evaluator ../shared/yardstick/alloc_eval.py together with its
# built-in baselines of the same run (static_prov, static_p95, hpa, vpa, snaive_p95,
# oracle), printed per resource with a verdict per target of bench/targets.csv
# (rows "alloc": tau_U <= 0.5 x the best of hpa, vpa and snaive_p95; relative slack
# <= vpa's; resizes <= 12 per VM-day).
#
#   bench/alloc-bench.sh BUILDDIR TRACES
#
# YARDSTICK: the yardstick folder (default TRACES/../yardstick); PYTHON: a python3 with
# pandas (default: the first found). Without them it says so and exits 0: the rest of
# the bench does not depend on it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: alloc-bench.sh BUILDDIR TRACES}" && pwd)
traces=${2:?usage: alloc-bench.sh BUILDDIR TRACES}
yardstick=${YARDSTICK:-$traces/../yardstick}
out="$build/bench-out"
mkdir -p "$out"

echo
echo "== allocation quality (PROTOCOL.md B, Bitbrains VMs, 5-minute actuation delay)"
if [ -z "${PYTHON:-}" ]; then
  for p in python3 /usr/bin/python3; do
    if "$p" -c 'import pandas, numpy' 2>/dev/null; then PYTHON=$p; break; fi
  done
fi
if [ -z "${PYTHON:-}" ] || [ ! -f "$yardstick/alloc_eval.py" ]; then
  echo "skipped: needs $yardstick/alloc_eval.py and a python3 with pandas (python3-pandas)"
  exit 0
fi

start=$(date +%s%N)
"$build/tools/foresight-replay" -q --alloc "$out/alloc.csv" "$traces"
end=$(date +%s%N)
echo "foresight-replay --alloc $traces: $(( (end - start) / 1000000 )) ms" \
  "($(($(wc -l <"$out/alloc.csv") - 1)) rows, $out/alloc.csv)"
echo "scoring with $yardstick/alloc_eval.py (baselines computed in the same run) ..."
"$PYTHON" "$yardstick/alloc_eval.py" --traces "$traces" --alloc "$out/alloc.csv" \
  --name foresight --out "$out/alloc" >"$out/alloc_eval.log"
grep '^external' "$out/alloc_eval.log"
# a missed target is a verdict to read, as for the accuracy targets, not a failed run
"$PYTHON" "$here/alloc_report.py" "$out/alloc/alloc_scores.csv" "$here/targets.csv" || true
