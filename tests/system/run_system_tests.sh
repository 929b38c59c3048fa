#!/usr/bin/env bash
# Runs every system test of this directory against the real gateway binary (FGW_BIN, see lib.sh).
# Exit: 0 all passed (skips count as passed), 1 any failed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
failed=()
for t in run_secret_leak_test.sh run_slow_upstream_test.sh; do
  echo "===== $t"
  "$HERE/$t"
  rc=$?
  case $rc in
    0) echo "===== $t: PASSED" ;;
    77) echo "===== $t: SKIPPED" ;;
    *) echo "===== $t: FAILED (exit $rc)"; failed+=("$t") ;;
  esac
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "system tests FAILED: ${failed[*]}"
  exit 1
fi
echo "system tests PASSED"
