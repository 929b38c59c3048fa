#!/usr/bin/env bash
# Instructions the gateway executes per call, counted by valgrind's callgrind: a figure that does
# not move with the machine's load (the same binary, inputs and environment give the same count),
# for A/B comparisons on a shared machine where CPU-time figures move 3x.
#
#   tests/bench/instructions_per_call.sh [GATEWAY_BINARY ...]   (default: the build's gateway)
#
# For each binary: nginx (bench fixtures) as the upstream, the gateway under callgrind, one
# warm-up burst, counters zeroed (callgrind_control -z), then bench_grpc GetAccount at each
# concurrency of FGW_IPC_CONCURRENCY (default "1 16") for FGW_IPC_SECONDS (default 4) seconds,
# counters dumped (callgrind_control -d) after each: instructions (Ir, all threads) / calls.
# Prints one line per binary and concurrency. Needs valgrind and the bench targets built.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${FGW_BUILD_DIR:-build}
[[ "$BUILD" = /* ]] || BUILD="$ROOT/$BUILD"
BENCH_GRPC=$BUILD/tests/bench/bench_grpc
CONCS=${FGW_IPC_CONCURRENCY:-1 16}
SECS=${FGW_IPC_SECONDS:-4}
BINARIES=("$@")
((${#BINARIES[@]})) || BINARIES=("$BUILD/server/formance-grpc-gateway")
REQUEST='{"ledger":"bench","address":"users:001"}'
METHOD=/formance.ledger.v2.LedgerService/GetAccount

TMP=$(mktemp -d /tmp/fgw-ipc.XXXXXX)
NGINX_PID="" GW_PID=""
cleanup() {
  [[ -n "$GW_PID" ]] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
  [[ -n "$NGINX_PID" ]] && kill -QUIT "$NGINX_PID" 2>/dev/null || true
  sleep 0.2
  rm -rf "$TMP"
}
trap cleanup EXIT
source "$HERE/bench_nginx.sh"
start_bench_nginx "$HERE" "$TMP" nginx || { echo "nginx did not start" >&2; exit 1; }

calls_of() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["calls"])'; }
total_ir() {  # The summary line of the newest dump.
  local f
  f=$(ls -t "$TMP"/callgrind.out.* | head -1)
  awk '/^(summary|totals):/ {print $2; exit}' "$f"
}

for bin in "${BINARIES[@]}"; do
  printf 'listen: 127.0.0.1:%s\nupstream:\n  url: http://127.0.0.1:%s\nlog:\n  level: warn\n' \
    "$GW_PORT" "$PORT" >"$TMP/gw.yaml"
  rm -f "$TMP"/callgrind.out.*
  valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.out.%p" \
    "$bin" --config "$TMP/gw.yaml" 2>"$TMP/gateway.log" &
  GW_PID=$!
  up=0  # Bounded: valgrind starts the gateway in well under a minute.
  for _ in $(seq 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT") 2>/dev/null; then up=1; break; fi
    sleep 0.2
  done
  ((up)) || { cat "$TMP/gateway.log" >&2; exit 1; }
  "$BENCH_GRPC" --target "127.0.0.1:$GW_PORT" --method "$METHOD" --request_json "$REQUEST" \
    --concurrency 4 --duration 2 --warmup 0.5 >/dev/null
  for c in $CONCS; do
    callgrind_control -z "$GW_PID" >/dev/null
    calls=$("$BENCH_GRPC" --target "127.0.0.1:$GW_PORT" --method "$METHOD" --request_json "$REQUEST" \
      --concurrency "$c" --duration "$SECS" --warmup 0 | calls_of)
    callgrind_control -d "$GW_PID" >/dev/null
    sleep 0.5
    ir=$(total_ir)
    python3 -c "import sys; ir, calls = int(sys.argv[1]), int(sys.argv[2]); print('%-60s c=%-3s calls %6d  instructions/call %9.0f' % (sys.argv[3], sys.argv[4], calls, ir / calls))" \
      "$ir" "$calls" "$bin" "$c"
  done
  kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
  GW_PID=""
done
