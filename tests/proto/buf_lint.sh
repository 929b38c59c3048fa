#!/usr/bin/env bash
# buf lint from the repository root (rules and modules from buf.yaml).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/buf_env.sh"
cd "$REPO_ROOT"
"$BUF" lint
echo "buf lint: OK"
