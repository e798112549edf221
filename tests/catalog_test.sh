#!/usr/bin/env bash
# musicmap scan / status / tracks end to end on a generated collection with broken files:
# exit codes, errors, incremental rescans, the JSON forms, and kill -9 in the middle of a scan.
# Usage: catalog_test.sh MUSICMAP MUSICMAP_SYNTH
set -u
MM=$1
SYNTH=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
check() { # description, command...
  local what=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}
status_of() { "$@" >"$TMP/out" 2>"$TMP/err"; echo $?; }
DB="$TMP/lib.db"

check "scan --help exits 0" bash -c "'$MM' scan --help | grep -q '^Usage: musicmap scan'"
check "status --help exits 0" bash -c "'$MM' status --help | grep -q '^Usage: musicmap status'"
check "tracks --help exits 0" bash -c "'$MM' tracks --help | grep -q '^Usage: musicmap tracks'"
check "scan without folders is a usage error (2)" test "$(status_of "$MM" scan --db "$DB")" = 2
check "scan --jobs 0 is a usage error (2)" test "$(status_of "$MM" scan --db "$DB" -j 0 "$TMP")" = 2
check "tracks --status bogus is a usage error (2)" test "$(status_of "$MM" tracks --db "$DB" --status bogus)" = 2
check "status of no catalog fails (1)" test "$(status_of "$MM" status --db "$TMP/none.db")" = 1
check "and says to scan first" grep -q "scan" "$TMP/err"
check "no catalog file was created" test ! -e "$TMP/none.db"

# 12 songs of 4 s in six formats, plus synth's broken files (7: truncated, empty, wrong extension,
# lying header, tiny, non-UTF-8 name, not audio)
"$SYNTH" --out "$TMP/music" --count 12 --seconds 4 --seed 5 --broken --threads 2 >/dev/null 2>&1
check "the collection was generated" test -n "$(ls "$TMP/music" 2>/dev/null)"
n_audio=$(find "$TMP/music" -type f ! -name '*.tsv' ! -name '.*' | wc -l)
rc=$(status_of "$MM" scan --db "$DB" -j 2 "$TMP/music")
check "a scan with broken files exits 1" test "$rc" = 1
check "each failure is one line naming the file" test "$(grep -c 'broken\.' "$TMP/err")" -ge 4
check "the summary counts them" grep -Eq "scan: $n_audio audio files .* failed" "$TMP/err"
"$MM" status --db "$DB" --json >"$TMP/status.json"
n_failed=$(grep -o '"failed": [0-9]*' "$TMP/status.json" | head -1 | grep -o '[0-9]*$')
n_ok=$(grep -o '"ok": [0-9]*' "$TMP/status.json" | head -1 | grep -o '[0-9]*$')
check "every file is in the catalog, ok or failed" test "$((n_ok + n_failed))" = "$n_audio"
check "the 12 good songs are ok" test "$n_ok" -ge 12
check "status --json has the documented keys" bash -c "for k in catalog features_file schema_version tracks \
  with_features duration_seconds formats genres bytes; do grep -q \"\\\"\$k\\\":\" '$TMP/status.json' || exit 1; done"
check "status --json counts missing" grep -q '"missing": 0' "$TMP/status.json"
"$MM" status --db "$DB" --errors --json >"$TMP/errors.json"
check "status --errors --json lists each failure" test "$(grep -c '"error":' "$TMP/errors.json")" = "$n_failed"
"$MM" status --db "$DB" --errors >"$TMP/errors.txt"
check "status --errors names the truncated file" grep -q "truncated" "$TMP/errors.txt"
check "status --errors names the empty file" grep -q "empty" "$TMP/errors.txt"
"$MM" tracks --db "$DB" --json >"$TMP/tracks.jsonl"
check "tracks --json: one line per track" test "$(wc -l <"$TMP/tracks.jsonl")" = "$n_audio"
check "tracks --json lines have the documented keys" bash -c "head -1 '$TMP/tracks.jsonl' | grep -q \
  '^{\"id\": [0-9]*, \"path\": \".*\", \"status\": \"[a-z]*\", \"size\": [0-9]*, \"mtime_ns\": [0-9]*, \"duration\": '"
