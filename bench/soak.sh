#!/usr/bin/env bash
# musicmap serve soaked in mixed traffic: wrk (one process per endpoint, bench/soak.lua) against a big
# catalog of made-up tracks plus real songs for audio, for SOAK_SECONDS: maps, points (binary, now and
# then JSON), track details, search, similar songs, audio with random Ranges, and transcoded audio (the
# transcode cache is emptied every minute, so transcoding goes on). Meanwhile a `musicmap scan` writes
# to the same catalog. The server is bound to 0.0.0.0 with its access token (every request carries it).
# Reports, per endpoint, requests, failures (every non-2xx and socket error) and latency (p50, p99, max);
# the server's RSS every 10 s; the scan's outcome. Fails (exit 1) on any failed request, a scan error or
# "database is locked" anywhere, or RSS that keeps growing after the first part of the run.
# Usage: bench/soak.sh [BUILD_DIR]
#   SOAK_SECONDS=3600 TRACKS=100000 CONNECTIONS=64 REAL_SONGS=24 SONG_SECONDS=30 SCAN_SONGS=48
#   SCAN_JOBS=1 RSS_SLACK_MB=32 (CTest server_soak: 60 s, 10k tracks, 16 connections)
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MM=$BUILD/musicmap FIXTURE=$BUILD/tests/make_fixture_map SYNTH=$BUILD/tools/musicmap-synth
SECS=${SOAK_SECONDS:-3600} TRACKS=${TRACKS:-100000} CONN=${CONNECTIONS:-64}
REAL=${REAL_SONGS:-24} SONG_SECS=${SONG_SECONDS:-30} SCAN_SONGS=${SCAN_SONGS:-48} SCAN_JOBS=${SCAN_JOBS:-1}
SLACK_MB=${RSS_SLACK_MB:-32}
for tool in wrk curl; do command -v $tool >/dev/null || { echo "SKIP: $tool missing"; exit 77; }; done
TMP=$(mktemp -d)
SERVER= PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
say() { echo "soak: $*"; }

# --- the catalog: real songs first (ids 1..), tones that need transcoding, then the made-up tracks
say "making $REAL songs of ${SONG_SECS}s, $SCAN_SONGS more to scan during the run, a catalog of $TRACKS tracks"
"$SYNTH" --out "$TMP/music" --count "$REAL" --seconds "$SONG_SECS" --seed 3 >/dev/null 2>&1 || { echo "synth failed"; exit 1; }
"$SYNTH" --out "$TMP/later" --count "$SCAN_SONGS" --seconds 10 --seed 11 >/dev/null 2>&1 || { echo "synth failed"; exit 1; }
# AIFF: browsers can't play it, the server transcodes it to MP3 (ffmpeg makes it, else Python's aifc)
mkdir -p "$TMP/music/aiff"
for f in 220 330 440 550; do
  if command -v ffmpeg >/dev/null; then
    ffmpeg -v error -f lavfi -i "sine=frequency=$f:duration=20" -ac 2 -c:a pcm_s16be "$TMP/music/aiff/tone$f.aiff"
  else
    python3 -W ignore -c "
import aifc, math, struct, sys
w = aifc.open(sys.argv[1], 'wb'); w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)
w.writeframes(b''.join(struct.pack('>hh', v, v) for v in (int(8000 * math.sin(2 * math.pi * $f * i / 44100)) for i in range(20 * 44100))))
w.close()" "$TMP/music/aiff/tone$f.aiff" 2>/dev/null || rm -f "$TMP/music/aiff/tone$f.aiff"
  fi
done
[ "$(ls "$TMP/music/aiff")" ] || rmdir "$TMP/music/aiff"
"$MM" -q scan --db "$TMP/soak.db" --clips 1 "$TMP/music" || { echo "scan failed"; exit 1; }
"$FIXTURE" "$TMP/soak.db" --fake "$TRACKS" >/dev/null || { echo "fixture failed"; exit 1; }

"$MM" serve --db "$TMP/soak.db" --host 0.0.0.0 --port 0 --rate-limit 0 --transcode-dir "$TMP/tc" \
  >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER=$!
