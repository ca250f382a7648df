# lib.sh -- helpers for the integration tests: they drive the real collectd daemon
# (/usr/sbin/collectd) with the plugins of this build, in a temporary folder, and read
# the RRD files back with rrdtool. Sourced by tests/integration/*.sh, which automake
# runs from the top build folder with $srcdir set.
#
# A test that cannot run for a real reason exits 77 (automake's SKIP) saying why.

FS_COLLECTD=${FS_COLLECTD:-/usr/sbin/collectd}
FS_BUILDDIR=${FS_BUILDDIR:-$(pwd)}
FS_SRCDIR=${srcdir:-.}
FS_SRCDIR=$(cd "$FS_SRCDIR" && pwd)
FS_PLUGINDIR="$FS_BUILDDIR/plugins/.libs"
FS_TRACES=${FS_TRACES:-$FS_SRCDIR/../shared/traces}
FS_PIDS=""
FS_TMP=""

fs_skip() {
  echo "SKIP: $*"
  exit 77
}

fs_fail() {
  echo "FAIL: $*"
  if [ -n "$FS_TMP" ] && [ -f "$FS_TMP/collectd.log" ]; then
    echo "--- last lines of collectd.log"
    tail -n 30 "$FS_TMP/collectd.log"
  fi
  exit 1
}

fs_cleanup() {
  for pid in $FS_PIDS; do
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  [ -n "$FS_TMP" ] && rm -rf "$FS_TMP"
}

# Checks what every test needs and makes $FS_TMP (removed on exit).
fs_setup() {
  [ -x "$FS_COLLECTD" ] || fs_skip "no collectd daemon at $FS_COLLECTD (Debian package collectd-core)"
  command -v rrdtool >/dev/null || fs_skip "no rrdtool command (Debian package rrdtool)"
  for p in foresight_replay foresight_forecast; do
    [ -f "$FS_PLUGINDIR/$p.so" ] || fs_skip "plugin $p.so not built in $FS_PLUGINDIR"
  done
  # a sanitizer build's plugins cannot load into an uninstrumented daemon
  if ldd "$FS_PLUGINDIR/foresight_forecast.so" | grep -q -E 'libasan|libubsan'; then
    fs_skip "plugins built with sanitizers cannot be loaded by $FS_COLLECTD"
  fi
  FS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/foresight-it.XXXXXX") || fs_fail "mktemp"
  trap fs_cleanup EXIT
  trap 'exit 1' INT TERM
}

fs_need_traces() {
  [ -d "$FS_TRACES/bitbrains_rnd" ] ||
    fs_skip "no traces at $FS_TRACES (set FS_TRACES to ../shared/traces)"
}

# fs_write_conf FILE [LOGFILE]: a collectd.conf head (global options, logfile plugin,
# foresight's types); the caller appends the plugins. Without LOGFILE messages go to
# stderr, as collectd does before any log plugin is loaded.
fs_write_conf() {
  {
    echo "BaseDir \"$FS_TMP\""
    echo "PIDFile \"$FS_TMP/collectd.pid\""
    echo "Interval 1"
    # the sped-up replay sends bursts of one VM's steps: one write thread keeps their order
    echo "WriteThreads 1"
    echo "TypesDB \"/usr/share/collectd/types.db\" \"$FS_SRCDIR/conf/types.db\""
    if [ -n "${2:-}" ]; then
      echo "PluginDir \"/usr/lib/collectd\""
      echo "LoadPlugin logfile"
      echo "<Plugin logfile>"
      echo "  LogLevel info"
      echo "  File \"$2\""
      echo "  Timestamp true"
      echo "</Plugin>"
    fi
    echo "PluginDir \"$FS_PLUGINDIR\""
  } >"$1"
}

# fs_start CONF: starts collectd in the foreground (as a background job); sets FS_PID.
fs_start() {
  "$FS_COLLECTD" -f -C "$1" >>"$FS_TMP/collectd.out" 2>&1 &
  FS_PID=$!
  FS_PIDS="$FS_PIDS $FS_PID"
}

# fs_kill9: kills the daemon the way a crash or power loss would.
fs_kill9() {
  kill -9 "$FS_PID" 2>/dev/null
  wait "$FS_PID" 2>/dev/null
  return 0
}

# fs_wait SECONDS COMMAND...: polls COMMAND every 0.25 s until it succeeds; 1 on timeout
# or when the daemon died.
fs_wait() {
  local limit=$1 i=0
  shift
  while [ "$i" -lt $((limit * 4)) ]; do
    "$@" && return 0
    kill -0 "$FS_PID" 2>/dev/null || return 1
    sleep 0.25
    i=$((i + 1))
  done
  return 1
}

# fs_rrd_last FILE: the file's last update (epoch seconds), or 0 when absent.
fs_rrd_last() {
  if [ -f "$1" ]; then rrdtool last "$1" 2>/dev/null || echo 0; else echo 0; fi
}

# fs_rrd_rows FILE FROM TO: "time value" rows of the first data source with a known
# value, at the native step, for steps ending in (FROM, TO].
fs_rrd_rows() {
  [ -f "$1" ] || return 0
  rrdtool fetch "$1" AVERAGE -r 300 -s "$2" -e "$3" 2>/dev/null |
    awk -F'[: ]+' '/^[0-9]+:/ { if ($2 !~ /nan/) print $1, $2 }'
}

# fs_rrd_count FILE FROM TO: how many steps in (FROM, TO] have a known value.
fs_rrd_count() {
  fs_rrd_rows "$@" | wc -l
}
