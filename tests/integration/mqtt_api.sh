#!/usr/bin/env bash
# mqtt_api.sh -- issue 5's acceptance, end to end: the real collectd with
# foresight_replay, foresight_forecast, foresight_virt and foresight_actuator on
# libvirt's test driver (act_lib.sh: act_web_conf, with a broker), and a real mosquitto
# with the demo accounts and ACL (mqtt_env.sh) on a free loopback port. Asserts:
#   1. every topic of DESIGN.md's API table: forecast (retained; horizons with
#      lo <= mean <= hi), decision (QoS 1), result, state and policy (retained),
#      policy/set, <vm>/command, <set>/command (scale_out of the template) and
#      reply/<id>;
#   2. the anonymous client, a wrong password and the viewer (no write rights) cannot
#      change the policy nor command a VM: the broker refuses them (mosquitto_pub
#      fails; for the viewer, MQTT v5's PUBACK says "not authorized"), no reply comes,
#      the retained policy and the quiet domain web3's allocations are unchanged;
#   3. the broker is killed (SIGKILL) and restarted while decisions are made: a
#      subscriber with a persistent session (fixed id, clean session off, QoS 1)
#      receives every decision the daemon logged from its start on, in order, with no
#      gap, including those made while the broker was down (QoS 1 may deliver one
#      twice across the kill: a repeat is counted, not a failure);
#   4. 1,000 malformed requests (tests/integration/mqtt_fuzz.py) from the operator:
#      each with a request id the daemon can read gets ok false on reply/<id>, none is
#      accepted, each oversize one is logged as dropped, the daemon still runs and
#      plans, and the policy and web3's allocations are unchanged.
# web3 is in the set but has no usage nor forecast, so only the operator's commands
# move it: its allocation is the witness of denied commands.
set -u
srcdir=${srcdir:-.}
. "$srcdir/tests/integration/lib.sh"
. "$srcdir/tests/integration/act_lib.sh"
fs_setup
fs_need_traces
act_need
for p in mosquitto_pub mosquitto_sub python3; do
  command -v $p >/dev/null || fs_skip "no $p (Debian packages mosquitto-clients, python3)"
done
. "$srcdir/tests/integration/mqtt_env.sh"
trap 'fs_mqtt_cleanup; fs_cleanup' EXIT
PORT=$(free_port)
# persistent sessions survive the SIGKILL: saved every second, reloaded at the restart
BROKER_PERSIST="persistence true
persistence_location $FS_MQTT_DIR/
autosave_interval 1"
start_broker broker "$PORT" "$BROKER_PERSIST" || fs_fail "no broker"
act_libvirtd_start
act_web_setup
act_define web3 web 2 8 1024 8192
cat >"$FS_TMP/web-tmpl.xml" <<EOF
<domain type='test'>
  <name>web-tmpl</name>
  <memory unit='MiB'>1024</memory>
  <vcpu placement='static'>1</vcpu>
  <metadata>
    <foresight:vm xmlns:foresight="http://foresight.invalid/xmlns/1" set="web"/>
  </metadata>
  <os><type arch='x86_64'>hvm</type></os>
</domain>
EOF
virsh -q -c "$ACT_URI" define "$FS_TMP/web-tmpl.xml" >/dev/null || fs_fail "define web-tmpl"

LOG="$FS_TMP/collectd.log"
CONF="$FS_TMP/collectd.conf"
STATE="$FS_TMP/state"
act_web_conf "$CONF" "$LOG"
# the broker, a template for scale_out, and room in the Capacity for web3 (2 vCPUs),
# its command and the clone: a set short of room would scale out on its own
sed -i -e "s|^  StateDir \"$STATE\"\$|&\\
  Broker \"127.0.0.1\" $PORT\\
  User \"foresight\"\\
  Password \"$FS_MQTT_DAEMON_PW\"\\
  ClientId \"fs-actuator-api\"|" \
  -e 's|^    Capacity cpu 6$|    Capacity cpu 24|' \
  -e 's|^    BorrowDuration 8$|&\
    ScaleOutTemplate "web-tmpl"\
    MaxInstances 4\
    <VM "web3">\
      Limit cpu 1 8\
    </VM>|' "$CONF"
