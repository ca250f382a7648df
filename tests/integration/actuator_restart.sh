#!/bin/sh
# actuator_restart.sh -- issue 4's acceptance test (b): the actuator restarts with loans
# outstanding and a decision half-applied, on the real collectd daemon and libvirt's
# test driver (act_lib.sh says why libvirtd serves it; it also keeps the domains
# across the daemon's restarts).
#   1. The daemon of act_web_conf runs until the ledger holds a loan, and is stopped:
#      loans are outstanding.
#   2. It starts again with FORESIGHT_TEST_KILL_AFTER_SETS=1 (plugins/fsa_killhv.h): it
#      reloads the ledger, finds nothing open in the journal, plans, and is killed
#      (SIGKILL) right after the first hypervisor change of its first decision. A
#      resize of a persistent domain sets the config value first and the live one
#      second, so one domain is left with the two apart, and the journal with an open
#      transaction.
#   3. It starts again without the hook. Before any new decision the journal recovery
#      rolls the transaction back; once stopped, every domain's config and live values
#      agree again; every loan of step 1 was still tracked after the restarts (in the
#      ledger, or repaid by an applied repayment) and is repaid at its expiry.
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
act_web_conf "$CONF" "$LOG" "$(date +%s)" # one Epoch: the replay goes on after restarts

# apart: the domains whose persistent config and live allocation differ
apart() {
  for vm in web1 web2; do
    [ "$(act_vcpus $vm --config)" = "$(act_vcpus $vm --live)" ] || echo "$vm cpu"
    [ "$(act_mem_config_kib $vm)" = "$(act_mem_kib $vm)" ] || echo "$vm memory"
  done
}

echo "== 1: run until a loan is outstanding, then stop"
# A loan may be repaid in the cycle that runs while the daemon stops; then run again.
LOANS=""
for attempt in 1 2 3 4 5; do
  fs_start "$CONF"
  has_loan() { act_loans "$LEDGER" | grep -q .; }
  fs_wait 100 has_loan || fs_fail "no loan in the ledger within 100 s"
  act_stop
  LOANS=$(act_loans "$LEDGER" | awk '{ print $2 }')
  [ -z "$LOANS" ] || break
  echo "attempt $attempt: the loans were repaid while stopping; again"
done
[ -n "$LOANS" ] || fs_fail "never stopped with a loan outstanding"
echo "stopped with loans outstanding: $(echo $LOANS)"
[ -z "$(apart)" ] || fs_fail "config and live apart before any crash: $(apart)"

echo "== 2: restart, killed after the first change of the first decision"
mark=$(wc -l <"$LOG")
FORESIGHT_TEST_KILL_AFTER_SETS=1
export FORESIGHT_TEST_KILL_AFTER_SETS
fs_start "$CONF"
unset FORESIGHT_TEST_KILL_AFTER_SETS
act_wait_exit 60
rc=$?
[ $rc -eq 137 ] || fs_fail "the daemon was not killed by the hook (exit $rc)"
tail -n +"$mark" "$LOG" | grep -q "loans outstanding from the ledger" ||
  fs_fail "the restart did not reload the ledger's loans"
half=$(apart)
[ -n "$half" ] || fs_fail "no domain left half changed by the kill"
echo "killed mid-transaction: $half changed in the config only"

echo "== 3: restart: recovery first, then normal service"
mark=$(wc -l <"$LOG")
fs_start "$CONF"
recovered() {
  tail -n +"$mark" "$LOG" | grep -q 'journal recovery: 1 open, 1 rolled back, 0 completed, 0 still open'
}
fs_wait 20 recovered || fs_fail "no journal recovery of the open transaction"
first_recovery=$(tail -n +"$mark" "$LOG" | grep -n 'journal recovery' | head -n 1 | cut -d: -f1)
first_decision=$(tail -n +"$mark" "$LOG" | grep -n ': decision [0-9]' | head -n 1 | cut -d: -f1)
[ -z "$first_decision" ] || [ "$first_recovery" -lt "$first_decision" ] ||
  fs_fail "a decision was made before the journal recovery"
echo "ok: $(tail -n +"$mark" "$LOG" | grep -o 'journal recovery: .*')"

for id in $LOANS; do
  repaid() { act_decisions "$LOG" applied | grep -q "repay .*(loan $id): applied"; }
  fs_wait 40 repaid || fs_fail "loan $id lost: not repaid after the restarts"
  ! act_loans "$LEDGER" | grep -q "^loan $id " || fs_fail "repaid loan $id still in the ledger"
  echo "ok: loan $id repaid: $(act_decisions "$LOG" applied | grep "repay .*(loan $id)" |
    sed 's/.*\(decision [0-9]*\).*\(rule=[a-z]*\).*/\1 \2/')"
done
act_stop
[ -z "$(apart)" ] || fs_fail "config and live still apart after recovery: $(apart)"
echo "ok: every domain's config and live allocation agree"
echo "PASS"
