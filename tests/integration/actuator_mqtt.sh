#!/usr/bin/env bash
# actuator_mqtt.sh -- issue 5's requests, end to end: a real mosquitto with the demo
# accounts and ACL (tests/integration/mqtt_env.sh) on a free loopback port, collectd
# with foresight_virt and foresight_actuator on libvirt's test driver (act_lib.sh), and
# an operator using mosquitto_pub / mosquitto_sub:
#   - policy/set is validated, applied, answered on reply/<id>, published retained on
#     <set>/policy and persisted: after a restart it is still in force (and logged);
#   - a patch the validation refuses, and a message that is no JSON at all, change
#     nothing: the first is answered with the validator's words, the second cannot be
#     answered (no request id) and is logged;
#   - a command `set` resizes the domain and is answered with its decision's id, which
#     the decision topic carries; a command with a bad value or for an unknown VM is
#     answered with an error naming it, and no decision is made;
#   - that set is a hold for its duration, and it outlives a restart: the daemon is
#     stopped, web1 is resized behind its back, and after the restart the retained
#     state (published anew) still reports the hold with its end, and the actuator
#     puts web1 back to the value set, not leaving it where the outside change did.
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/integration/lib.sh"
. "$srcdir/tests/integration/act_lib.sh"
fs_setup
act_need
for p in mosquitto_pub mosquitto_sub python3; do
  command -v $p >/dev/null || fs_skip "no $p (Debian packages mosquitto-clients, python3)"
done
. "$srcdir/tests/integration/mqtt_env.sh"
trap 'fs_mqtt_cleanup; fs_cleanup' EXIT
PORT=$(free_port)
start_broker broker "$PORT" || fs_fail "no broker"
act_libvirtd_start
act_web_setup

LOG="$FS_TMP/collectd.log"
CONF="$FS_TMP/collectd.conf"
STATE="$FS_TMP/state"
act_conf_head "$CONF" "$LOG"
cat >>"$CONF" <<EOF
LoadPlugin foresight_virt
<Plugin foresight_virt>
  Connection "$ACT_URI"
  BalloonPeriod 0
</Plugin>
LoadPlugin foresight_actuator
<Plugin foresight_actuator>
  Connection "$ACT_URI"
  StateDir "$STATE"
  Interval 1
  Broker "127.0.0.1" $PORT
  User "foresight"
  Password "$FS_MQTT_DAEMON_PW"
  ClientId "fs-actuator-test"
  <HostSet "web">
    Manage cpu
    Capacity cpu 16
    <VM "web1">
      Limit cpu 1 8
    </VM>
  </HostSet>
</Plugin>
EOF

OP=(-h 127.0.0.1 -p "$PORT" -u operator -P "$FS_MQTT_OPERATOR_PW")
SEEN="$FS_TMP/seen"
mosquitto_sub "${OP[@]}" -v -t 'foresight/reply/#' -t 'foresight/web/decision' >"$SEEN" 2>&1 &
FS_PIDS="$FS_PIDS $!"

# request TOPIC JSON: publishes as the operator below the prefix.
request() { mosquitto_pub "${OP[@]}" -q 1 -t "foresight/$1" -m "$2"; }
# reply ID: the payload of the reply to request ID (waits 10 s at most).
reply() {
  local i
  for i in $(seq 1 40); do
    if grep -q "^foresight/reply/$1 " "$SEEN"; then
      grep "^foresight/reply/$1 " "$SEEN" | head -n 1 | cut -d' ' -f2-
      return 0
    fi
    sleep 0.25
  done
  return 1
}
# retained TOPIC: the retained payload of foresight/TOPIC.
retained() { mosquitto_sub "${OP[@]}" -C 1 -W 5 -t "foresight/$1"; }
# field JSON PATH...: the value at PATH (keys) in JSON: a string as it is, anything
# else as JSON (true, null, 0.7).
field() {
  python3 -c 'import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2:]:
    v = v[k]
print(v if isinstance(v, str) else json.dumps(v))' "$@"
}
decisions() { grep -c '^foresight/web/decision ' "$SEEN"; }

fs_start "$CONF"
ready() { retained web/web1/state >/dev/null 2>&1; }
fs_wait 20 ready || fs_fail "no state of web1 published within 20 s"
grep -q "MQTT broker 127.0.0.1:$PORT connected" "$LOG" || fs_fail "not connected"
echo "ok: daemon up, web1's state published"

echo "== policy/set"
request web/policy/set '{"request_id":"p1","policy":{"Threshold":{"cpu":0.7}}}'
r=$(reply p1) || fs_fail "no reply to p1"
[ "$(field "$r" ok)" = true ] || fs_fail "p1 refused: $r"
pol=$(retained web/policy)
[ "$(field "$pol" Threshold cpu)" = 0.7 ] || fs_fail "policy in force: $pol"
[ -f "$STATE/web.policy.json" ] || fs_fail "policy not persisted"
cp "$STATE/web.policy.json" "$FS_TMP/policy.saved"
echo "ok: p1 applied, published and persisted"

