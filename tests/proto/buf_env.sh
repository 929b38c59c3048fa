# Shared helpers for the buf scripts (source it). buf has no network here: the googleapis protos
# the API imports are the third_party/googleapis module buf.yaml declares, installed by
# third_party/install.sh (deploy/install_deps.sh runs it).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GOOGLEAPIS_DIR="${GOOGLEAPIS_DIR:-$REPO_ROOT/third_party/googleapis}"
BUF="${BUF:-$(command -v buf || echo "$REPO_ROOT/tests/node_modules/.bin/buf")}"
if [[ ! -f "$GOOGLEAPIS_DIR/google/api/annotations.proto" ]]; then
  bash "$REPO_ROOT/third_party/install.sh" >/dev/null
fi

# make_buf_workspace <proto dir> <dest dir>: a copy of the repository's buf workspace (buf.yaml,
# the given proto tree, third_party/googleapis) in dest. BUF_EXCEPT_EXTRA: breaking rules to
# skip in this copy (buf_breaking.sh).
make_buf_workspace() {
  local src="$1" dest="$2"
  mkdir -p "$dest/third_party"
  cp -r "$src" "$dest/proto"
  cp -r "$GOOGLEAPIS_DIR" "$dest/third_party/googleapis"
  /usr/bin/python3 - "$REPO_ROOT/buf.yaml" "$dest/buf.yaml" <<'PY'
import os, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
extra = [r for r in os.environ.get("BUF_EXCEPT_EXTRA", "").split() if r]
if extra:
    c["breaking"]["except"] = c["breaking"].get("except", []) + extra
yaml.safe_dump(c, open(sys.argv[2], "w"), sort_keys=False)
PY
}
