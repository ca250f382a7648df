#!/bin/sh
# virt_realvm.sh -- foresight_virt on a real QEMU guest under qemu:///session.
#
# The guest (tests/integration/virt_guest.sh: Debian's kernel, a busybox initramfs made
# with cpio here) burns one vCPU for BURN seconds after boot, reading its disk, then
# idles. The real collectd daemon with foresight_virt samples it every 2 s. Checks:
#   - fs_usage cpu rises above 0.5 cores while the guest burns, and falls below 0.2
#     once it idles, never above the host's cores; fs_usage disk shows the reads;
#     guest memory stats arrive (mem, mem_avail) although the domain XML sets no stats
#     period: the plugin's BalloonPeriod did;
#   - fs_alloc: 1 of 2 vCPUs, balloon 192 of 256 MiB, disk_bps = the XML's I/O tune;
#   - every value list carries meta foresight:set "real" (the domain's metadata);
#   - a hung VM (QEMU stopped with SIGSTOP) does not stall the read cycle: the stuck
#     bulk call is given up after StatsTimeout and logged, values keep coming;
#   - killing the session libvirtd mid-run is logged once, the plugin reconnects (the
#     session daemon is started again on connect) and values keep coming;
#   - a restarted VM (new domain id, counters from 0) gives rates within [0, cores];
#   - the guest destroyed, collectd carries on without complaint.
#
# Why not root: as root, qemu:///session does not start a per-user daemon; libvirt's
# remote driver auto-starts one only for geteuid() > 0 (remote_driver.c, "provided we
# are running non-root") and otherwise dials the system daemon's socket
# /var/run/libvirt/libvirt-sock. So when run as root, libvirt, the guest and collectd
# run as user nobody with HOME and XDG_RUNTIME_DIR inside this test's temp directory.
# Accelerator: KVM if that user can open /dev/kvm and a probe boot succeeds within 15 s,
# else TCG (FS_VIRT_ACCEL=kvm|tcg forces one).
# Skips (77) with the reason when the machine cannot run a VM.
set -u
. "${srcdir:-.}/tests/integration/virt_lib.sh"

BURN=${FS_VIRT_BURN:-30}
start_s=$(date +%s)
for cmd in qemu-system-x86_64 virsh setpriv; do
  command -v "$cmd" >/dev/null || skip "no $cmd (install qemu-system-x86, libvirt-clients, util-linux)"
done
[ -x /usr/sbin/libvirtd ] || [ -x /usr/sbin/virtqemud ] ||
  skip "no libvirt daemon (install libvirt-daemon and libvirt-daemon-driver-qemu)"

# --------------------------------------------------------------- who runs libvirt
if [ "$(id -u)" -eq 0 ]; then
  user=$(id -u nobody 2>/dev/null) || skip "running as root and there is no user nobody"
else
  user=""
