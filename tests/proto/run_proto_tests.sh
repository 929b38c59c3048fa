#!/usr/bin/env bash
# Proto checks: python unit/coverage tests (incl. generate_protos.py --check), protoc compile,
# buf lint, buf breaking against HEAD~1 (or $1), buf generate (buf.gen.yaml: Go, Python, Java
# stubs, into a temporary directory). Exits non-zero on the first failure.
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
echo "== buf generate"
gen="$(mktemp -d)"; trap 'rm -rf "$gen"' EXIT
"$BUF" generate -o "$gen"
for f in go/github.com/formance-grpc-gateway/proto/formance/ledger/v2/service_grpc.pb.go \
         python/formance/ledger/v2/service_pb2_grpc.py python/google/api/annotations_pb2.py \
         java/com/formance/ledger/v2/LedgerServiceGrpc.java; do
  [[ -s "$gen/gen/$f" ]] || { echo "buf generate: gen/$f missing"; exit 1; }
done
echo "buf generate: OK ($(find "$gen" -type f | wc -l) files)"
echo "ALL PROTO TESTS PASSED"
