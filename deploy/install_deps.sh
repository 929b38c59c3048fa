#!/usr/bin/env bash
# Installs what building, running and testing formance-grpc-gateway needs on Debian 12:
# Debian packages (compiler, gRPC, protobuf, cpprestsdk, Abseil, RapidJSON, yaml-cpp, spdlog,
# GoogleTest, nginx, Python grpcio) and, with --npm, the Node tooling of tests/package.json
# (Prism, buf, @grpc/grpc-js, the Formance SDK for benchmarks). Idempotent; run as root.
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
  systemd python3-seccomp  # tests/deploy: systemd-analyze, systemd-sysusers --root; the unit's seccomp filter
)

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

if [[ "${1:-}" == "--npm" && -f tests/package.json ]]; then
  if [[ ! -d tests/node_modules || tests/package-lock.json -nt tests/node_modules ]]; then
    echo "install_deps: npm ci in tests/"
    (cd tests && npm ci --no-audit --no-fund --loglevel=error)
    touch tests/node_modules
  fi
fi
echo "install_deps: ok"