grep -q "ClientId \"fs-actuator-api\"" "$CONF" && grep -q 'ScaleOutTemplate' "$CONF" ||
  fs_fail "could not add the broker to the config"

OP=(-h 127.0.0.1 -p "$PORT" -u operator -P "$FS_MQTT_OPERATOR_PW")
VIEW=(-h 127.0.0.1 -p "$PORT" -u viewer -P "$FS_MQTT_VIEWER_PW")
SEEN="$FS_TMP/seen"
DEC="$FS_TMP/decisions"
# everything the API publishes, as the viewer sees it
# (the fuzzed requests make it binary: grep -a)
mosquitto_sub "${VIEW[@]}" -v -t 'foresight/#' >"$SEEN" 2>&1 &
FS_PIDS="$FS_PIDS $!"
# the decision collector: a persistent session (fixed id, clean session off, QoS 1),
# connected again by the loop whenever mosquitto_sub gives up on a lost broker
(
  while :; do
    mosquitto_sub "${VIEW[@]}" -c -i fs-api-decisions -q 1 -t foresight/web/decision \
      >>"$DEC" 2>>"$FS_TMP/decisions.err"
    sleep 0.2
  done
) &
FS_PIDS="$FS_PIDS $!"
sleep 1.5 # the broker saves the new session (autosave_interval 1)

request() { mosquitto_pub "${OP[@]}" -q 1 -t "foresight/$1" -m "$2"; }
# reply ID [SECONDS]: the payload of the reply to request ID (10 s at most by default).
reply() {
  local i
  for i in $(seq 1 $((${2:-10} * 4))); do
    if grep -a -q "^foresight/reply/$1 " "$SEEN"; then
      grep -a "^foresight/reply/$1 " "$SEEN" | head -n 1 | cut -d' ' -f2-
      return 0
    fi
    sleep 0.25
  done
  return 1
}
retained() { mosquitto_sub "${VIEW[@]}" -C 1 -W 5 -t "foresight/$1"; }
field() {
  python3 -c 'import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2:]:
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v if isinstance(v, str) else json.dumps(v))' "$@"
}
# logged_ids: the decision ids the daemon logged, in log order
logged_ids() {
  grep -E 'foresight_actuator plugin: HostSet "web": decision [0-9]+ ' "$LOG" |
    sed -E 's/.*HostSet "web": decision ([0-9]+) .*/\1/'
}
received_ids() {
  python3 -c 'import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line:
        print(json.loads(line)["id"])' "$DEC"
}
web3() { echo "$(act_vcpus web3) $(act_vcpus web3 --config) $(act_mem_kib web3)"; }

T0=$(date +%s)
fs_start "$CONF"
fs_wait 30 retained web/web3/state >/dev/null 2>&1 || fs_fail "no state of web3 within 30 s"
echo "ok: daemon up ($(($(date +%s) - T0)) s)"

echo "== 1. every topic"
fc_ok() { retained web/web1/forecast/cpu >"$FS_TMP/fc" 2>/dev/null && [ -s "$FS_TMP/fc" ]; }
fs_wait 60 fc_ok || fs_fail "no retained forecast of web1's cpu within 60 s"
python3 - "$(cat "$FS_TMP/fc")" <<'EOF' || fs_fail "forecast payload: $(cat "$FS_TMP/fc")"
import json, sys
f = json.loads(sys.argv[1])
assert isinstance(f["ts"], int) and f["ts"] > 0, f
assert f["horizons"], f
for h in f["horizons"]:
    assert h["h_s"] in (300, 900), h
    assert h["lo"] <= h["mean"] <= h["hi"], h
