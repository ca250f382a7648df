#!/usr/bin/env bash
# foresight's demo, in one command: installs what is missing, builds, and runs the
# collectd daemon with foresight's plugins over four VMs of libvirt's test driver
# (conf/demo/node.xml) whose usage is replayed from real Bitbrains traces, sped up 1800
# times (a day of trace every 48 s). It prints every decision as it is applied and,
# when it ends (after --minutes, or at Ctrl-C), draws each VM's usage, forecast band
# and allocation, and compares foresight with a reactive autoscaler on the same replay.
#
# Usage: scripts/demo.sh [--minutes N] [--out DIR] [OPTION]...
#   --minutes N     stop after N minutes (default 3; fractions allowed)
#   --seconds N     stop after N seconds instead
#   --out DIR       keep graphs, summary, logs and data in DIR (default: a new folder
#                   /tmp/foresight-demo.XXXXXX); DIR must be empty or absent
#   --speed N       trace seconds per wall second (default 1800)
#   --builddir DIR  use the build in DIR as it is: no package install, no build
#   --no-build      the same with build/release
#   -h, --help      this text
#
# Needs ../shared/traces beside the checkout (or FS_TRACES=DIR). Runs as any user:
# libvirtd (test driver only) and mosquitto (loopback, a free port) are the demo's own,
# started and stopped by it. Exit status: 0 when the run and its report are complete,
# 1 when something failed (the message says what), 2 on bad usage.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
PROG=demo

minutes=3
seconds=""
out=""
speed=1800
builddir=""
build=1

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
bad_usage() { echo "$PROG: $*" >&2; echo "Try scripts/demo.sh --help" >&2; exit 2; }
die() { echo "$PROG: $*" >&2; exit 1; }
is_number() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]] && [[ ! $1 =~ ^0+([.]0*)?$ ]]; }

while [ $# -gt 0 ]; do
  case $1 in
    --minutes) [ $# -ge 2 ] || bad_usage "--minutes needs a number"
      is_number "$2" || bad_usage "--minutes $2: a positive number of minutes"
      minutes=$2; seconds=""; shift 2 ;;
    --seconds) [ $# -ge 2 ] || bad_usage "--seconds needs a number"
      is_number "$2" || bad_usage "--seconds $2: a positive number of seconds"
      seconds=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || bad_usage "--out needs a folder"; out=$2; shift 2 ;;
    --speed) [ $# -ge 2 ] || bad_usage "--speed needs a number"
      [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge 300 ] && [ "$2" -le 36000 ] ||
        bad_usage "--speed $2: a whole number from 300 to 36000"
      speed=$2; shift 2 ;;
    --builddir) [ $# -ge 2 ] || bad_usage "--builddir needs a folder"
      builddir=$2; build=0; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) bad_usage "unknown argument \"$1\"" ;;
  esac
done
[ -n "$seconds" ] || seconds=$(awk -v m="$minutes" 'BEGIN { print m * 60 }')
seconds=$(awk -v s="$seconds" 'BEGIN { printf "%d", s + 0.5 }')
[ "$seconds" -ge 20 ] || bad_usage "the demo needs at least 20 seconds (the forecaster's first fit)"

traces=${FS_TRACES:-$top/../shared/traces}
[ -d "$traces/bitbrains_rnd" ] ||
  die "no traces at $traces/bitbrains_rnd (the shared traces beside the checkout, or FS_TRACES=DIR)"

if [ $build = 1 ]; then
  "$top/scripts/install-deps.sh"
  echo "== building foresight (build/release)"
  "$top/scripts/build.sh" release >/dev/null
fi
[ -n "$builddir" ] || builddir=$top/build/release
builddir=$(cd "$builddir" 2>/dev/null && pwd) || die "no build folder $builddir"
plugindir=$builddir/plugins/.libs
for p in foresight_replay foresight_virt foresight_forecast foresight_actuator; do
  [ -f "$plugindir/$p.so" ] || die "plugin $p.so not built in $plugindir"
