#!/usr/bin/env bash
# Builds the libFuzzer targets (server/*/<file>_fuzzer.cc) with clang-14, ASan and UBSan, and
# runs each for a bounded time on a temporary copy of its committed seed corpus
# (server/<folder>/fuzz_corpus/<target>/): the repository is never written to. Fails when a
# target does not build, or crashes, leaks, times out or runs out of memory on any input.
#
#   FGW_FUZZ_BUILD_DIR  build directory (default build-fuzz)
#   FGW_FUZZ_SECONDS    seconds per target (default 30)
#   FGW_FUZZ_TARGETS    space-separated subset of the targets below (default: all)
#   FGW_JOBS            build parallelism (default 2)
#
# A crash leaves its input (crash-<sha1>) in the printed directory; tests/fuzz/README.md says
# how to reproduce it. Warnings are not errors here (FGW_WERROR=OFF: the clang-14 build of
# tests/static/run_thread_safety.sh checks them).
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${FGW_FUZZ_BUILD_DIR:-build-fuzz}"
FUZZ_SECONDS="${FGW_FUZZ_SECONDS:-30}"

# name  folder  -max_len (bytes: above the largest meaningful input, small enough to stay fast)
TARGETS=(
  "request_encoder_fuzzer   server/transcoding 4096"
  "response_decoder_fuzzer  server/transcoding 8192"
  "error_mapper_fuzzer      server/transcoding 8192"
  "path_template_fuzzer     server/routing     1024"
  "config_loader_fuzzer     server/config      2048"
)

if ! command -v clang++-14 >/dev/null; then
  echo "run_fuzzers: clang++-14 not found (apt-get install clang-14 libfuzzer-14-dev libclang-rt-14-dev)"
  exit 1
fi
# FGW_BUILD_TESTS stays ON although only the fuzzers are built (they need no GoogleTest):
# cmake/FgwWarnings.cmake walks tests/ whenever tests/CMakeLists.txt exists, and configuring
# fails when that directory was not added.
mkdir -p "$BUILD_DIR"
cmake -S . -B "$BUILD_DIR" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFGW_BUILD_FUZZERS=ON -DFGW_BUILD_TESTS=ON \
  -DFGW_BUILD_BENCH=OFF -DFGW_WERROR=OFF >"$BUILD_DIR/configure.log" 2>&1 \
  || { cat "$BUILD_DIR/configure.log"; exit 1; }
build_start=$SECONDS
cmake --build "$BUILD_DIR" -j"${FGW_JOBS:-2}" --target fgw_fuzzers || exit 1
echo "run_fuzzers: built in $((SECONDS - build_start)) s"

bin_dir="$(cd "$BUILD_DIR" && pwd)"
work="$(mktemp -d /tmp/fgw-fuzz.XXXXXX)"
failed=()
for line in "${TARGETS[@]}"; do
  read -r name folder max_len <<<"$line"
  if [[ -n "${FGW_FUZZ_TARGETS:-}" && " $FGW_FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
  dir="$work/$name"
  mkdir -p "$dir/corpus"
  cp "$folder/fuzz_corpus/$name/"* "$dir/corpus/"
  start=$SECONDS
  (cd "$dir" && "$bin_dir/$folder/$name" -max_total_time="$FUZZ_SECONDS" \
     -rss_limit_mb=2048 -max_len="$max_len" -timeout=25 -print_final_stats=1 \
     -artifact_prefix="$dir/" corpus) >"$dir/log" 2>&1
  rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")"
  if ((rc == 0)); then
    echo "fuzz $name: ${runs:-?} inputs in $((SECONDS - start)) s (${rate:-?}/s), no crash"
  else
    failed+=("$name")
    echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} inputs; log and input in $dir"
    grep -E "INVARIANT|ERROR|SUMMARY|runtime error|Test unit written" "$dir/log" | head -20
  fi
done
if ((${#failed[@]})); then
  echo "run_fuzzers: crashes in ${failed[*]} (kept: $work)"
  exit 1
fi
rm -rf "$work"
echo "run_fuzzers: ok"
