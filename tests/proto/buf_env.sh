#!/usr/bin/env bash
# Shared helpers for the buf scripts (source it). buf has no network here and googleapis is not
# vendored, so each buf run uses a throwaway workspace: <proto tree> + the system's
# google/api/{annotations,http}.proto as a second module.
GOOGLEAPIS_DIR="${GOOGLEAPIS_DIR:-/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis}"
BUF="${BUF:-$(command -v buf || echo /tmp/npmtools/node_modules/.bin/buf)}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# make_buf_workspace <proto dir> <dest dir>: copies the proto tree and googleapis into dest and
# writes dest/buf.yaml = the repo's buf.yaml plus a `googleapis` module.
make_buf_workspace() {
  local src="$1" dest="$2"
  mkdir -p "$dest/googleapis/google/api"
  cp -r "$src" "$dest/proto"
  cp "$GOOGLEAPIS_DIR/google/api/annotations.proto" "$GOOGLEAPIS_DIR/google/api/http.proto" \
     "$dest/googleapis/google/api/"
  /usr/bin/python3 - "$REPO_ROOT/buf.yaml" "$dest/buf.yaml" <<'PY'
import os, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
c["modules"].append({"path": "googleapis"})
# BUF_EXCEPT_EXTRA: breaking rules to skip for this one comparison (buf_breaking.sh).
extra = [r for r in os.environ.get("BUF_EXCEPT_EXTRA", "").split() if r]
if extra:
    c["breaking"]["except"] = c["breaking"].get("except", []) + extra
yaml.safe_dump(c, open(sys.argv[2], "w"), sort_keys=False)
PY
}