check "tracks --json has the tags" grep -q '"genre": "[a-z]' "$TMP/tracks.jsonl"
check "tracks --json is valid UTF-8 (odd bytes in names escaped)" iconv -f UTF-8 -t UTF-8 -o /dev/null "$TMP/tracks.jsonl"
check "the non-UTF-8 name is there, escaped" grep -q 'caf\\ufffd' "$TMP/tracks.jsonl"
check "tracks --status failed" test "$("$MM" tracks --db "$DB" --status failed | wc -l)" = "$n_failed"

# rescan: nothing read; exit 0 (earlier failures are not new failures)
rc=$(status_of "$MM" scan --db "$DB" "$TMP/music")
check "a rescan exits 0" test "$rc" = 0
check "a rescan reads nothing" grep -q "0 added, 0 changed, $n_audio unchanged" "$TMP/err"
check "and mentions the earlier failures" grep -q "failed in an earlier scan" "$TMP/err"
check "--quiet prints nothing" bash -c "'$MM' scan -q --db '$DB' '$TMP/music' 2>&1 | wc -c | grep -qx 0"

# moved, deleted, pruned
first=$(find "$TMP/music" -maxdepth 1 -name '0001 *' | head -1)
id_before=$("$MM" tracks --db "$DB" --json | grep -F "\"path\": \"$first\"" | grep -o '^{"id": [0-9]*')
mkdir -p "$TMP/music/moved"
mv "$first" "$TMP/music/moved/renamed.${first##*.}"
"$MM" scan --db "$DB" "$TMP/music" 2>"$TMP/err"
check "a moved file is recognised" grep -q " 1 moved" "$TMP/err"
id_after=$("$MM" tracks --db "$DB" --json | grep -F "moved/renamed" | grep -o '^{"id": [0-9]*')
check "and keeps its id" test -n "$id_before" -a "$id_before" = "$id_after"
rm "$TMP/music/moved/renamed."*
"$MM" scan --db "$DB" "$TMP/music" 2>"$TMP/err"
check "a deleted file is missing" grep -q "1 missing" "$TMP/err"
check "status counts it" bash -c "'$MM' status --db '$DB' --json | grep -q '\"missing\": 1'"
"$MM" scan --db "$DB" --prune "$TMP/music" 2>"$TMP/err"
check "--prune removes it" grep -q "1 pruned" "$TMP/err"
check "status agrees" bash -c "'$MM' status --db '$DB' --json | grep -q '\"missing\": 0'"

# kill -9 in the middle of a scan, then scan again: consistent, nothing lost or twice
"$SYNTH" --out "$TMP/more" --count 24 --seconds 3 --seed 9 --formats wav,flac --threads 2 >/dev/null 2>&1
K="$TMP/kill.db"
"$MM" scan --db "$K" -j 1 --batch 2 "$TMP/more" 2>/dev/null &
pid=$!
for _ in $(seq 1 2000); do
  n=$("$MM" status --db "$K" --json 2>/dev/null | grep -o '"ok": [0-9]*' | grep -o '[0-9]*$')
  [ "${n:-0}" -ge 4 ] && break
  sleep 0.005
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
killed_ok=$("$MM" status --db "$K" --json | grep -o '"ok": [0-9]*' | grep -o '[0-9]*$')
echo "kill -9 with $killed_ok of 24 committed"
rc=$(status_of "$MM" scan --db "$K" -j 2 "$TMP/more")
check "the scan after kill -9 succeeds" test "$rc" = 0
check "it reads only what was not committed" grep -q "$((24 - killed_ok)) added, 0 changed, $killed_ok unchanged" "$TMP/err"
check "every song once" test "$("$MM" tracks --db "$K" --status ok | wc -l)" = 24
check "no path twice" test "$("$MM" tracks --db "$K" --json | grep -o '"path": "[^"]*"' | sort | uniq -d | wc -l)" = 0

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