assert 0 < f["confidence"] < 1, f
assert isinstance(f["model"], str) and f["model"], f  # foresight:model reached it
EOF
echo "ok: forecast/cpu retained: $(cut -c1-120 "$FS_TMP/fc")..."
retained web/web1/forecast/mem >/dev/null || fs_fail "no retained forecast of web1's mem"
dec_ok() { grep -a -q '^foresight/web/decision ' "$SEEN"; }
fs_wait 60 dec_ok || fs_fail "no decision within 60 s"
res_ok() { grep -a -q '^foresight/web/result ' "$SEEN"; }
fs_wait 10 res_ok || fs_fail "no result within 10 s"
d=$(grep -a -m1 '^foresight/web/decision ' "$SEEN" | cut -d' ' -f2-)
r=$(grep -a -m1 '^foresight/web/result ' "$SEEN" | cut -d' ' -f2-)
[ -n "$(field "$d" kind)" ] && [ -n "$(field "$r" status)" ] || fs_fail "decision $d result $r"
echo "ok: decision $(field "$d" id) $(field "$d" kind) and result $(field "$r" status)"
st=$(retained web/web3/state) || fs_fail "no retained state"
echo "ok: state retained: $(echo "$st" | cut -c1-100)..."
POL=$(retained web/policy) || fs_fail "no retained policy"
[ "$(field "$POL" ScaleOutTemplate)" = web-tmpl ] || fs_fail "policy: $POL"

request web/policy/set '{"request_id":"p1","policy":{"Threshold":{"cpu":0.75}}}'
r=$(reply p1) || fs_fail "no reply to p1"
[ "$(field "$r" ok)" = true ] || fs_fail "p1 refused: $r"
pol_ok() { POL=$(retained web/policy) && [ "$(field "$POL" Threshold cpu)" = 0.75 ]; }
fs_wait 10 pol_ok || fs_fail "policy/set not in force: $POL"
echo "ok: policy/set p1 answered $r and in force"

request web/web3/command '{"request_id":"c1","action":"set","resource":"cpu","value":3,"duration":3600}'
r=$(reply c1) || fs_fail "no reply to c1"
[ "$(field "$r" ok)" = true ] || fs_fail "c1 refused: $r"
[ "$(act_vcpus web3)" = 3 ] || fs_fail "c1: web3 has $(act_vcpus web3) vCPUs, not 3"
echo "ok: <vm>/command c1 answered $r; web3 has 3 vCPUs"

request web/command '{"request_id":"s1","action":"scale_out"}'
r=$(reply s1 20) || fs_fail "no reply to s1"
[ "$(field "$r" ok)" = true ] || fs_fail "scale_out refused: $r"
clone=$(virsh -q -c "$ACT_URI" list --name | grep -v -E '^(web1|web2|web3)?$' | head -n 1)
[ -n "$clone" ] || fs_fail "scale_out: no new running domain"
echo "ok: <set>/command scale_out s1 answered $r; $clone runs"
sleep 2 # the clone's first values: web3's state settles

echo "== 2. denials"
W3=$(web3)
POL=$(retained web/policy)
POLFILE=$(cat "$STATE/web.policy.json")
nrep=$(grep -a -c "^foresight/reply/" "$SEEN")
deny() { # NAME EXPECT(fail|ok) ARGS...: publishes a policy/set and a command
  local name=$1 want=$2 rc1 rc2
  shift 2
  mosquitto_pub "$@" -q 1 -t foresight/web/policy/set \
    -m "{\"request_id\":\"d-$name-p\",\"policy\":{\"Threshold\":{\"cpu\":0.5}}}" \
    >"$FS_TMP/deny-$name.out" 2>&1
  rc1=$?
  mosquitto_pub "$@" -q 1 -t foresight/web/web3/command \
    -m "{\"request_id\":\"d-$name-c\",\"action\":\"set\",\"resource\":\"cpu\",\"value\":5,\"duration\":60}" \
    >>"$FS_TMP/deny-$name.out" 2>&1
  rc2=$?
  if [ "$want" = fail ]; then
    [ $rc1 -ne 0 ] && [ $rc2 -ne 0 ] ||
      fs_fail "$name: mosquitto_pub exited $rc1/$rc2: $(cat "$FS_TMP/deny-$name.out")"
  fi
  echo "  $name: exit $rc1/$rc2: $(sort -u "$FS_TMP/deny-$name.out" | tr '\n' ' ')"
}
deny anonymous fail -h 127.0.0.1 -p "$PORT"
deny badpw fail -h 127.0.0.1 -p "$PORT" -u operator -P "not-$FS_MQTT_OPERATOR_PW"
deny viewer any -V 5 "${VIEW[@]}"
grep -q -i 'not authorized' "$FS_TMP/deny-viewer.out" ||
  fs_fail "viewer: the broker's refusal is not reported: $(cat "$FS_TMP/deny-viewer.out")"
