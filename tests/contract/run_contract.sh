#!/usr/bin/env bash
# Contract test: Prism (validating mock of the official Formance spec) as the upstream, the gateway in
# front of it, and every one of the spec's operations called as a gRPC rpc (run_contract.py).
#
#   tests/contract/run_contract.sh [extra run_contract.py args, e.g. --only v2CreateTransaction -v]
#
# Environment:
#   FORMANCE_SPEC   the spec (default ../shared/formance/stack.openapi.yaml beside the repo); absent => SKIP, exit 0
#   FGW_BIN         the gateway binary (default build/server/formance-grpc-gateway, then /work/build-main/...)
#   PRISM_BIN       Prism (default tests/node_modules/.bin/prism; `npm ci` in tests/ installs it)
#   CONTRACT_DIRECT=1  only check the samples against Prism, without the gateway
#
# Prism runs without --errors: by default it already answers 422 with `sl-violations` for an invalid
# request, while --errors would also turn its own spec-violating response examples into 500s (42 operations).
# Everything listens on 127.0.0.1; each wait is bounded; both servers are stopped on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SPEC="${FORMANCE_SPEC:-$(cd "$ROOT/.." && pwd)/shared/formance/stack.openapi.yaml}"
PY=/usr/bin/python3

if [[ ! -f "$SPEC" ]]; then
  echo "SKIP contract: spec not found at $SPEC; set FORMANCE_SPEC"
  exit 0
fi
export FORMANCE_SPEC="$SPEC"

PRISM_BIN="${PRISM_BIN:-$ROOT/tests/node_modules/.bin/prism}"
if [[ ! -x "$PRISM_BIN" ]]; then
  echo "contract: Prism not found at $PRISM_BIN (run 'npm ci' in tests/ or set PRISM_BIN)" >&2
  exit 2
fi

if [[ -z "${CONTRACT_DIRECT:-}" ]]; then
  if [[ -z "${FGW_BIN:-}" ]]; then
    for c in "$ROOT/build/server/formance-grpc-gateway" "/work/build-main/server/formance-grpc-gateway"; do
      if [[ -x "$c" ]]; then FGW_BIN="$c"; break; fi
    done
  fi
  if [[ -z "${FGW_BIN:-}" || ! -x "$FGW_BIN" ]]; then
    echo "contract: gateway binary not found (${FGW_BIN:-build/server/formance-grpc-gateway}); build it or set FGW_BIN" >&2
    exit 2
  fi
fi

WORK="$(mktemp -d /tmp/fgw-contract.XXXXXX)"
PRISM_PID=""
GW_PID=""
PROXY_PID=""
cleanup() {
  local rc=$?
  # Prism is started in its own process group (setsid) so that node's children go with it.
  if [[ -n "$PRISM_PID" ]]; then kill -TERM -- "-$PRISM_PID" 2>/dev/null || kill -TERM "$PRISM_PID" 2>/dev/null || true; fi
  for pid in $GW_PID $PROXY_PID; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $PRISM_PID $GW_PID $PROXY_PID; do
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [[ -n "$PRISM_PID" ]] && kill -KILL -- "-$PRISM_PID" 2>/dev/null || true
  if [[ $rc -ne 0 && -z "${CONTRACT_KEEP_LOGS:-}" ]]; then
    echo "--- prism log (tail) ---"; tail -n 20 "$WORK/prism.log" 2>/dev/null || true
    echo "--- gateway log (tail) ---"; tail -n 40 "$WORK/gateway.log" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT INT TERM

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_listening() {  # host port seconds pid what
  local deadline=$((SECONDS + $3))
  while (( SECONDS < deadline )); do
    if ! kill -0 "$4" 2>/dev/null; then echo "contract: $5 exited before listening" >&2; return 1; fi
    if "$PY" -c 'import socket,sys; s=socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.5); s.close()' "$1" "$2" 2>/dev/null; then
      return 0
    fi
    sleep 0.3
  done
  echo "contract: $5 not listening on $1:$2 after $3 s" >&2
  return 1
}

PRISM_PORT="$(free_port)"
setsid "$PRISM_BIN" mock -h 127.0.0.1 -p "$PRISM_PORT" "$SPEC" >"$WORK/prism.log" 2>&1 &
PRISM_PID=$!
wait_listening 127.0.0.1 "$PRISM_PORT" 90 "$PRISM_PID" Prism
# Prism opens its port once every operation is loaded; check it answers.
for _ in $(seq 1 50); do
  if grep -q "Prism is listening" "$WORK/prism.log"; then break; fi
  sleep 0.2
done
echo "contract: Prism $("$PRISM_BIN" --version 2>/dev/null) on 127.0.0.1:$PRISM_PORT serving $SPEC"

if [[ -n "${CONTRACT_DIRECT:-}" ]]; then
  timeout 240 "$PY" "$HERE/run_contract.py" --direct --prism "http://127.0.0.1:$PRISM_PORT" "$@"
  exit $?
fi

# The gateway talks to Prism through a recording proxy, so the test can check what it sent
# (big integers digit for digit, body/query/headers against the expected encoding).
PROXY_PORT="$(free_port)"
"$PY" "$HERE/recording_proxy.py" --listen "127.0.0.1:$PROXY_PORT" --upstream "http://127.0.0.1:$PRISM_PORT" \
  --log "$WORK/upstream.jsonl" >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
wait_listening 127.0.0.1 "$PROXY_PORT" 15 "$PROXY_PID" "recording proxy"

GW_PORT="$(free_port)"
FORMANCE_TOKEN=contract-test-token "$FGW_BIN" --listen "127.0.0.1:$GW_PORT" --upstream "http://127.0.0.1:$PROXY_PORT" \
  >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
wait_listening 127.0.0.1 "$GW_PORT" 30 "$GW_PID" gateway
echo "contract: gateway $FGW_BIN on 127.0.0.1:$GW_PORT"

set +e
timeout 240 "$PY" "$HERE/run_contract.py" --gateway "127.0.0.1:$GW_PORT" --prism "http://127.0.0.1:$PRISM_PORT" \
  --record-log "$WORK/upstream.jsonl" "$@"
status=$?
set -e
exit $status
