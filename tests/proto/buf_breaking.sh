#!/usr/bin/env bash
# buf breaking: the working tree's proto/ against proto/ at a git ref (default HEAD~1), both
# with the installed third_party/googleapis (a ref's git tree has none, so `buf breaking
# --against .git#ref=...` cannot build it). Skips (exit 0) when that ref has no generated protos.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/buf_env.sh"
ref="${1:-HEAD~1}"
cd "$REPO_ROOT"
if ! git rev-parse --verify --quiet "$ref^{commit}" >/dev/null; then
  echo "buf breaking: SKIP ($ref does not exist)"; exit 0
fi
if ! git ls-tree -r --name-only "$ref" -- proto/formance | grep -q '/service\.proto$'; then
  echo "buf breaking: SKIP ($ref has no generated protos under proto/)"; exit 0
fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/old"
git archive "$ref" proto | tar -x -C "$tmp/old"
# The language file options (go_package, java_package, ...) were added to every generated file
# at once (proto/generator/file_options.py); against a tree from before that, going from unset to
# set is the one expected change. Against any later tree, changing them is breaking.
if ! grep -q '^option go_package' "$tmp/old/proto/formance/ledger/v2/service.proto"; then
  echo "buf breaking: $ref predates the language file options: FILE_SAME_* language rules skipped"
  export BUF_EXCEPT_EXTRA="FILE_SAME_GO_PACKAGE FILE_SAME_JAVA_PACKAGE FILE_SAME_JAVA_MULTIPLE_FILES
    FILE_SAME_CSHARP_NAMESPACE FILE_SAME_PHP_NAMESPACE FILE_SAME_RUBY_PACKAGE"
fi
make_buf_workspace "$REPO_ROOT/proto" "$tmp/new_ws"
make_buf_workspace "$tmp/old/proto" "$tmp/old_ws"
cd "$tmp/new_ws"
"$BUF" breaking --against "$tmp/old_ws"
echo "buf breaking against $ref: OK"