grep -q -E "Denied PUBLISH from .* 'foresight/web/(policy/set|web3/command)'" \
  "$FS_MQTT_DIR/broker.log" 2>/dev/null && echo "  the broker logged the denied PUBLISHes"
sleep 3 # a request that got through would be answered within a cycle
for n in anonymous badpw viewer; do
  for k in p c; do
    ! grep -a -q "^foresight/reply/d-$n-$k " "$SEEN" || fs_fail "$n's request d-$n-$k answered"
  done
done
[ "$(grep -a -c "^foresight/reply/" "$SEEN")" = "$nrep" ] || fs_fail "a denied request was answered"
[ "$(retained web/policy)" = "$POL" ] || fs_fail "the policy changed: $(retained web/policy)"
[ "$(cat "$STATE/web.policy.json")" = "$POLFILE" ] || fs_fail "the policy file changed"
[ "$(web3)" = "$W3" ] || fs_fail "web3 changed: $W3 -> $(web3)"
echo "ok: 6 denied requests: no reply, policy and web3 ($W3) unchanged"

echo "== 3. broker killed and restarted while deciding"
# a decision every cycle: with a memory Threshold of 1%, web1 (about 1 GiB used) needs
# far more than it has; in DryRun nothing is applied, so each cycle finds it short
# again and decides the same grow again
request web/policy/set '{"request_id":"p2","policy":{"DryRun":true,"Threshold":{"memory":0.01},"LowerBand":{"memory":0.005},"VM":{"web1":{"Limit":{"memory":[512,65536]}}}}}'
r=$(reply p2) || fs_fail "no reply to p2"
[ "$(field "$r" ok)" = true ] || fs_fail "p2 refused: $r"
n0=$(logged_ids | wc -l)
deciding() { [ "$(logged_ids | wc -l)" -ge $((n0 + 2)) ]; }
fs_wait 20 deciding || fs_fail "DryRun: no decisions every cycle: $(act_decisions "$LOG" . | tail -n 3)"
before=$(logged_ids | wc -l)
kill -9 "$(cat "$FS_MQTT_DIR/broker.pid")"
killed_at=$(logged_ids | tail -n 1)
# the outage lasts until the daemon made two decisions without a broker (60 s at most)
more() { [ "$(logged_ids | wc -l)" -ge $((before + 2)) ]; }
fs_wait 60 more || fs_fail "no decisions while the broker was down"
outage=$(logged_ids | awk -v k="$killed_at" 'f; $0 == k { f = 1 }' | tr '\n' ' ')
start_broker broker "$PORT" "$BROKER_PERSIST" || fs_fail "the broker did not restart"
echo "  decisions made while the broker was down: $outage"
last=$(logged_ids | tail -n 1)
got_last() { received_ids | grep -q -x "$last"; }
fs_wait 30 got_last || fs_fail "decision $last not received within 30 s of the restart"
sleep 1
python3 - "$(logged_ids | tr '\n' ' ')" "$(received_ids | tr '\n' ' ')" <<'EOF' ||
import sys
logged = [int(x) for x in sys.argv[1].split()]
raw = [int(x) for x in sys.argv[2].split()]
assert raw, "no decision received"
# QoS 1 is at least once: a message the broker took but did not acknowledge before
# it died comes again. A repeat is no loss and no reorder; the first arrivals must be
# in order.
got, seen = [], set()
for i in raw:
    if i not in seen:
        seen.add(i)
        got.append(i)
