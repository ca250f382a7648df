#!/bin/sh
# graph.sh -- foresight-graph on RRD files written from a real trace excerpt.
# tests/integration/graph-fixture writes a VM's usage, a simple forecast and its
# allocations with libhistory (3 days of bitbrains_rnd/rnd-93); then foresight-graph must
#   - write a PNG (signature, size from its IHDR header = the size asked, and more bytes
#     than the same picture over a time range without data: the data was drawn);
#   - draw a host set's forecast without a usage file;
#   - fail with exit 1 and the path when a file is missing or the PNG cannot be written;
#   - fail with exit 2 naming the option on bad usage.
# Skips (77) without the traces: set FS_TRACES to ../shared/traces.
set -u
builddir=$(pwd)
srcdir=${srcdir:-.}
traces=${FS_TRACES:-$srcdir/../shared/traces}
trace=$traces/bitbrains_rnd/rnd-93.csv
if [ ! -f "$trace" ]; then
  echo "SKIP: no trace $trace (set FS_TRACES to the shared traces folder)"
  exit 77
fi
# Under AddressSanitizer, librrd's graph code and the font libraries leak by design:
# suppress those stacks (they need the slow unwinder to be seen through librrd).
export LSAN_OPTIONS="suppressions=$srcdir/tests/integration/lsan-librrd.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
graph=$builddir/tools/foresight-graph
fixture=$builddir/tests/integration/graph-fixture
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# run NAME EXPECTED_STATUS ARGS...: runs foresight-graph, keeps stdout and stderr.
run() {
  name=$1 want=$2
  shift 2
  "$graph" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  got=$?
  if [ "$got" -ne "$want" ]; then
    fail "$name: exit $got, want $want"
    sed 's/^/  /' "$tmp/$name.err"
  fi
}

# expect_text NAME FILE TEXT: FILE (out or err) of run NAME contains TEXT.
expect_text() {
  grep -F -q -- "$3" "$tmp/$1.$2" || { fail "$1: std$2 lacks \"$3\""; sed 's/^/  /' "$tmp/$1.$2"; }
}

# be32 FILE OFFSET: the big-endian 32-bit number at OFFSET.
be32() {
  od -An -tu1 -j "$2" -N4 "$1" | awk '{ print ((($1 * 256 + $2) * 256 + $3) * 256 + $4) }'
}

# check_png FILE WIDTH HEIGHT
check_png() {
  [ -f "$1" ] || { fail "$1 not written"; return; }
  sig=$(od -An -tx1 -N8 "$1" | tr -d ' \n')
  [ "$sig" = 89504e470d0a1a0a ] || fail "$1: not a PNG (signature $sig)"
  [ "$(od -An -c -j12 -N4 "$1" | tr -d ' \n')" = IHDR ] || fail "$1: no IHDR chunk first"
  w=$(be32 "$1" 16) h=$(be32 "$1" 20)
  [ "$w" = "$2" ] && [ "$h" = "$3" ] || fail "$1: ${w}x${h}, want ${2}x${3}"
}

size() { wc -c <"$1" | tr -d ' '; }

if ! "$fixture" "$trace" "$tmp/data" 3 3600 >"$tmp/fixture.out"; then
  echo "FAIL: graph-fixture could not write the RRD files"
  exit 1
fi
read -r vm first last <"$tmp/fixture.out"
dd="--datadir $tmp/data"

# the picture, at an asked size, and the same over a range before the data
run cpu 0 $dd --vm "$vm" --metric cpu --start -3d --width 800 --height 360 -o "$tmp/cpu.png"
check_png "$tmp/cpu.png" 800 360
expect_text cpu out "$tmp/cpu.png: 800x360 PNG"
run empty 0 $dd --vm "$vm" --metric cpu --start $((first - 400000)) --end $((first - 200000)) \
  --width 800 --height 360 -o "$tmp/empty.png"
check_png "$tmp/empty.png" 800 360
[ "$(size "$tmp/cpu.png")" -gt $(($(size "$tmp/empty.png") * 3 / 2)) ] ||
  fail "cpu.png ($(size "$tmp/cpu.png") B) is not much larger than empty.png ($(size "$tmp/empty.png") B)"

run mem 0 $dd --vm "$vm" --metric mem -o "$tmp/mem.png" --end "$last" --start -1d
check_png "$tmp/mem.png" 900 420

# a host set: forecast only (the contract gives a set no usage file)
mkdir -p "$tmp/data/set-web" && cp -R "$tmp/data/$vm/foresight_forecast-cpu" "$tmp/data/set-web/"
run set 0 $dd --set web --metric cpu -o "$tmp/set.png"
check_png "$tmp/set.png" 900 420

# missing files: exit 1, the path named
run no_horizon 1 $dd --vm "$vm" --metric cpu --horizon 300 -o "$tmp/x.png"
expect_text no_horizon err "$tmp/data/$vm/foresight_forecast-cpu/fs_forecast-h300.rrd"
expect_text no_horizon err "3600"
run no_vm 1 $dd --vm nosuchvm --metric cpu -o "$tmp/x.png"
expect_text no_vm err "$tmp/data/nosuchvm/foresight_replay/fs_usage-cpu.rrd"
run no_plugin 1 $dd --vm "$vm" --metric cpu --plugin foresight_virt -o "$tmp/x.png"
expect_text no_plugin err "$tmp/data/$vm/foresight_virt/fs_usage-cpu.rrd"
run unwritable 1 $dd --vm "$vm" --metric cpu -o "$tmp/nosuchdir/x.png"
expect_text unwritable err "$tmp/nosuchdir/x.png"
[ -f "$tmp/x.png" ] && fail "a failed run left $tmp/x.png"

# bad usage: exit 2, the option named
run bad_width 2 $dd --vm "$vm" --metric cpu --width abc -o "$tmp/x.png"
expect_text bad_width err "--width"
run bad_start 2 $dd --vm "$vm" --metric cpu --start yesterday -o "$tmp/x.png"
expect_text bad_start err "--start"
run bad_vm 2 $dd --vm "../$vm" --metric cpu -o "$tmp/x.png"
expect_text bad_vm err "--vm"
run no_out 2 $dd --vm "$vm" --metric cpu
expect_text no_out err "-o"
run unknown 2 $dd --vm "$vm" --metric cpu --colour red -o "$tmp/x.png"
expect_text unknown err "colour"
run help 0 --help
expect_text help out "Usage: foresight-graph"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "PASS: foresight-graph pictures and errors"
