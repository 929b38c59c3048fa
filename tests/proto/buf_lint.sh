#!/usr/bin/env bash
# buf lint of proto/ (rules from buf.yaml).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/buf_env.sh"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
make_buf_workspace "$REPO_ROOT/proto" "$tmp/ws"
cd "$tmp/ws"
"$BUF" lint proto
echo "buf lint: OK"
