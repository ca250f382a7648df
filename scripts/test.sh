#!/usr/bin/env bash
# The project's tests, as the README gives them: installs what is missing, then
#   1. builds and runs every test (make check);
#   2. rebuilds with AddressSanitizer + UndefinedBehaviorSanitizer and runs them again;
#   3. runs the unit tests under valgrind (no leak, no invalid access);
#   4. make distcheck (the tarball builds and passes its tests);
# and ends with one line "N passed, N failed" over all of them.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# Integration tests read the shared traces from here, also under make distcheck (where
# the source tree is an unpacked copy with no ../shared beside it).
export FS_TRACES="${FS_TRACES:-$top/../shared/traces}"
"$top/scripts/install-deps.sh" || exit 1

total_pass=0
total_fail=0
total_skip=0
# Runs `make check` in build/$1 with extra make arguments; adds up the summary.
suite() {
  local name=$1; shift
  echo "== $name"
  (cd "build/$name" && make -s check "$@" >/dev/null 2>&1)
  local rc=$?
  (cd "build/$name" && sed -n '/^# TOTAL/,/^# ERROR/p' test-suite.log)
  local line
  local summary
  summary=$(cd "build/$name" && make -s check-summary)
  echo "$summary" | grep '^skipped:'
  line=$(echo "$summary" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
  echo "$name: $line"
  local p f s
  p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
  f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
  s=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  total_skip=$((total_skip + ${s:-0}))
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then total_fail=$((total_fail + 1)); fi
  [ $rc -eq 0 ] || (cd "build/$name" && grep -l -E '^:test-result: (FAIL|ERROR)' $(find . -name '*.trs') \
    | sed 's/\.trs$/.log/' | xargs -r tail -n 30)
}

scripts/build.sh release "-O2 -g" || exit 1
suite release

san="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
scripts/build.sh sanitize "$san" "-fsanitize=address,undefined" || exit 1
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 suite sanitize INTEGRATION_TESTS=

scripts/build.sh valgrind "-O1 -g" || exit 1
OPENBLAS_NUM_THREADS=1 suite valgrind \
  INTEGRATION_TESTS= FS_TEST_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"

echo "== distcheck"
if (cd build/release && make -s distcheck >distcheck.log 2>&1); then
  echo "distcheck: 1 passed, 0 failed"; total_pass=$((total_pass + 1))
else
  tail -n 40 build/release/distcheck.log
  echo "distcheck: 0 passed, 1 failed"; total_fail=$((total_fail + 1))
fi

[ "$total_skip" -eq 0 ] || echo "($total_skip skipped: a test that cannot run on this machine, reason above)"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
