#!/usr/bin/env bash
# Runs one fuzz target under libFuzzer (clang, ASan + UBSan) for a while (docs/fuzzing.md).
#   scripts/fuzz.sh TARGET [SECONDS]     TARGET: npy model checkpoint keras labels http text audio
#   scripts/fuzz.sh --list
# The working corpus grows in build-fuzz/corpus/TARGET (seeded by the library's own valid files and
# tests/fuzz/corpus/TARGET); crashes land in build-fuzz/crashes/TARGET/ — copy each into
# tests/fuzz/corpus/TARGET/ once fixed, where every build's replay test keeps it fixed. The last lines
# (executions, coverage) go to build-fuzz/fuzz-TARGET.log. Env: FUZZ_JOBS (build jobs), FUZZ_NICE (19).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS="npy model checkpoint keras labels http text audio"
args_extra=()
if [ "${1:-}" = --list ] || [ $# -lt 1 ]; then echo "$TARGETS"; [ $# -ge 1 ]; exit; fi
T=$1
SECONDS_TO_RUN=${2:-600}
case " $TARGETS " in *" $T "*) ;; *) echo "fuzz: unknown target '$T' ($TARGETS)" >&2; exit 2;; esac
command -v clang >/dev/null || { echo "fuzz: needs clang (apt-get install clang)" >&2; exit 2; }
B=build-fuzz
if [ ! -f "$B/CMakeCache.txt" ]; then
  CC=clang cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMM_FUZZ=ON -DMM_WERROR=OFF -DMM_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$B" -j"${FUZZ_JOBS:-2}" --target "fuzz_$T" "fuzz_${T}_replay" >/dev/null
W=$B/corpus/$T
mkdir -p "$W" "$B/crashes/$T"
"$B/tests/fuzz/fuzz_${T}_replay" --seeds "$W" >/dev/null
find "tests/fuzz/corpus/$T" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$W/" \;
args=(-max_total_time="$SECONDS_TO_RUN" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1
      -artifact_prefix="$B/crashes/$T/")
[ -f "tests/fuzz/dict/$T.dict" ] && args+=(-dict="tests/fuzz/dict/$T.dict")
# keras: HDF5 sizes some allocations from the file's metadata and handles a failed malloc (ASan's malloc
# returns NULL as the C library's would), and HDF5 has memory bugs of its own on damaged files: fuzzing
# goes on past them in forked children, collecting each crash (docs/fuzzing.md)
if [ "$T" = keras ]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"
  args_extra=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
fi
args+=("${args_extra[@]}")
echo "fuzz: $T for $SECONDS_TO_RUN s (log: $B/fuzz-$T.log)"
set +e
nice -n "${FUZZ_NICE:-19}" "$B/tests/fuzz/fuzz_$T" "${args[@]}" "$W" >"$B/fuzz-$T.log" 2>&1
rc=$?
set -e
{ grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$B/fuzz-$T.log" | tail -1
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$B/fuzz-$T.log"; } || true
if [ $rc -ne 0 ]; then
  echo "fuzz: $T stopped with status $rc: see $B/fuzz-$T.log and $B/crashes/$T/" >&2
  exit $rc
fi
