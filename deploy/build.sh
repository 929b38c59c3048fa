#!/usr/bin/env bash
# Configures and builds the gateway (and its tests unless FGW_BUILD_TESTS=OFF) into
# ${FGW_BUILD_DIR:-build}, with -j2 (the 2-core machines this project targets).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FGW_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${FGW_BUILD_TYPE:-RelWithDebInfo}" \
  -DFGW_BUILD_TESTS="${FGW_BUILD_TESTS:-ON}" >/dev/null
cmake --build "$BUILD_DIR" -j"${FGW_JOBS:-2}" ${FGW_TARGETS:+--target $FGW_TARGETS}
