#!/bin/sh
# Adds up cmocka's "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)" lines over
# the given test logs, and the automake verdicts of tests that are not cmocka programs
# (integration scripts), and prints one line: "N passed, N failed, N skipped" (a test
# that cannot run here, e.g. without /dev/kvm, says why in its log and is not a pass).
passed=0; failed=0; skipped=0
for log in "$@"; do
  [ -f "$log" ] || continue
  if grep -q '^\[==========\]' "$log"; then
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  else
    trs="${log%.log}.trs"
    case "$(sed -n 's/^:test-result: //p' "$trs" 2>/dev/null)" in
      PASS|XFAIL) p=1; f=0 ;;
      SKIP) p=0; f=0; skipped=$((skipped + 1)); echo "skipped: $log: $(grep -m1 -i 'skip' "$log")" ;;
      *) p=0; f=1 ;;
    esac
  fi
  passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed, $skipped skipped"
