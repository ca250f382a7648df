# act_lib.sh -- what the actuator's integration tests share (sourced after lib.sh):
# a libvirtd of their own serving libvirt's test driver, domains defined in it, and
# ways to read them back that never go through foresight's code.
#
# Why a libvirtd. The test driver keeps its domains inside the process that opened
# it: `test:///default` is shared by the connections of one process only, and a
# `test:///<file>` URI even starts from the file again on every open. collectd is one
# process, the test another, and (b) kills and restarts collectd: with the driver
# inside collectd, the test could neither see what the actuator did nor keep the
# domains across the restart. So the test starts libvirtd with its own config and
# socket in $FS_TMP and everybody -- collectd's foresight_virt and foresight_actuator,
# and the test's virsh -- connects to `test+unix:///default?socket=<that socket>`: one
# test driver instance, in libvirtd. The driver frees `default` when its last
# connection closes, so a `virsh event --loop` holds one open for the whole test.
# libvirtd is started with LIBVIRT_DRIVER_DIR pointing at an empty folder: it then
# loads none of its hypervisor modules (no QEMU state, no libvirt-qemu user, no
# dnsmasq), and serves only the test driver built into libvirt itself.
#
# The domains carry foresight's metadata (<foresight:vm set="..."/>), so
# foresight_virt puts their values into the right host set.

ACT_LV_DIR=""
ACT_URI=""

act_need() {
  for p in foresight_replay foresight_forecast foresight_virt foresight_actuator; do
    [ -f "$FS_PLUGINDIR/$p.so" ] || fs_skip "plugin $p.so not built in $FS_PLUGINDIR"
  done
  [ -x /usr/sbin/libvirtd ] || fs_skip "no /usr/sbin/libvirtd (Debian package libvirt-daemon)"
  command -v virsh >/dev/null || fs_skip "no virsh (Debian package libvirt-clients)"
  [ -f /usr/lib/collectd/match_regex.so ] || fs_skip "no collectd match_regex plugin"
}

# Starts libvirtd on a private socket and holds `default` open; sets ACT_URI.
act_libvirtd_start() {
  ACT_LV_DIR="$FS_TMP/libvirt"
  mkdir -p "$ACT_LV_DIR/drivers" || fs_fail "mkdir $ACT_LV_DIR"
  cat >"$ACT_LV_DIR/libvirtd.conf" <<EOF
unix_sock_dir = "$ACT_LV_DIR"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "1:file:$ACT_LV_DIR/libvirtd.log"
EOF
  LIBVIRT_DRIVER_DIR="$ACT_LV_DIR/drivers" /usr/sbin/libvirtd \
    -f "$ACT_LV_DIR/libvirtd.conf" -p "$ACT_LV_DIR/libvirtd.pid" \
    >"$ACT_LV_DIR/libvirtd.out" 2>&1 &
  FS_PIDS="$FS_PIDS $!"
  ACT_URI="test+unix:///default?socket=$ACT_LV_DIR/libvirt-sock"
  local i=0
  until virsh -q -c "$ACT_URI" list --all >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 40 ]; then
      cat "$ACT_LV_DIR/libvirtd.out"
      fs_skip "libvirtd did not serve the test driver on $ACT_LV_DIR/libvirt-sock"
    fi
    sleep 0.25
  done
  virsh -q -c "$ACT_URI" event --all --loop >/dev/null 2>&1 &
  FS_PIDS="$FS_PIDS $!"
  sleep 0.5
  # the default node's own domain would be a VM without a set; it is not ours
  virsh -q -c "$ACT_URI" destroy test >/dev/null 2>&1
  virsh -q -c "$ACT_URI" undefine test >/dev/null 2>&1
  return 0
}

# act_define NAME SET VCPUS MAX_VCPUS MEM_MIB MAX_MEM_MIB: a running, persistent domain.
act_define() {
  cat >"$FS_TMP/$1.xml" <<EOF
<domain type='test'>
  <name>$1</name>
  <memory unit='MiB'>$6</memory>
  <currentMemory unit='MiB'>$5</currentMemory>
  <vcpu placement='static' current='$3'>$4</vcpu>
  <metadata>
    <foresight:vm xmlns:foresight="http://foresight.invalid/xmlns/1" set="$2"/>
  </metadata>
  <os><type arch='x86_64'>hvm</type></os>
</domain>
EOF
  virsh -q -c "$ACT_URI" define "$FS_TMP/$1.xml" >/dev/null || fs_fail "define $1"
  virsh -q -c "$ACT_URI" start "$1" >/dev/null || fs_fail "start $1"
}

# act_vcpus NAME [--config]: the domain's current vCPUs (live by default).
act_vcpus() {
  virsh -q -c "$ACT_URI" vcpucount "$1" --current "${2:---live}"
}

# act_mem_kib NAME: the running domain's current memory (balloon), KiB.
act_mem_kib() {
  virsh -q -c "$ACT_URI" dominfo "$1" | awk '/^Used memory:/ { print $3 }'
}

# act_mem_config_kib NAME: its current memory in the persistent config, KiB.
act_mem_config_kib() {
  virsh -q -c "$ACT_URI" dumpxml --inactive "$1" |
    sed -n "s|.*<currentMemory unit='KiB'>\([0-9]*\)</currentMemory>.*|\1|p"
}

