#!/usr/bin/env bash
# Installs, builds and runs the gateway on a fresh Debian 12 machine (as root).
#
# With no FORMANCE_URL and the Formance spec at hand ($FORMANCE_SPEC, or
# ../shared/formance/stack.openapi.yaml beside the repository), it serves a local Formance:
#   ledger v2   tests/fakes/fake_ledger.py, stateful like Formance (balances, exact amounts,
#               Idempotency-Key replays, Formance error bodies), ledger `main` created up front
#   wallets v1  the same fake (create, get, list, credit, debit over the ledger wallets-002)
#   the rest    Prism mocking the spec (canned answers), behind the fake (--forward)
# and the gateway's one upstream is the fake. Otherwise the gateway proxies FORMANCE_URL.
# It prints where each log is, and "listening" only once the gateway answers health.
# Binaries that are up to date are not rebuilt (an existing build dir is only built, not
# reconfigured).
#
# Environment: FGW_LISTEN (default 127.0.0.1:50051), FORMANCE_URL, FORMANCE_CLIENT_ID +
# FORMANCE_CLIENT_SECRET(_FILE) for a real stack, FGW_BUILD_DIR (default build),
# FGW_LOG_DIR (default ${TMPDIR:-/tmp}/fgw-quickstart), PRISM_PORT (default 4010),
# QUICKSTART_SKIP_INSTALL=1 (skip deploy/install_deps.sh: tests, repeated runs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BUILD_DIR="${FGW_BUILD_DIR:-build}"
LISTEN="${FGW_LISTEN:-127.0.0.1:50051}"
SPEC="${FORMANCE_SPEC:-$ROOT/../shared/formance/stack.openapi.yaml}"
LOG_DIR="${FGW_LOG_DIR:-${TMPDIR:-/tmp}/fgw-quickstart}"
GATEWAY="$ROOT/$BUILD_DIR/server/formance-grpc-gateway"
CLI="$ROOT/$BUILD_DIR/client/formance-grpc-cli"

[[ "${QUICKSTART_SKIP_INSTALL:-}" == 1 ]] || bash deploy/install_deps.sh --npm
if [[ -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  # Keep the build dir's configuration (tests on or off): make relinks nothing up to date.
  cmake --build "$BUILD_DIR" -j"${FGW_JOBS:-2}" --target formance-grpc-gateway formance-grpc-cli
else
  FGW_BUILD_TESTS=OFF FGW_TARGETS="formance-grpc-gateway formance-grpc-cli" bash deploy/build.sh
fi
mkdir -p "$LOG_DIR"

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for <seconds> <command...>: runs the command every 0.25 s until it succeeds.
wait_for() {
  local tries=$(($1 * 4)); shift
  for ((i = 0; i < tries; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  return 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

UPSTREAM="${FORMANCE_URL:-}"
if [[ -z "$UPSTREAM" && -f "$SPEC" ]]; then
  PRISM_PORT="${PRISM_PORT:-4010}"
  "$ROOT/tests/node_modules/.bin/prism" mock -h 127.0.0.1 -p "$PRISM_PORT" "$SPEC" \
    >"$LOG_DIR/prism.log" 2>&1 &
  PIDS+=($!)
  /usr/bin/python3 "$ROOT/tests/fakes/fake_ledger.py" --port 0 --ledger main \
    --forward "http://127.0.0.1:$PRISM_PORT" >"$LOG_DIR/fake-ledger.log" 2>&1 &
  PIDS+=($!)
  wait_for 10 grep -q '^listening on' "$LOG_DIR/fake-ledger.log" ||
    { echo "quickstart: the fake ledger did not start; see $LOG_DIR/fake-ledger.log" >&2; exit 1; }
  FAKE_PORT="$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$LOG_DIR/fake-ledger.log")"
  wait_for 120 port_open "$PRISM_PORT" ||
    { echo "quickstart: Prism did not start; see $LOG_DIR/prism.log" >&2; exit 1; }
  UPSTREAM="http://127.0.0.1:$FAKE_PORT"
  # The mock has no token endpoint; Prism only checks that secured calls carry a bearer token.
  export FORMANCE_TOKEN="${FORMANCE_TOKEN:-mock-token}"
  echo "quickstart: local Formance on $UPSTREAM: ledger v2 (ledger 'main') and wallets from the stateful"
  echo "            fake, every other module from Prism mocking $SPEC (127.0.0.1:$PRISM_PORT)"
elif [[ -z "$UPSTREAM" ]]; then
  UPSTREAM=http://localhost
  echo "quickstart: spec not found at $SPEC and FORMANCE_URL unset: proxying http://localhost."
  echo "quickstart: point it at a stack with FORMANCE_URL=https://<org>.<env>.formance.cloud"
  echo "            and FORMANCE_CLIENT_ID / FORMANCE_CLIENT_SECRET."
fi

"$GATEWAY" --listen "$LISTEN" --upstream "$UPSTREAM" >"$LOG_DIR/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
if ! wait_for 30 "$CLI" --addr="$LISTEN" --timeout=1s health; then
  echo "quickstart: the gateway does not answer health on $LISTEN; last lines of $LOG_DIR/gateway.log:" >&2
  tail -n 20 "$LOG_DIR/gateway.log" >&2
  exit 1
fi

BIG=340282366920938463463374607431768211457
cat <<MSG
quickstart: gateway listening on $LISTEN (health: SERVING), upstream $UPSTREAM
quickstart: logs: gateway $LOG_DIR/gateway.log$( [[ -n "${FAKE_PORT:-}" ]] && printf ', fake ledger %s, Prism %s (request validation messages)' "$LOG_DIR/fake-ledger.log" "$LOG_DIR/prism.log")
First calls, from another shell (2^128+1 comes back digit for digit; the replay is idempotent):
  C=$CLI
  \$C --addr=$LISTEN list
  \$C --addr=$LISTEN -d '{"ledger": "main", "idempotencyKey": "first-1", "v2PostTransaction": {"postings": [{"source": "world", "destination": "users:001", "amount": "$BIG", "asset": "USD/2"}]}}' formance.ledger.v2.LedgerService/CreateTransaction
  (the same again: "idempotencyHit": "true", the same transaction)
  \$C --addr=$LISTEN -d '{"ledger": "main", "address": "users:001", "expand": ["volumes"]}' formance.ledger.v2.LedgerService/GetAccount
Ctrl-C stops everything.
MSG
wait "$GW_PID"
