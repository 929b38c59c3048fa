#!/usr/bin/env bash
# Profiles the gateway on the call path (tests/bench/PROFILE.md): starts nginx + the gateway like
# run_bench.sh, then for each concurrency runs bench_grpc GetAccount (or $FGW_PROFILE_METHOD) and
#   - perf stat (software events: task-clock, context switches, migrations) of the gateway,
#   - perf record -g (cpu-clock, dwarf call graphs) of the gateway, reported by symbol and by DSO,
#   - the gateway's threads (count, CPU time per thread name).
# Output in $FGW_PROFILE_OUT (default /tmp/fgw-profile). Needs linux-perf.
#   tests/bench/profile_gateway.sh            # c=1 and c=64, 4 s each
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${FGW_BUILD_DIR:-build}
[[ "$BUILD" = /* ]] || BUILD="$ROOT/$BUILD"
GATEWAY=${FGW_GATEWAY_BIN:-$BUILD/server/formance-grpc-gateway}
BENCH_GRPC=$BUILD/tests/bench/bench_grpc
OUTDIR=${FGW_PROFILE_OUT:-/tmp/fgw-profile}
CONCS=${FGW_PROFILE_CONCURRENCY:-1 64}
SECS=${FGW_PROFILE_SECONDS:-4}
IO_THREADS=${FGW_BENCH_IO_THREADS:-1}
METHOD=${FGW_PROFILE_METHOD:-/formance.ledger.v2.LedgerService/GetAccount}
REQUEST=${FGW_PROFILE_REQUEST:-'{"ledger":"bench","address":"users:001"}'}
TAG=${FGW_PROFILE_TAG:-account}
mkdir -p "$OUTDIR"
TMP=$(mktemp -d /tmp/fgw-prof.XXXXXX)
NGINX_PID="" GW_PID=""
cleanup() {
  [[ -n "$GW_PID" ]] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
  [[ -n "$NGINX_PID" ]] && kill -QUIT "$NGINX_PID" 2>/dev/null || true
  sleep 0.2; rm -rf "$TMP"
}
trap cleanup EXIT
source "$HERE/bench_nginx.sh"
start_bench_nginx "$HERE" "$TMP" nginx || { echo "nginx did not start" >&2; exit 1; }
printf 'listen: 127.0.0.1:%s\nupstream:\n  url: http://127.0.0.1:%s\n  io_threads: %s\nlog:\n  level: warn\n' \
  "$GW_PORT" "$PORT" "$IO_THREADS" >"$TMP/gw.yaml"
# Extra top-level YAML, e.g. a cache rule to profile the gateway without the upstream hop:
#   FGW_PROFILE_EXTRA_YAML=$'cache:\n  rules:\n    - method: formance.ledger.v2.LedgerService/GetAccount\n      ttl: 1h'
printf '%s\n' "${FGW_PROFILE_EXTRA_YAML:-}" >>"$TMP/gw.yaml"
"$GATEWAY" --config "$TMP/gw.yaml" 2>"$TMP/gateway.log" &
GW_PID=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT") 2>/dev/null && break; sleep 0.1; done
echo "gateway $GW_PID, threads: $(ls /proc/$GW_PID/task | wc -l)" | tee "$OUTDIR/threads-start.txt"

threads() {  # tid name cpu_ticks voluntary_switches involuntary_switches
  for t in /proc/$GW_PID/task/*; do
    printf '%s %s %s %s %s\n' "${t##*/}" "$(tr ' ' '_' <"$t/comm")" \
      "$(sed 's/^.*) //' "$t/stat" | awk '{print $12 + $13}')" \
      "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status")" \
      "$(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "$t/status")"
  done | sort
}
sysidle() { awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }

for c in $CONCS; do
  # Warm up, then measure with perf stat, then sample with perf record.
  "$BENCH_GRPC" --target "127.0.0.1:$GW_PORT" --method "$METHOD" --request_json "$REQUEST" \
    --concurrency "$c" --duration 1 --warmup 0 >/dev/null
  threads >"$TMP/threads-before"
  read -r idle0 total0 < <(sysidle)
  "$BENCH_GRPC" --target "127.0.0.1:$GW_PORT" --method "$METHOD" --request_json "$REQUEST" \
    --concurrency "$c" --duration "$SECS" --warmup 0.3 --watch_pid "$GW_PID" >"$OUTDIR/$TAG-c$c-bench.json" &
  BP=$!
  sleep 0.4
  perf stat -e task-clock,context-switches,cpu-migrations,page-faults -p "$GW_PID" \
    -o "$OUTDIR/$TAG-c$c-perfstat.txt" -- sleep "$((SECS - 1))"
  wait $BP
  threads >"$TMP/threads-after"
  read -r idle1 total1 < <(sysidle)
  calls=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["calls"])' "$OUTDIR/$TAG-c$c-bench.json")
  {
    echo "machine idle over the run: $(( 100 * (idle1 - idle0) / (total1 - total0) ))% (all cores)"
    echo "per thread over the run (calls in window: $calls): tid name cpu_ms vol_switches invol_switches"
    join "$TMP/threads-before" "$TMP/threads-after" |
      awk '{ printf "%s %-16s cpu_ms=%-6d vcs=%-8d ivcs=%d\n", $1, $2, ($7 - $3) * 10, $8 - $4, $9 - $5 }'
    join "$TMP/threads-before" "$TMP/threads-after" |
      awk -v n="$calls" '{ v += $8 - $4; i += $9 - $5 } END { printf "context switches per call (whole run incl. warm-up, approx): %.1f\n", (v + i) / (n > 0 ? n : 1) }'
  } >"$OUTDIR/$TAG-c$c-threads.txt"
  "$BENCH_GRPC" --target "127.0.0.1:$GW_PORT" --method "$METHOD" --request_json "$REQUEST" \
    --concurrency "$c" --duration "$SECS" --warmup 0.3 >/dev/null &
  BP=$!
  sleep 0.4
  perf record -e cpu-clock -F 1999 --call-graph dwarf,16384 -p "$GW_PID" \
    -o "$OUTDIR/$TAG-c$c.perf.data" -- sleep 2 2>/dev/null >/dev/null
  wait $BP
  perf report -i "$OUTDIR/$TAG-c$c.perf.data" --no-children --sort dso --stdio -g none 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | head -25 >"$OUTDIR/$TAG-c$c-dso.txt" || true
  perf report -i "$OUTDIR/$TAG-c$c.perf.data" --no-children --sort sym --stdio -g none 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | head -60 >"$OUTDIR/$TAG-c$c-sym.txt" || true
  perf report -i "$OUTDIR/$TAG-c$c.perf.data" --children --sort sym --stdio -g none 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | head -150 >"$OUTDIR/$TAG-c$c-children.txt" || true
  perf report -i "$OUTDIR/$TAG-c$c.perf.data" --no-children --sort comm --stdio -g none 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | head -20 >"$OUTDIR/$TAG-c$c-comm.txt" || true
  echo "c=$c: $(cat "$OUTDIR/$TAG-c$c-bench.json")"
done
echo "gateway threads at end: $(ls /proc/$GW_PID/task | wc -l)" | tee -a "$OUTDIR/threads-start.txt"
