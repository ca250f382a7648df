#!/bin/sh
# config_errors.sh -- a wrong key or value in either plugin's block makes collectd
# refuse to start with a message naming it; a right config passes.
# collectd 5.12's `-t` cannot show this: its main() returns success right after reading
# the command line, before the config file is parsed (src/daemon/collectd.c,
# "if (config.test_config) return 0;"), so `-t` passes any config. `-T` parses the
# config, runs init and one read cycle, and exits non-zero on a config error: the same
# check collectd's start does ("Error: Parsing the config file failed!").
set -u
. "${srcdir:-.}/tests/integration/lib.sh"
fs_setup

# check_conf EXPECT(ok|fail) NEEDLE BLOCK: writes a config with BLOCK, runs collectd -T.
check_conf() {
  conf="$FS_TMP/t.conf"
  fs_write_conf "$conf"
  printf '%s\n' "$3" >>"$conf"
  out=$("$FS_COLLECTD" -T -C "$conf" 2>&1)
  rc=$?
  if [ "$1" = ok ]; then
    [ $rc -eq 0 ] || fs_fail "collectd -T rejected a valid config: $out"
    echo "ok: valid config accepted"
    return
  fi
  [ $rc -ne 0 ] || fs_fail "collectd -T accepted a config with $2"
  echo "$out" | grep -q -- "$2" || fs_fail "collectd -T failed without naming '$2': $out"
  echo "ok: rejected, naming '$2'"
}

check_conf ok "" 'LoadPlugin foresight_forecast
<Plugin foresight_forecast>
  DataDir "'"$FS_TMP"'/data"
  Horizon 300 3600
  SeriesTimeout 0
</Plugin>'
check_conf fail "Frobnicate" 'LoadPlugin foresight_forecast
<Plugin foresight_forecast>
  Frobnicate 3
</Plugin>'
check_conf fail "Horizon 450" 'LoadPlugin foresight_forecast
<Plugin foresight_forecast>
  Horizon 450
</Plugin>'
check_conf fail "SeriesTimeout 0.5" 'LoadPlugin foresight_forecast
<Plugin foresight_forecast>
  SeriesTimeout 0.5
</Plugin>'
check_conf fail "SeriesTimeout" 'LoadPlugin foresight_forecast
<Plugin foresight_forecast>
  SeriesTimeout "1d"
</Plugin>'
check_conf fail "Models \"arima\"" 'LoadPlugin foresight_forecast
<Plugin foresight_forecast>
  Models "ets" "arima"
</Plugin>'
check_conf fail "Metric" 'LoadPlugin foresight_forecast
<Plugin foresight_forecast>
  <Map>
    Type "gauge"
  </Map>
</Plugin>'
check_conf fail "Speed 0" 'LoadPlugin foresight_replay
<Plugin foresight_replay>
  File "/nonexistent.csv"
  Speed 0
</Plugin>'
check_conf fail "Loop" 'LoadPlugin foresight_replay
<Plugin foresight_replay>
  File "/nonexistent.csv"
  Loop 3
</Plugin>'
echo "PASS"
