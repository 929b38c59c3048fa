#!/usr/bin/env bash
# The clang build: configures and builds every target of the project (libraries, daemon, CLI,
# tests; not the benchmarks) with clang-14, which adds -Wthread-safety to the project's own
# -Wall -Wextra -Werror (cmake/FgwWarnings.cmake): every ABSL_GUARDED_BY field touched without
# its mutex held, and every *Locked helper called without it (ABSL_EXCLUSIVE_LOCKS_REQUIRED),
# fails the build. Third-party and generated code are exempt, as in the gcc build.
#
#   FGW_TSA_BUILD_DIR  build directory (default build-clang)
#   FGW_JOBS           build parallelism (default 2)
#
# Built without optimisation or debug information: the analysis needs neither, and the build is
# about twice as fast. Prints every failing file (the build keeps going), then the time taken.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${FGW_TSA_BUILD_DIR:-build-clang}"

if ! command -v clang++-14 >/dev/null; then
  echo "run_thread_safety: clang++-14 not found (apt-get install clang-14)"
  exit 1
fi
cmake -S . -B "$BUILD_DIR" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG=-O0 -DCMAKE_CXX_FLAGS_DEBUG=-O0 \
  -DFGW_WERROR=ON -DFGW_BUILD_TESTS=ON -DFGW_BUILD_BENCH=OFF -DFGW_BUILD_FUZZERS=OFF \
  >/dev/null || exit 1
keep_going=(-k)
[[ -f "$BUILD_DIR/build.ninja" ]] && keep_going=(-k 0)
start=$SECONDS
cmake --build "$BUILD_DIR" -j"${FGW_JOBS:-2}" -- "${keep_going[@]}"
rc=$?
echo "run_thread_safety: clang-14 -Wall -Wextra -Wthread-safety -Werror build in" \
  "$((SECONDS - start)) s (exit $rc)"
exit $rc
