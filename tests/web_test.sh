#!/usr/bin/env bash
# Browser tests of the map page: a fixture catalog (generated songs, scanned, with a fixture model and
# three maps), `musicmap serve` on a free port, then tests/web/map.test.mjs in headless Chromium driven
# by playwright-core. Skips (77) when node, web/node_modules or chromium is missing.
# Usage: web_test.sh MUSICMAP MUSICMAP_SYNTH MAKE_FIXTURE_MAP WEB_DIR
set -u
MM=$1 SYNTH=$2 FIXTURE=$3 WEB=$4
HERE=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "SKIP: node not found"; exit 77; }
[ -f "$WEB/node_modules/playwright-core/package.json" ] || { echo "SKIP: $WEB/node_modules (npm ci) missing"; exit 77; }
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "SKIP: chromium not found (apt-get install chromium)"; exit 77; }
"$MM" serve --help >/dev/null || exit 1
TMP=$(mktemp -d)
ART=${MM_ARTIFACT_DIR:-$PWD/artifacts}
mkdir -p "$ART"
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
"$SYNTH" --out "$TMP/music" --count 24 --seconds 8 --rate 22050 --seed 3 >/dev/null 2>&1 || { echo "synth failed"; exit 1; }
"$MM" -q scan --db "$TMP/lib.db" "$TMP/music" || { echo "scan failed"; exit 1; }
"$FIXTURE" "$TMP/lib.db" >/dev/null || { echo "fixture failed"; exit 1; }
N=$("$MM" status --db "$TMP/lib.db" --json | sed -n 's/.*"tracks": {"total": [0-9]*, "ok": \([0-9]*\).*/\1/p')
"$MM" serve --db "$TMP/lib.db" --port 0 >"$TMP/serve.out" 2>&1 &
SERVER=$!
for _ in $(seq 50); do grep -q 'http://' "$TMP/serve.out" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$TMP/serve.out")
[ -n "$URL" ] || { echo "server did not start"; cat "$TMP/serve.out"; exit 1; }
MM_WEB_DIR="$WEB" CHROMIUM="$CHROMIUM" node "$HERE/web/map.test.mjs" "$URL" "$N" "$ART"
