#!/usr/bin/env bash
# Playlists from the program and over HTTP (docs/playlists.md): similar, mix, journey and radio on a
# small generated collection; songs by id and by path; the table, --json and M3U files (relative and
# absolute paths that resolve, UTF-8 names); radio going on from its state file without repeating a
# song; the rules (genre, duration, folder); usage errors; /api/playlist as JSON and M3U (paths, or links
# to the server's audio), following the newest map as the CLI does.
# Usage: playlist_cli_test.sh MUSICMAP MUSICMAP_SYNTH
set -u
MM=$1
SYNTH=$2
. "$(dirname "$0")/testlib.sh"

"$SYNTH" --out "$TMP/music" --count 16 --seconds 12 --genres blues,classical,metal,jazz --formats mp3,flac,ogg \
  --seed 3 >/dev/null 2>&1 || { echo "FAIL: musicmap-synth"; exit 1; }
"$MM" -q scan --db "$TMP/lib.db" --clips 1 "$TMP/music" || { echo "FAIL: scan"; exit 1; }
DB=(--db "$TMP/lib.db")
json() { python3 -c "import json,sys; d=json.load(open('$TMP/out')); $1"; }
SEED_PATH=$(ls "$TMP"/music/*.mp3 | head -1)

# similar: by id and by path, the same list; the seed is not in it
check "similar by id: exit 0" test "$(status_of "$MM" similar "${DB[@]}" -n 5 --json 1)" = 0
check "similar: 5 songs, no seed" json "s=d['songs']; assert len(s)==5 and all(x['id']!=1 for x in s)"
"$MM" -q similar "${DB[@]}" -n 5 --json --artist-gap 0 --album-gap 0 1 >"$TMP/nogap.json"
check "similar without spacing: nearest first" python3 -c "
import json; s=[x['distance'] for x in json.load(open('$TMP/nogap.json'))['songs']]; assert s==sorted(s)"
cp "$TMP/out" "$TMP/by_id.json"
SEED1=$(python3 -c "import json; print(json.load(open('$TMP/by_id.json'))['seeds'][0])")
check "similar by path: exit 0" test "$(status_of "$MM" similar "${DB[@]}" -n 5 --json "$SEED_PATH")" = 0
ID_OF_PATH=$(json "print(d['seeds'][0])")
"$MM" -q similar "${DB[@]}" -n 5 --json "$ID_OF_PATH" >"$TMP/by_id2.json"
check "a path and its id make the same playlist" cmp -s "$TMP/out" "$TMP/by_id2.json"
check "the table has a header and 5 rows" bash -c "'$MM' -q similar ${DB[*]} -n 5 1 | tail -n +2 | wc -l | grep -qx 5"
check "the summary names the largest step" bash -c "'$MM' similar ${DB[*]} -n 5 1 2>&1 >/dev/null | grep -q 'largest step'"

# M3U: extended, UTF-8, paths that resolve (absolute, and relative to the playlist's folder)
mkdir -p "$TMP/lists/deep"
check "--m3u8 writes a file" test "$(status_of "$MM" similar "${DB[@]}" -n 8 --m3u8 "$TMP/lists/deep/s.m3u8" --relative 1)" = 0
check "the m3u starts with #EXTM3U" bash -c "head -1 '$TMP/lists/deep/s.m3u8' | grep -qx '#EXTM3U'"
check "an #EXTINF line per song" test "$(grep -c '^#EXTINF:[0-9-]*,' "$TMP/lists/deep/s.m3u8")" = 8
check "relative paths resolve from the playlist's folder" bash -c "cd '$TMP/lists/deep' && grep -v '^#' s.m3u8 | while IFS= read -r p; do case \$p in /*) exit 1;; esac; test -f \"\$p\" || exit 1; done"
check "the m3u is UTF-8" python3 -c "open('$TMP/lists/deep/s.m3u8', encoding='utf-8').read()"
"$MM" -q similar "${DB[@]}" -n 8 --m3u - 1 >"$TMP/abs.m3u"
check "--m3u - writes absolute paths to stdout" bash -c "grep -v '^#' '$TMP/abs.m3u' | while IFS= read -r p; do case \$p in /*) test -f \"\$p\" || exit 1;; *) exit 1;; esac; done"
check "... the same songs" diff <(grep -v '^#' "$TMP/abs.m3u" | xargs -d '\n' -n1 basename) \
  <(grep -v '^#' "$TMP/lists/deep/s.m3u8" | xargs -d '\n' -n1 basename)

# mix, journey
check "mix of two: exit 0" test "$(status_of "$MM" mix "${DB[@]}" -n 8 --json 1 2)" = 0
check "mix: 8 different songs" json "s=[x['id'] for x in d['songs']]; assert len(s)==8 and len(set(s))==8"
check "mix --rule centroid" test "$(status_of "$MM" mix "${DB[@]}" -n 4 --rule centroid 1 2)" = 0
check "journey: exit 0" test "$(status_of "$MM" journey "${DB[@]}" --steps 6 --json 1 9)" = 0
check "journey: from the first song to the second, 6 songs" json "s=[x['id'] for x in d['songs']]; assert s[0]==1 and s[-1]==9 and len(s)==6 and len(set(s))==6"
check "journey: its largest step is reported" json "assert d['max_step'] == max(x['step'] for x in d['songs'])"

# radio: a state file to go on from, never a song twice
check "radio: exit 0" test "$(status_of "$MM" radio "${DB[@]}" -n 5 --state "$TMP/radio.state" --json 1)" = 0
cp "$TMP/out" "$TMP/r1.json"
check "radio wrote its state" grep -q '^mmr1\.' "$TMP/radio.state"
check "radio goes on from the state" test "$(status_of "$MM" radio "${DB[@]}" -n 5 --state "$TMP/radio.state" --json)" = 0
check "radio: ten different songs, never the seed" python3 -c "
import json
a=[x['id'] for x in json.load(open('$TMP/r1.json'))['songs']]; b=[x['id'] for x in json.load(open('$TMP/out'))['songs']]
assert len(a)==5 and len(b)==5 and len(set(a+b))==10 and 1 not in a+b"
"$MM" -q radio "${DB[@]}" -n 10 --json --seed 1 1 >"$TMP/r10.json"
check "... and the same as ten at once" python3 -c "
import json
a=[x['id'] for x in json.load(open('$TMP/r1.json'))['songs']]; b=[x['id'] for x in json.load(open('$TMP/out'))['songs']]
assert a+b == [x['id'] for x in json.load(open('$TMP/r10.json'))['songs']]"

# rules
check "--genre: only that genre" bash -c "'$MM' -q similar ${DB[*]} -n 3 --genre metal --json 1 >'$TMP/out'"
check "... all metal" json "assert d['songs'] and all(x['genre'].lower()=='metal' for x in d['songs'])"
check "--max-duration below every song: no songs, still exit 0" test "$(status_of "$MM" similar "${DB[@]}" -n 3 --max-duration 5 --json 1)" = 0
check "... none" json "assert d['songs']==[]"
check "... and a warning" grep -q "only 0 songs" "$TMP/err"
check "--exclude-folder the whole collection: none" bash -c "'$MM' -q similar ${DB[*]} -n 3 --exclude-folder '$TMP/music' --json 1 | grep -q '\"songs\": \[\]'"
check "--artist-gap 0 --album-gap 0" test "$(status_of "$MM" similar "${DB[@]}" -n 3 --artist-gap 0 --album-gap 0 1)" = 0

# usage and failures
check "similar without a song: usage (2)" test "$(status_of "$MM" similar "${DB[@]}")" = 2
check "journey with one song: usage (2)" test "$(status_of "$MM" journey "${DB[@]}" 1)" = 2
check "radio without seed or state: usage (2)" test "$(status_of "$MM" radio "${DB[@]}")" = 2
check "bad --rule: usage (2)" test "$(status_of "$MM" mix "${DB[@]}" --rule best 1 2)" = 2
check "an unknown song: failure (1)" test "$(status_of "$MM" similar "${DB[@]}" 9999)" = 1
check "... named" grep -q "9999" "$TMP/err"
check "an unknown path: failure (1)" test "$(status_of "$MM" similar "${DB[@]}" /no/such.mp3)" = 1
for cmd in similar mix journey radio; do
  check "$cmd --help" bash -c "'$MM' $cmd --help | grep -q '^Usage: musicmap $cmd'"
done

# HTTP
if command -v curl >/dev/null; then
  "$MM" serve "${DB[@]}" --port 0 --transcode-dir "$TMP/tc" >"$TMP/serve.out" 2>&1 &
  SERVER=$!
  for _ in $(seq 50); do grep -q 'http://' "$TMP/serve.out" && break; sleep 0.1; done
  URL=$(grep -o 'http://[^ ]*' "$TMP/serve.out")
  URL=${URL%/}
  code() { curl -s -o "$TMP/out" -w '%{http_code}' "$@"; }
  check "api: similar 200" test "$(code "$URL/api/playlist?kind=similar&seed=1&n=5")" = 200
  check "api: the CLI's playlist" python3 -c "
import json
a=[x['id'] for x in json.load(open('$TMP/out'))['songs']]; b=[x['id'] for x in json.load(open('$TMP/by_id.json'))['songs']]
assert a==b, (a, b)"
  check "api: journey by seed and to" test "$(code "$URL/api/playlist?kind=journey&seed=1&to=9&n=6")" = 200
  check "api: ... its ends" json "s=[x['id'] for x in d['songs']]; assert s[0]==1 and s[-1]==9 and len(s)==6"
  check "api: radio returns a state" test "$(code "$URL/api/playlist?kind=radio&seed=1&n=3")" = 200
  STATE=$(json "print(d['state'])")
  check "api: radio goes on from it" test "$(code "$URL/api/playlist?kind=radio&n=3&state=$STATE")" = 200
  check "api: m3u" bash -c "curl -s -D '$TMP/h' '$URL/api/playlist?kind=mix&seed=1,2&n=4&format=m3u' | head -1 | grep -qx '#EXTM3U' && grep -qi '^content-type: audio/x-mpegurl' '$TMP/h'"
  check "api: m3u links (loopback: no token)" bash -c "curl -s '$URL/api/playlist?kind=mix&seed=1,2&n=4&format=m3u&links=1' >'$TMP/links.m3u' &&
    [ \$(grep -v '^#' '$TMP/links.m3u' | grep -cx '$URL/api/tracks/[0-9]*/audio') = 4 ]"
  check "  ... a link plays" test "$(code "$(grep -v '^#' "$TMP/links.m3u" | head -1)")" = 200
  check "api: links is 0 or 1" test "$(code "$URL/api/playlist?kind=mix&seed=1,2&format=m3u&links=2")" = 400
  check "api: bad kind 400" test "$(code "$URL/api/playlist?kind=shuffle&seed=1")" = 400
  check "api: unknown song 404" test "$(code "$URL/api/playlist?kind=similar&seed=9999")" = 404
  check "api: mix without seeds 400" test "$(code "$URL/api/playlist?kind=mix")" = 400
  # without model= the server follows the newest map as the CLI does, though it keeps its engine
  # between requests: a map drawn while it runs (of the mel baseline, another space) is used at once
  check "api: a second request, the same list" bash -c "cmp -s <(curl -s '$URL/api/playlist?kind=similar&seed=1&n=5') \
    <(curl -s '$URL/api/playlist?kind=similar&seed=1&n=5') && grep -q '\"songs\"' <(curl -s '$URL/api/playlist?kind=similar&seed=1&n=5')"
  "$MM" -q map "${DB[@]}" --features mel --method pca --name mel-pca || check "map --features mel" false
  "$MM" -q similar "${DB[@]}" -n 5 --json 1 >"$TMP/mel.json"
  check "api: after a new map, its space" test "$(code "$URL/api/playlist?kind=similar&seed=1&n=5")" = 200
  check "  ... the CLI's playlist there (songs and distances)" python3 -c "
import json
a=json.load(open('$TMP/out'))['songs']; b=json.load(open('$TMP/mel.json'))['songs']; c=json.load(open('$TMP/by_id.json'))['songs']
assert [x['id'] for x in a]==[x['id'] for x in b], (a, b)
assert all(abs(x['distance']-y['distance']) <= 1e-4*max(1, abs(y['distance'])) for x, y in zip(a, b)), (a, b)
assert any(abs(x['distance']-y['distance']) > 1e-3*max(1, abs(y['distance'])) for x, y in zip(a, c)), 'still the descriptors'"
  kill "$SERVER" 2>/dev/null
  wait "$SERVER" 2>/dev/null
fi

finish playlist_cli
