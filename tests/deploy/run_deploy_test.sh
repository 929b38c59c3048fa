#!/usr/bin/env bash
# The deploy files, tested (about a minute): static checks of every file under deploy/, the
# Dockerfile and .dockerignore (deploy_static_test.py), then the gateway started exactly as each
# deploy file starts it and probed as its platform would (deploy_runtime_test.py), inside a network
# namespace of its own (unshare -n: only a loopback interface, so the files' own ports and 0.0.0.0
# binds stay on this machine and never collide with other tests). Needs root for unshare and
# setpriv (CI is root); FGW_BUILD_DIR / FGW_BIN as for the other suites.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export FGW_BUILD_DIR="${FGW_BUILD_DIR:-build}"
[[ "$FGW_BUILD_DIR" = /* ]] || FGW_BUILD_DIR="$ROOT/$FGW_BUILD_DIR"
PY=/usr/bin/python3
cd "$HERE"

rc=0
echo "--- static"
timeout --kill-after=10 180 "$PY" deploy_static_test.py || rc=1

echo "--- runtime (own network namespace)"
if [[ $(id -u) -ne 0 ]] || ! unshare -n true 2>/dev/null; then
  echo "FAIL: the runtime checks need root and unshare -n"
  exit 1
fi
timeout --kill-after=10 300 unshare -n -- bash -c \
  'ip link set lo up && exec "$0" deploy_runtime_test.py' "$PY" || rc=1
exit $rc
