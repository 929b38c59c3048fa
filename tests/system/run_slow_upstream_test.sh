#!/usr/bin/env bash
# System test: 1,000 calls in flight against an upstream that answers after 1 s complete in about
# 1 s, without a thread per call. See slow_upstream_test.py. Everything binds 127.0.0.1; every
# process started is killed on exit.
#
# Environment:
#   FGW_BIN          gateway binary (default: /work/build-main/server/formance-grpc-gateway, else
#                    <repo>/build/server/formance-grpc-gateway)
#   SLOW_CALLS       calls per burst (default 1000)
#   SLOW_ROUNDS      bursts against the same gateway (default 1)
#   FGW_KEEP_TMP     1: keep the temp dir (gateway log) for inspection
# Exit: 0 passed, 1 failed, 77 skipped (no gateway binary).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$HERE/lib.sh"

# 1,000 client streams, 1,000+ upstream sockets: raise the soft fd limit for every child.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP="$(mktemp -d /tmp/fgw-slow-upstream.XXXXXX)"
sys_setup_trap "$TMP"
make_descriptor_set "$TMP/ledger.pb"

timeout 180 "$PY" "$HERE/slow_upstream_test.py" --binary "$FGW_BIN" --descriptor-set "$TMP/ledger.pb" \
  --tmp "$TMP" --calls "${SLOW_CALLS:-1000}" --rounds "${SLOW_ROUNDS:-1}" &
track_pid $!
rc=0
wait $! || rc=$?
[[ $rc -eq 124 ]] && echo "FAIL: timed out" >&2
[[ $rc -eq 0 ]] || exit 1