done
ctl=$builddir/tools/foresight-ctl
graph=$builddir/tools/foresight-graph
for t in "$ctl" "$graph"; do [ -x "$t" ] || die "$t not built"; done
for c in /usr/sbin/collectd /usr/sbin/libvirtd virsh mosquitto mosquitto_passwd rrdtool \
  /usr/bin/python3 setsid; do
  command -v "$c" >/dev/null || die "$c not found (run scripts/install-deps.sh)"
done
for p in match_regex match_value rrdtool csv logfile; do
  [ -f "/usr/lib/collectd/$p.so" ] || die "collectd's $p plugin is missing (collectd-core)"
done
if ldd "$plugindir/foresight_forecast.so" | grep -q -E 'libasan|libubsan'; then
  die "$plugindir: plugins built with sanitizers cannot be loaded by /usr/sbin/collectd"
fi

if [ -z "$out" ]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/foresight-demo.XXXXXX")
else
  mkdir -p "$out" || die "cannot make $out"
  [ -z "$(ls -A "$out")" ] || die "$out is not empty (give a new folder)"
  out=$(cd "$out" && pwd)
fi
chmod 700 "$out"
mkdir -p "$out/rrd" "$out/csv" "$out/state" "$out/graphs" "$out/broker"
# libvirtd's socket path must stay short (108 bytes): a folder of its own under /tmp
lvdir=$(mktemp -d /tmp/fs-demo-lv.XXXXXX)

# ------------------------------------------------------------------ processes
# Daemons run in sessions of their own (setsid), so that Ctrl-C reaches this script
# only and it stops them in order: collectd first (its last decisions are still
# applied and published), then the watcher, the broker and libvirtd.
pids=()
collectd_pid=""
watch_pid=""

stop_pid() { # stop_pid PID SECONDS: TERM, wait up to SECONDS, then KILL
  local pid=$1 i=0
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$PROG: pid $pid did not stop within $2 s; killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    stop_pid "${pids[i]}" 5
  done
  rm -rf "$lvdir"
}
trap cleanup EXIT
stop=0
trap 'stop=1' INT TERM HUP

# start NAME LOG CMD...: a daemon in a session of its own; its pid in $started.
start() {
  local log=$2
  shift 2
  setsid "$@" >"$log" 2>&1 </dev/null &
  started=$!
  pids+=("$started")
}

wait_for() { # wait_for SECONDS WHAT CMD...: polls CMD every 0.1 s
  local limit=$(($1 * 10)) what=$2 i=0
  shift 2
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt $limit ] || die "$what did not come up within $((limit / 10)) s"
    sleep 0.1
  done
}

# ------------------------------------------------------------------ libvirtd
# libvirt's test driver, served by a libvirtd of the demo's own on a private socket, so
# that collectd and virsh see the same domains; LIBVIRT_DRIVER_DIR points at an empty
# folder, so it loads no hypervisor driver (no QEMU, no root needed).
mkdir -p "$lvdir/drivers"
cat >"$lvdir/libvirtd.conf" <<EOF
unix_sock_dir = "$lvdir"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "1:file:$out/libvirtd.log"
EOF
echo "== starting libvirtd (test driver) and defining conf/demo/node.xml's domains"
start libvirtd "$out/libvirtd.out" env LIBVIRT_DRIVER_DIR="$lvdir/drivers" \
  /usr/sbin/libvirtd -f "$lvdir/libvirtd.conf" -p "$lvdir/libvirtd.pid"
uri="test+unix:///default?socket=$lvdir/libvirt-sock"
wait_for 15 "libvirtd (see $out/libvirtd.out)" virsh -q -c "$uri" list --all
# The driver forgets its domains when the last connection closes: hold one open.
start virsh-hold /dev/null virsh -q -c "$uri" event --all --loop
sleep 0.3
virsh -q -c "$uri" destroy test >/dev/null 2>&1 || true # the default node's own domain
virsh -q -c "$uri" undefine test >/dev/null 2>&1 || true
awk -v dir="$lvdir" '
  /^[ \t]*<domain[ >]/ { n++; file = dir "/domain" n ".xml" }
  file != "" { print > file }
  /^[ \t]*<\/domain>/ { close(file); file = "" }' "$top/conf/demo/node.xml"
