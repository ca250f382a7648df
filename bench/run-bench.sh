#!/bin/sh
# run-bench.sh -- `make bench`: accuracy, calibration and cost of the engine on
# ../shared/traces under ../shared/PROTOCOL.md, beside naive and seasonal naive computed
# in the same run, checked against the acceptance targets (bench/targets.csv: the best
# peer's VM-mean MASE as measured by the evaluators; ours must be <= 0.95 x that, the
# 90 % interval must cover 0.87..0.93 with an upper-miss rate <= 0.06).
#
#   bench/run-bench.sh BUILDDIR [TRACES]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run-bench.sh BUILDDIR [TRACES]}" && pwd)
traces=${2:-$here/../../shared/traces}
[ -d "$traces" ] || { echo "bench: no traces at $traces" >&2; exit 1; }
out="$build/bench-out"
mkdir -p "$out"

echo "== forecasts: foresight-replay --protocol over $traces"
"$build/tools/foresight-replay" -q --protocol -o "$out/foresight.csv" \
  -R "$out/fits.csv" -t "$out/foresight.timing.json" "$traces"
"$build/bench/fc-peers" --traces "$traces" --out "$out" 2>/dev/null
"$build/bench/fc-score" --traces "$traces" --out "$out/scores.csv" \
  "$out/foresight.csv" "$out/naive.csv" "$out/snaive.csv"

echo
echo "== accuracy (VM mean): MASE, 90% coverage, upper-miss, relative width"
awk -F, -v targets="$here/targets.csv" '
  BEGIN { while ((getline line < targets) > 0) { split(line, t, ","); best[t[1] "," t[2] "," t[3]] = t[4] } }
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  { key = $col["dataset"] "," $col["metric"] "," $col["h"]
    m[key "," $col["model"]] = $col["mase"]; cov[key] = (cov[key] == "" && $col["model"] == "foresight") ? $col["coverage"] : cov[key]
    if ($col["model"] == "foresight") { c[key] = $col["coverage"]; u[key] = $col["upper_miss"]; w[key] = $col["rel_width"]; keys[++n] = key } }
  END {
    printf "%-14s %-5s %3s | %7s %7s %7s | %9s %7s | %8s %10s %9s | %s\n", "dataset", "metric", "h",
      "mase", "naive", "snaive", "best_peer", "target", "coverage", "upper_miss", "rel_width", "verdict"
    fail = 0
    for (i = 1; i <= n; i++) {
      k = keys[i]; split(k, p, ",")
      target = 0.95 * best[k]
      ok = (m[k ",foresight"] <= target) && (c[k] >= 0.87) && (c[k] <= 0.93) && (u[k] <= 0.06)
      if (!ok) fail++
      printf "%-14s %-5s %3s | %7.3f %7.3f %7.3f | %9.3f %7.3f | %8.3f %10.3f %9.3f | %s\n", p[1], p[2], p[3],
        m[k ",foresight"], m[k ",naive"], m[k ",snaive"], best[k], target, c[k], u[k], w[k], ok ? "ok" : "MISSED"
    }
    printf "accuracy targets met: %d of %d\n", n - fail, n
  }' "$out/scores.csv"

echo
echo "== cost (one core)"
sed 's/[{}"]//g; s/, /\n/g' "$out/foresight.timing.json" | awk -F': ' '
  { v[$1] = $2 }
  END {
    printf "protocol run per series (7 refits with selection, 168 origins): median %.1f ms, mean %.1f ms over %d series\n", 1000 * v["series_s_median"], 1000 * v["s_per_series"], v["series"]
    printf "fit with model selection: %.2f ms per fit (%d fits)\n", 1000 * v["fit_s_per_fit"], v["fits"]
    printf "replay peak memory (RSS): %d KiB\n", v["maxrss_kb"]
  }'
"$build/bench/fc-speed" --traces "$traces"

echo
echo "== GRU training (cpu series, one fit per test day)"
"$build/tools/foresight-replay" -q --protocol --models gru --metrics cpu -o "$out/gru.csv" \
  -R "$out/gru-fits.csv" -t "$out/gru.timing.json" "$traces"
sed 's/[{}"]//g; s/, /\n/g' "$out/gru.timing.json" | awk -F': ' '{ v[$1] = $2 }
  END { printf "GRU training: %.3f s per fit (%d fits)\n", v["fit_s_per_fit"], v["fits"] }'
awk -F, 'NR > 1 && $NF != "nan" { s += $NF; n++ } END { if (n) printf "GRU final training loss (MSE, normalised units): mean %.4f over %d fits\n", s / n, n }' "$out/gru-fits.csv"
grep -c ',gru' "$out/fits.csv" | awk '{ printf "fits where the GRU is among the chosen models (default config excludes it): %d\n", $1 }'

if command -v python3 >/dev/null && [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import pandas' 2>/dev/null; then
  echo
  echo "== fc-score against the reference yardstick"
  PYTHON=/usr/bin/python3 FC_BINDIR="$build/bench" "$here/check_yardstick.sh" "$traces"
fi
sh "$here/plugins-bench.sh" "$build" "$traces"
