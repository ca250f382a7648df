#!/bin/sh
# actuator_config.sh -- a wrong key or value in <Plugin foresight_actuator> makes
# collectd refuse to start, with a message naming it; the example config
# (conf/foresight-actuator.conf, pointed at libvirt's test driver and a temporary
# StateDir) and a minimal one pass. `collectd -T` parses the config and runs init:
# see config_errors.sh for why not `-t`.
set -u
. "${srcdir:-.}/tests/integration/lib.sh"
fs_setup
[ -f "$FS_PLUGINDIR/foresight_actuator.so" ] || fs_skip "foresight_actuator.so not built"

# check EXPECT(ok|fail) NEEDLE BLOCK
check() {
  conf="$FS_TMP/t.conf"
  fs_write_conf "$conf"
  printf '%s\n' "$3" >>"$conf"
  out=$("$FS_COLLECTD" -T -C "$conf" 2>&1)
  rc=$?
  if [ "$1" = ok ]; then
    [ $rc -eq 0 ] || fs_fail "collectd -T rejected a valid config: $out"
    echo "ok: accepted: $2"
    return
  fi
  [ $rc -ne 0 ] || fs_fail "collectd -T accepted a config with $2"
  echo "$out" | grep -q -F -- "$2" || fs_fail "collectd -T failed without naming '$2': $out"
  echo "ok: rejected, naming '$2'"
}

block() { printf 'LoadPlugin foresight_actuator\n<Plugin foresight_actuator>\n%s\n</Plugin>\n' "$1"; }

check ok "a set without VMs" "$(block '  <HostSet "web">
    Capacity cpu 8
  </HostSet>')"
check fail 'unknown option "DryRum"' "$(block '  DryRum true')"
check fail 'DryRun: needs true or false' "$(block '  DryRun "maybe"')"
check fail 'HostSet "web": unknown key "Treshold"' "$(block '  <HostSet "web">
    Treshold cpu 0.8
  </HostSet>')"
check fail 'HostSet "web": BorrowMax cpu 1.5 (must be in [0, 1])' "$(block '  <HostSet "web">
    BorrowMax cpu 1.5
  </HostSet>')"
check fail 'HostSet "web": Capacity: argument 1 must be a resource' "$(block '  <HostSet "web">
    Capacity "gpu" 4
  </HostSet>')"
check fail 'HostSet "web" VM "web1": Limit memory 4096 1024 (min must not exceed max)' \
  "$(block '  <HostSet "web">
    <VM "web1">
      Limit memory 4096 1024
    </VM>
  </HostSet>')"
check fail 'HostSet "web": Limit cpu minimums sum to 12 (must not exceed Capacity cpu 8)' \
  "$(block '  <HostSet "web">
    Capacity cpu 8
    <VM "web1">
      Limit cpu 6 8
    </VM>
    <VM "web2">
      Limit cpu 6 8
    </VM>
  </HostSet>')"
check fail 'Connection needs a StateDir' "$(block '  Connection "test:///default"')"
check fail 'User and Password go together' "$(block '  User "foresight"')"
example=$(sed -e 's|qemu:///system|test:///default|' -e "s|/var/lib/foresight|$FS_TMP/state|" \
  -e 's|"localhost" 1883|"127.0.0.1" 1|' "$FS_SRCDIR/conf/foresight-actuator.conf")
check ok "conf/foresight-actuator.conf" "$example"
echo "PASS"