for _ in $(seq 100); do grep -q 'http://' "$TMP/serve.out" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$TMP/serve.out" | head -1)
BASE=${URL%%\?*}; BASE=${BASE%/}
TOKEN=${URL##*token=}
[ -n "$URL" ] && [ -n "$TOKEN" ] || { echo "server did not start"; cat "$TMP/serve.out" "$TMP/serve.err"; exit 1; }
AUTH=(-H "Authorization: Bearer $TOKEN")
NREAL=$REAL; [ -d "$TMP/music/aiff" ] && NREAL=$((REAL + $(ls "$TMP/music/aiff" | wc -l)))
NTRACKS=$((NREAL + TRACKS)) # the scanned songs are ids 1..NREAL, the made-up ones follow
AUDIO= TRANSCODE=
for id in $(seq 1 "$NREAL"); do
  if curl -s "${AUTH[@]}" "$BASE/api/tracks/$id" | grep -q '"transcoded": true'; then
    TRANSCODE="$TRANSCODE $id:32768"
  else
    AUDIO="$AUDIO $id:$(curl -s -o /dev/null -w '%{size_download}' "${AUTH[@]}" "$BASE/api/tracks/$id/audio")"
  fi
done
[ -n "$TRANSCODE" ] || TRANSCODE=$AUDIO # no ffmpeg: the transcode share plays the real files too
say "$BASE: $NTRACKS tracks, $(echo $AUDIO | wc -w) with audio files, $(echo $TRANSCODE | wc -w) transcoded"

# --- traffic: connections shared by weight (of 16); each endpoint its own wrk and latency figures
ENDPOINTS="maps:1 points:2 track:4 search:2 similar:2 audio:4 transcode:1"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status" 2>/dev/null; }
echo "0 $(rss)" >"$TMP/rss"
for e in $ENDPOINTS; do
  name=${e%%:*} w=${e##*:}
  c=$((CONN * w / 16)); [ "$c" -ge 1 ] || c=1
  list=$AUDIO; [ "$name" = transcode ] && list=$TRANSCODE
  SOAK_ENDPOINT=$name SOAK_TOKEN=$TOKEN SOAK_TRACKS=$NTRACKS SOAK_AUDIO=$list \
    wrk -t1 -c"$c" -d"${SECS}s" --timeout 10s -s bench/soak.lua "$BASE" >"$TMP/wrk.$name" 2>&1 &
  PIDS+=($!)
  echo "$name $c" >>"$TMP/conns"
done
t0=$(date +%s)
SCAN_AT=$((SECS / 4)) SCAN_PID= scanned=0
while :; do
  sleep 10
  t=$(($(date +%s) - t0))
  echo "$t $(rss)" >>"$TMP/rss"
  if [ "$scanned" = 0 ] && [ "$t" -ge "$SCAN_AT" ]; then
    say "${t}s: scanning $SCAN_SONGS songs into the catalog while it serves"
    "$MM" scan --db "$TMP/soak.db" --clips 1 --jobs "$SCAN_JOBS" "$TMP/later" >"$TMP/scan.out" 2>"$TMP/scan.err" &
    SCAN_PID=$!; scanned=1
  fi
  # a minute's transcodes are dropped from the cache: the next requests transcode again
  [ $((t % 60)) -lt 10 ] && find "$TMP/tc" -type f ! -name '*.tmp' -delete 2>/dev/null
  [ "$t" -ge "$SECS" ] && break
done
fail=0
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
scan_rc=
if [ -n "$SCAN_PID" ]; then wait "$SCAN_PID"; scan_rc=$?; fi

# --- the report
echo
printf '%-10s %5s %9s %8s %8s %9s %9s %9s\n' endpoint conns requests req/s failed p50_ms p99_ms max_ms
total=0
for e in $ENDPOINTS; do
  name=${e%%:*}
  line=$(grep '^SOAK ' "$TMP/wrk.$name")
  [ -n "$line" ] || { echo "$name: no result"; cat "$TMP/wrk.$name"; fail=1; continue; }
  v() { echo "$line" | grep -o " $1=[^ ]*" | cut -d= -f2; }
  failed=$(($(v non2xx) + $(v socket_errors)))
  total=$((total + failed))
  printf '%-10s %5s %9s %8s %8s %9s %9s %9s\n' "$name" "$(awk -v n="$name" '$1 == n {print $2}' "$TMP/conns")" \
    "$(v requests)" "$(v rps)" "$failed" "$(v p50_ms)" "$(v p99_ms)" "$(v max_ms)"
done
echo "failed requests: $total"
[ "$total" = 0 ] || fail=1
echo "RSS (s: MiB): $(awk '{printf "%s: %.0f  ", $1, $2 / 1024}' "$TMP/rss")"
# flat after the first part: the end within 10 % (+ slack) of the sample at a quarter of the run (>= 30 s)
REF=$((SECS / 4 > 30 ? SECS / 4 : 30))
read -r ref_kb end_kb < <(awk -v r="$REF" '$1 >= r && !ref {ref = $2} {last = $2} END {print ref, last}' "$TMP/rss")
if [ -n "${ref_kb:-}" ] && [ "$end_kb" -gt $((ref_kb * 110 / 100 + SLACK_MB * 1024)) ]; then
  echo "RSS grew: $((ref_kb / 1024)) MiB at ${REF}s, $((end_kb / 1024)) MiB at the end"; fail=1
else
  echo "RSS flat after ${REF}s: $((${ref_kb:-0} / 1024)) -> $((${end_kb:-0} / 1024)) MiB"
fi
if [ -z "$scan_rc" ]; then
  echo "scan: not started"; fail=1
else
  echo "scan during the run: exit $scan_rc; $(grep -h '^scan:' "$TMP/scan.err" "$TMP/scan.out" | tail -1)"
  [ "$scan_rc" = 0 ] || { cat "$TMP/scan.err"; fail=1; }
fi
if grep -qi 'locked' "$TMP/scan.err" "$TMP/scan.out" "$TMP/serve.err" 2>/dev/null; then
  echo "\"database is locked\":"; grep -i 'locked' "$TMP/scan.err" "$TMP/scan.out" "$TMP/serve.err"; fail=1
fi
if ! kill -0 "$SERVER" 2>/dev/null; then echo "the server died"; fail=1; fi
[ "$fail" = 0 ] && say "passed" || say "FAILED"
exit "$fail"
