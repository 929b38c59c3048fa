#!/usr/bin/env bash
# Callers suite (issue 11): TLS, mTLS, API keys, the caller policy, per-caller limits and
# reloads through the real daemon against a recording upstream; Python grpcio and Node grpc-js
# clients; certificates made here with openssl (make_certs.sh). See callers_test.py.
# Everything binds 127.0.0.1 or a unix socket in the temp dir; every process started is killed
# on exit (tests/system/lib.sh).
# Environment: FGW_BIN (gateway binary), FGW_KEEP_TMP=1 keeps the temp dir.
# Exit: 0 passed, 1 failed, 77 skipped (no gateway binary).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$ROOT/tests/system/lib.sh"

TMP="$(mktemp -d /tmp/fgw-callers.XXXXXX)"
sys_setup_trap "$TMP"
bash "$HERE/make_certs.sh" "$TMP/certs"
protoc -I "$ROOT/proto" -I "$GOOGLEAPIS" -I /usr/include --include_imports \
  --descriptor_set_out="$TMP/api.pb" formance/ledger/v2/service.proto formance/webhooks/v1/service.proto

start=$SECONDS
timeout --kill-after=10 240 "$PY" "$HERE/callers_test.py" --binary "$FGW_BIN" --descriptor-set "$TMP/api.pb" \
  --tmp "$TMP" &
track_pid $!
rc=0
wait $! || rc=$?
echo "callers suite: $((SECONDS - start)) s"
[[ $rc -eq 124 ]] && echo "FAIL: timed out" >&2
[[ $rc -eq 0 ]] || exit 1
