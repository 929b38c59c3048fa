#!/usr/bin/env bash
# The benchmark, in one command (tests/bench/README.md):
#
#   tests/bench/run_bench.sh
#
# Builds what it needs, starts nginx (fixed Formance replies + one reverse-proxy hop) and the
# gateway on 127.0.0.1, measures every row, prints the table and writes
# tests/bench/results/latest.md, latest.tsv (raw) and latency.png. About 3 minutes.
#
# Environment (all optional):
#   FGW_BUILD_DIR         build directory (default: build, relative to the project root)
#   FGW_GATEWAY_BIN       gateway binary (default: $FGW_BUILD_DIR/server/formance-grpc-gateway)
#   FGW_BENCH_NO_BUILD=1  do not run cmake
#   FGW_BENCH_DURATION    measured seconds per row (default 3); FGW_BENCH_WARMUP (default 0.5)
#   FGW_BENCH_IO_THREADS  gateway upstream.io_threads (default 1, the gateway's default)
#   FGW_BENCH_LOG_LEVEL   gateway log level (default warn; the gateway's own default is info,
#                         one line per call to stderr, here a file)
#   FGW_BENCH_REST_THREADS  cpprestsdk pool of the C++ REST client (default 2)
#   FGW_BENCH_CONCURRENCY side-by-side concurrencies (default "1 16 64")
#   FGW_BENCH_SWEEP       extra concurrencies for the collapse check (default "128 256"; "" none)
#   FGW_BENCH_ROWS        subset of: direct hop gateway node-sdk node-grpc h2load (default: all)
#                         h2load: GetAccount from h2load (nghttp2-client), gRPC framing, -> gateway,
#                         and GET -> an HTTP/2 nginx hop (own process) -> nginx; only it:
#                         FGW_BENCH_ROWS=h2load FGW_BENCH_OPS=account tests/bench/run_bench.sh
#   FGW_BENCH_H2LOAD_CONNS  h2load connections per row (default 1, like bench_grpc's one channel);
#                         c calls in flight = conns x c/conns streams
#   FGW_BENCH_OPS         subset of: account create page (default: all)
#   FGW_BENCH_OUT         output directory (default tests/bench/results)
#   FGW_NODE_MODULES      node_modules with @formance/formance-sdk, @grpc/grpc-js, @grpc/proto-loader
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${FGW_BUILD_DIR:-build}
[[ "$BUILD" = /* ]] || BUILD="$ROOT/$BUILD"
GATEWAY=${FGW_GATEWAY_BIN:-$BUILD/server/formance-grpc-gateway}
DURATION=${FGW_BENCH_DURATION:-3}
WARMUP=${FGW_BENCH_WARMUP:-0.5}
IO_THREADS=${FGW_BENCH_IO_THREADS:-1}
LOG_LEVEL=${FGW_BENCH_LOG_LEVEL:-warn}
REST_THREADS=${FGW_BENCH_REST_THREADS:-2}
CONCS=${FGW_BENCH_CONCURRENCY:-1 16 64}
SWEEP=${FGW_BENCH_SWEEP-128 256}
ROWS=${FGW_BENCH_ROWS:-direct hop gateway node-sdk node-grpc h2load}
H2LOAD_CONNS=${FGW_BENCH_H2LOAD_CONNS:-1}
OUT=${FGW_BENCH_OUT:-$HERE/results}
NGINX=${FGW_NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

log() { echo "[bench] $*" >&2; }
die() { log "error: $*"; exit 1; }
OPS=${FGW_BENCH_OPS:-account create page}
want() { [[ " $ROWS " == *" $1 "* ]]; }
want_op() { [[ " $OPS " == *" ${1%%[0-9]*} "* ]]; }

# ---- build ------------------------------------------------------------------------------------
if [[ -z "${FGW_BENCH_NO_BUILD:-}" ]]; then
  if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    log "configuring $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD.cmake.log" 2>&1 ||
      die "cmake configure failed (see $BUILD.cmake.log)"
  fi
  targets=(bench_rest bench_grpc)
  # grep reads it all (no -q): with pipefail, make's failed write to a closed pipe would fail the test.
  if cmake --build "$BUILD" --target help 2>/dev/null | grep 'formance-grpc-gateway' >/dev/null; then
    targets+=(formance-grpc-gateway)
  fi
  log "building ${targets[*]} in $BUILD"
  cmake --build "$BUILD" --target "${targets[@]}" -j2 >&2 || die "build failed"
fi
BENCH_REST=$BUILD/tests/bench/bench_rest
BENCH_GRPC=$BUILD/tests/bench/bench_grpc
if want direct || want hop; then [[ -x "$BENCH_REST" ]] || die "missing $BENCH_REST"; fi
HAVE_GATEWAY=1
if [[ ! -x "$GATEWAY" || ! -x "$BENCH_GRPC" ]]; then
  log "no gateway binary at $GATEWAY: gateway rows are skipped"
  HAVE_GATEWAY=0
fi

# ---- fixtures, ports, nginx ---------------------------------------------------------------------
TMP=$(mktemp -d /tmp/fgw-bench.XXXXXX)
NGINX_PID=""
GW_PID=""
H2_HOP_PID=""
cleanup() {
  [[ -n "$GW_PID" ]] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
  if [[ -n "$NGINX_PID" ]]; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; fi
  if [[ -n "$H2_HOP_PID" ]]; then kill -QUIT "$H2_HOP_PID" 2>/dev/null || true; fi
  sleep 0.2
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

source "$HERE/bench_nginx.sh"
start_bench_nginx "$HERE" "$TMP" "$NGINX" || die "nginx did not start"
UPSTREAM="http://127.0.0.1:$PORT"
NGINX_WORKER=$(ps -o pid= --ppid "$NGINX_PID" | head -1 | tr -d ' ')
log "nginx on :$PORT (hop :$HOP_PORT), master $NGINX_PID, worker $NGINX_WORKER"
accepts() { curl -sf "$UPSTREAM/nginx_status" | awk 'NR==3 {print $1}'; }

# ---- gateway ------------------------------------------------------------------------------------
if [[ $HAVE_GATEWAY == 1 ]]; then
  cat >"$TMP/gateway.yaml" <<YAML
listen: 127.0.0.1:$GW_PORT
upstream:
  url: $UPSTREAM
  io_threads: $IO_THREADS
log:
  level: $LOG_LEVEL
YAML
  "$GATEWAY" --config "$TMP/gateway.yaml" --listen "127.0.0.1:$GW_PORT" --upstream "$UPSTREAM" \
    --log_level "$LOG_LEVEL" 2>"$TMP/gateway.log" &
  GW_PID=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT") 2>/dev/null && break
    kill -0 "$GW_PID" 2>/dev/null || die "gateway exited: $(tail -5 "$TMP/gateway.log")"
    sleep 0.1
  done
  log "gateway pid $GW_PID on :$GW_PORT (io_threads $IO_THREADS)"
  # Sanity: one call, the big numbers must come back digit for digit.
  "$BENCH_GRPC" --target "127.0.0.1:$GW_PORT" --dump_first --duration 0.2 --warmup 0 \
    >/dev/null 2>"$TMP/first.json" || die "first gateway call failed: $(cat "$TMP/first.json")"
  grep -q '340282366920938463463374607431768211457' "$TMP/first.json" ||
    die "GetAccount through the gateway lost digits: $(head -c 600 "$TMP/first.json")"
  log "sanity: GetAccount through the gateway keeps 2^128+1 exact"
fi

# ---- rows ---------------------------------------------------------------------------------------
RAW="$TMP/raw.tsv"
: >"$RAW"
mkdir -p "$OUT/curves"
rm -f "$OUT"/curves/*.dat
BIG=340282366920938463463374607431768211457
rest_path() {
  case $1 in
    account) echo "/api/ledger/v2/bench/accounts/users:001" ;;
    create) echo "/api/ledger/v2/bench/transactions" ;;
    page100) echo "/api/ledger/v2/bench/transactions?pageSize=100" ;;
    page1000) echo "/api/ledger/v2/bench/transactions?pageSize=1000" ;;
  esac
}
grpc_args() {
  case $1 in
    account) echo "/formance.ledger.v2.LedgerService/GetAccount"
             echo '{"ledger":"bench","address":"users:001"}' ;;
    create) echo "/formance.ledger.v2.LedgerService/CreateTransaction"
            echo '{"ledger":"bench","v2PostTransaction":{"postings":[{"source":"world","destination":"users:001","amount":"'$BIG'","asset":"USD/2"}],"metadata":{"order":"order-1"},"reference":"ref:bench"}}' ;;
    page100) echo "/formance.ledger.v2.LedgerService/ListTransactions"
             echo '{"ledger":"bench","pageSize":"100"}' ;;
    page1000) echo "/formance.ledger.v2.LedgerService/ListTransactions"
              echo '{"ledger":"bench","pageSize":"1000"}' ;;
  esac
}

# ---- h2load rows: the HTTP/2 nginx hop, and one checked call each way -------------------------
H2LOAD_BENCH=(python3 "$HERE/h2load_bench.py")
H2_GRPC_URL="http://127.0.0.1:$GW_PORT/formance.ledger.v2.LedgerService/GetAccount"
H2_GRPC_FIELDS="1:bench,2:users:001"  # GetAccountRequest{ledger = 1, address = 2} (service.proto)
H2_FAILED=0
HAVE_H2LOAD=0
if want h2load && want_op account; then
  if ! command -v h2load >/dev/null || ! command -v nghttp >/dev/null; then
    log "no h2load/nghttp (apt-get install nghttp2-client): h2load rows are skipped"
  elif [[ $HAVE_GATEWAY != 1 ]]; then
    log "no gateway: h2load rows are skipped"
  else
    start_h2hop_nginx "$HERE" "$TMP" "$NGINX" || die "the h2c nginx hop did not start"
    log "h2c nginx hop on :$H2_HOP_PORT, master $H2_HOP_PID, worker $H2_HOP_WORKER"
    # h2load counts HTTP 200 as success, and a gRPC error is HTTP 200 with grpc-status != 0 in the
    # trailers: one call with nghttp -v first, which must end with grpc-status 0 and carry 2^128+1.
    "${H2LOAD_BENCH[@]}" --check_only --url "$H2_GRPC_URL" --grpc_fields "$H2_GRPC_FIELDS" \
      --expect_substring "$BIG" >&2 || die "h2load row: GetAccount through the gateway is not a gRPC success"
    "${H2LOAD_BENCH[@]}" --check_only --url "http://127.0.0.1:$H2_HOP_PORT$(rest_path account)" \
      --expect_substring "$BIG" >&2 || die "h2load row: GetAccount through the h2c hop failed"
    HAVE_H2LOAD=1
  fi
fi

row() {  # row <kind> <op> <concurrency>
  local kind=$1 op=$2 c=$3
  want "${kind%-hop}" || return 0  # h2load-hop belongs to the h2load row
  want_op "$op" || return 0
  if [[ ($kind == gateway || $kind == node-grpc) && $HAVE_GATEWAY != 1 ]]; then return 0; fi
  if [[ $kind == h2load* && $HAVE_H2LOAD != 1 ]]; then return 0; fi
  local curve="curves/$kind-$op-$c.dat"
  local common=(--concurrency "$c" --duration "$DURATION"
    --warmup "$WARMUP" --label "$kind" --curve_out "$OUT/$curve" --upstream_pid "$NGINX_WORKER")
  # The box in the middle whose CPU is read from /proc: the gateway, or the h2c hop's nginx worker.
  if [[ $kind == h2load-hop ]]; then common+=(--watch_pid "$H2_HOP_WORKER")
  elif [[ -n "$GW_PID" ]]; then common+=(--watch_pid "$GW_PID"); fi
  local before after out method body
  before=$(accepts)
  case $kind in
    direct | hop)
      local url="$UPSTREAM"; [[ $kind == hop ]] && url="http://127.0.0.1:$HOP_PORT"
      local extra=()
      [[ $op == create ]] && extra=(--method POST --body_file "$HERE/fixtures/post_transaction.json")
      out=$("$BENCH_REST" --url "$url" --path "$(rest_path "$op")" --threads "$REST_THREADS" \
        "${extra[@]}" "${common[@]}" 2>>"$TMP/bench.stderr" | tail -1) || true ;;
    gateway)
      { read -r method; read -r body; } < <(grpc_args "$op")
      out=$("$BENCH_GRPC" --target "127.0.0.1:$GW_PORT" --method "$method" --request_json "$body" \
        "${common[@]}" 2>>"$TMP/bench.stderr" | tail -1) || true ;;
    node-sdk)
      out=$(node "$HERE/node_bench.mjs" --client sdk --url "$UPSTREAM" --op "$op" "${common[@]}" \
        2>>"$TMP/bench.stderr" | tail -1) || true ;;
    node-grpc)
      out=$(node "$HERE/node_bench.mjs" --client grpc --target "127.0.0.1:$GW_PORT" --op "$op" \
        "${common[@]}" 2>>"$TMP/bench.stderr" | tail -1) || true ;;
    h2load)  # POST of the gRPC frame, content-type application/grpc, te: trailers
      out=$("${H2LOAD_BENCH[@]}" --url "$H2_GRPC_URL" --grpc_fields "$H2_GRPC_FIELDS" \
        --conns "$H2LOAD_CONNS" "${common[@]}" 2>>"$TMP/bench.stderr" | tail -1) || true ;;
    h2load-hop)  # GET of the REST path through the h2c hop
      out=$("${H2LOAD_BENCH[@]}" --url "http://127.0.0.1:$H2_HOP_PORT$(rest_path "$op")" \
        --conns "$H2LOAD_CONNS" "${common[@]}" 2>>"$TMP/bench.stderr" | tail -1) || true ;;
  esac
  if [[ $kind == h2load* ]] && ! python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1]).get("errors") != 0)' "$out" 2>/dev/null; then
    log "error: $kind c=$c: failed calls: $out"
    H2_FAILED=1
  fi
  after=$(accepts)
  local opened=$((after - before - 1)) open_now=-1
  if [[ -n "$GW_PID" ]]; then
    open_now=$(ss -tnpH state established "( dport = :$PORT )" 2>/dev/null | grep -c "pid=$GW_PID," || true)
  fi
  [[ -n "$out" ]] || out='{"calls":0,"errors":-1,"first_error":"no output (see stderr)"}'
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$op" "$opened" "$open_now" "$curve" "$out" >>"$RAW"
  log "$(printf '%-9s %-8s c=%-3s %s' "$kind" "$op" "$c" \
    "$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("%8.0f calls/s  p50 %7.0f us  p99 %7.0f us  errors %s" % (r.get("throughput",0), r.get("p50_us",0), r.get("p99_us",0), r.get("errors")))' "$out" 2>/dev/null || echo "$out")")"
}

START=$(date +%s)
for c in $CONCS; do
  for kind in direct hop gateway node-sdk node-grpc h2load-hop h2load; do row "$kind" account "$c"; done
done
for c in $SWEEP; do
  for kind in direct hop gateway; do row "$kind" account "$c"; done
done
for c in 1 64; do
  for kind in direct hop gateway; do row "$kind" create "$c"; done
done
for kind in node-sdk node-grpc; do row "$kind" create 1; done
for c in 1 16; do
  for op in page100 page1000; do
    for kind in direct gateway; do row "$kind" "$op" "$c"; done
  done
done
for op in page100 page1000; do
  for kind in node-sdk node-grpc; do row "$kind" "$op" 1; done
done
log "rows done in $(( $(date +%s) - START )) s"

# ---- report -------------------------------------------------------------------------------------
python3 - "$OUT/latest.meta.json" <<PY
import json, os, subprocess, sys, time
model = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        model = line.split(":", 1)[1].strip()
        break
commit = subprocess.run(["git", "-C", "$ROOT", "rev-parse", "--short", "HEAD"], capture_output=True,
                        text=True).stdout.strip()
json.dump({"date": time.strftime("%Y-%m-%d %H:%M %Z"), "commit": commit, "cpus": os.cpu_count(),
           "cpu_model": model, "load": "$(cut -d' ' -f1-3 /proc/loadavg)", "duration": "$DURATION",
           "warmup": "$WARMUP", "io_threads": "$IO_THREADS", "log_level": "$LOG_LEVEL"}, open(sys.argv[1], "w"))
PY
cp "$RAW" "$OUT/latest.tsv"
# Re-render any time from the saved data: report.py results/latest.tsv results/latest.md ...
python3 "$HERE/report.py" "$OUT/latest.tsv" "$OUT/latest.md" "$OUT/latency.png" "$OUT/latest.meta.json"
if [[ -n "$GW_PID" ]] && grep -qi "error\|critical" "$TMP/gateway.log"; then
  log "gateway log (errors):"; grep -i "error\|critical" "$TMP/gateway.log" | sort | uniq -c | head -5 >&2
fi
log "wrote $OUT/latest.md and $OUT/latency.png"
if [[ $H2_FAILED == 1 ]]; then die "h2load rows had failed calls (see the errors column above)"; fi