vms=()
for f in "$lvdir"/domain*.xml; do
  name=$(sed -n 's|.*<name>\(.*\)</name>.*|\1|p' "$f" | head -n 1)
  virsh -q -c "$uri" define "$f" >/dev/null || die "virsh define $name failed"
  virsh -q -c "$uri" start "$name" >/dev/null || die "virsh start $name failed"
  vms+=("$name")
done

# ------------------------------------------------------------------ mosquitto
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
newpass() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
for account in operator foresight viewer; do
  (umask 077 && newpass >"$out/broker/$account.password")
done
echo "== starting mosquitto on 127.0.0.1:$port (accounts operator, foresight, viewer)"
start mosquitto "$out/broker/mosquitto.out" \
  env FORESIGHT_OPERATOR_PASSWORD="$(cat "$out/broker/operator.password")" \
  FORESIGHT_DAEMON_PASSWORD="$(cat "$out/broker/foresight.password")" \
  FORESIGHT_VIEWER_PASSWORD="$(cat "$out/broker/viewer.password")" \
  "$top/scripts/mosquitto-demo.sh" "$port" "$out/broker"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
wait_for 10 "mosquitto (see $out/broker/mosquitto.out)" port_open

# ------------------------------------------------------------------ collectd
epoch=$(date +%s)
per() { awk -v a="$1" -v s="$speed" -v min="$2" 'BEGIN { v = a / s; if (v < min) v = min; printf "%.4g", v }'; }
sed -e "s|@OUT@|$out|g" -e "s|@SRCDIR@|$top|g" -e "s|@PLUGINDIR@|$plugindir|g" \
  -e "s|@URI@|$uri|g" -e "s|@TRACES@|$traces|g" -e "s|@SPEED@|$speed|g" \
  -e "s|@EPOCH@|$epoch|g" -e "s|@PORT@|$port|g" \
  -e "s|@DAEMON_PASSWORD@|$(cat "$out/broker/foresight.password")|g" \
  -e "s|@CYCLE@|$(per 300 0.05)|g" -e "s|@RETRAIN@|$(per 3600 1)|g" \
  -e "s|@COOLDOWN@|$(per 3600 1 | cut -d. -f1)|g" \
  -e "s|@BORROW@|$(per 7200 1 | cut -d. -f1)|g" \
  "$top/conf/demo/collectd.conf.in" >"$out/collectd.conf"
/usr/sbin/collectd -t -C "$out/collectd.conf" >"$out/collectd.out" 2>&1 ||
  { cat "$out/collectd.out" >&2; die "collectd refused $out/collectd.conf"; }

watch_cmd="$ctl -h 127.0.0.1 -p $port -u viewer -P \"\$(cat $out/broker/viewer.password)\" watch"
cat <<EOF

foresight demo: 4 VMs (${vms[*]}) on libvirt's test driver, replaying Bitbrains traces
at ${speed}x (one trace hour every $(per 3600 0)s) for ${seconds}s; Ctrl-C stops it early.
  output   $out
  config   $out/collectd.conf   (template conf/demo/collectd.conf.in)
  libvirt  virsh -c '$uri' list
To watch the decisions in another terminal (read-only viewer account):
  $watch_cmd
To steer as the operator (only this account may write policy/set and command):
  $ctl -h 127.0.0.1 -p $port -u operator -P "\$(cat $out/broker/operator.password)" set web1 cpu 4 --for 30s

EOF

[ $stop = 0 ] || die "interrupted before collectd started"
start collectd "$out/collectd.out" /usr/sbin/collectd -f -C "$out/collectd.conf"
collectd_pid=$started
# The decisions as they are applied, one line each, from the viewer account.
start watch "$out/decisions.log" "$ctl" -h 127.0.0.1 -p "$port" -u viewer \
  -P "$(cat "$out/broker/viewer.password")" watch
watch_pid=$started
start_s=$(date +%s)
deadline=$((start_s + seconds))
shown=0

