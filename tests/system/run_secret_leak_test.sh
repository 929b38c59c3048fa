#!/usr/bin/env bash
# System test: no secret or token in anything the gateway prints (at trace) or tells a client.
# See secret_leak_test.py. Everything binds 127.0.0.1; every process started is killed on exit.
#
# Environment:
#   FGW_BIN        gateway binary (default: /work/build-main/server/formance-grpc-gateway, else
#                  <repo>/build/server/formance-grpc-gateway)
#   FGW_KEEP_TMP   1: keep the temp dir (gateway logs) for inspection
#   SECRET_LEAK_ERROR_ECHO_PROBE  0: leave out the probe where the token endpoint answers
#                  401 {"error": "<the client secret>"} (default 1: included)
# Exit: 0 passed, 1 failed, 77 skipped (no gateway binary).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$HERE/lib.sh"

TMP="$(mktemp -d /tmp/fgw-secret-leak.XXXXXX)"
sys_setup_trap "$TMP"
make_descriptor_set "$TMP/ledger.pb"

timeout 240 "$PY" "$HERE/secret_leak_test.py" --binary "$FGW_BIN" --descriptor-set "$TMP/ledger.pb" \
  --tmp "$TMP" &
track_pid $!
rc=0
wait $! || rc=$?
[[ $rc -eq 124 ]] && echo "FAIL: timed out" >&2
[[ $rc -eq 0 ]] || exit 1