request web/policy/set '{"request_id":"p2","policy":{"BorrowMax":{"cpu":1.5}}}'
r=$(reply p2) || fs_fail "no reply to p2"
[ "$(field "$r" ok)" = false ] || fs_fail "p2 accepted: $r"
field "$r" error | grep -q 'BorrowMax cpu 1.5' || fs_fail "p2's error does not name it: $r"
request web/policy/set 'this is { not json'
sleep 1
grep -q "not answered" "$LOG" || fs_fail "the unanswerable request was not logged"
cmp -s "$STATE/web.policy.json" "$FS_TMP/policy.saved" || fs_fail "policy file changed"
pol2=$(retained web/policy)
[ "$pol2" = "$pol" ] || fs_fail "policy changed by a refused request: $pol2"
echo "ok: refused patch answered ($(field "$r" error)); nothing changed"

echo "== command"
request web/web1/command '{"request_id":"c1","action":"set","resource":"cpu","value":3,"duration":600}'
r=$(reply c1) || fs_fail "no reply to c1"
[ "$(field "$r" ok)" = true ] || fs_fail "c1 refused: $r"
id=$(field "$r" decision_id)
grep "^foresight/web/decision " "$SEEN" | cut -d' ' -f2- |
  python3 -c 'import json, sys
ids = [json.loads(l)["id"] for l in sys.stdin]
sys.exit(0 if int(sys.argv[1]) in ids else 1)' "$id" || fs_fail "decision $id not published"
[ "$(act_vcpus web1)" = 3 ] || fs_fail "web1 has $(act_vcpus web1) vCPUs, not 3"
echo "ok: c1 applied as decision $id: web1 has 3 vCPUs"

n=$(decisions)
request web/web1/command '{"request_id":"c2","action":"set","resource":"cpu","value":"abc","duration":60}'
r=$(reply c2) || fs_fail "no reply to c2"
[ "$(field "$r" ok)" = false ] || fs_fail "c2 accepted: $r"
field "$r" error | grep -q '"value"' || fs_fail "c2's error does not name the field: $r"
request web/web9/command '{"request_id":"c3","action":"hold","duration":60}'
r3=$(reply c3) || fs_fail "no reply to c3"
[ "$(field "$r3" ok)" = false ] || fs_fail "c3 accepted: $r3"
field "$r3" error | grep -q 'web9' || fs_fail "c3's error does not name the VM: $r3"
sleep 1
[ "$(decisions)" = "$n" ] || fs_fail "a refused command made a decision"
[ "$(act_vcpus web1)" = 3 ] || fs_fail "web1 changed by a refused command"
echo "ok: bad commands answered ($(field "$r" error); $(field "$r3" error))"

st=$(retained web/web1/state)
held=$(field "$st" held_until cpu 2>/dev/null)
[ -n "$held" ] && [ "$held" -gt "$(date +%s)" ] || fs_fail "c1's hold not in the state: $st"
echo "ok: web1 held until $held"

echo "== restart: the persisted policy and c1's hold are still in force"
act_stop
[ -f "$STATE/web.planner" ] || fs_fail "no $STATE/web.planner: the hold was not persisted"
virsh -q -c "$ACT_URI" setvcpus web1 2 --live --config >/dev/null ||
  fs_fail "cannot resize web1 behind the actuator's back"
[ "$(act_vcpus web1)" = 2 ] || fs_fail "web1 not at 2 vCPUs while the daemon is down"
started=$(date +%s)
mark=$(wc -l <"$LOG")
fs_start "$CONF"
fs_wait 20 grep -q 'HostSet "web": .*/web.planner: 1 holds, .* restored' "$LOG" ||
  fs_fail "the restart did not restore c1's hold"
# fresh_state: the retained state of web1 is one published since the restart
fresh_state() {
  st=$(retained web/web1/state) && [ "$(field "$st" ts)" -ge "$started" ]
}
fs_wait 20 fresh_state || fs_fail "no state of web1 since the restart"
[ "$(field "$st" held_until cpu 2>/dev/null)" = "$held" ] ||
  fs_fail "the state after the restart does not report the hold until $held: $st"
back_at_3() { [ "$(act_vcpus web1)" = 3 ]; }
fs_wait 20 back_at_3 || fs_fail "web1 left at $(act_vcpus web1) vCPUs against the hold at 3"
tail -n +"$mark" "$LOG" | grep -q 'decision [0-9]* manual web1 cpu 2 -> 3: applied' ||
  fs_fail "web1 put back to 3, but not by the restored hold"
echo "ok: after the restart web1 is still held until $held, and put back to 3 vCPUs"
fs_wait 20 grep -q "policy set over MQTT .* replaces the config file's" "$LOG" ||
  fs_fail "the restart did not take the persisted policy"
request web/policy/set '{"request_id":"p3","policy":{"LeadTime":700}}'
r=$(reply p3) || fs_fail "no reply to p3"
[ "$(field "$r" ok)" = true ] || fs_fail "p3 refused: $r"
pol=$(retained web/policy)
[ "$(field "$pol" LeadTime)" = 700 ] && [ "$(field "$pol" Threshold cpu)" = 0.7 ] ||
  fs_fail "policy after restart and p3: $pol"
echo "ok: after the restart Threshold cpu 0.7 (persisted) and LeadTime 700 (p3)"
echo "PASS"
