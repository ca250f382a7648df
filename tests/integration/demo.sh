#!/bin/sh
# demo.sh -- issue 5's acceptance test: scripts/demo.sh end to end in its short form,
# against this build (--builddir: no install, no rebuild). Two runs:
#   (a) --seconds 40: the demo stops on its own; then
#       - decisions were applied (collectd.log) and reached the viewer over MQTT
#         (decisions.log, foresight-ctl watch), and libvirt's allocation of some domain,
#         as foresight_virt read it back, moved away from conf/demo/node.xml's;
#       - every VM has a cpu and a mem graph: a PNG of the asked size with data drawn;
#       - summary.txt has a row of four percentages per VM and resource, and the two
#         fleet rows; the figures behind them lie in [0, 1];
#       - nothing the demo started is left running;
#   (b) a long run stopped by Ctrl-C (SIGINT to its process group, as a terminal
#       sends it) soon after its first decision made on a forecast: exit 0, its
#       summary and graphs are written, and nothing is left running.
# Skips (77) without the traces, libvirtd, mosquitto or collectd's match plugins.
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/integration/lib.sh"
fs_setup
fs_need_traces
[ -x /usr/sbin/libvirtd ] || fs_skip "no /usr/sbin/libvirtd (Debian package libvirt-daemon)"
for c in virsh mosquitto mosquitto_passwd /usr/bin/python3 setsid; do
  command -v "$c" >/dev/null || fs_skip "no $c (scripts/debian-packages)"
done
for p in match_regex match_value rrdtool csv; do
  [ -f "/usr/lib/collectd/$p.so" ] || fs_skip "no collectd plugin $p (collectd-core)"
done
for p in foresight_virt foresight_actuator; do
  [ -f "$FS_PLUGINDIR/$p.so" ] || fs_skip "plugin $p.so not built in $FS_PLUGINDIR"
done
for t in foresight-ctl foresight-graph; do
  [ -x "$FS_BUILDDIR/tools/$t" ] || fs_skip "tools/$t not built in $FS_BUILDDIR"
done
export FS_TRACES
DEMO="$FS_SRCDIR/scripts/demo.sh"
VMS="web1 web2 web3 db1"

# be32 FILE OFFSET: the big-endian 32-bit number at OFFSET.
be32() {
  od -An -tu1 -j "$2" -N4 "$1" | awk '{ print ((($1 * 256 + $2) * 256 + $3) * 256 + $4) }'
}

# check_graphs OUT: a 1000x360 PNG per VM and metric, with more than a blank frame.
check_graphs() {
  for vm in $VMS; do
    for m in cpu mem; do
      png="$1/graphs/$vm-$m.png"
      [ -f "$png" ] || fs_fail "no graph $png"
      [ "$(od -An -tx1 -N8 "$png" | tr -d ' \n')" = 89504e470d0a1a0a ] ||
        fs_fail "$png is not a PNG"
      [ "$(be32 "$png" 16)x$(be32 "$png" 20)" = 1000x360 ] ||
        fs_fail "$png is $(be32 "$png" 16)x$(be32 "$png" 20), not 1000x360"
      # an empty frame with legend is about 15 kB; usage, band and allocation add more
      [ "$(wc -c <"$png")" -gt 20000 ] || fs_fail "$png: $(wc -c <"$png") bytes, no data drawn?"
    done
  done
  echo "ok: 8 graphs (usage, forecast band, allocation) in $1/graphs"
}

# check_summary OUT: a row per VM and resource with four percentages, two fleet rows.
check_summary() {
  s="$1/summary.txt"
  [ -f "$s" ] || fs_fail "no $s"
  for vm in $VMS; do
    for m in cpu mem; do
      grep -E -q "^$vm +$m +[0-9]+( +[0-9]+\.[0-9] %){4} +[0-9]+ +[0-9]+$" "$s" ||
        { cat "$s"; fs_fail "summary: no figures for $vm $m"; }
    done
  done
  for m in cpu mem; do
    grep -E -q "^all +$m +[0-9]+( +[0-9]+\.[0-9] %){4}$" "$s" ||
      { cat "$s"; fs_fail "summary: no fleet row for $m"; }
  done
  awk '/_(tau|slack)_/ { n++; if (!($2 >= 0 && $2 <= 1)) { print "bad: " $0; bad = 1 } }
       END { exit bad || n != 40 }' "$1/report.env" ||
    fs_fail "report.env: not 40 shares in [0, 1]"
  echo "ok: summary with figures for 4 VMs x 2 resources against the reactive baseline"
}

