#!/usr/bin/env bash
# Installs, builds and runs every test of formance-grpc-gateway on Debian 12 (as root):
#   unit + integration (ctest), proto (generator, coverage, protoc, buf lint/breaking),
#   contract (all 276 rpcs through the gateway against Prism validating the official spec),
#   Node @grpc/grpc-js client, fakes (the fake ledger's self-test), clients (Go, Python, Node and
#   Java programs with generated stubs, formance-grpc-cli, deploy/quickstart.sh, against the
#   gateway and the stateful fake ledger), fault injection (exactly-once writes), the Stream rpcs
#   against a paging fake (order, resume, pit, flow control, cancel, exports), system (no secret in any
#   output at trace level; 1,000 calls in flight against a 1 s upstream), hostile input, callers
#   (TLS, mTLS, API keys, the caller policy: tests/callers), operations (admin probes, /metrics,
#   trace context, JSON logs, drain, reload), the deploy files (manifests validated offline, the
#   gateway run with each file's args and probed), and the
#   clang-14 build with -Wthread-safety -Werror (tests/static/run_thread_safety.sh, build-clang),
#   the libFuzzer targets for 30 s each (tests/fuzz/run_fuzzers.sh, build-fuzz) and the unit and
#   integration tests under ASan and UBSan (tests/sanitize/run_sanitizers.sh, build-asan).
# Servers bind 127.0.0.1 only; every suite is bounded in time. The spec comes from
# $FORMANCE_SPEC (default ../shared/formance/stack.openapi.yaml); suites that need it say
# SKIP when it is absent. Exit status is non-zero when any suite fails.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export FORMANCE_SPEC="${FORMANCE_SPEC:-$ROOT/../shared/formance/stack.openapi.yaml}"
export FGW_BUILD_DIR="${FGW_BUILD_DIR:-build}"
export FGW_BIN="$ROOT/$FGW_BUILD_DIR/server/formance-grpc-gateway"
export PATH="$ROOT/tests/node_modules/.bin:$PATH"

bash deploy/install_deps.sh --npm --clients || exit 1
bash deploy/build.sh || exit 1

passed=0; failed=0; failures=()
suite() {
  local name="$1"; shift
  echo; echo "=== suite $name: $*"
  local start=$SECONDS
  if timeout --kill-after=10 "${SUITE_TIMEOUT:-900}" "$@"; then
    passed=$((passed + 1)); echo "=== suite $name: PASS ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "=== suite $name: FAIL ($((SECONDS - start)) s)"
  fi
}

suite unit+integration ctest --test-dir "$FGW_BUILD_DIR" --output-on-failure -j2 --timeout 300
suite proto bash tests/proto/run_proto_tests.sh
[[ -f tests/contract/run_contract.sh ]] && suite contract bash tests/contract/run_contract.sh
[[ -d tests/node ]] && suite node-grpc-js node --test tests/node/
suite fakes /usr/bin/python3 -m unittest discover -s tests/fakes -p 'test_*.py'
suite clients /usr/bin/python3 -m unittest discover -s tests/clients -p '*_test.py' -v
[[ -f tests/fault/run_fault_test.sh ]] && suite fault bash tests/fault/run_fault_test.sh
suite stream bash tests/stream/run_stream_test.sh
[[ -f tests/system/run_system_tests.sh ]] && suite system bash tests/system/run_system_tests.sh
suite hostile bash tests/hostile/run_hostile_test.sh
suite callers bash tests/callers/run_callers_test.sh
suite ops bash tests/ops/run_ops_test.sh
suite deploy bash tests/deploy/run_deploy_test.sh
suite thread-safety bash tests/static/run_thread_safety.sh
suite fuzz bash tests/fuzz/run_fuzzers.sh
SUITE_TIMEOUT="${SAN_SUITE_TIMEOUT:-1500}" suite sanitizers bash tests/sanitize/run_sanitizers.sh

echo
((failed)) && echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
((failed == 0))
