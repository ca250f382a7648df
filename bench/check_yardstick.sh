#!/bin/sh
# check_yardstick.sh -- fc-score must agree with the reference scorer.
#
#   bench/check_yardstick.sh [TRACES_DIR]      (default: ../shared/traces)
#
# Runs fc-peers (naive, snaive) over the traces, scores the forecasts with fc-score and
# with ../shared/yardstick/score_forecasts.py, and compares every shared numeric column
# of both the aggregate and the per-VM scores (bench/compare_scores.py, 1e-6 relative).
# score_forecasts.py writes its CSVs with %.6g (up to 5e-6 relative rounding), so it is
# run unchanged except that pandas' to_csv writes %.17g here.
# FC_BINDIR: where fc-peers and fc-score are (default: this script's folder, i.e. an
# in-tree build); PYTHON: a python3 with pandas (default: the first that has it).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
traces=${1:-$top/../shared/traces}
yardstick=${YARDSTICK:-$top/../shared/yardstick}
bindir=${FC_BINDIR:-$here}

if [ -z "${PYTHON:-}" ]; then
  for p in python3 /usr/bin/python3; do
    if "$p" -c 'import pandas' 2>/dev/null; then PYTHON=$p; break; fi
  done
fi
[ -n "${PYTHON:-}" ] || { echo "check_yardstick: no python3 with pandas" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_yardstick.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

"$bindir/fc-peers" --traces "$traces" --out "$tmp/fc"
start=$(date +%s%N)
"$bindir/fc-score" --traces "$traces" --out "$tmp/c_agg.csv" --per-vm "$tmp/c_per_vm.csv" \
  "$tmp/fc/naive.csv" "$tmp/fc/snaive.csv"
end=$(date +%s%N)
echo "fc-score: $(( (end - start) / 1000000 )) ms" >&2

"$PYTHON" - "$yardstick/score_forecasts.py" --traces "$traces" --forecasts "$tmp/fc" \
  --out "$tmp/py" >/dev/null <<'PY'
import runpy, sys
import pandas as pd
to_csv = pd.DataFrame.to_csv
def full_precision(self, *a, **k):
    if "float_format" in k:
        k["float_format"] = "%.17g"
    return to_csv(self, *a, **k)
pd.DataFrame.to_csv = full_precision
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
PY

"$PYTHON" "$here/compare_scores.py" "$tmp/c_agg.csv" "$tmp/py/forecast_scores.csv" \
  "$tmp/c_per_vm.csv" "$tmp/py/forecast_scores_per_vm.csv"