fi
chmod 755 "$tmp"
mkdir -p "$tmp/home" "$tmp/run" "$tmp/data" "$tmp/guest"
chmod 700 "$tmp/run"
# The kvm group, if there is one, lets that user reach /dev/kvm on a usual host.
groups_opt=--clear-groups
kvm_gid=$(getent group kvm | cut -d: -f3)
[ -n "$kvm_gid" ] && groups_opt=--groups=$kvm_gid
as_user() {
  if [ -n "$user" ]; then
    setpriv --reuid="$user" --regid="$user" $groups_opt \
      env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" "$@"
  else
    env HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" "$@"
  fi
}
vsh() { as_user virsh -q -c qemu:///session "$@"; }

# --------------------------------------------------------------- the guest
sh "$srcdir/tests/integration/virt_guest.sh" "$tmp/guest" || exit $?
truncate -s 16M "$tmp/guest/disk.raw"
[ -n "$user" ] && chown -R "$user" "$tmp"

accel=${FS_VIRT_ACCEL:-}
if [ -z "$accel" ]; then
  accel=tcg
  if as_user sh -c 'test -r /dev/kvm && test -w /dev/kvm'; then
    as_user timeout 15 qemu-system-x86_64 -accel kvm -m 128 -nographic -no-reboot \
      -kernel "$tmp/guest/vmlinuz" -initrd "$tmp/guest/initrd.gz" \
      -append "console=ttyS0 quiet fs_probe=1" >"$tmp/probe.log" 2>&1
    if grep -q "fs-guest: up" "$tmp/probe.log"; then
      accel=kvm
    else
      echo "note: /dev/kvm opens but a KVM guest did not boot within 15 s; using TCG"
    fi
  else
    echo "note: /dev/kvm is not usable by uid ${user:-$(id -u)}; using TCG"
  fi
fi
[ "$accel" = kvm ] && domtype=kvm || domtype=qemu
echo "accelerator: $accel"

# --------------------------------------------------------------- session daemon
kill_pidfile() { [ -f "$1" ] && kill "$(cat "$1")" 2>/dev/null; }
teardown_libvirt() {
  vsh destroy fsguest >/dev/null 2>&1
  vsh undefine fsguest >/dev/null 2>&1
  kill_pidfile "$tmp/run/libvirt/qemu/run/fsguest.pid"
  kill_pidfile "$tmp/run/libvirt/libvirtd.pid"
  kill_pidfile "$tmp/run/libvirt/virtqemud.pid"
  kill_pidfile "$tmp/run/libvirt/virtlogd.pid"
}
cleanup_hooks="teardown_libvirt"
if ! vsh list --all >"$tmp/list.out" 2>&1; then
  skip "the libvirt session daemon does not start: $(tr '\n' ' ' <"$tmp/list.out")"
fi

cat >"$tmp/guest.xml" <<EOF
<domain type='$domtype'>
  <name>fsguest</name>
  <metadata>
    <foresight:vm xmlns:foresight="http://foresight.invalid/xmlns/1" set="real"/>
  </metadata>
  <memory unit='MiB'>256</memory>
  <currentMemory unit='MiB'>192</currentMemory>
  <vcpu current='1'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$tmp/guest/vmlinuz</kernel>
    <initrd>$tmp/guest/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 fs_burn=$BURN fs_disk=1</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$tmp/guest/disk.raw'/>
      <target dev='vda' bus='virtio'/>
      <iotune><total_bytes_sec>10485760</total_bytes_sec></iotune>
    </disk>
    <interface type='user'><model type='virtio'/></interface>
    <serial type='file'><source path='$tmp/guest/console.log'/><target port='0'/></serial>
    <memballoon model='virtio'/>
  </devices>
</domain>
EOF
[ -n "$user" ] && chown "$user" "$tmp/guest.xml"

# --------------------------------------------------------------- collectd, then the VM
collectd_conf "$tmp/collectd.conf" "<Plugin foresight_virt>
  Connection \"qemu:///session\"
  RefreshInterval 10
  BalloonPeriod 2
  StatsTimeout 1
</Plugin>" 2
[ -n "$user" ] && chown -R "$user" "$tmp"
start_collectd "$tmp/collectd.conf" "$user"
wait_for 20 log_has "Initialization complete" || fail "collectd did not start"

vsh define "$tmp/guest.xml" >/dev/null || { fail "virsh define failed"; finish; }
vsh start fsguest >/dev/null || { fail "virsh start failed"; finish; }
boot_s=$(date +%s)
console_has() { grep -q "$1" "$tmp/guest/console.log" 2>/dev/null; }
if ! wait_for 180 console_has "fs-guest: up"; then
  fail "the guest did not boot within 180 s"
  tail -n 20 "$tmp/guest/console.log" 2>/dev/null
  finish
fi
echo "guest up after $(( $(date +%s) - boot_s )) s"

cpu=foresight_virt/fs_usage-cpu
# max_since ROWS PREFIX: the largest value after the first ROWS rows of fsguest's CSV.
max_since() {
  f=$(csv fsguest "$2")
  [ -n "$f" ] && tail -n +$(( $1 + 2 )) "$f" | cut -d, -f2 | sort -g | tail -n 1
}
burning() { [ "$(max_since 0 $cpu)" ] && awk -v v="$(max_since 0 $cpu)" 'BEGIN { exit !(v > 0.5) }'; }
wait_for "$BURN" burning
peak=$(max_since 0 $cpu)
awk -v v="${peak:-0}" 'BEGIN { exit !(v > 0.5) }' && pass "cpu while burning: $peak cores > 0.5" ||
  fail "cpu while burning: max ${peak:-none}, want > 0.5"

wait_for $(( BURN + 30 )) console_has "fs-guest: idle" || fail "the guest never went idle"
disk_peak=$(max_since 0 foresight_virt/fs_usage-disk)
awk -v v="${disk_peak:-0}" 'BEGIN { exit !(v > 100) }' && pass "disk while reading: $disk_peak KB/s" ||
  fail "disk while reading: max ${disk_peak:-none} KB/s, want > 100"
rows=$(csv_rows fsguest $cpu)
idle() {
  [ "$(csv_rows fsguest $cpu)" -ge $(( rows + 3 )) ] &&
    awk -v v="$(csv_last fsguest $cpu)" 'BEGIN { exit !(v < 0.2) }'
}
wait_for 30 idle
expect_range fsguest $cpu 0 0.2
# No sample may claim more cores than the host has (a rate over a badly timed interval
# once gave 147 "cores": see VS_MAX_TIME_ERROR).
top=$(max_since 0 $cpu)
awk -v v="$top" -v n="$(nproc)" 'BEGIN { exit !(v <= n + 0.1) }' &&
  pass "cpu never above the host's $(nproc) cores (max $top)" ||
  fail "cpu sample $top above the host's $(nproc) cores"

expect_value fsguest foresight_virt/fs_alloc-vcpus 1
expect_value fsguest foresight_virt/fs_alloc-vcpus_max 2
expect_value fsguest foresight_virt/fs_alloc-mem_max 262144
expect_value fsguest foresight_virt/fs_alloc-mem 196608
expect_value fsguest foresight_virt/fs_alloc-disk_bps 10485760
expect_range fsguest foresight_virt/fs_usage-mem 1 262144
expect_range fsguest foresight_virt/fs_usage-mem_avail 1 262144
[ -z "$(csv fsguest foresight_virt/fs_usage-net)" ] && pass "no net usage (user-mode NIC has no counters)" ||
  fail "net usage dispatched for an interface without counters"
mine=$(grep -F '"host":"fsguest"' "$tmp/log")
n=$(printf '%s\n' "$mine" | grep -c '"values"')
good=$(printf '%s\n' "$mine" | grep -c -F '"meta":{"foresight:set":"real"}')
[ "$n" -gt 0 ] && [ "$n" -eq "$good" ] && pass "$n value lists with foresight:set \"real\"" ||
  fail "$good of $n value lists carry foresight:set \"real\""

# --------------------------------------------------------------- the VM hangs
# A stopped QEMU holds up the first bulk call for as long as it is stopped; the plugin
# gives up on that call after StatsTimeout (1 s here), and the next calls (NOWAIT) skip
# the stuck VM's monitor: cycles go on, nothing waits on the VM.
qemu_pid=$(cat "$tmp/run/libvirt/qemu/run/fsguest.pid" 2>/dev/null)
if [ -n "$qemu_pid" ] && kill -STOP "$qemu_pid"; then
  rows=$(csv_rows fsguest $cpu)
  # Slow calls are also logged while a VM starts (it holds libvirt's domain lock), so
  # count: this hang must add one.
  stuck() { grep -c "domain stats from qemu:///session: no answer within" "$tmp/log"; }
  before=$(stuck)
  more_stuck() { [ "$(stuck)" -gt "$before" ]; }
  wait_for 20 more_stuck && pass "the stuck call is logged" || fail "no log line for the stuck call"
  more() { [ "$(csv_rows fsguest $cpu)" -ge $(( rows + 3 )) ]; }
  wait_for 20 more && pass "cycles go on while the VM hangs" ||
    fail "no new values while the VM hangs ($(csv_rows fsguest $cpu) rows, had $rows)"
  kill -CONT "$qemu_pid"
  stalls=$(grep -c "read-function of the \`foresight_virt' plugin took" "$tmp/log")
  [ "$stalls" -eq 0 ] && pass "no read cycle overran its interval" ||
    fail "$stalls read cycles overran their interval"
else
  fail "no QEMU process to stop"
fi

# --------------------------------------------------------------- libvirtd goes away
for pf in libvirtd virtqemud; do kill_pidfile "$tmp/run/libvirt/$pf.pid"; done
rows=$(csv_rows fsguest $cpu)
wait_for 30 log_has "foresight_virt plugin: domain stats from qemu:///session failed" &&
  pass "the lost daemon is logged" || fail "no log line for the lost daemon"
wait_for 60 log_has "foresight_virt plugin: connected to qemu:///session" &&
  pass "reconnected" || fail "no reconnection logged"
more() { [ "$(csv_rows fsguest $cpu)" -ge $(( rows + 2 )) ]; }
wait_for 30 more && pass "values keep coming after the reconnection" ||
  fail "no new cpu values after the reconnection"
lost=$(grep -c "domain stats from qemu:///session failed" "$tmp/log")
[ "$lost" -eq 1 ] && pass "the failure was logged once" || fail "the failure was logged $lost times"

# --------------------------------------------------------------- the VM restarts
# New domain id, counters from 0: one sample without a rate, then rates again, never
# negative nor above the host's cores.
rows=$(csv_rows fsguest $cpu)
vsh destroy fsguest >/dev/null && vsh start fsguest >/dev/null || fail "restart failed"
wait_for 180 console_has "fs-guest: up" || fail "the restarted guest did not boot"
more() { [ "$(csv_rows fsguest $cpu)" -ge $(( rows + 3 )) ]; }
wait_for 30 more || fail "no cpu values after the restart"
after=$(csv fsguest $cpu)
range=$(tail -n +$(( rows + 2 )) "$after" | cut -d, -f2 | sort -g | sed -n '1p;$p' | tr '\n' ' ')
awk -v lo="${range%% *}" -v hi="$(echo $range | cut -d' ' -f2)" -v n="$(nproc)" \
  'BEGIN { exit !(lo >= 0 && hi <= n + 0.1) }' &&
  pass "cpu after the restart within [0, $(nproc)]: $range" ||
  fail "cpu after the restart out of [0, $(nproc)]: $range"

# --------------------------------------------------------------- the VM vanishes
vsh destroy fsguest >/dev/null
sleep 5
kill -0 "$daemon_pid" 2>/dev/null && pass "collectd runs on after the VM vanished" ||
  fail "collectd died after the VM vanished"
stop_collectd
if grep -E 'foresight_virt.*(out of memory|failed)' "$tmp/log" | grep -v "domain stats from" >"$tmp/errs"; then
  fail "unexpected errors:"; sed 's/^/  /' "$tmp/errs"
fi
echo "took $(( $(date +%s) - start_s )) s"
finish
