#!/usr/bin/env bash
# Fault test: fake ledger <- fault proxy <- formance-grpc-gateway <- fault_test.py (grpcio).
# Everything binds 127.0.0.1; every process started here is killed on exit.
#
# Environment:
#   FGW_BIN            gateway binary (default: <repo>/build/server/formance-grpc-gateway)
#   FAULT_CALLS        CreateTransaction calls (default 3000)
#   FAULT_CONCURRENCY  calls in flight (default 16)
#   FAULT_SEED         fault proxy and test seed (default 1)
#   FAULT_ONLY         load | not-retried (default: both)
#   FAULT_KEEP_TMP     1: keep the temp dir (logs, config) for inspection
# Exit: 0 passed, 1 failed, 77 skipped (no gateway binary).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
FGW_BIN="${FGW_BIN:-$ROOT/build/server/formance-grpc-gateway}"
PY=/usr/bin/python3
GOOGLEAPIS=/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis
CALLS="${FAULT_CALLS:-3000}"
CONCURRENCY="${FAULT_CONCURRENCY:-16}"
SEED="${FAULT_SEED:-1}"

if [[ ! -x "$FGW_BIN" ]]; then
  echo "SKIP: gateway binary not found at $FGW_BIN (set FGW_BIN)" >&2
  exit 77
fi

TMP="$(mktemp -d /tmp/fgw-fault.XXXXXX)"
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $rc -ne 0 && -f "$TMP/gateway.log" ]]; then
    echo "--- gateway log (last 40 lines) ---" >&2
    tail -n 40 "$TMP/gateway.log" >&2 || true
  fi
  if [[ "${FAULT_KEEP_TMP:-0}" == 1 ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits for "listening on PORT" in $1 (a process's stdout file), prints PORT.
wait_port_line() {
  local file=$1 pid=$2
  for _ in $(seq 1 100); do
    if grep -q '^listening on ' "$file" 2>/dev/null; then
      sed -n 's/^listening on \([0-9]*\).*/\1/p' "$file" | head -n1
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { echo "process $pid died" >&2; return 1; }
    sleep 0.05
  done
  echo "timed out waiting for $file" >&2
  return 1
}

protoc -I "$ROOT/proto" -I "$GOOGLEAPIS" -I /usr/include --include_imports \
  --descriptor_set_out="$TMP/ledger.pb" formance/ledger/v2/service.proto

"$PY" "$ROOT/tests/fakes/fake_ledger.py" >"$TMP/fake.out" 2>"$TMP/fake.err" &
PIDS+=($!)
FAKE_PORT=$(wait_port_line "$TMP/fake.out" "${PIDS[-1]}")

"$PY" "$ROOT/tests/fakes/fault_proxy.py" --upstream "http://127.0.0.1:$FAKE_PORT" --seed "$SEED" \
  --burst-max 3 --delay-max-ms 150 --retry-after-rate 0.2 --retry-after-max 1 \
  >"$TMP/proxy.out" 2>"$TMP/proxy.err" &
PIDS+=($!)
PROXY_PORT=$(wait_port_line "$TMP/proxy.out" "${PIDS[-1]}")

GW_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$TMP/gateway.yaml" <<EOF
listen: 127.0.0.1:$GW_PORT
upstream:
  url: http://127.0.0.1:$PROXY_PORT
  request_timeout: 2s
  connect_timeout: 1s
  io_threads: 2
auth:
  mode: none
retry:
  max_attempts: 10
  initial_backoff: 5ms
  max_backoff: 100ms
  multiplier: 2.0
  budget_ratio: 1.0
  budget_min_per_second: 100000
log:
  level: warn
EOF

"$FGW_BIN" --config "$TMP/gateway.yaml" --listen "127.0.0.1:$GW_PORT" \
  --upstream "http://127.0.0.1:$PROXY_PORT" >"$TMP/gateway.log" 2>&1 &
PIDS+=($!)
GW_PID=${PIDS[-1]}
for _ in $(seq 1 100); do
  if "$PY" -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$GW_PORT)))"; then
    break
  fi
  kill -0 "$GW_PID" 2>/dev/null || { echo "gateway exited:" >&2; cat "$TMP/gateway.log" >&2; exit 1; }
  sleep 0.1
done

echo "fake ledger :$FAKE_PORT  fault proxy :$PROXY_PORT  gateway :$GW_PORT  ($FGW_BIN)"
ONLY=()
[[ -n "${FAULT_ONLY:-}" ]] && ONLY=(--only "$FAULT_ONLY")
timeout 170 "$PY" "$HERE/fault_test.py" --gateway "127.0.0.1:$GW_PORT" --fake-port "$FAKE_PORT" \
  --proxy-port "$PROXY_PORT" --descriptor-set "$TMP/ledger.pb" --calls "$CALLS" \
  --concurrency "$CONCURRENCY" --seed "$SEED" "${ONLY[@]}"
