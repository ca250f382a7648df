#!/bin/sh
# virt_testdriver.sh -- the real collectd daemon with foresight_virt on libvirt's test
# driver (test:///<abs path of conf/testnode.xml>: web1..web3 in host set "web", db1 in
# "db"). Checks, from the CSV files and the JSON value lists of write_log:
#   - every VM has fs_usage cpu/mem/mem_avail/disk/net and fs_alloc vcpus/vcpus_max/
#     mem/mem_max under host = its name, with the node XML's allocation;
#   - web1 and db1 (block I/O tune and bandwidth in the XML) have fs_alloc disk_bps and
#     net_kbps; web2 has none (unlimited: nothing dispatched, never 0);
#   - per-device disk_octets, disk_ops and if_octets lists exist;
#   - every list carries meta foresight:set of the VM's metadata, or of a <VM> override;
#   - collectd refuses to start on a misspelt key, naming it, in the block and in <VM>.
#     Checked with `collectd -T` (read the config, one read cycle) and `collectd -f`:
#     collectd 5.12's `-t` exits 0 before it reads the config at all (init_config in
#     src/daemon/collectd.c returns on test_config ahead of configure_collectd), so it
#     cannot reject anything.
set -u
. "${srcdir:-.}/tests/integration/virt_lib.sh"

node=$srcdir/conf/testnode.xml
conf=$tmp/collectd.conf
collectd_conf "$conf" "<Plugin foresight_virt>
  Connection \"test://$node\"
  RefreshInterval 60
  BalloonPeriod 2
  <VM \"web3\">
    HostSet \"canary\"
  </VM>
</Plugin>"

start_collectd "$conf"
# Rates need two cycles (Interval 1); limits come from the refresh callback.
ready() {
  for vm in web1 web2 web3 db1; do
    [ "$(csv_rows $vm foresight_virt/fs_usage-cpu)" -ge 2 ] || return 1
  done
  [ "$(csv_rows db1 foresight_virt/fs_alloc-net_kbps)" -ge 1 ]
}
wait_for 30 ready || fail "no two cycles of values within 30 s"
stop_collectd

# VM vcpus vcpus_max mem_kib mem_max_kib (conf/testnode.xml)
while read -r vm vcpus vmax mem mmax; do
  expect_value "$vm" foresight_virt/fs_alloc-vcpus "$vcpus"
  expect_value "$vm" foresight_virt/fs_alloc-vcpus_max "$vmax"
  expect_value "$vm" foresight_virt/fs_alloc-mem "$mem"
  expect_value "$vm" foresight_virt/fs_alloc-mem_max "$mmax"
  # The test driver reports a guest using half its balloon, and wall time as CPU time.
  expect_value "$vm" foresight_virt/fs_usage-mem "$((mem / 2))"
  expect_value "$vm" foresight_virt/fs_usage-mem_avail "$((mem / 2))"
  expect_range "$vm" foresight_virt/fs_usage-cpu 0.5 1.5
  for m in disk net; do
    expect_range "$vm" foresight_virt/fs_usage-$m 0 1e12
  done
  for f in "foresight_virt-vda/disk_octets" "foresight_virt-vda/disk_ops" \
           "foresight_virt-$vm-net0/if_octets"; do
    [ -n "$(csv "$vm" "$f")" ] && pass "$vm $f" || fail "$vm: no $f values"
  done
done <<EOF
web1 2 4 1048576 2097152
web2 2 4 1048576 2097152
web3 1 2 524288 1048576
db1 4 8 4194304 8388608
EOF

expect_value web1 foresight_virt/fs_alloc-disk_bps 20971520
expect_value web1 foresight_virt/fs_alloc-net_kbps $((10240 + 5120))
expect_value db1 foresight_virt/fs_alloc-disk_bps 52428800
expect_value db1 foresight_virt/fs_alloc-net_kbps $((20480 + 20480))
[ -z "$(csv web2 foresight_virt/fs_alloc-disk_bps)" ] && pass "web2 has no disk_bps" ||
  fail "web2 (no I/O tune) has fs_alloc disk_bps"
[ -z "$(csv web2 foresight_virt/fs_alloc-cpu_quota)" ] && pass "web2 has no cpu_quota" ||
  fail "web2 (no quota) has fs_alloc cpu_quota"

# Meta data: every value list of a VM names its host set, and only that one.
for pair in web1:web web2:web web3:canary db1:db; do
  vm=${pair%%:*} set=${pair#*:}
  mine=$(grep -F "\"host\":\"$vm\"" "$tmp/log" | grep -F '"plugin":"foresight_virt"')
  n=$(printf '%s\n' "$mine" | grep -c '"values"')
  good=$(printf '%s\n' "$mine" | grep -c -F "\"meta\":{\"foresight:set\":\"$set\"}")
  if [ "$n" -gt 0 ] && [ "$n" -eq "$good" ]; then
    pass "$vm: $n value lists with foresight:set \"$set\""
  else
    fail "$vm: $good of $n value lists carry foresight:set \"$set\""
  fi
done
log_has "foresight_virt plugin: connected" && fail "a reconnect was logged on a healthy driver"

# A misspelt key stops collectd before it starts, naming the key.
expect_bad_key() {
  collectd_conf "$tmp/bad.conf" "$2"
  sed -i '/^LoadPlugin logfile/,/^<\/Plugin>/d' "$tmp/bad.conf" # errors go to stderr
  for mode in -T -f; do
    if timeout 20 "$collectd" "$mode" -C "$tmp/bad.conf" >"$tmp/bad.out" 2>&1; then
      fail "collectd $mode accepted the misspelt key $1"
    elif grep -F -q "unknown option \"$1\"" "$tmp/bad.out" &&
         grep -F -q "Parsing the config file failed" "$tmp/bad.out"; then
      pass "collectd $mode refuses to start, naming $1"
    else
      fail "collectd $mode failed without naming $1:"; sed 's/^/  /' "$tmp/bad.out"
    fi
  done
}
expect_bad_key Conection "<Plugin foresight_virt>
  Conection \"test://$node\"
</Plugin>"
expect_bad_key HostGroup "<Plugin foresight_virt>
  <VM \"web1\">
    HostGroup \"web\"
  </VM>
</Plugin>"

# ... while a correct one passes a read cycle.
collectd_conf "$tmp/good.conf" "<Plugin foresight_virt>
  Connection \"test://$node\"
</Plugin>"
if timeout 20 "$collectd" -T -C "$tmp/good.conf" >"$tmp/good.out" 2>&1; then
  pass "collectd -T runs a good config"
else
  fail "collectd -T rejects a good config"; sed 's/^/  /' "$tmp/good.out"
fi

finish
