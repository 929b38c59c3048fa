#!/usr/bin/env bash
# Operations suite (issue 12): the real gateway with its admin listeners on 127.0.0.2 while the
# API listens on 127.0.0.1, against the recording upstream (tests/hostile/recording_upstream.py):
# /metrics scraped after known calls and parsed as a Prometheus scraper reads the text format
# (counter values, label sets); probes (/healthz, /readyz, grpc.health.v1 "" and "readiness");
# W3C traceparent reaching the upstream with the caller's trace id and a new span id per
# attempt; JSON log lines; drain on SIGTERM with 200 calls in flight against a slow upstream;
# reload on SIGHUP and on a config file change, an invalid file kept out. See ops_test.py.
# Everything binds 127.0.0.x; every process started is killed on exit (tests/system/lib.sh).
#
# Environment: FGW_BIN (as in tests/system/lib.sh), FGW_KEEP_TMP=1 keeps the temp dir,
# OPS_ONLY=metrics,trace,logs,drain,reload runs some sections.
# Exit: 0 passed, 1 failed, 77 skipped (no gateway binary).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
source "$ROOT/tests/system/lib.sh"

TMP="$(mktemp -d /tmp/fgw-ops.XXXXXX)"
sys_setup_trap "$TMP"
make_descriptor_set "$TMP/api.pb"

start=$SECONDS
timeout --kill-after=10 240 "$PY" "$HERE/ops_test.py" --binary "$FGW_BIN" --descriptor-set "$TMP/api.pb" \
  --tmp "$TMP" --only "${OPS_ONLY:-}" &
track_pid $!
rc=0
wait $! || rc=$?
echo "ops suite: $((SECONDS - start)) s"
[[ $rc -eq 124 ]] && echo "FAIL: timed out" >&2
[[ $rc -eq 0 ]] || exit 1
