#!/usr/bin/env bash
# A decoding rank killed (kill -9) in the middle of a 3-rank scan takes the job down (MPI's default);
# what rank 0 committed stays, and the next --mpi run reads only the rest: in the end the catalog is
# the single-process scan's. Usage: mpi_kill_test.sh MUSICMAP MUSICMAP_SYNTH CATALOG_DIFF
set -u
MM=$1
SYNTH=$2
DIFF=$3
. "$(dirname "$0")/mpilib.sh"

"$SYNTH" --out "$TMP/music" --count 24 --seconds 3 --seed 9 --formats wav,flac --threads 2 >/dev/null 2>&1
check "the collection was generated" test "$(ls "$TMP/music" | grep -c '\.\(wav\|flac\)$')" = 24
K="$TMP/kill.db"
# one file per chunk and per commit: the kill lands between commits
# (mpirun itself in the background, not a function's subshell: the ranks are its children)
mpirun $MPI_FLAGS -np 3 "$MM" scan --mpi -q -j 1 --batch 1 --db "$K" "$TMP/music" 2>"$TMP/mpirun.err" &
launcher=$!
victim=
for _ in $(seq 1 4000); do
  if [ -z "$victim" ]; then
    for p in $(pgrep -P $launcher); do
      tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$p
    done
  fi
  # records are written before the commit that refers to them: 4 records, at least 3 committed (a stat
  # is quick enough to catch a scan of 24 short songs midway; `status` would not be)
  bytes=$(stat -c %s "$TMP/kill.features" 2>/dev/null || echo 0)
  [ -n "$victim" ] && [ "$bytes" -ge $((4096 + 4 * 262272)) ] && break
  kill -0 $launcher 2>/dev/null || break
  sleep 0.005
done
[ -n "$victim" ] && kill -9 "$victim" 2>/dev/null
wait $launcher
rc=$?
killed_ok=$("$MM" status --db "$K" --json | grep -o '"ok": [0-9]*' | grep -o '[0-9]*$')
echo "rank 1 killed with $killed_ok of 24 committed (mpirun exit $rc)"
check "the rank was found and killed mid-scan" test -n "$victim" -a "$killed_ok" -lt 24
check "the job failed" test "$rc" != 0
check "and the catalog opens" "$MM" status --db "$K" >/dev/null

rc=$(status_of mpi 3 "$MM" scan --mpi -j 1 --db "$K" "$TMP/music")
check "the next run succeeds" test "$rc" = 0
check "it reads only what was not committed" grep -q "$((24 - killed_ok)) added, 0 changed, $killed_ok unchanged" "$TMP/err"
"$MM" scan -q --db "$TMP/one.db" -j 2 "$TMP/music"
check "and the result is the single-process scan's" "$DIFF" "$TMP/one.db" "$K"

finish mpi_kill
