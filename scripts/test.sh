#!/usr/bin/env bash
# Sets everything up and runs every test: dependencies, a warnings-as-errors build, then CTest.
#   scripts/test.sh              the normal suite
#   SANITIZE=1 scripts/test.sh   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   VALGRIND=1 scripts/test.sh   the C suites under valgrind memcheck
#   TSAN=1 scripts/test.sh       the thread tests under ThreadSanitizer (build-tsan/; only what they need)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ "${TSAN:-0}" = 1 ]; then
  # ThreadSanitizer slows everything down ~10x and knows nothing of OpenBLAS's or OpenMP's own threads,
  # so only the tests written for it run: two library jobs in two threads of one program.
  export BUILD_DIR=build-tsan
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMM_WERROR=ON -DMM_TSAN=ON -DMM_SANITIZE=OFF \
    -DMM_BUILD_BENCH=OFF >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target test_embed_threads
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
  # without address-space randomisation: on kernels with more random mmap bits than this TSan expects
  # its shadow memory can't be placed
  norandom=()
  if command -v setarch >/dev/null && setarch "$(uname -m)" -R true 2>/dev/null; then
    norandom=(setarch "$(uname -m)" -R)
  fi
  "${norandom[@]}" ctest --test-dir "$BUILD_DIR" --output-on-failure -R '^test_embed_threads$'
  exit
elif [ "${SANITIZE:-0}" = 1 ]; then
  export BUILD_DIR=build-asan
  scripts/build.sh -DMM_WERROR=ON -DMM_SANITIZE=ON
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
else
  export BUILD_DIR=build
  scripts/build.sh -DMM_WERROR=ON -DMM_SANITIZE=OFF
fi
if [ "${VALGRIND:-0}" = 1 ]; then
  # Every C suite under memcheck; leaks inside FFmpeg/FluidSynth's one-time initialisation are not ours.
  status=0
  for t in "$BUILD_DIR"/tests/test_*; do
    [ -x "$t" ] || continue
    echo "== valgrind $t"
    valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
      --suppressions=tests/valgrind.supp "$t" >/dev/null || status=1
  done
  exit $status
else
  status=0
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" || status=$?
  # ctest shows no output for skipped tests: print each one's one-line reason
  grep -h '^SKIP: ' "$BUILD_DIR/Testing/Temporary/LastTest.log" 2>/dev/null | sort -u || true
  exit $status
fi
