#!/bin/sh
# plugins-bench.sh -- cost of the collectd plugins, printed as plain figures:
#   (a) the forecast write plugin's work in collectd's write threads, per value
#       (bench/fs-write-cost: the write callback's core in a loop, 1 and 4 threads);
#   (b) the real daemon pinned to one CPU (taskset) with foresight_replay sending
#       10,000 VMs x 6 value lists every 10 s (22 Bitbrains traces x Copies 455, one
#       trace step per 10 s interval) into foresight_forecast: value lists dispatched
#       vs received, dropped, CPU% of the daemon;
#   (c) memory per series: the daemon's RSS / series, and (fs-write-cost) a series
#       with a full 14-day window and a fitted model, and the heap its eviction
#       (SeriesTimeout) gives back with the cost of the sweep.
# In (b) each value closes a 300 s step (Speed 30): 30x the step rate of a live
# 10 s-interval daemon, so the stepper's share is an upper bound. RRD history is off
# in the first run (the dispatch path alone) and on in the second.
#
#   bench/plugins-bench.sh BUILDDIR TRACES [SECONDS]     (default 90 s per run)
set -eu
build=$(cd "${1:?usage: plugins-bench.sh BUILDDIR TRACES [SECONDS]}" && pwd)
traces=${2:?usage: plugins-bench.sh BUILDDIR TRACES [SECONDS]}
seconds=${3:-90}
here=$(cd "$(dirname "$0")" && pwd)
collectd=${FS_COLLECTD:-/usr/sbin/collectd}

echo
echo "== plugins (a, c): write callback core and memory per series (bench/fs-write-cost)"
OPENBLAS_NUM_THREADS=1 "$build/bench/fs-write-cost" --vms 10000 --rounds 30 --rss-series 200

if [ ! -x "$collectd" ] || ! command -v taskset >/dev/null; then
  echo "plugins (b): skipped, no $collectd or taskset"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/foresight-bench.XXXXXX")
pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# cpu_ticks PID: user + system clock ticks of the process so far
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

run_daemon() { # NAME WRITE_HISTORY
  log="$tmp/$1.log"
  conf="$tmp/$1.conf"
  cat >"$conf" <<CONF
BaseDir "$tmp"
PIDFile "$tmp/$1.pid"
Interval 10
TypesDB "/usr/share/collectd/types.db" "$here/../conf/types.db"
PluginDir "/usr/lib/collectd"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$log"
</Plugin>
PluginDir "$build/plugins/.libs"
LoadPlugin foresight_replay
<Plugin foresight_replay>
  Directory "$traces/bitbrains_rnd"
  Start 33
  Speed 30
  Copies 455
  HostSet "bench"
</Plugin>
LoadPlugin foresight_forecast
<Plugin foresight_forecast>
  DataDir "$tmp/$1-rrd"
  WriteHistory $2
  Metrics "cpu" "mem" "disk" "net"
</Plugin>
CONF
  OPENBLAS_NUM_THREADS=1 taskset -c 0 "$collectd" -f -C "$conf" >"$tmp/$1.out" 2>&1 &
  pid=$!
  sleep 15 # trace loading and the first cycles stay out of the CPU figure
  t0=$(date +%s.%N)
  c0=$(cpu_ticks "$pid")
  sleep "$seconds"
  c1=$(cpu_ticks "$pid")
  t1=$(date +%s.%N)
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
  hz=$(getconf CLK_TCK)
  usage=$(sed -n 's/.*dispatched \([0-9]*\) fs_usage and \([0-9]*\) fs_alloc.*/\1/p' "$log")
  alloc=$(sed -n 's/.*dispatched \([0-9]*\) fs_usage and \([0-9]*\) fs_alloc.*/\2/p' "$log")
  recv=$(sed -n 's/.*received \([0-9]*\) values (\([0-9]*\) late) in \([0-9]*\) series.*/\1/p' "$log")
  late=$(sed -n 's/.*received \([0-9]*\) values (\([0-9]*\) late) in \([0-9]*\) series.*/\2/p' "$log")
  series=$(sed -n 's/.*received \([0-9]*\) values (\([0-9]*\) late) in \([0-9]*\) series.*/\3/p' "$log")
  left=$(sed -n 's/.* \([0-9]*\) value lists\{0,1\} left after shutting down.*/\1/p' "$log")
  vms=$(sed -n 's/.*replaying \([0-9]*\) VMs.*/\1/p' "$log")
  steps=$(sed -n 's/.* \([0-9]*\) steps, .*/\1/p' "$log")
  rrd=$(sed -n 's/.* \([0-9]*\) RRD samples (\([0-9]*\) errors).*/\1 RRD samples written, \2 errors/p' "$log")
  echo "$1: $vms VMs, $((usage + alloc)) value lists dispatched ($usage fs_usage, $alloc fs_alloc) in ~$((seconds + 15)) s"
  awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v u="$usage" -v a="$alloc" \
    -v r="$recv" -v l="$late" -v s="$series" -v rss="$rss" -v left="${left:-0}" -v n="$1" 'BEGIN {
      printf "%s: daemon CPU %.1f%% of one core over %.0f s; %.0f value lists/s dispatched\n",
        n, 100 * (c1 - c0) / hz / (t1 - t0), t1 - t0, (u + a) / (t1 - t0 + 15)
      printf "%s: fs_usage dispatched %d, received by foresight_forecast %d (+%d late), dropped %d; %d left in the write queue at shutdown\n",
        n, u, r, l, u - r - l, left
      printf "%s: RSS %d KiB for %d series: %.1f KiB per series (windows hold only this run'"'"'s steps)\n",
        n, rss, s, rss / (s > 0 ? s : 1)
    }'
  echo "$1: $steps steps closed and fed to forecasters; $rrd"
  grep -c "Value too old" "$log" | awk -v n="$1" '$1 > 0 { printf "%s: %d \"value too old\" in collectd'"'"'s cache\n", n, $1 }'
}

echo
echo "== plugins (b, c): collectd -f pinned to CPU 0, 10,010 VMs x 6 value lists / 10 s, $seconds s"
run_daemon no-history false
run_daemon with-history true
du -sh "$tmp/with-history-rrd" 2>/dev/null | awk '{ print "with-history: RRD files " $1 }'