show_decisions() { # prints the new result lines of the watcher's log
  local n
  n=$(wc -l <"$out/decisions.log")
  if [ "$n" -gt "$shown" ]; then
    sed -n "$((shown + 1)),${n}p" "$out/decisions.log" | grep -v '\[planned\]' || true
    shown=$n
  fi
}

echo "== running (forecasts begin after 6 trace hours, about $(per 21600 0)s)"
next_status=$((start_s + 20))
while [ $stop = 0 ]; do
  now=$(date +%s)
  [ "$now" -lt "$deadline" ] || break
  if ! kill -0 "$collectd_pid" 2>/dev/null; then
    tail -n 20 "$out/collectd.log" >&2 || true
    die "collectd stopped on its own (see $out/collectd.log)"
  fi
  show_decisions
  if [ "$now" -ge "$next_status" ]; then
    applied=$(grep -c -E 'decision [0-9]+ .*: applied' "$out/collectd.log" || true)
    forecasts=$(cat "$out"/csv/*/foresight_forecast-*/fs_forecast-h* 2>/dev/null |
      grep -c '^[0-9]' || true)
    trace_s=$(( (now - epoch) * speed ))
    printf -- '-- %ds: %d trace hours replayed, %d forecasts, %d decisions applied\n' \
      $((now - start_s)) $((trace_s / 3600)) "$forecasts" "$applied"
    next_status=$((now + 20))
  fi
  sleep 0.5 &
  wait $! || true
done

# ------------------------------------------------------------------ report
echo "== stopping collectd"
stop_pid "$collectd_pid" 30
sleep 0.5 # the last results reach the watcher
stop_pid "$watch_pid" 5
show_decisions
applied=$(grep -c -E 'decision [0-9]+ .*: applied' "$out/collectd.log" || true)
failed=$(grep -c -E 'decision [0-9]+ .*: (failed|rolled_back)' "$out/collectd.log" || true)
echo "$applied decisions applied, $failed failed (collectd.log)"

echo "== allocation files, summary and graphs"
if ! ls "$out"/csv/*/foresight_virt/fs_alloc-* >/dev/null 2>&1 ||
  ! ls "$out"/csv/*/foresight_replay/fs_usage-* >/dev/null 2>&1; then
  cleanup
  trap - EXIT
  echo "stopped before the replay and libvirt gave any value: nothing to report"
  exit 0
fi
report_args=(--out "$out" --epoch "$epoch" --speed "$speed")
for vm in "${vms[@]}"; do
  trace=$(awk -v vm="$vm" '
    /<VM "/ { split($0, q, "\""); from = q[2] }
    /Name "/ && from != "" { split($0, q, "\""); if (q[2] == vm) print from; from = "" }' \
    "$out/collectd.conf")
  report_args+=(--vm "$vm=$traces/bitbrains_rnd/$trace.csv")
done
/usr/bin/python3 "$top/scripts/demo-report.py" "${report_args[@]}" ||
  die "the summary could not be made (see above)"
first=$(sed -n 's/^first_usage_ts \([0-9]*\)$/\1/p' "$out/report.env")
for vm in "${vms[@]}"; do
  for metric in cpu mem; do
    # the band of the 15-minute forecast: the one LeadTime 900 decides on
    if [ ! -f "$out/rrd/$vm/foresight_forecast-$metric/fs_forecast-h900.rrd" ]; then
      echo "no graph of $vm $metric: no forecast yet"
      continue
    fi
    "$graph" --datadir "$out/rrd" --vm "$vm" --metric "$metric" --horizon 900 \
      --plugin foresight_replay --start "$first" --width 1000 --height 360 \
      -o "$out/graphs/$vm-$metric.png" >/dev/null ||
      echo "$PROG: no graph of $vm $metric (see above)" >&2
  done
done

echo "== stopping mosquitto and libvirtd"
cleanup
trap - EXIT
echo
cat "$out/summary.txt"
echo
echo "graphs:  $(cd "$out/graphs" && ls ./*.png 2>/dev/null | sed 's|^\./||' | tr '\n' ' ')"
echo "         in $out/graphs"
echo "summary: $out/summary.txt; decisions: $out/decisions.log; daemon log: $out/collectd.log"
