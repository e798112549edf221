#!/usr/bin/env bash
# musicmap serve over real HTTP: the API and its points format, audio with Range (206, 416, ignored
# ranges), transcoding, bad ids, path traversal, oversized and slow requests, concurrent clients,
# and --export. Skips (77) without curl.
# Usage: server_test.sh MUSICMAP MUSICMAP_SYNTH MAKE_FIXTURE_MAP
set -u
MM=$1 SYNTH=$2 FIXTURE=$3
command -v curl >/dev/null || { echo "SKIP: curl not found"; exit 77; }
TMP=$(mktemp -d)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
pass=0
fail=0
check() { # description, command...
  local what=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}

"$SYNTH" --out "$TMP/music" --count 24 --seconds 8 --rate 22050 --seed 3 >/dev/null 2>&1 || { echo "synth failed"; exit 1; }
"$MM" -q scan --db "$TMP/lib.db" "$TMP/music" || { echo "scan failed"; exit 1; }
"$FIXTURE" "$TMP/lib.db" >/dev/null || { echo "fixture failed"; exit 1; }
# a format browsers can't play, when ffmpeg is here to make one: served transcoded
if command -v ffmpeg >/dev/null; then
  mkdir -p "$TMP/more"
  ffmpeg -v error -f lavfi -i "sine=frequency=440:duration=3" -ac 2 -c:a pcm_s16be "$TMP/more/tone.aiff" && \
    "$MM" -q scan --db "$TMP/lib.db" "$TMP/more"
fi

