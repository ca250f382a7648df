# virt_lib.sh -- shell helpers of the foresight_virt integration tests (sourced).
# Sets: builddir, srcdir (absolute), tmp (a fresh directory, removed on exit unless
# FS_TEST_KEEP is set), failures.
# The real collectd daemon runs with collectd's own plugins from /usr/lib/collectd and
# foresight_virt from the build tree: PluginDir is switched between the LoadPlugin lines.

builddir=$(pwd)
srcdir=$(cd "${srcdir:-.}" && pwd)
collectd=${COLLECTD:-/usr/sbin/collectd}
collectd_plugins=${COLLECTD_PLUGINS:-/usr/lib/collectd}
failures=0
daemon_pid=""

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

[ -x "$collectd" ] || skip "no $collectd (install collectd-core)"
for p in csv logfile write_log; do
  [ -f "$collectd_plugins/$p.so" ] || skip "no collectd plugin $collectd_plugins/$p.so"
done
[ -f "$builddir/plugins/.libs/foresight_virt.so" ] || {
  echo "FAIL: $builddir/plugins/.libs/foresight_virt.so not built"; exit 1; }

tmp=$(mktemp -d)
cleanup_hooks=""
cleanup() {
  stop_collectd
  for h in $cleanup_hooks; do "$h"; done
  if [ -n "${FS_TEST_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# collectd_conf FILE PLUGIN_BLOCK [INTERVAL]: a collectd.conf that logs to $tmp/log
# (write_log: every value list as JSON, meta data included), writes CSV files under
# $tmp/data and loads foresight_virt with the given <Plugin> block.
collectd_conf() {
  cat >"$1" <<EOF
Interval ${3:-1}
Hostname "fs-test"
FQDNLookup false
BaseDir "$tmp"
PIDFile "$tmp/collectd.pid"
TypesDB "/usr/share/collectd/types.db" "$srcdir/conf/types.db"
PluginDir "$collectd_plugins"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$tmp/log"
  Timestamp true
</Plugin>
LoadPlugin write_log
<Plugin write_log>
  Format JSON
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "$tmp/data"
  StoreRates true
</Plugin>
PluginDir "$builddir/plugins/.libs"
LoadPlugin foresight_virt
$2
EOF
}

# start_collectd CONF [USER]: runs the daemon in the foreground, in the background.
start_collectd() {
  if [ -n "${2:-}" ]; then
    setpriv --reuid="$2" --regid="$2" --clear-groups env HOME="$tmp/home" \
      XDG_RUNTIME_DIR="$tmp/run" "$collectd" -f -C "$1" >"$tmp/collectd.out" 2>&1 &
  else
    "$collectd" -f -C "$1" >"$tmp/collectd.out" 2>&1 &
  fi
  daemon_pid=$!
}

stop_collectd() {
  [ -n "$daemon_pid" ] || return 0
  kill "$daemon_pid" 2>/dev/null
  wait "$daemon_pid" 2>/dev/null
  daemon_pid=""
}

# csv VM FILE-PREFIX: the CSV file of today (or any day) for a VM's value list,
# e.g. csv web1 foresight_virt/fs_usage-cpu
csv() { ls "$tmp/data/$1/$2"-* 2>/dev/null | tail -n 1; }

# csv_rows VM PREFIX: number of data rows.
csv_rows() {
  f=$(csv "$1" "$2")
  [ -n "$f" ] && tail -n +2 "$f" | wc -l || echo 0
}

# csv_last VM PREFIX [COLUMN]: the last value (column 2 by default).
csv_last() {
  f=$(csv "$1" "$2")
  [ -n "$f" ] && tail -n 1 "$f" | cut -d, -f"${3:-2}"
}

# wait_for SECONDS COMMAND...: polls every 0.5 s until COMMAND succeeds; 1 on timeout.
wait_for() {
  limit=$(( $1 * 2 )); shift
  i=0
  while [ $i -lt $limit ]; do
    "$@" && return 0
    [ -n "$daemon_pid" ] && ! kill -0 "$daemon_pid" 2>/dev/null && return 1
    sleep 0.5
    i=$((i + 1))
  done
  return 1
}

# expect_value VM PREFIX WANT: the last CSV value equals WANT (as a number).
expect_value() {
  got=$(csv_last "$1" "$2")
  if [ -n "$got" ] && awk -v a="$got" -v b="$3" 'BEGIN { exit !(a + 0 == b + 0) }'; then
    pass "$1 $2 = $3"
  else
    fail "$1 $2 = '${got}', want $3"
  fi
}

# expect_range VM PREFIX LO HI: LO <= last value <= HI.
expect_range() {
  got=$(csv_last "$1" "$2")
  if [ -n "$got" ] && awk -v a="$got" -v lo="$3" -v hi="$4" 'BEGIN { exit !(a >= lo && a <= hi) }'; then
    pass "$1 $2 = $got in [$3, $4]"
  else
    fail "$1 $2 = '${got}', want within [$3, $4]"
  fi
}

# log_has TEXT: the daemon's log contains TEXT (fixed string).
log_has() { grep -F -q -- "$1" "$tmp/log" 2>/dev/null; }

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "--- collectd log (last 40 lines, value lists left out)"
    grep -v '"values"' "$tmp/log" 2>/dev/null | grep -v 'write_log values:$' | tail -n 40
    cat "$tmp/collectd.out" 2>/dev/null | tail -n 20
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
  exit 0
}
