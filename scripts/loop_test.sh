#!/usr/bin/env bash
# Run one test RUNS times in a row, each in a fresh pytest process, and count the passes.
#
# Issue #17 asks the console's live-feed test to pass 50 runs out of 50:
#   scripts/loop_test.sh 50
#   scripts/loop_test.sh 20 tests/api/test_events_cursor.py::test_b_a_dropped_socket_resumes_with_no_gap_and_no_duplicate
# A failing run's output is kept in $LOOP_LOG_DIR (default: a temporary directory).
# Exits 0 only when every run passed.
set -u
runs=${1:-50}
test=${2:-tests/console/test_explorer.py::test_a_submitted_transaction_appears_live_with_its_receipt}
pytest=${PYTEST:-.venv/bin/pytest}
logs=${LOOP_LOG_DIR:-$(mktemp -d)}
passed=0
for ((i = 1; i <= runs; i++)); do
  log="$logs/run-$i.log"
  if "$pytest" -p no:xdist -p no:cacheprovider -q "$test" >"$log" 2>&1; then
    passed=$((passed + 1))
    rm -f "$log"
  else
    echo "run $i failed: $log"
  fi
  echo "$passed/$i passed"
done
echo "$test: $passed of $runs runs passed"
[ "$passed" -eq "$runs" ]
