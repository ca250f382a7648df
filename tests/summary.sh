#!/bin/sh
# Adds up cmocka's "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)" lines over
# the given test logs, and the automake verdicts of tests that are not cmocka programs
# (integration scripts), and prints one line: "N passed, N failed".
passed=0; failed=0
for log in "$@"; do
  [ -f "$log" ] || continue
  if grep -q '^\[==========\]' "$log"; then
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
  else
    trs="${log%.log}.trs"
    case "$(sed -n 's/^:test-result: //p' "$trs" 2>/dev/null)" in
      PASS|XFAIL|SKIP) p=1; f=0 ;;
      *) p=0; f=1 ;;
    esac
  fi
  passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
