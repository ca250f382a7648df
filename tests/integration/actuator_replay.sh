#!/bin/sh
# actuator_replay.sh -- issue 4's acceptance test (a), on the real collectd daemon: the
# actuator plugin, fed by the trace replay through the forecast plugin, applies its
# decisions to libvirt test-driver domains (act_lib.sh: the daemon of act_web_conf, and
# why libvirtd serves the test driver). Checks:
#   - decisions are applied, among them a loan from web2 to web1, which the ledger
#     records, and its repayment (when web1 no longer needs it, or at its expiry:
#     BorrowDuration is 8 s), after which the ledger no longer holds it;
#   - read back through libvirt, each domain has, per resource, the allocation the last
#     decision applied to it promised (vCPUs; memory MiB x 1024 = the balloon's KiB).
set -u
. "${srcdir:-.}/tests/integration/lib.sh"
. "${srcdir:-.}/tests/integration/act_lib.sh"
fs_setup
fs_need_traces
act_need
act_libvirtd_start
act_web_setup

LOG="$FS_TMP/collectd.log"
CONF="$FS_TMP/collectd.conf"
LEDGER="$FS_TMP/state/web.ledger"
act_web_conf "$CONF" "$LOG"

echo "== collectd: replay -> forecast -> actuator -> libvirt"
fs_start "$CONF"

lent() { act_decisions "$LOG" applied | grep -q ': decision [0-9]* lend cpu web1 '; }
fs_wait 100 lent || fs_fail "no loan to web1 applied within 100 s"
act_decisions "$LOG" applied | grep ': decision [0-9]* lend ' | head -n 1
loan_id=$(act_decisions "$LOG" applied |
  sed -n 's/.*: decision [0-9]* lend .*(loan \([0-9]*\)).*/\1/p' | head -n 1)
recorded() { act_loans "$LEDGER" | grep -q "^loan $loan_id web2 web1 cpu "; }
fs_wait 5 recorded || fs_fail "loan $loan_id not in the ledger $LEDGER"
echo "ok: loan $loan_id recorded: $(act_loans "$LEDGER" | grep "^loan $loan_id ")"

repaid() { act_decisions "$LOG" applied | grep -q "repay .*(loan $loan_id): applied"; }
fs_wait 30 repaid || fs_fail "loan $loan_id not repaid within 30 s (BorrowDuration 8 s)"
rule=$(act_decisions "$LOG" applied | grep "repay .*(loan $loan_id)" |
  sed 's/.*\[rule=\([a-z]*\).*/\1/')
gone() { ! act_loans "$LEDGER" | grep -q "^loan $loan_id "; }
fs_wait 5 gone || fs_fail "repaid loan $loan_id still in the ledger"
echo "ok: loan $loan_id repaid (rule $rule) and gone from the ledger"

# stop deciding, then compare what libvirt says with what the decisions promised
act_stop
echo "$(act_decisions "$LOG" applied | wc -l) decisions applied"
checked=0
for vm in web1 web2; do
  want=$(act_last_to "$LOG" $vm cpu)
  if [ -n "$want" ]; then
    got=$(act_vcpus $vm)
    [ "$got" = "$want" ] || fs_fail "$vm has $got vCPUs, the last decision promised $want"
    echo "ok: $vm cpu: $got vCPUs, as promised"
    checked=$((checked + 1))
  fi
  want=$(act_last_to "$LOG" $vm memory)
  if [ -n "$want" ]; then
    got=$(act_mem_kib $vm)
    [ "$got" = "$((want * 1024))" ] ||
      fs_fail "$vm has $got KiB, the last decision promised $want MiB"
    echo "ok: $vm memory: $got KiB = $want MiB, as promised"
    checked=$((checked + 1))
  fi
done
[ $checked -ge 3 ] || fs_fail "only $checked allocations to compare"
echo "PASS"
