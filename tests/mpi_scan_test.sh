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
check "the catalogs are the same, features byte for byte, songs numbered alike" "$DIFF" --ids "$TMP/one.db" "$TMP/three.db"

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
check "and agrees with a single-process rescan, ids and all" "$DIFF" --ids "$TMP/one.db" "$TMP/three.db"

# without spectrograms: the same rows and descriptors, no records
"$MM" scan -q --db "$TMP/nospec1.db" -j 2 --keep-spectrograms no "$TMP/music"
status_of mpi 3 "$MM" scan --mpi -j 1 --keep-spectrograms no --db "$TMP/nospec3.db" "$TMP/music" >/dev/null
check "--keep-spectrograms no: the same catalog either way" "$DIFF" --ids "$TMP/nospec1.db" "$TMP/nospec3.db"
check "with no feature records" grep -q '"with_features": 0' <("$MM" status --db "$TMP/nospec3.db" --json)
check "and a feature file of its header alone" test "$(stat -c %s "$TMP/nospec3.features")" -le 4096
rc=$(status_of mpi 3 "$MM" scan --mpi -j 1 --keep-spectrograms no --db "$TMP/nospec3.db" "$TMP/music")
check "whose rescan reads nothing" grep -q "0 added, 0 changed, $((n_audio + 3)) unchanged" "$TMP/err"

# scan --model (docs/scale.md): the network runs on the workers as each song is read, so a catalog without
# spectrograms gets the vectors `embed` gives from stored ones (within the roundings of another batch size)
vectors_of() { "$DIFF" --vectors small 1 "$1" "$1" | sed -n 's/.* for \([0-9]*\) tracks.*/\1/p'; }
"$MM" train -q --db "$TMP/one.db" --preset small --epochs 1 --min-count 2 -o "$TMP/small.mmm" >/dev/null 2>&1
check "a small model was trained" test -s "$TMP/small.mmm"
"$MM" embed -q --db "$TMP/one.db" -m "$TMP/small.mmm"
n_ok=$(vectors_of "$TMP/one.db")
check "embed stored vectors for the ok songs" test "${n_ok:-0}" -ge 20
rc=$(status_of mpi 3 "$MM" scan --mpi -j 1 --keep-spectrograms no --model "$TMP/small.mmm" --db "$TMP/embed3.db" "$TMP/music")
check "a 3-rank scan --model --keep-spectrograms no exits 1 (the broken files)" test "$rc" = 1
check "its vectors are embed's, within 1e-5" "$DIFF" --vectors small 1e-5 "$TMP/one.db" "$TMP/embed3.db"
check "and no spectrograms" grep -q '"with_features": 0' <("$MM" status --db "$TMP/embed3.db" --json)
rc=$(status_of mpi 3 "$MM" scan --mpi -j 1 --keep-spectrograms no --model "$TMP/small.mmm" --db "$TMP/embed3.db" "$TMP/music")
check "a second run reads nothing" grep -q "0 added, 0 changed, $((n_audio + 3)) unchanged" "$TMP/err"
# a catalog scanned without the model: the model's run reads the songs again for their vectors alone
rc=$(status_of mpi 3 "$MM" scan --mpi -j 1 --keep-spectrograms no --model "$TMP/small.mmm" --db "$TMP/nospec3.db" "$TMP/music")
check "scan --mpi --model over a catalog without vectors counts the songs unchanged" \
  grep -q "0 added, 0 changed, $((n_audio + 3)) unchanged" "$TMP/err"
check "and gives them embed's vectors" "$DIFF" --vectors small 1e-5 "$TMP/one.db" "$TMP/nospec3.db"
# embed without stored spectrograms: from the audio, alone and with `embed --mpi`; the rows stay as they were
"$MM" scan -q --db "$TMP/embed1.db" -j 2 --keep-spectrograms no "$TMP/music"
"$MM" embed -q -m "$TMP/small.mmm" --db "$TMP/embed1.db"
check "embed without spectrograms reads the audio: embed's vectors" "$DIFF" --vectors small 1e-5 "$TMP/one.db" "$TMP/embed1.db"
"$MM" scan -q --db "$TMP/embedmpi.db" -j 2 --keep-spectrograms no "$TMP/music"
rc=$(status_of mpi 3 "$MM" embed --mpi -j 1 -m "$TMP/small.mmm" --db "$TMP/embedmpi.db")
check "embed --mpi exits 0" test "$rc" = 0
check "and rank 0 reports its progress, once, to the end" bash -c "[ \$(grep -c '^embed: \([0-9]*\)/\1 tracks, ' '$TMP/err') = 1 ]"
check "and says what it did" grep -q "^embed: $n_ok of $n_ok tracks embedded with 'small' by 3 ranks" "$TMP/err"
check "embed --mpi gives embed's vectors" "$DIFF" --vectors small 1e-5 "$TMP/one.db" "$TMP/embedmpi.db"
check "and leaves every row as a scan left it" "$DIFF" "$TMP/embed1.db" "$TMP/embedmpi.db"
rc=$(status_of mpi 3 "$MM" embed --mpi -j 1 -m "$TMP/small.mmm" --db "$TMP/embedmpi.db")
check "a second embed --mpi has nothing to do" grep -q "every track already has vectors under 'small'" "$TMP/err"
rc=$(status_of mpi 3 "$MM" embed --mpi -j 1 -m nosuch --db "$TMP/embedmpi.db")
check "an unknown model: every rank stops, exit 1" test "$rc" = 1
check "  with one line from rank 0" test "$(grep -c "no model named 'nosuch'" "$TMP/err")" = 1

# new content at a known path: the old content's vectors go, under every model
victim=$(find "$TMP/music" -maxdepth 1 -name '0005 *' | head -1)
donor=$(find "$TMP/music/new" -type f -name "*.${victim##*.}" | head -1)
[ -n "$donor" ] || donor=$(find "$TMP/music/new" -type f ! -name '*.tsv' | head -1)
cp "$donor" "$victim"
"$MM" scan -q --db "$TMP/nospec3.db" --keep-spectrograms no "$TMP/music"
check "a file whose content changed loses its vectors" test "$(vectors_of "$TMP/nospec3.db")" = $((n_ok - 1))
"$MM" scan -q --db "$TMP/nospec3.db" --keep-spectrograms no --model "$TMP/small.mmm" "$TMP/music"
check "which a single-process scan --model gives it again" test "$(vectors_of "$TMP/nospec3.db")" = "$n_ok"

finish mpi_scan
