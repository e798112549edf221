#!/usr/bin/env bash
# Browser tests of the map page: a fixture catalog (generated songs, scanned, with a fixture model and
# three maps), `musicmap serve` on a free port, then tests/web/map.test.mjs in headless Chromium driven
# by playwright-core; then tests/web/firefox.test.mjs in Firefox (firefox-esr under xvfb-run, with a
# private PulseAudio null sink, driven over WebDriver BiDi by puppeteer-core). Skips (77) when node,
# web/node_modules or chromium is missing; says so when the Firefox tools are.
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
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null
    [ -f "$TMP/run/pulse/pid" ] && kill "$(cat "$TMP/run/pulse/pid")" 2>/dev/null # ours only
    wait 2>/dev/null
    rm -rf "$TMP"
}
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
rc=$?
# the same page in Firefox (Debian's firefox-esr, over WebDriver BiDi)
FIREFOX=${FIREFOX:-$(command -v firefox-esr || command -v firefox || true)}
if [ -z "$FIREFOX" ]; then
    echo "NOTE: firefox not found (apt-get install firefox-esr): the Firefox checks did not run"
elif [ ! -f "$WEB/node_modules/puppeteer-core/package.json" ]; then
    echo "NOTE: $WEB/node_modules/puppeteer-core missing: the Firefox checks did not run"
elif ! command -v xvfb-run >/dev/null; then
    echo "NOTE: xvfb-run not found (apt-get install xvfb): headless Firefox has no WebGL, the Firefox checks did not run"
elif ! command -v pulseaudio >/dev/null; then
    echo "NOTE: pulseaudio not found (apt-get install pulseaudio): Firefox needs a sound server, the Firefox checks did not run"
else
    # Firefox starts Web Audio only with a sound device: a private PulseAudio with a null sink
    export XDG_RUNTIME_DIR="$TMP/run"
    mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
    HOME="$TMP" pulseaudio --daemonize=yes -n --exit-idle-time=-1 --load=module-null-sink \
        --load=module-native-protocol-unix --log-target=stderr 2>/dev/null || echo "NOTE: pulseaudio did not start"
    HOME="$TMP" MM_WEB_DIR="$WEB" FIREFOX="$FIREFOX" xvfb-run -a -s "-screen 0 1280x1024x24" \
        node "$HERE/web/firefox.test.mjs" "$URL" "$N" "$ART" || rc=1
fi
exit $rc
