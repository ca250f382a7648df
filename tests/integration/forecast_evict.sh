#!/bin/sh
# forecast_evict.sh -- SeriesTimeout on the real collectd daemon: VMs that stop sending
# are forgotten, and one that comes back is rebuilt from its RRD file.
#   1. six VMs send 200 steps of cpu through collectd's unixsock plugin (PUTVAL, the
#      way any collectd client feeds it), enough for a fit;
#   2. only vm0 and vm1 go on, with SeriesTimeout 2: the log shows the other four
#      evicted, one line per sweep, and 2 series left;
#   3. vm2 sends again: the new series is rebuilt from its usage file (the step that was
#      open at its eviction is there) and forecasts after a few live steps, where a
#      new VM would need 144; the shutdown line counts one return.
# unixsock rather than foresight_replay: the replay cannot stop some VMs and keep others.
set -u
. "${srcdir:-.}/tests/integration/lib.sh"
fs_setup
[ -f /usr/lib/collectd/unixsock.so ] || fs_skip "no collectd unixsock plugin (collectd-core)"
command -v python3 >/dev/null || fs_skip "no python3 (Debian package python3)"

DATA="$FS_TMP/foresight"
LOG="$FS_TMP/collectd.log"
CONF="$FS_TMP/collectd.conf"
SOCK="$FS_TMP/collectd.sock"
NOW=$(date +%s)
T0=$(((NOW / 300 - 400) * 300)) # step k is at T0 + 300 k, in the past until k = 400

fs_write_conf "$CONF" "$LOG"
cat >>"$CONF" <<CONF
PluginDir "/usr/lib/collectd"
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "$SOCK"
</Plugin>
PluginDir "$FS_PLUGINDIR"
LoadPlugin foresight_forecast
<Plugin foresight_forecast>
  DataDir "$DATA"
  Metrics "cpu"
  History 172800
  Models "naive" "snaive" "ets"
  SeriesTimeout 2
</Plugin>
CONF

# putval: sends the PUTVAL lines on stdin, one answer each; fails on an error answer.
putval() {
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
for line in sys.stdin:
    f.write(line)
    f.flush()
    answer = f.readline()
    if not answer.startswith("0 "):
        sys.exit("PUTVAL %s: %s" % (line.strip(), answer.strip()))
' "$SOCK"
}

# steps VM FROM TO: PUTVAL lines of steps [FROM, TO) of VM (a daily wave)
steps() {
  awk -v vm="$1" -v from="$2" -v to="$3" -v t0="$T0" 'BEGIN {
    for (k = from; k < to; k++)
      printf "PUTVAL %s/foresight_replay/fs_usage-cpu interval=300 %d:%.4f\n",
        vm, t0 + 300 * k, 2 + sin(6.2832 * k / 288) + 0.1 * sin(1.3 * k)
  }'
}

evicted_total() {
  sed -n 's/.*evicted \([0-9]*\) series.*/\1/p' "$LOG" | awk '{ n += $1 } END { print n + 0 }'
}

fs_start "$CONF"
fs_wait 10 test -S "$SOCK" || fs_fail "no unixsock socket"

echo "== 1: vm0..vm5 send 200 steps"
for v in 0 1 2 3 4 5; do steps "vm$v" 0 200; done | putval || fs_fail "PUTVAL refused"

echo "== 2: only vm0 and vm1 go on"
k=200
while [ "$(evicted_total)" -lt 4 ] && [ $k -lt 240 ]; do
  { steps vm0 $k $((k + 1)); steps vm1 $k $((k + 1)); } | putval || fs_fail "PUTVAL refused"
  k=$((k + 1))
  sleep 0.5
done
grep "evicted" "$LOG"
[ "$(evicted_total)" -eq 4 ] || fs_fail "$(evicted_total) series evicted after $((k - 200)) steps, want 4"
grep "evicted" "$LOG" | tail -n 1 | grep -q "; 2 series left" || fs_fail "not 2 series left"
lines=$(grep -c "evicted" "$LOG")
[ "$lines" -le 4 ] || fs_fail "$lines eviction lines for 4 series: not one per sweep"

USAGE="$DATA/vm2/foresight_replay/fs_usage-cpu.rrd"
BAND="$DATA/vm2/foresight_forecast-cpu/fs_forecast-h300.rrd"
fs_wait 10 sh -c "[ \"\$(rrdtool last '$USAGE')\" -eq $((T0 + 199 * 300)) ]" ||
  fs_fail "vm2's open step 199 not written at eviction (last $(fs_rrd_last "$USAGE"))"

echo "== 3: vm2 comes back at step $k"
back=$k
band_after_return() { [ "$(fs_rrd_last "$BAND")" -ge $((T0 + 300 * back)) ]; }
while ! band_after_return && [ $k -lt $((back + 20)) ]; do
  for v in 0 1 2; do steps "vm$v" $k $((k + 1)); done | putval || fs_fail "PUTVAL refused"
  k=$((k + 1))
  sleep 0.5
done
band_after_return || fs_fail "no forecast for vm2 within $((k - back)) live steps of its return"
echo "vm2 forecast again after $((k - back)) live steps (a new VM needs 144)"

kill -TERM "$FS_PID"
wait "$FS_PID" 2>/dev/null
grep "series evicted" "$LOG"
grep -q "4 series evicted, 1 rebuilt from RRD after a return" "$LOG" ||
  fs_fail "shutdown line does not count 4 evicted and 1 return"
echo "PASS"