# act_conf_head CONF LOG: collectd.conf with the log, and the filter that keeps each
# value with its one source: allocations from libvirt (foresight_virt), usage from the
# trace replay (foresight_replay). The test driver's usage is made up (its CPU time is
# the wall clock), and the trace's allocation is the trace VM's, not the domain's.
act_conf_head() {
  fs_write_conf "$1" "$2"
  cat >>"$1" <<EOF
PluginDir "/usr/lib/collectd"
LoadPlugin match_regex
<Chain "PreCache">
  <Rule "alloc_from_libvirt_only">
    <Match "regex">
      Plugin "^foresight_replay\$"
      Type "^fs_alloc\$"
    </Match>
    Target "stop"
  </Rule>
  <Rule "usage_from_the_trace_only">
    <Match "regex">
      Plugin "^foresight_virt\$"
      Type "^fs_usage\$"
    </Match>
    Target "stop"
  </Rule>
</Chain>
PluginDir "$FS_PLUGINDIR"
EOF
}

# act_decisions LOG STATUS: the decision lines the actuator logged with that status.
act_decisions() {
  grep -E "foresight_actuator plugin: HostSet \"[^\"]+\": decision [0-9]+ .*: $2" "$1" 2>/dev/null
}

# act_last_to LOG VM RESOURCE: the `to` of the last applied grow/shrink/lend/repay/
# manual decision that set VM's RESOURCE (as borrower or lender), or nothing.
act_last_to() {
  act_decisions "$1" applied | awk -v vm="$2" -v res="$3" '
    {
      line = $0
      sub(/.*: decision [0-9]+ /, "", line)
      split(line, w, " ")
      kind = w[1]
      if (kind == "lend" || kind == "repay") {
        # lend cpu web1 2 -> 3, web2 4 -> 3 (loan 7): applied
        if (w[2] != res) next
        if (w[3] == vm) to = w[6]
        else if (w[7] == vm) to = w[10]
        sub(/,$/, "", to)
      } else if (kind == "grow" || kind == "shrink" || kind == "manual") {
        # grow web1 cpu 1 -> 3: applied
        if (w[2] == vm && w[3] == res) { to = w[6]; sub(/:$/, "", to) }
      }
    }
    END { if (to != "") print to }'
}


# act_web_setup: domains web1 (1 of 8 vCPUs, 512 MiB of 8 GiB) and web2 (4 vCPUs,
# 4 GiB) in host set "web".
act_web_setup() {
  act_define web1 web 1 8 512 8192
  act_define web2 web 4 8 4096 8192
}

# act_web_conf CONF LOG [EPOCH]: the whole daemon of (a) and (b). foresight_replay
# sends two real trace VMs as web1 (rnd-186: about one busy core, 0.9 GiB) and web2
# (rnd-282: idle), one trace hour per second; foresight_forecast forecasts cpu and mem
# 300 and 900 s ahead; foresight_virt reads the domains' allocations; the actuator
# plans set "web" every second. Its cpu Capacity, 6 vCPUs with 5 allocated, is too
# small for web1's forecast: web1 grows into the free vCPU and borrows from web2, whose
# loans last 8 s. Cooldown is long, so nothing shrinks during the test.
act_web_conf() {
  act_conf_head "$1" "$2"
  cat >>"$1" <<EOF
LoadPlugin foresight_virt
<Plugin foresight_virt>
  Connection "$ACT_URI"
  BalloonPeriod 0
</Plugin>
LoadPlugin foresight_replay
<Plugin foresight_replay>
  File "$FS_TRACES/bitbrains_rnd/rnd-186.csv"
  File "$FS_TRACES/bitbrains_rnd/rnd-282.csv"
  Speed 3600
  Epoch ${3:-$(date +%s)}
  HostSet "web"
  <VM "rnd-186">
    Name "web1"
  </VM>
  <VM "rnd-282">
    Name "web2"
  </VM>
</Plugin>
LoadPlugin foresight_forecast
<Plugin foresight_forecast>
  DataDir "$FS_TMP/foresight"
  Metrics "cpu" "mem"
  Horizon 300 900
  History 172800
  RetrainInterval 2
  Models "naive" "snaive" "ets" "ar"
</Plugin>
LoadPlugin foresight_actuator
<Plugin foresight_actuator>
  Connection "$ACT_URI"
  StateDir "$FS_TMP/state"
  Interval 1
  MaxAge 30
  <HostSet "web">
    Manage cpu memory
    Capacity cpu 6
    LeadTime 900
    Cooldown 3600
    BorrowMax cpu 0.5
    BorrowDuration 8
    <VM "web1">
      Priority 10
      Limit cpu 1 6
      Limit memory 512 6144
    </VM>
    <VM "web2">
      Limit cpu 1 8
    </VM>
  </HostSet>
</Plugin>
EOF
}

# act_loans FILE: the loan lines of a ledger file ("loan <id> <lender> <borrower> ...").
act_loans() {
  [ -f "$1" ] && grep '^loan ' "$1"
  return 0
}

# act_wait_exit SECONDS: waits for the daemon to exit by itself; its exit status, or
# fails the test when it is still running after SECONDS.
act_wait_exit() {
  local i=0
  while kill -0 "$FS_PID" 2>/dev/null; do
    i=$((i + 1))
    [ $i -le $(($1 * 4)) ] || fs_fail "the daemon did not exit within $1 s"
    sleep 0.25
  done
  wait "$FS_PID" 2>/dev/null
}

# act_stop: stops the daemon as an operator would (SIGTERM), 30 s at most.
act_stop() {
  kill -TERM "$FS_PID" 2>/dev/null
  act_wait_exit 30
}