dups = len(raw) - len(got)
assert all(a < b for a, b in zip(got, got[1:])), "received out of order: %s" % raw
assert all(a < b for a, b in zip(logged, logged[1:])), "logged out of order: %s" % logged
# a decision is published before it is logged: compare up to the newest in both
cut = min(logged[-1], got[-1])
got = [i for i in got if i <= cut]
want = [i for i in logged if i <= cut]
assert got == want, "received %s, logged %s" % (got, want)
assert logged[0] == got[0], "the first decision %d was not received (first: %d)" % (logged[0], got[0])
print("ok: %d decisions received, %d..%d, in order, none missing (%d delivered twice)"
      % (len(got), got[0], got[-1], dups))
EOF
  fs_fail "decisions lost or reordered across the broker's restart"
grep -q "MQTT broker 127.0.0.1:$PORT lost" "$LOG" || fs_fail "the daemon did not see the loss"
request web/policy/set '{"request_id":"p3","policy":{"DryRun":false,"Threshold":{"memory":0.8},"LowerBand":{"memory":0.5},"VM":{"web1":{"Limit":{"memory":[512,6144]}}}}}'
r=$(reply p3) || fs_fail "no reply to p3"
[ "$(field "$r" ok)" = true ] || fs_fail "p3 refused: $r"
sleep 3 # web1's grow to 8 is applied; then the set is quiet again

echo "== 4. 1,000 malformed requests"
W3=$(web3)
POL=$(retained web/policy)
POLFILE=$(cat "$STATE/web.policy.json")
over0=$(grep -c 'larger than the inbound limit dropped' "$LOG")
seed=${FS_FUZZ_SEED:-$(date +%s)}
out=$(python3 "$srcdir/tests/integration/mqtt_fuzz.py" 127.0.0.1 "$PORT" operator \
  "$FS_MQTT_OPERATOR_PW" foresight web web3 1000 "$seed") ||
  fs_fail "fuzz (seed $seed): $out"
echo "  $out"
kill -0 "$FS_PID" 2>/dev/null || fs_fail "the daemon died"
oversize=$(echo "$out" | sed -E 's/.* oversize ([0-9]+) .*/\1/')
dropped() { [ $(($(grep -c 'larger than the inbound limit dropped' "$LOG") - over0)) -eq "$oversize" ]; }
fs_wait 5 dropped || fs_fail "$oversize oversize sent, $(($(grep -c 'larger than the inbound limit dropped' "$LOG") - over0)) logged as dropped"
# still cycling: each cycle publishes web3's state stamped with the cycle's time
ts1=$(field "$(retained web/web3/state)" ts)
cycled() { [ "$(field "$(retained web/web3/state)" ts)" -gt "$ts1" ]; }
fs_wait 10 cycled || fs_fail "the daemon no longer cycles"
# and still answers: a valid hold
request web/web3/command '{"request_id":"h1","action":"hold","resource":"cpu","duration":60}'
r=$(reply h1) || fs_fail "no reply to h1 after the fuzz"
[ "$(field "$r" ok)" = true ] || fs_fail "h1 refused: $r"
[ "$(retained web/policy)" = "$POL" ] || fs_fail "the policy changed: $(retained web/policy)"
[ "$(cat "$STATE/web.policy.json")" = "$POLFILE" ] || fs_fail "the policy file changed"
[ "$(web3)" = "$W3" ] || fs_fail "web3 changed: $W3 -> $(web3)"
echo "ok: daemon $FS_PID alive, cycling and answering (h1), $oversize oversize logged as dropped, policy and web3 ($W3) unchanged"
echo "PASS ($(($(date +%s) - T0)) s)"
