# Sourced by the run_*.sh wrappers of tests/system/. Expects HERE and ROOT.
# Provides: PY, FGW_BIN, GOOGLEAPIS, sys_setup_trap TMP, track_pid PID, make_descriptor_set OUT.
# Every pid written to $FGW_SYS_PIDFILE (by track_pid or by sysutil.py) is killed on exit,
# by its id, then the temp dir is removed (kept when FGW_KEEP_TMP=1 or the test failed).

PY=/usr/bin/python3
GOOGLEAPIS=/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis
if [[ -z "${FGW_BIN:-}" ]]; then
  if [[ -x /work/build-main/server/formance-grpc-gateway ]]; then
    FGW_BIN=/work/build-main/server/formance-grpc-gateway
  else
    FGW_BIN="$ROOT/build/server/formance-grpc-gateway"
  fi
fi
if [[ ! -x "$FGW_BIN" ]]; then
  echo "SKIP: gateway binary not found at $FGW_BIN (set FGW_BIN)" >&2
  exit 77
fi

track_pid() { echo "$1" >>"$FGW_SYS_PIDFILE"; }

_sys_cleanup() {
  local rc=$?
  if [[ -f "$FGW_SYS_PIDFILE" ]]; then
    # Children first (listed after their parent), then the rest.
    tac "$FGW_SYS_PIDFILE" | while read -r pid; do kill "$pid" 2>/dev/null || true; done
    local pid
    for _ in $(seq 1 20); do
      local alive=0
      while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$FGW_SYS_PIDFILE"
      [[ $alive -eq 0 ]] && break
      sleep 0.1
    done
    tac "$FGW_SYS_PIDFILE" | while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done
  fi
  if [[ "${FGW_KEEP_TMP:-0}" == 1 || $rc -ne 0 ]]; then
    echo "temp dir kept: $_SYS_TMP" >&2
  else
    rm -rf "$_SYS_TMP"
  fi
  exit $rc
}

sys_setup_trap() {
  _SYS_TMP=$1
  export FGW_SYS_PIDFILE="$1/pids"
  : >"$FGW_SYS_PIDFILE"
  trap _sys_cleanup EXIT
  trap 'exit 130' INT TERM
}

make_descriptor_set() {
  protoc -I "$ROOT/proto" -I "$GOOGLEAPIS" -I /usr/include --include_imports \
    --descriptor_set_out="$1" formance/ledger/v2/service.proto
}
