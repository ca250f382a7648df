#!/usr/bin/env bash
# foresight-ctl against a real mosquitto (the demo config and ACL) and a responder
# that answers as the actuator plugin will (responder.c): replies, exit codes, usage
# errors that name the option, ACL refusals, status and watch output.
set -u
srcdir=${srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$srcdir/tests/integration/mqtt_env.sh"

port=$(free_port)
start_broker broker "$port" || exit 1
ctl="./tools/foresight-ctl"
[ -x "$ctl" ] || { echo "FAIL: $ctl not built"; exit 1; }
op=(-h 127.0.0.1 -p "$port" -u operator -P "$FS_MQTT_OPERATOR_PW" --timeout 5)

./tests/integration/responder "$port" > "$FS_MQTT_DIR/responder.out" \
  2> "$FS_MQTT_DIR/responder.err" &
echo $! > "$FS_MQTT_DIR/responder.pid"
for _ in $(seq 1 100); do
  grep -q . "$FS_MQTT_DIR/responder.out" 2>/dev/null && break
  sleep 0.05
done
grep -q ready "$FS_MQTT_DIR/responder.out" || {
  echo "FAIL: responder not ready"; cat "$FS_MQTT_DIR/responder."*; exit 1; }

passed=0; failed=0
out="$FS_MQTT_DIR/out"; err="$FS_MQTT_DIR/err"
# check NAME RC TEXT -- CMD...: CMD exits RC and its stdout+stderr contain TEXT.
check() {
  local name=$1 want=$2 text=$3; shift 4
  "$@" > "$out" 2> "$err"
  local rc=$?
  if [ "$rc" -eq "$want" ] && grep -qF -- "$text" "$out" "$err"; then
    echo "ok - $name"; passed=$((passed + 1))
  else
    echo "FAIL - $name: exit $rc (want $want), output:"; cat "$out" "$err"
    failed=$((failed + 1))
  fi
}

echo '{"LeadTime": 900}' > "$FS_MQTT_DIR/good.json"
echo '{"BorrowMax": {"cpu": 1.5}}' > "$FS_MQTT_DIR/bad.json"
echo '{"LeadTime": ' > "$FS_MQTT_DIR/broken.json"

check "policy get prints the policy in force" 0 '"LeadTime": 600' -- \
  "$ctl" "${op[@]}" policy get web
check "policy set of a valid patch replies ok" 0 ok -- \
  "$ctl" "${op[@]}" policy set web "$FS_MQTT_DIR/good.json"
check "the accepted patch is in force" 0 '"LeadTime": 900' -- \
  "$ctl" "${op[@]}" policy get web
check "policy set of an invalid patch is rejected with the validator's words" 1 \
  'HostSet "web": BorrowMax cpu 1.5 (must be in [0, 1])' -- \
  "$ctl" "${op[@]}" policy set web "$FS_MQTT_DIR/bad.json"
check "the rejected patch left the policy in force" 0 '"LeadTime": 900' -- \
  "$ctl" "${op[@]}" policy get web
check "policy set of an unknown host set is rejected" 1 'HostSet "db": no such set' -- \
  "$ctl" "${op[@]}" policy set db "$FS_MQTT_DIR/good.json"
check "policy set of a file that is not JSON is a usage error" 2 'broken.json' -- \
  "$ctl" "${op[@]}" policy set web "$FS_MQTT_DIR/broken.json"
check "a prefix outside the operator's ACL is denied by the broker" 1 'denied' -- \
  "$ctl" "${op[@]}" --prefix nobody --timeout 1 policy set web "$FS_MQTT_DIR/good.json"
check "set finds the VM's host set from its state and is accepted" 0 ok -- \
  "$ctl" "${op[@]}" set web1 cpu 4 --for 10m
check "set with a value that is not a number names it" 2 'VALUE "abc"' -- \
  "$ctl" "${op[@]}" set web1 cpu abc
check "set of an unknown resource is rejected by foresight" 1 'field "resource"' -- \
  "$ctl" "${op[@]}" set web1 gpu 4
check "hold for an hour is accepted" 0 ok -- "$ctl" "${op[@]}" hold web1 --for 1h
check "hold without --for is a usage error naming it" 2 '--for' -- \
  "$ctl" "${op[@]}" hold web1
check "release is accepted" 0 ok -- "$ctl" "${op[@]}" release web1 cpu
check "a VM without retained state needs --set" 3 'give it with --set' -- \
  "$ctl" "${op[@]}" --timeout 1 set web9 cpu 2
check "a VM foresight does not know is rejected" 1 'no VM "web9"' -- \
  "$ctl" "${op[@]}" --set web set web9 cpu 2
check "scale-out goes to the set's command topic" 0 ok -- \
  "$ctl" "${op[@]}" scale-out web
check "a bad port names -p" 2 'option -p: "abc"' -- "$ctl" -p abc status
check "an unknown option is named" 2 'unknown option --bogus' -- "$ctl" --bogus status
check "a bad duration names --for" 2 'option --for: "10x"' -- \
  "$ctl" "${op[@]}" hold web1 --for 10x
check "an unknown command is named" 2 'unknown command "frobnicate"' -- \
  "$ctl" "${op[@]}" frobnicate
check "each command has its --help" 0 'Usage: foresight-ctl set VM RESOURCE VALUE' -- \
  "$ctl" set --help
check "status shows the policy and the VMs' state" 0 '  web/web1: cpu 2 (usage 1.5)' -- \
  "$ctl" "${op[@]}" status web
check "status shows forecasts" 0 'web/web1/forecast/cpu (ets): +10 min 1.8 [1.2, 2.7]' -- \
  "$ctl" "${op[@]}" status web web1
check "a wrong password is refused and exits 3" 3 'refused the connection' -- \
  "$ctl" -h 127.0.0.1 -p "$port" -u operator -P wrong policy get web
check "the viewer may not write policy/set: the broker's refusal exits 1" 1 \
  'denied publishing on foresight/web/policy/set' -- \
  "$ctl" -h 127.0.0.1 -p "$port" -u viewer -P "$FS_MQTT_VIEWER_PW" \
  policy set web "$FS_MQTT_DIR/good.json"

# watch: two lines, a decision and its result, rendered in UTC.
TZ=UTC "$ctl" "${op[@]}" watch --count 2 > "$FS_MQTT_DIR/watch.out" 2>&1 &
watch_pid=$!
sleep 1
pub=(mosquitto_pub -h 127.0.0.1 -p "$port" -u operator -P "$FS_MQTT_OPERATOR_PW" -q 1)
"${pub[@]}" -t foresight/web/decision -m '{"id":17,"ts":1700049605,"vm":"web1","kind":"grow","resource":"cpu","from":2,"to":3,"rule":"forecast","reason":"rule=forecast hi=2.7@600s threshold=0.8 need=3.375","dry_run":false,"loan":null}'
"${pub[@]}" -t foresight/web/result -m '{"decision_id":17,"ts":1700049607,"vm":"web1","status":"applied","error":null}'
for _ in $(seq 1 100); do kill -0 $watch_pid 2>/dev/null || break; sleep 0.05; done
kill $watch_pid 2>/dev/null
expected="12:00:05 web/web1 grow cpu 2 → 3 (forecast hi 2.7 cores at +10 min > 0.8 × 2) [planned]
12:00:05 web/web1 grow cpu 2 → 3 (forecast hi 2.7 cores at +10 min > 0.8 × 2) [applied]"
if [ "$(cat "$FS_MQTT_DIR/watch.out")" = "$expected" ]; then
  echo "ok - watch prints one line per decision and result"; passed=$((passed + 1))
else
  echo "FAIL - watch printed:"; cat "$FS_MQTT_DIR/watch.out"; failed=$((failed + 1))
fi

# Without foresight to answer, a request times out.
responder_pid=$(cat "$FS_MQTT_DIR/responder.pid")
kill "$responder_pid"
# kill only sends the signal: wait until the responder is gone, or it may still answer
for _ in $(seq 1 100); do kill -0 "$responder_pid" 2>/dev/null || break; sleep 0.05; done
check "no reply within --timeout exits 3" 3 'no answer within 1 s' -- \
  "$ctl" "${op[@]}" --timeout 1 policy set web "$FS_MQTT_DIR/good.json"

echo "ctl: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
