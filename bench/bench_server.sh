#!/usr/bin/env bash
# musicmap serve under load: requests/s for points, a track, search and audio (whole file and 64 KiB
# ranges) with wrk; then the page in headless Chromium (time to first paint, frame rate while panning,
# a map switch) for maps of 10k, 100k and 1M points. Catalogs of made-up tracks (their audio is the
# demo song copied to one path). Figures go to stdout; bench/RESULTS.md keeps them.
# Usage: bench/bench_server.sh [BUILD_DIR]   (SIZES="10000 100000 1000000" WRK_SECONDS=10 CONNECTIONS=32)
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MM=$BUILD/musicmap FIXTURE=$BUILD/tests/make_fixture_map SYNTH=$BUILD/tools/musicmap-synth
SIZES=${SIZES-10000 100000 1000000}
SECS=${WRK_SECONDS:-10} CONN=${CONNECTIONS:-32}
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
command -v wrk >/dev/null || { echo "bench_server: wrk missing (apt-get install wrk)"; exit 1; }
TMP=$(mktemp -d)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
start_server() {
  "$MM" -q serve --db "$1" --port 0 >"$TMP/serve.out" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do grep -q 'http://' "$TMP/serve.out" && break; sleep 0.1; done
  URL=$(grep -o 'http://[^ ]*' "$TMP/serve.out"); URL=${URL%/}
}
stop_server() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=; }
rps() { wrk -t2 -c"$CONN" -d"${SECS}s" "$@" | awk '/Requests\/sec/ {print $2} /Transfer\/sec/ {print $2}' | paste -sd' '; }

# a real catalog for audio: 24 generated songs
"$SYNTH" --out "$TMP/music" --count 24 --seconds 30 --seed 3 >/dev/null 2>&1
"$MM" -q scan --db "$TMP/small.db" "$TMP/music"
"$FIXTURE" "$TMP/small.db" >/dev/null
start_server "$TMP/small.db"
SIZE=$(curl -s -o /dev/null -w '%{size_download}' "$URL/api/tracks/1/audio")
echo "server, $CONN connections, 2 wrk threads, ${SECS}s each (requests/s, transfer/s):"
echo "  audio whole file ($SIZE B):   $(rps "$URL/api/tracks/1/audio")"
echo "  audio 64 KiB range:          $(rps -H 'Range: bytes=65536-131071' "$URL/api/tracks/1/audio")"
echo "  track JSON:                  $(rps "$URL/api/tracks/3")"
echo "  search:                      $(rps "$URL/api/search?q=the")"
stop_server
for n in $SIZES; do
  "$FIXTURE" "$TMP/$n.db" --fake "$n" >/dev/null
  start_server "$TMP/$n.db"
  curl -s -o /dev/null "$URL/api/maps/1/points" # encoded once, then cached
  echo "map of $n points ($(curl -s -o /dev/null -w '%{size_download}' "$URL/api/maps/1/points") B binary):"
  echo "  points binary:               $(rps "$URL/api/maps/1/points")"
  if [ -n "$CHROMIUM" ] && [ -d web/node_modules/playwright-core ]; then
    echo "  page:                        $(MM_WEB_DIR=web CHROMIUM=$CHROMIUM node bench/web/bench_page.mjs "$URL/" 5)"
  fi
  stop_server
  rm -f "$TMP/$n.db"*
done
