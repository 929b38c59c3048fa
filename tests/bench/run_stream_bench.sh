#!/usr/bin/env bash
# The stream row (tests/bench/README.md): 10,000 ledger v2 transactions read through the gateway
# as one StreamTransactions call against the same items read page by page with ListTransactions,
# pages of 100 and of 1,000, from nginx serving fixed cursor pages (127.0.0.1). Writes
# tests/bench/results/stream.md. About 30 s. FGW_BUILD_DIR=... to use another build dir.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="${FGW_BUILD_DIR:-$ROOT/build}"
RUNS="${FGW_STREAM_BENCH_RUNS:-5}"
cmake --build "$BUILD" -j2 --target formance-grpc-gateway bench_stream >/dev/null
TMP="$(mktemp -d /tmp/fgw-stream-bench.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
chmod 755 "$TMP"  # nginx's worker (nobody) reads the fixtures.

# Fixtures: /stream/<size>/p.json is the first page, p<k>.json the page cursor "<k>" names.
python3 - "$HERE" "$TMP/fixtures" <<'PY'
import json, os, sys
sys.path.insert(0, sys.argv[1])
from make_fixtures import transaction
total = 10000
for size in (100, 1000):
    d = os.path.join(sys.argv[2], "stream", str(size))
    os.makedirs(d)
    pages = total // size
    for k in range(pages):
        cursor = {"pageSize": size, "hasMore": k + 1 < pages,
                  "data": [transaction(k * size + i) for i in range(size)]}
        if k + 1 < pages:
            cursor["next"] = str(k + 1)
        with open(os.path.join(d, "p%s.json" % (k if k else "")), "w") as f:
            json.dump({"cursor": cursor}, f)
PY
read -r NGINX_PORT GW_PORT < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
mkdir -p "$TMP/logs"
cat >"$TMP/nginx.conf" <<NGINX
worker_processes 1;
error_log $TMP/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $TMP/fixtures;
    default_type application/json;
    location ~ ^/api/ledger/v2/bench([0-9]+)/transactions\$ {
      try_files /stream/\$1/p\$arg_cursor.json =404;
    }
  }
}
NGINX
nginx -p "$TMP" -c "$TMP/nginx.conf" -g "daemon off; pid $TMP/nginx.pid;" 2>"$TMP/nginx.stderr" &
PIDS+=($!)
cat >"$TMP/gateway.yaml" <<YAML
listen: 127.0.0.1:$GW_PORT
upstream:
  url: http://127.0.0.1:$NGINX_PORT
auth:
  mode: none
log:
  level: warn
YAML
"$BUILD/server/formance-grpc-gateway" --config "$TMP/gateway.yaml" >"$TMP/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=($GW_PID)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$NGINX_PORT/api/ledger/v2/bench100/transactions" >/dev/null 2>&1 &&
    python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$GW_PORT)))" && break
  sleep 0.1
done

out="$HERE/results/stream.md"
{
  echo "# Stream row: 10,000 items, one Stream call vs ListTransactions page by page"
  echo
  echo "\`bash tests/bench/run_stream_bench.sh\` ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg));"
  echo "nginx serves fixed ledger v2 pages (make_fixtures.py transactions), the gateway logs at warn,"
  echo "concurrency 1, $RUNS measured runs of 10,000 items after one warm-up run; gateway CPU = its"
  echo "utime+stime over the measured runs / items."
  echo
  echo "| page size | rpc | items/s | gateway CPU per item |"
  echo "|---|---|---|---|"
} >"$out"
for size in 100 1000; do
  for mode in stream pages; do
    line=$("$BUILD/tests/bench/bench_stream" --target "127.0.0.1:$GW_PORT" --mode "$mode" \
      --ledger "bench$size" --page_size "$size" --runs "$RUNS" --gateway_pid "$GW_PID")
    echo "$line"
    python3 - "$line" "$mode" "$size" >>"$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
rpc = "StreamTransactions (one call)" if sys.argv[2] == "stream" else "ListTransactions, page by page"
print("| %s | %s | %s | %.2f µs |" % (sys.argv[3], rpc, format(int(r["items_per_s"]), ","), r["gateway_cpu_us_per_item"]))
PY
  done
done
cat "$out"
