#!/usr/bin/env bash
# Installs what building, running and testing formance-grpc-gateway needs on Debian 12:
# Debian packages (compiler, gRPC, protobuf, cpprestsdk, Abseil, RapidJSON, yaml-cpp, spdlog,
# GoogleTest, nginx, Python grpcio), third_party/ (googleapis protos, third_party/install.sh)
# when present, with --npm the Node tooling of tests/package.json (Prism, buf, @grpc/grpc-js, the
# Formance SDK for benchmarks), and with --clients the Go and Java tool chains for client stubs
# (client/stubs/generate.sh, tests/clients). Idempotent; run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates curl openssl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libcpprest-dev libabsl-dev rapidjson-dev libyaml-cpp-dev libspdlog-dev libssl-dev
  libgtest-dev libgmock-dev
  prometheus-cpp-dev  # server/metrics (prometheus-cpp core) and server/admin (its civetweb)
  clang-14  # tests/static/run_thread_safety.sh: the -Wthread-safety build
  libfuzzer-14-dev libclang-rt-14-dev  # tests/fuzz/run_fuzzers.sh (with clang-14): libFuzzer, ASan/UBSan
  golang-github-grpc-ecosystem-grpc-gateway-dev
  python3 python3-yaml python3-grpcio python3-protobuf python3-h2
  nodejs npm nginx-light gnuplot-nox iproute2 procps
  nghttp2-client  # tests/bench h2load rows: h2load, nghttp
  libgoogle-common-protos-java  # third_party/install.sh: google/api/*.proto (in its jar)
  systemd python3-seccomp  # tests/deploy: systemd-analyze, systemd-sysusers --root; the unit's seccomp filter
)
for arg in "$@"; do
  case "$arg" in
    --npm) npm=1 ;;
    --clients) clients=1; PACKAGES+=(  # Go and Java client stubs, compiled and run by tests/clients
        golang-go golang-google-protobuf-dev protoc-gen-go-grpc golang-google-grpc-dev
        golang-google-genproto-dev openjdk-17-jdk-headless libprotobuf-java libgrpc-java
        protobuf-compiler-grpc-java-plugin libnetty-java libgoogle-gson-java libperfmark-java
        libguava-java libgeronimo-annotation-1.3-spec-java) ;;
    *) echo "install_deps: unknown argument $arg (--npm, --clients)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from elsewhere (a newer Node): do not fight an existing install.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if ((${#missing[@]})); then
  echo "install_deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Dockerfile copies this script alone: third_party/ is then absent (and not needed).
if [[ -f third_party/install.sh ]]; then bash third_party/install.sh ${clients:+--go}; fi

if [[ -n "${npm:-}" && -f tests/package.json ]]; then
  if [[ -L tests/node_modules ]]; then
    # A link to another checkout's modules (a git worktree): npm ci would empty the target,
    # under every checkout that shares it. Leave it to its owner.
    echo "install_deps: tests/node_modules is a link ($(readlink tests/node_modules)): npm ci skipped"
  elif [[ ! -d tests/node_modules || tests/package-lock.json -nt tests/node_modules ]]; then
    echo "install_deps: npm ci in tests/"
    (cd tests && npm ci --no-audit --no-fund --loglevel=error)
    touch tests/node_modules
  fi
fi
echo "install_deps: ok"
