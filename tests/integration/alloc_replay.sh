#!/bin/sh
# alloc_replay.sh -- end to end: foresight-replay --alloc on a one-VM excerpt made now
# from a real Bitbrains trace (its last 23 days, the shortest span the protocol
# evaluates), and the reference evaluator ../shared/yardstick/alloc_eval.py must accept
# the allocation CSV as it is: every row an allowed value at the slot it takes effect
# in (no --lenient), no VM or resource missing, no slot left to the default.
#
# FS_TRACES: the traces folder (default $srcdir/../shared/traces); FS_YARDSTICK: the
# yardstick folder (default $FS_TRACES/../yardstick). Skips (77) without them or
# without a python3 that has pandas (Debian python3-pandas).
set -u
FS_BUILDDIR=${FS_BUILDDIR:-$(pwd)}
FS_SRCDIR=$(cd "${srcdir:-.}" && pwd)
FS_TRACES=${FS_TRACES:-$FS_SRCDIR/../shared/traces}
FS_YARDSTICK=${FS_YARDSTICK:-$FS_TRACES/../yardstick}
replay="$FS_BUILDDIR/tools/foresight-replay"
vm=rnd-210 # its provisioned memory changes in the test week, moving the limit

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

trace="$FS_TRACES/bitbrains_rnd/$vm.csv"
[ -f "$trace" ] || skip "no trace $trace (set FS_TRACES to ../shared/traces)"
[ -f "$FS_YARDSTICK/alloc_eval.py" ] || skip "no alloc_eval.py in $FS_YARDSTICK (set FS_YARDSTICK)"
[ -x "$replay" ] || fail "no $replay"
python=""
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import pandas, numpy' 2>/dev/null; then python=$p; break; fi
done
[ -n "$python" ] || skip "no python3 with pandas and numpy (Debian python3-pandas)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/alloc_replay.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# the excerpt: header and the last 23 days (6624 five-minute samples, a few spare)
mkdir -p "$tmp/traces/bitbrains_rnd"
{ head -n 1 "$trace"; tail -n 6650 "$trace"; } >"$tmp/traces/bitbrains_rnd/$vm.csv"

"$replay" -q --alloc "$tmp/alloc.csv" "$tmp/traces" 2>"$tmp/replay.err" ||
  fail "foresight-replay --alloc exited $?: $(cat "$tmp/replay.err")"
[ "$(head -n 1 "$tmp/alloc.csv")" = "vm,resource,ts,alloc" ] ||
  fail "header is \"$(head -n 1 "$tmp/alloc.csv")\""
for r in cpu cpu_quota mem; do
  grep -q "^$vm,$r," "$tmp/alloc.csv" || fail "no $r rows"
done

"$python" "$FS_YARDSTICK/alloc_eval.py" --traces "$tmp/traces" --alloc "$tmp/alloc.csv" \
  --name foresight --policies static_prov --out "$tmp/eval" >"$tmp/eval.out" 2>&1 ||
  fail "alloc_eval.py refused the file: $(tail -n 5 "$tmp/eval.out")"
grep -q "external foresight: {'snapped_rows': 0, 'rows': " "$tmp/eval.out" ||
  fail "alloc_eval.py notes: $(grep external "$tmp/eval.out")"
grep -q "defaulted_slots" "$tmp/eval.out" && fail "slots left to the default: $(grep external "$tmp/eval.out")"

# one scored row per resource, none missing
"$python" - "$tmp/eval/alloc_scores.csv" <<'PY' || fail "scores: see above"
import sys
import pandas as pd
s = pd.read_csv(sys.argv[1])
f = s[s.policy == "foresight"].set_index("resource")
assert sorted(f.index) == ["cpu", "cpu_quota", "mem"], f
assert (f.vms == 1).all() and (f.vms_missing == 0).all(), f
for r, row in f.iterrows():
    print(f"{r}: tau_u {row.tau_u:.4f} rel_slack {row.rel_slack:.3f} "
          f"resizes/VM-day {row.resizes_per_vm_day:.2f}")
PY
echo "PASS: alloc_eval.py accepts foresight-replay's allocations of $vm"
