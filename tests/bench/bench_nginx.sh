# Sourced by run_bench.sh and profile_gateway.sh: the benchmark's nginx upstream.
#   start_bench_nginx HERE TMP NGINX_BINARY
# Writes the fixtures, picks three free ports on 127.0.0.1 (PORT: nginx with the fixed Formance
# replies, HOP_PORT: the reverse-proxy hop, GW_PORT: left for the gateway), renders
# nginx.conf.template into TMP, starts nginx in the background (NGINX_PID) and waits until it
# answers. Returns 1, with nginx's stderr on ours, if it does not within 5 s.
start_bench_nginx() {
  local here=$1 tmp=$2 nginx=$3
  python3 "$here/make_fixtures.py" "$here/fixtures"
  read -r PORT HOP_PORT GW_PORT < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
)
  python3 - "$here/nginx.conf.template" "$tmp/nginx.conf" <<PY
import sys
text = open(sys.argv[1]).read()
for key, value in {"@PREFIX@": "$tmp", "@PORT@": "$PORT", "@HOP_PORT@": "$HOP_PORT",
                   "@FIXTURES@": "$here/fixtures",
                   "@CREATE_TX_JSON@": open("$here/fixtures/create_transaction.json").read()}.items():
    text = text.replace(key, value)
open(sys.argv[2], "w").write(text)
PY
  "$nginx" -p "$tmp" -c "$tmp/nginx.conf" -g "daemon off; pid $tmp/nginx.pid;" 2>"$tmp/nginx.stderr" &
  NGINX_PID=$!
  local _
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$PORT/nginx_status" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$tmp/nginx.stderr" >&2
  return 1
}

# The h2load rows' HTTP/2 (h2c) reverse-proxy hop, in its own nginx process (nginx_h2hop.conf.template)
# in front of the nginx started above.
#   start_h2hop_nginx HERE TMP NGINX_BINARY      (after start_bench_nginx: needs PORT)
# Sets H2_HOP_PORT, H2_HOP_PID (master) and H2_HOP_WORKER (its one worker). Returns 1 if it does not
# answer over h2c within 5 s.
start_h2hop_nginx() {
  local here=$1 tmp=$2/h2hop nginx=$3
  mkdir -p "$tmp"
  H2_HOP_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  sed -e "s|@PREFIX@|$tmp|g" -e "s|@PORT@|$PORT|g" -e "s|@H2_HOP_PORT@|$H2_HOP_PORT|g" \
    "$here/nginx_h2hop.conf.template" >"$tmp/nginx.conf"
  "$nginx" -p "$tmp" -c "$tmp/nginx.conf" -g "daemon off; pid $tmp/nginx.pid;" 2>"$tmp/nginx.stderr" &
  H2_HOP_PID=$!
  local _
  for _ in $(seq 50); do
    if curl -sf --http2-prior-knowledge "http://127.0.0.1:$H2_HOP_PORT/nginx_status" >/dev/null 2>&1; then
      H2_HOP_WORKER=$(ps -o pid= --ppid "$H2_HOP_PID" | head -1 | tr -d ' ')
      return 0
    fi
    sleep 0.1
  done
  cat "$tmp/nginx.stderr" >&2
  return 1
}
