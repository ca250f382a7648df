#!/bin/sh
# forecast_restart.sh -- issue 3's acceptance test, on the real collectd daemon:
#   1. collectd with foresight_replay (one real VM of ../shared/traces, one trace hour
#      per second) and foresight_forecast writes usage history and forecast bands into
#      RRD files;
#   2. the daemon is killed with SIGKILL and started again with the same config (the
#      replay's fixed Epoch makes it continue where it was);
#   3. the usage history is still there, the plugin logs its warm start, and new
#      forecasts reach the forecast RRD before the replay could have sent the 144 steps
#      a fit needs (8 x the longest horizon + 48, see forecast/model.c): the model came
#      from the RRD history.
set -u
. "${srcdir:-.}/tests/integration/lib.sh"
fs_setup
fs_need_traces

VM=rnd-186
TRACE="$FS_TRACES/bitbrains_rnd/$VM.csv"
[ -f "$TRACE" ] || fs_skip "no trace $TRACE"
DATA="$FS_TMP/foresight"
LOG="$FS_TMP/collectd.log"
CONF="$FS_TMP/collectd.conf"
EPOCH=$(date +%s)
MIN_FIT_STEPS=144

fs_write_conf "$CONF" "$LOG"
cat >>"$CONF" <<CONF
LoadPlugin foresight_replay
<Plugin foresight_replay>
  File "$TRACE"
  Start 33
  Speed 3600
  Epoch $EPOCH
</Plugin>
LoadPlugin foresight_forecast
<Plugin foresight_forecast>
  DataDir "$DATA"
  Metrics "cpu" "mem"
  Horizon 300 900 3600
  History 172800
  RetrainInterval 2
  Models "naive" "snaive" "ets" "ar"
</Plugin>
CONF

USAGE="$DATA/$VM/foresight_replay/fs_usage-cpu.rrd"
BAND="$DATA/$VM/foresight_forecast-cpu/fs_forecast-h300.rrd"
FAR=$((EPOCH + 400 * 86400)) # beyond any replayed time

history_and_forecasts() {
  last=$(fs_rrd_last "$USAGE")
  [ "$last" -gt 0 ] && [ "$(fs_rrd_count "$USAGE" $((last - 2 * 86400)) "$last")" -ge 250 ] &&
    [ "$(fs_rrd_last "$BAND")" -gt 0 ]
}

echo "== run 1: replay $VM at 3600x until RRD holds history and forecasts"
fs_start "$CONF"
fs_wait 90 history_and_forecasts || fs_fail "no RRD history and forecasts after 90 s"
fs_kill9
L1=$(fs_rrd_last "$USAGE")
F1=$(fs_rrd_last "$BAND")
N1=$(fs_rrd_count "$USAGE" $((L1 - 2 * 86400)) "$L1")
echo "killed (SIGKILL): usage has $N1 steps up to $L1, forecasts up to $F1"

warm_forecasts() {
  grep -q "foresight_forecast plugin: warm start: 2 series rebuilt" "$LOG" &&
    [ "$(fs_rrd_last "$BAND")" -gt "$F1" ]
}

echo "== run 2: same config"
fs_start "$CONF"
fs_wait 60 warm_forecasts || fs_fail "no warm start or no new forecast within 60 s"
fs_kill9
grep "warm start" "$LOG"

N2=$(fs_rrd_count "$USAGE" $((L1 - 2 * 86400)) "$L1")
[ "$N2" -ge "$N1" ] || fs_fail "usage history lost in the restart: $N2 steps, had $N1"

first_live=$(fs_rrd_rows "$USAGE" "$L1" "$FAR" | awk 'NR == 1 { print $1 }')
first_fc=$(fs_rrd_rows "$BAND" "$F1" "$FAR" | awk 'NR == 1 { print $1 }')
[ -n "$first_live" ] || fs_fail "no usage step after the restart"
[ -n "$first_fc" ] || fs_fail "no forecast after the restart"
origin=$first_fc # forecasts are stored at their origin, as the value lists
live_steps=$(((origin - first_live) / 300 + 1))
echo "after restart: first live step $first_live, first new forecast from origin $origin" \
  "($live_steps live steps; a fit from live data alone needs $MIN_FIT_STEPS)"
[ "$live_steps" -lt "$MIN_FIT_STEPS" ] ||
  fs_fail "first forecast after $live_steps live steps: not fed from the RRD history"
mean=$(fs_rrd_rows "$BAND" "$F1" "$FAR" | awk 'NR == 1 { print $2 }')
echo "forecast mean at $first_fc: $mean"
echo "PASS"
