#!/usr/bin/env bash
# scan --mpi on this machine (docs/scale.md): three ranks (a coordinator and two decoders) over a
# generated collection with broken files give the single-process scan's catalog, row for row and byte
# for byte in the features; a second run reads only what is new, changed or moved, and still agrees;
# --keep-spectrograms no keeps the rows and descriptors without the records.
# Usage: mpi_scan_test.sh MUSICMAP MUSICMAP_SYNTH CATALOG_DIFF
set -u
MM=$1
SYNTH=$2
DIFF=$3
. "$(dirname "$0")/mpilib.sh"

"$SYNTH" --out "$TMP/music" --count 24 --seconds 3 --seed 11 --broken --threads 2 >/dev/null 2>&1
check "the collection was generated" test -n "$(ls "$TMP/music" 2>/dev/null)"
n_audio=$(find "$TMP/music" -type f ! -name '*.tsv' ! -name '.*' | wc -l)

"$MM" scan -q --db "$TMP/one.db" -j 2 "$TMP/music"
rc=$(status_of mpi 3 "$MM" scan --mpi -j 1 --batch 4 --db "$TMP/three.db" "$TMP/music")
check "a 3-rank scan with broken files exits 1, like a single one" test "$rc" = 1
check "rank 0 prints the summary once" test "$(grep -c "^scan: $n_audio audio files" "$TMP/err")" = 1
check "and what each rank did" grep -q "^scan: 3 ranks, .*writer thread" "$TMP/err"
check "each failure is one line naming the file" test "$(grep -c 'broken\.' "$TMP/err")" -ge 4
check "the catalogs are the same, features byte for byte" "$DIFF" "$TMP/one.db" "$TMP/three.db"

rc=$(status_of mpi 3 "$MM" scan --mpi -j 1 --db "$TMP/three.db" "$TMP/music")
check "a second run exits 0" test "$rc" = 0
check "and reads nothing" grep -q "0 added, 0 changed, $n_audio unchanged" "$TMP/err"

# new, changed and moved files: both ways again, and again the same
"$SYNTH" --out "$TMP/music/new" --count 3 --seconds 3 --seed 12 --threads 2 >/dev/null 2>&1
changed=$(find "$TMP/music" -maxdepth 1 -name '0002 *' | head -1)
touch -d '2001-01-01' "$changed"
first=$(find "$TMP/music" -maxdepth 1 -name '0001 *' | head -1)
mkdir -p "$TMP/music/moved"
mv "$first" "$TMP/music/moved/renamed.${first##*.}"
rc=$(status_of mpi 3 "$MM" scan --mpi -j 1 --db "$TMP/three.db" "$TMP/music")
check "an incremental run exits 0" test "$rc" = 0
check "it reads only the new, the changed and the moved" grep -q " 3 added, 1 changed, $((n_audio - 2)) unchanged, 1 moved" "$TMP/err"
"$MM" scan -q --db "$TMP/one.db" -j 2 "$TMP/music"
check "and agrees with a single-process rescan" "$DIFF" "$TMP/one.db" "$TMP/three.db"

# without spectrograms: the same rows and descriptors, no records
"$MM" scan -q --db "$TMP/nospec1.db" -j 2 --keep-spectrograms no "$TMP/music"
status_of mpi 3 "$MM" scan --mpi -j 1 --keep-spectrograms no --db "$TMP/nospec3.db" "$TMP/music" >/dev/null
check "--keep-spectrograms no: the same catalog either way" "$DIFF" "$TMP/nospec1.db" "$TMP/nospec3.db"
check "with no feature records" grep -q '"with_features": 0' <("$MM" status --db "$TMP/nospec3.db" --json)
check "and a feature file of its header alone" test "$(stat -c %s "$TMP/nospec3.features")" -le 4096
rc=$(status_of mpi 3 "$MM" scan --mpi -j 1 --keep-spectrograms no --db "$TMP/nospec3.db" "$TMP/music")
check "whose rescan reads nothing" grep -q "0 added, 0 changed, $((n_audio + 3)) unchanged" "$TMP/err"

finish mpi_scan
