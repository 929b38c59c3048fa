#!/usr/bin/env bash
# Proto checks: python unit/coverage tests (incl. generate_protos.py --check), protoc compile,
# buf lint, buf breaking against HEAD~1 (or $1). Exits non-zero on the first failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/buf_env.sh"
cd "$REPO_ROOT"
echo "== python tests"
/usr/bin/python3 -m unittest discover -s tests/proto -p 'test_*.py'
echo "== protoc compile"
(cd proto && protoc -I . -I "$GOOGLEAPIS_DIR" -I /usr/include --descriptor_set_out=/dev/null \
   $(find formance -name '*.proto' | sort))
echo "protoc: OK"
echo "== buf lint"
bash "$here/buf_lint.sh"
echo "== buf breaking"
bash "$here/buf_breaking.sh" "${1:-HEAD~1}"
echo "ALL PROTO TESTS PASSED"
