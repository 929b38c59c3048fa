#!/usr/bin/env bash
# Installs, builds and runs the gateway on a fresh Debian 12 machine (as root).
#
# With the Formance spec at hand ($FORMANCE_SPEC, or ../shared/formance/stack.openapi.yaml
# beside the repository) and no FORMANCE_URL set, it starts Prism serving the spec on
# 127.0.0.1:4010 as a mock Formance stack, so the first call answers. Otherwise the gateway
# proxies FORMANCE_URL (default http://localhost).
#
# Environment: FGW_LISTEN (default 127.0.0.1:50051), FORMANCE_URL, FORMANCE_CLIENT_ID +
# FORMANCE_CLIENT_SECRET(_FILE) for a real stack, FGW_BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
bash deploy/install_deps.sh --npm
FGW_BUILD_TESTS=OFF FGW_TARGETS="formance-grpc-gateway formance-grpc-cli" bash deploy/build.sh
BUILD_DIR="${FGW_BUILD_DIR:-build}"
LISTEN="${FGW_LISTEN:-127.0.0.1:50051}"
SPEC="${FORMANCE_SPEC:-$ROOT/../shared/formance/stack.openapi.yaml}"

PRISM_PID=""
cleanup() { [[ -n "$PRISM_PID" ]] && kill "$PRISM_PID" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if [[ -z "${FORMANCE_URL:-}" && -f "$SPEC" ]]; then
  PRISM_PORT="${PRISM_PORT:-4010}"
  echo "quickstart: no FORMANCE_URL; serving a mock of the Formance API from $SPEC on 127.0.0.1:$PRISM_PORT (Prism)"
  "$ROOT/tests/node_modules/.bin/prism" mock -h 127.0.0.1 -p "$PRISM_PORT" "$SPEC" \
    >"${TMPDIR:-/tmp}/fgw-prism.log" 2>&1 &
  PRISM_PID=$!
  for _ in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PRISM_PORT") 2>/dev/null; then break; fi
    sleep 0.5
  done
  export FORMANCE_URL="http://127.0.0.1:$PRISM_PORT"
  # The mock has no token endpoint; Prism only checks that secured calls carry a bearer token.
  export FORMANCE_TOKEN="${FORMANCE_TOKEN:-mock-token}"
elif [[ -z "${FORMANCE_URL:-}" ]]; then
  echo "quickstart: spec not found at $SPEC and FORMANCE_URL unset: proxying http://localhost."
  echo "quickstart: point it at a stack with FORMANCE_URL=https://<org>.<env>.formance.cloud"
  echo "            and FORMANCE_CLIENT_ID / FORMANCE_CLIENT_SECRET."
fi

cat <<MSG
quickstart: gateway listening on $LISTEN. First call, from another shell:
  $ROOT/$BUILD_DIR/client/formance-grpc-cli --addr=$LISTEN call formance.ledger.v2.LedgerService/ListLedgers '{"pageSize": "2"}'
MSG
"$ROOT/$BUILD_DIR/server/formance-grpc-gateway" --listen "$LISTEN" --upstream "${FORMANCE_URL:-http://localhost}"