# check_stopped OUT LOG: no process of the demo is left: none names its output folder
# or the libvirt socket folder its LOG printed.
check_stopped() {
  lv=$(sed -n "s|.*socket=\(/tmp/fs-demo-lv\.[A-Za-z0-9]*\)/libvirt-sock.*|\1|p" "$2" | head -n 1)
  [ -n "$lv" ] || fs_fail "the demo did not print its libvirt socket"
  left=$(ps -eo pid=,args= | grep -F -e "$1/" -e "$lv/" | grep -v -e grep -e "$DEMO")
  [ -z "$left" ] || fs_fail "left running after the demo: $left"
}


echo "== (a) scripts/demo.sh --seconds 40"
A="$FS_TMP/a"
"$DEMO" --builddir "$FS_BUILDDIR" --seconds 40 --out "$A" >"$FS_TMP/a.out" 2>&1
rc=$?
sed 's/^/  | /' "$FS_TMP/a.out" | tail -n 30
[ $rc -eq 0 ] || fs_fail "demo exited $rc"
applied=$(grep -c -E 'foresight_actuator plugin: HostSet "[^"]+": decision [0-9]+ .*: applied' \
  "$A/collectd.log")
[ "$applied" -ge 3 ] || fs_fail "only $applied decisions applied"
watched=$(grep -c '\[applied\]$' "$A/decisions.log")
[ "$watched" -ge 3 ] || fs_fail "the viewer saw only $watched applied decisions over MQTT"
grep -q "\[applied\]$" "$FS_TMP/a.out" || fs_fail "no decision printed on the demo's output"
echo "ok: $applied decisions applied, $watched seen by foresight-ctl watch"
# the domains start with these allocations (conf/demo/node.xml): vCPUs, then KiB
moved=0
for start in "web1 2 2097152" "web2 2 2097152" "web3 1 1048576" "db1 2 2097152"; do
  set -- $start
  for f in "$A"/csv/$1/foresight_virt/fs_alloc-vcpus-* "$A"/csv/$1/foresight_virt/fs_alloc-mem-*; do
    case $f in *vcpus*) want=$2 ;; *) want=$3 ;; esac
    awk -F, -v w="$want" 'NR > 1 && $2 + 0 != w { found = 1 } END { exit !found }' "$f" &&
      moved=$((moved + 1))
  done
done
[ $moved -ge 2 ] || fs_fail "libvirt shows only $moved allocations moved from node.xml's"
echo "ok: $moved of 8 allocations read back from libvirt moved from their start"
check_graphs "$A"
check_summary "$A"
check_stopped "$A" "$FS_TMP/a.out"
echo "ok: nothing left running"

echo "== (b) scripts/demo.sh --minutes 10, stopped by Ctrl-C after a forecast's decision"
# As a terminal does it: the demo leads a process group in which SIGINT has its
# default action, and Ctrl-C sends SIGINT to the whole group, 3 s after the first
# decision made on a forecast. 3: no such decision within 60 s; 4: the demo did not
# finish within 60 s of the signal (it is killed then).
B="$FS_TMP/b"
/usr/bin/python3 - "$FS_TMP/b.out" "$DEMO" --builddir "$FS_BUILDDIR" --minutes 10 \
  --out "$B" <<'EOF'
import os, re, signal, subprocess, sys, time
out = open(sys.argv[1], "w")
demo = subprocess.Popen(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT,
                        start_new_session=True,
                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
rc, end = 0, time.time() + 60
while demo.poll() is None and time.time() < end:
    if re.search(r"\(forecast hi .*\[applied\]$", open(sys.argv[1]).read(), re.M):
        break
    time.sleep(0.25)
else:
    rc = 3
if demo.poll() is None:
    time.sleep(3)
    os.killpg(demo.pid, signal.SIGINT)
try:
    status = demo.wait(timeout=60)
except subprocess.TimeoutExpired:
    os.killpg(demo.pid, signal.SIGKILL)
    sys.exit(4)
sys.exit(rc or status)
EOF
rc=$?
tail -n 14 "$FS_TMP/b.out" | sed 's/^/  | /'
case $rc in
  0) ;;
  3) fs_fail "no decision on a forecast applied within 60 s" ;;
  4) fs_fail "the demo did not finish within 60 s of Ctrl-C" ;;
  *) fs_fail "demo exited $rc after Ctrl-C" ;;
esac
check_graphs "$B"
check_summary "$B"
check_stopped "$B" "$FS_TMP/b.out"
echo "ok: stopped by Ctrl-C, report written, nothing left running"
echo "PASS"