"$MM" serve --db "$TMP/lib.db" --port 0 --timeout 2 --transcode-dir "$TMP/transcoded" >"$TMP/serve.out" 2>&1 &
SERVER=$!
for _ in $(seq 50); do grep -q 'http://' "$TMP/serve.out" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$TMP/serve.out")
URL=${URL%/}
[ -n "$URL" ] || { echo "server did not start"; cat "$TMP/serve.out"; exit 1; }
PORT=${URL##*:}
code() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
header() { grep -i "^$1:" "$TMP/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# --- the page and the JSON API
check "the page is served" test "$(code "$URL/")" = 200
check "the page is the map page" grep -q 'app.js' "$TMP/body"
check "the script is served" test "$(code "$URL/app.js")" = 200
check "maps: 200" test "$(code "$URL/api/maps")" = 200
check "maps: three fixture maps" test "$(grep -o '"id": [0-9]*, "name"' "$TMP/body" | wc -l)" = 3
check "maps: method and dims" grep -q '"method": "tsne", "dims": 3' "$TMP/body"
check "maps: colours by prediction from a sure model" grep -q '"colors": {"default": "predicted", "model_accuracy": 0.9500, "bound": 0.85, "features": "' "$TMP/body"
check "track: 200" test "$(code "$URL/api/tracks/1")" = 200
check "track: tags, loudness and predictions" grep -q '"title": ".*"loudness": .*"predicted": {"model": "fixture"' "$TMP/body"
check "track: never the folder" bash -c "! grep -q '$TMP' '$TMP/body'"
check "similar: 200" test "$(code "$URL/api/tracks/1/similar?k=5")" = 200
check "similar: k results" test "$(grep -o '"distance"' "$TMP/body" | wc -l)" = 5
check "similar: k=0 refused" test "$(code "$URL/api/tracks/1/similar?k=0")" = 400
check "similar: k=1000 refused" test "$(code "$URL/api/tracks/1/similar?k=1000")" = 400
TITLE=$(curl -s "$URL/api/tracks/2" | sed -n 's/.*"title": "\([^"]*\)".*/\1/p')
WORD=$(echo "$TITLE" | tr ' ' '\n' | awk '{ print length, $0 }' | sort -rn | head -1 | cut -d' ' -f2)
check "search: finds a title word" test "$(code "$URL/api/search?q=$WORD")" = 200
check "search: the track is there" grep -q '"id": 2,' "$TMP/body"
check "search: no q is 400" test "$(code "$URL/api/search")" = 400
check "search: a long q is refused" test "$(code "$URL/api/search?q=$(head -c 300 /dev/zero | tr '\0' a)")" = 414
check "search: bad limit" test "$(code "$URL/api/search?q=a&limit=0")" = 400

# --- points: binary (docs/server.md) and JSON
check "points: 200" test "$(code -D "$TMP/headers" "$URL/api/maps/1/points")" = 200
check "points: magic" test "$(head -c 4 "$TMP/body")" = MMPT
u32() { od -An -tu4 -j"$1" -N4 "$TMP/body" | tr -d ' '; }
N=$(u32 8); DIMS=$(u32 12); JSON=$(u32 16)
check "points: 24 points, 2-D" test "$N/$DIMS" = 24/2
check "points: size matches the header" test "$(stat -c %s "$TMP/body")" = $((32 + N * DIMS * 4 + N * 4 + N * 4 + JSON))
check "points: label names at the end" bash -c "tail -c $JSON '$TMP/body' | grep -q '\"predicted\": \\['"
check "points: binary content type" test "$(header content-type)" = application/octet-stream
ETAG=$(header etag)
check "points: If-None-Match gives 304" test "$(code -H "If-None-Match: $ETAG" "$URL/api/maps/1/points")" = 304
check "points 3-D: dims 3" bash -c "test \$(curl -s '$URL/api/maps/3/points' | od -An -tu4 -j12 -N4 | tr -d ' ') = 3"
check "points json: 200" test "$(code "$URL/api/maps/1/points?format=json")" = 200
check "points json: 24 points" test "$(grep -o '\], \[' "$TMP/body" | wc -l)" = 23
check "points: bad format" test "$(code "$URL/api/maps/1/points?format=xml")" = 400
check "points: no such map" test "$(code "$URL/api/maps/99/points")" = 404

# --- a map of the descriptors (made while the server runs): similar songs in the same space
"$MM" -q map --db "$TMP/lib.db" --method pca --name desc-map || echo "FAIL: map of the descriptors"
curl -s "$URL/api/maps" >"$TMP/maps.json"
DESC_MODEL=$(tr '\n' ' ' <"$TMP/maps.json" | sed -n 's/.*"name": "desc-map", "model_id": \([0-9]*\).*/\1/p')
check "maps: the descriptors map is listed, made without a model" grep -q '"name": "desc-map", "model_id": [0-9]*, "model": "descriptors".*"default": "tagged", "model_accuracy": null, "bound": 0.85, "features": "descriptors"' "$TMP/maps.json"
check "similar in the descriptors' space: 200" test "$(code "$URL/api/tracks/1/similar?k=5&model=${DESC_MODEL:-0}")" = 200
check "  ... says so, with k results" bash -c "grep -q '\"space\": \"descriptors\"' '$TMP/body' && test \$(grep -o '\"distance\"' '$TMP/body' | wc -l) = 5"
check "similar without a model: the newest trained one (fixture)" bash -c "curl -s '$URL/api/tracks/1/similar?k=3' | grep -q '\"model\": \"fixture\"'"

# --- songs added while the server runs join the stored map: same id, a new generation, the new songs listed
DESC_MAP=$(tr '\n' ' ' <"$TMP/maps.json" | sed -n 's/.*"id": \([0-9]*\), "name": "desc-map".*/\1/p')
ETAG0=$(curl -s -D - -o /dev/null "$URL/api/maps/$DESC_MAP/points" | grep -i '^etag:' | tr -d '\r')
"$SYNTH" --out "$TMP/added" --count 4 --seconds 8 --rate 22050 --seed 9 >/dev/null 2>&1 && \
  "$MM" -q scan --db "$TMP/lib.db" "$TMP/added" || echo "FAIL: scanning added songs"
"$MM" map --db "$TMP/lib.db" --method pca --name desc-map >"$TMP/grow.out" || echo "FAIL: growing the map"
check "map: says the new songs were placed" grep -q '4 new songs placed on the map' "$TMP/grow.out"
check "maps: the grown map keeps its id, generation 1" bash -c "curl -s '$URL/api/maps' | grep -q '\"id\": $DESC_MAP, \"name\": \"desc-map\".*\"generation\": 1}'"
check "added: the 4 new songs" bash -c "curl -s '$URL/api/maps/$DESC_MAP/added' | grep -Eq '^\{\"map\": $DESC_MAP, \"generation\": 1, \"ids\": \[[0-9]+,[0-9]+,[0-9]+,[0-9]+\]\}$'"
check "added: a map that never grew lists none" bash -c "curl -s '$URL/api/maps/1/added' | grep -q '\"generation\": 0, \"ids\": \[\]'"
check "added: no such map is 404" test "$(code "$URL/api/maps/99/added")" = 404
sleep 1.1 # the server trusts a cached map's points for a second
ETAG1=$(curl -s -D - -o /dev/null "$URL/api/maps/$DESC_MAP/points" | grep -i '^etag:' | tr -d '\r')
check "points: a grown map is served anew (new ETag)" test -n "$ETAG1" -a "$ETAG0" != "$ETAG1"

# --- bad ids and paths
for id in 0 -1 abc 1x 99999999999999999999 1.5 "%20" ""; do
  check "bad track id '$id' is 400" test "$(code "$URL/api/tracks/$id")" = 400
done
check "unknown track is 404" test "$(code "$URL/api/tracks/999999")" = 404
check "unknown track audio is 404" test "$(code "$URL/api/tracks/999999/audio")" = 404
check "unknown endpoint is 404" test "$(code "$URL/api/tracks/1/lyrics")" = 404
for p in "/api/tracks/../../etc/passwd" "/api/tracks/%2e%2e/%2e%2e/etc/passwd" "/../../../../etc/passwd" \
         "/etc/passwd" "//etc/passwd" "/api/tracks/1/../../../etc/passwd" "/api/tracks/1/audio/../../../etc/passwd" \
         "/app.js/../../etc/passwd" "/%2e%2e/%2e%2e/etc/passwd" "/api/tracks/1%2f..%2f..%2fetc%2fpasswd" \
         "/api/maps/1/points/../../../../etc/passwd" "/index.html%00.js"; do
  c=$(code --path-as-is "$URL$p")
  check "traversal $p is refused ($c)" bash -c "[ '$c' -ge 400 ] && ! grep -q 'root:' '$TMP/body'"
done
check "POST is 405" test "$(code -X POST -d x=1 "$URL/api/maps")" = 405
check "a GET with a body is 400" test "$(code -X GET -d hello "$URL/api/maps")" = 400
check "another Host is refused (DNS rebinding)" test "$(code -H 'Host: evil.example' "$URL/api/maps")" = 421
check "a long URL is refused" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL/api/maps?x=$(head -c 3000 /dev/zero | tr '\0' a)') -ge 400 ]"
c=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' a)" "$URL/api/maps")
check "oversized headers are refused ($c)" bash -c "[ '$c' = 431 ] || [ '$c' = 000 ]"

# --- audio: content types, Range
for id in $(seq 1 24); do
  want=$(curl -s "$URL/api/tracks/$id" | sed -n 's/.*"content_type": "\([^"]*\)".*/\1/p')
  got=$(curl -s -o /dev/null -w '%{content_type}' "$URL/api/tracks/$id/audio")
  [ "$want" = "$got" ] || { echo "track $id: $got, wants $want"; BAD=1; }
done
check "every track's audio has its content type" test -z "${BAD:-}"
check "audio: 200" test "$(code -D "$TMP/headers" "$URL/api/tracks/1/audio")" = 200
cp "$TMP/body" "$TMP/full"
SIZE=$(stat -c %s "$TMP/full")
check "audio: accepts ranges" test "$(header accept-ranges)" = bytes
check "audio: the file's bytes" bash -c "for f in '$TMP'/music/*; do cmp -s \"\$f\" '$TMP/full' && exit 0; done; exit 1"
check "range 0-0: 206" test "$(code -D "$TMP/headers" -H 'Range: bytes=0-0' "$URL/api/tracks/1/audio")" = 206
check "range 0-0: one byte" test "$(stat -c %s "$TMP/body")" = 1
check "range 0-0: Content-Range" test "$(header content-range)" = "bytes 0-0/$SIZE"
check "range -500: 206" test "$(code -D "$TMP/headers" -H 'Range: bytes=-500' "$URL/api/tracks/1/audio")" = 206
check "range -500: the last 500 bytes" bash -c "tail -c 500 '$TMP/full' | cmp -s - '$TMP/body'"
check "range -500: Content-Range" test "$(header content-range)" = "bytes $((SIZE - 500))-$((SIZE - 1))/$SIZE"
check "range 100-: 206 to the end" bash -c "[ \$(curl -s -H 'Range: bytes=100-' '$URL/api/tracks/1/audio' | wc -c) = $((SIZE - 100)) ]"
check "range 1000-1999: the right bytes" bash -c "curl -s -H 'Range: bytes=1000-1999' '$URL/api/tracks/1/audio' | cmp -s - <(tail -c +1001 '$TMP/full' | head -c 1000)"
check "range past the end: 416" test "$(code -D "$TMP/headers" -H 'Range: bytes=1000000000-' "$URL/api/tracks/1/audio")" = 416
check "416 says the size" test "$(header content-range)" = "bytes */$SIZE"
check "range -0: 416" test "$(code -H 'Range: bytes=-0' "$URL/api/tracks/1/audio")" = 416
check "range end beyond the size: clipped" bash -c "[ \$(curl -s -H 'Range: bytes=0-99999999' '$URL/api/tracks/1/audio' | wc -c) = $SIZE ]"
for r in "bytes=5-2" "bytes=abc" "bytes=0-1,5-6" "items=0-5" "bytes=" "bytes=--5" "bytes=1-2-3" "bytes=99999999999999999999-"; do
  check "range '$r' is ignored: 200, whole file" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H 'Range: $r' '$URL/api/tracks/1/audio')\" = '200 $SIZE' ]"
done
check "HEAD: the size, no body" bash -c "curl -s -I '$URL/api/tracks/1/audio' | grep -qi '^content-length: $SIZE'"
if [ -f "$TMP/more/tone.aiff" ]; then
  TID=$(curl -s "$URL/api/search?q=tone" | sed -n 's/.*"id": \([0-9]*\).*/\1/p' | head -1)
  [ -n "$TID" ] || TID=25
  check "aiff: transcoded to mp3" test "$(code -D "$TMP/headers" "$URL/api/tracks/$TID/audio")" = 200
  check "aiff: audio/mpeg" test "$(header content-type)" = audio/mpeg
  check "aiff: marked transcoded" test "$(header x-musicmap-transcoded)" = mp3
  check "aiff: really MP3" bash -c "head -c 3 '$TMP/body' | grep -q ID3 || [ \"\$(head -c 2 '$TMP/body' | od -An -tx1 | tr -d ' ')\" = fffb ]"
  check "aiff: cached" test "$(ls "$TMP/transcoded" | wc -l)" = 1
  check "aiff: range on the transcode" test "$(code -H 'Range: bytes=0-99' "$URL/api/tracks/$TID/audio")" = 206
fi
# a file removed since the scan: 404, nothing else
VICTIM=$(ls "$TMP"/music/*.wav | head -1)
VID=$(for id in $(seq 1 24); do curl -s "$URL/api/tracks/$id" | grep -qF "\"file\": \"$(basename "$VICTIM")\"" && echo $id; done | head -1)
mv "$VICTIM" "$TMP/moved.wav"
check "a vanished file is 404" test "$(code "$URL/api/tracks/$VID/audio")" = 404
mv "$TMP/moved.wav" "$VICTIM"

# --- slow and many clients
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /api/maps HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' >&3
slow=()
for k in $(seq 40); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" && printf 'GET / HTTP/1.1\r\n' >&$fd && slow+=("$fd")
done
t0=$(date +%s%N)
check "others are served while slow clients hang" test "$(code "$URL/api/maps")" = 200
check "quickly" test $((($(date +%s%N) - t0) / 1000000)) -lt 1000
sleep 3.5
check "a slow client is cut off after the timeout" bash -c "timeout 2 cat <&3 >/dev/null; [ \$? != 124 ]"
exec 3<&-
for fd in "${slow[@]}"; do exec {fd}<&-; done
# concurrent clients: 64 requests, 32 at a time, all answered
for k in $(seq 64); do
  case $((k % 4)) in
    0) echo "$URL/api/maps/$(((k % 3) + 1))/points";;
    1) echo "$URL/api/tracks/$(((k % 24) + 1))";;
    2) echo "$URL/api/tracks/$(((k % 24) + 1))/audio";;
    3) echo "$URL/api/search?q=$WORD";;
  esac
done >"$TMP/urls"
xargs -P 32 -n 1 curl -s -o /dev/null -w '%{http_code}\n' <"$TMP/urls" >"$TMP/codes"
check "64 concurrent requests all answered 200" test "$(grep -c '^200$' "$TMP/codes")" = 64
check "the server is still up" test "$(code "$URL/api/maps")" = 200

# --- export
"$MM" -q serve --db "$TMP/lib.db" --export "$TMP/site" --export-audio --transcode-dir "$TMP/transcoded"
check "export: exit 0" test $? = 0
check "export: the page in static mode" grep -q 'content="static"' "$TMP/site/index.html"
check "export: the script" test -s "$TMP/site/app.js"
check "export: maps" grep -q '"fixture-pca"' "$TMP/site/data/maps.json"
check "export: points as the API serves them" bash -c "curl -s '$URL/api/maps/1/points' | cmp -s - '$TMP/site/data/maps/1.bin'"
check "export: track details" test -s "$TMP/site/data/tracks/1.json"
check "export: the grown map's new songs" bash -c "grep -q '\"generation\": 1' '$TMP/site/data/maps/$DESC_MAP.added.json'"
check "export: similar lists" grep -q '"distance"' "$TMP/site/data/tracks/1.similar.json"
check "export: search index" grep -q '"title"' "$TMP/site/data/search.json"
check "export: audio" test "$(ls "$TMP/site/data/audio" | wc -l)" -ge 24
check "serve: --export-audio alone is a usage error" test "$("$MM" serve --export-audio >/dev/null 2>&1; echo $?)" = 2
check "serve: bad port is a usage error" test "$("$MM" serve --port 70000 >/dev/null 2>&1; echo $?)" = 2

echo "server: $pass passed, $fail failed"
[ "$fail" = 0 ]
