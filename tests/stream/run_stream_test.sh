#!/usr/bin/env bash
# Stream rpcs end to end: paging_fake.py <- formance-grpc-gateway <- stream_test.py (grpcio).
# Everything binds 127.0.0.1; the test kills what it starts.
#   FGW_BIN      gateway binary (default: <repo>/build/server/formance-grpc-gateway)
#   FGW_CLI_BIN  formance-grpc-cli (default: beside it, <build>/client/formance-grpc-cli)
# Exit: 0 passed, 1 failed, 77 skipped (no gateway binary).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
FGW_BIN="${FGW_BIN:-$ROOT/build/server/formance-grpc-gateway}"
GOOGLEAPIS=/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis
if [[ ! -x "$FGW_BIN" ]]; then
  echo "SKIP: gateway binary not found at $FGW_BIN (set FGW_BIN)" >&2
  exit 77
fi
TMP="$(mktemp -d /tmp/fgw-stream.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
protoc -I "$ROOT/proto" -I "$GOOGLEAPIS" -I /usr/include --include_imports \
  --descriptor_set_out="$TMP/ledger.pb" formance/ledger/v2/service.proto
CLI_BIN="${FGW_CLI_BIN:-$(dirname "$(dirname "$FGW_BIN")")/client/formance-grpc-cli}"
timeout 240 /usr/bin/python3 "$HERE/stream_test.py" --gateway-bin "$FGW_BIN" --descriptor-set "$TMP/ledger.pb" \
  --cli-bin "$CLI_BIN" "$@"
