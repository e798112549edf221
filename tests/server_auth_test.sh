#!/usr/bin/env bash
# musicmap serve beyond loopback, over real HTTP: the access token (401 without or with a wrong one, 200
# with Bearer or ?token, the token file 0600 and reused), --no-auth, loopback's Host check, TLS (when
# openssl is here to make a certificate), playlists' links to the audio (with the token), the per-address rate limit (429 + Retry-After), CORS closed,
# and the security headers on every kind of response. Binds 0.0.0.0 and talks to 127.0.0.1: the bound
# address is not loopback, so the token is required. Skips (77) without curl.
# Usage: server_auth_test.sh MUSICMAP MUSICMAP_SYNTH MAKE_FIXTURE_MAP
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

"$SYNTH" --out "$TMP/music" --count 6 --seconds 4 --rate 22050 --seed 5 >/dev/null 2>&1 || { echo "synth failed"; exit 1; }
"$MM" -q scan --db "$TMP/lib.db" --clips 1 "$TMP/music" || { echo "scan failed"; exit 1; }
"$FIXTURE" "$TMP/lib.db" >/dev/null || { echo "fixture failed"; exit 1; }

# start ARGS...: serves in the background; sets URL (the first printed, token and all), BASE (without
# the query) and TOKEN; 1 when it did not start
start() {
  "$MM" serve --db "$TMP/lib.db" --port 0 --threads 2 "$@" >"$TMP/serve.out" 2>"$TMP/serve.err" &
  SERVER=$!
  for _ in $(seq 100); do grep -q '://' "$TMP/serve.out" && break; kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
  URL=$(grep -o 'https\?://[^ ]*' "$TMP/serve.out" | head -1)
  BASE=${URL%%\?*}; BASE=${BASE%/}
  TOKEN=$(echo "$URL" | sed -n 's/.*?token=\([A-Za-z0-9._~-]*\).*/\1/p')
  [ -n "$URL" ]
}
stop() { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; SERVER=; }
code() { curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' "$@"; }
header() { grep -i "^$1:" "$TMP/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
secure() { # the security headers of the last response
  [ "$(header x-content-type-options)" = nosniff ] && [ "$(header referrer-policy)" = no-referrer ] &&
    [ "$(header x-frame-options)" = DENY ] && header content-security-policy | grep -q "frame-ancestors 'none'"
}

# --- the token
start --host 0.0.0.0 || { echo "server did not start"; cat "$TMP/serve.out" "$TMP/serve.err"; exit 1; }
check "the URL carries a 256-bit token" bash -c "[ ${#TOKEN} = 64 ] && echo '$URL' | grep -q '^http://127.0.0.1:[0-9]*/?token='"
check "token file beside the catalog" test -f "$TMP/lib.db.token"
check "token file mode 0600" test "$(stat -c %a "$TMP/lib.db.token")" = 600
check "token file holds the token" test "$(cat "$TMP/lib.db.token")" = "$TOKEN"
check "no token: 401" test "$(code "$BASE/api/maps")" = 401
check "401: no body" test ! -s "$TMP/body"
check "401: WWW-Authenticate" test "$(header www-authenticate)" = Bearer
check "401: security headers" secure
check "wrong Bearer: 401" test "$(code -H "Authorization: Bearer ${TOKEN%?}x" "$BASE/api/maps")" = 401
check "wrong ?token: 401" test "$(code "$BASE/api/maps?token=nope")" = 401
check "a prefix of the token: 401" test "$(code "$BASE/api/maps?token=${TOKEN:0:32}")" = 401
check "the token plus more: 401" test "$(code "$BASE/api/maps?token=${TOKEN}0")" = 401
check "another scheme: 401" test "$(code -H "Authorization: Basic $TOKEN" "$BASE/api/maps")" = 401
check "audio without token: 401" test "$(code "$BASE/api/tracks/1/audio")" = 401
check "Bearer: 200" test "$(code -H "Authorization: Bearer $TOKEN" "$BASE/api/maps")" = 200
check "  ... the maps" grep -q '"fixture-pca"' "$TMP/body"
check "?token: 200" test "$(code "$BASE/api/tracks/1?token=$TOKEN")" = 200
check "audio with ?token: 200" test "$(code "$BASE/api/tracks/1/audio?token=$TOKEN")" = 200
check "audio range with ?token: 206" test "$(code -H 'Range: bytes=0-9' "$BASE/api/tracks/1/audio?token=$TOKEN")" = 206
check "the page itself needs no token (it holds no data)" test "$(code "$BASE/")" = 200
check "beyond loopback, any Host (with the token)" test "$(code -H 'Host: music.example' -H "Authorization: Bearer $TOKEN" "$BASE/api/maps")" = 200
# a playlist for a player on another machine: links to the audio, at the address the client used, with
# the token (the player has no other way to send it), and each link plays
PORT=${BASE##*:}
check "playlist links: 200" test "$(code -H "Host: music.example:$PORT" -H "Authorization: Bearer $TOKEN" \
  "$BASE/api/playlist?kind=similar&seed=1&n=3&format=m3u8&links=1")" = 200
check "  ... one link per song, at the Host asked, with the token" bash -c "[ \$(grep -c '^#EXTINF:' '$TMP/body') = 3 ] &&
  [ \$(grep -v '^#' '$TMP/body' | grep -cx 'http://music\.example:$PORT/api/tracks/[0-9]*/audio?token=$TOKEN') = 3 ]"
check "  ... and kept out of caches (the token is in it)" test "$(header cache-control)" = no-store
LINK=$(grep -v '^#' "$TMP/body" | head -1 | sed "s|^http://music\.example:$PORT|$BASE|")
check "  ... and a link plays" test "$(code "$LINK")" = 200
check "  ... as audio" bash -c "header() { grep -i \"^\$1:\" '$TMP/headers' | head -1; }; header content-type | grep -qi 'audio/'"
check "playlist links from a Host that is no host: 400" test "$(code -H 'Host: evil.example/x?' -H "Authorization: Bearer $TOKEN" \
  "$BASE/api/playlist?kind=similar&seed=1&n=3&format=m3u8&links=1")" = 400

# --- security headers on every kind of response; CORS closed
A=(-H "Authorization: Bearer $TOKEN")
code "$BASE/" >/dev/null
check "page: security headers" secure
check "page: its own CSP, no inline script" bash -c "grep -qi \"^content-security-policy: default-src 'self'\" '$TMP/headers' && ! grep -qi 'unsafe-inline.*script\|script-src' '$TMP/headers' && ! grep -q '<script>' '$TMP/body'"
code "$BASE/app.js" >/dev/null; check "script: security headers" secure
code "${A[@]}" "$BASE/api/maps" >/dev/null; check "API JSON: security headers" secure
code "${A[@]}" "$BASE/api/maps/1/points" >/dev/null; check "points: security headers" secure
ETAG=$(header etag)
check "304: 304" test "$(code "${A[@]}" -H "If-None-Match: $ETAG" "$BASE/api/maps/1/points")" = 304
check "304: security headers" secure
code "${A[@]}" "$BASE/api/tracks/1/audio" >/dev/null; check "audio: security headers" secure
code "${A[@]}" -H 'Range: bytes=999999999-' "$BASE/api/tracks/1/audio" >/dev/null; check "416: security headers" secure
check "404: 404" test "$(code "${A[@]}" "$BASE/api/tracks/99999")" = 404
check "404: security headers" secure
check "400: 400" test "$(code "${A[@]}" "$BASE/api/tracks/abc")" = 400
check "400: security headers" secure
check "Origin gets no Access-Control-Allow-Origin" bash -c "[ \$(curl -s -o /dev/null -D - -H 'Origin: http://evil.example' -H 'Authorization: Bearer $TOKEN' -w '%{http_code}' '$BASE/api/maps' | grep -ci '^access-control-') = 0 ]"
check "a preflight OPTIONS is refused" test "$(code -X OPTIONS -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: authorization' "$BASE/api/maps")" = 405
check "  ... with no CORS headers" bash -c "! grep -qi '^access-control-' '$TMP/headers'"
check "405: security headers" secure
stop

# --- the token is kept: a restart prints the same one; a file others can read is refused
OLD=$TOKEN
start --host 0.0.0.0 || echo "FAIL: restart"
check "restart: the same token" test "$TOKEN" = "$OLD"
check "restart: still 0600" test "$(stat -c %a "$TMP/lib.db.token")" = 600
stop
chmod 644 "$TMP/lib.db.token"
"$MM" serve --db "$TMP/lib.db" --port 0 --host 0.0.0.0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER=$!
sleep 0.1; for _ in $(seq 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
wait "$SERVER"; rc=$?; SERVER=
check "a token file others can read is refused (exit 1)" test "$rc" = 1
check "  ... saying why" grep -q 'others may read it' "$TMP/serve.err"
chmod 600 "$TMP/lib.db.token"

# --- --no-auth: a warning, then open
start --host 0.0.0.0 --no-auth || echo "FAIL: --no-auth did not start"
check "--no-auth warns" grep -q 'without an access token' "$TMP/serve.err"
check "--no-auth: no token in the URL" test -z "$TOKEN"
check "--no-auth: the API without a token" test "$(code "$BASE/api/maps")" = 200
stop
check "--tls-key without --tls-cert is a usage error" test "$("$MM" serve --tls-key x >/dev/null 2>&1; echo $?)" = 2

# --- loopback: no token, the Host check as before
start || echo "FAIL: loopback did not start"
check "loopback: no token needed" test "$(code "$BASE/api/maps")" = 200
check "loopback: no token in the URL" test -z "$TOKEN"
check "loopback: a foreign Host is 421" test "$(code -H 'Host: evil.example' "$BASE/api/maps")" = 421
check "421: security headers" secure
stop

# --- rate limit: 5 requests/s, bursts of 10
start --host 0.0.0.0 --rate-limit 5 || echo "FAIL: rate-limited server did not start"
urls=(); for _ in $(seq 30); do urls+=(-o /dev/null "$BASE/api/maps?token=$TOKEN"); done # one curl: fast
curl -s -w '%{http_code}\n' "${urls[@]}" >"$TMP/codes"
check "a burst: the first requests pass" test "$(head -5 "$TMP/codes" | grep -c '^200$')" = 5
check "a burst beyond the limit gets 429" grep -q '^429$' "$TMP/codes"
check "429: Retry-After" bash -c "[ \"\$(curl -s -o /dev/null -D - '$BASE/api/maps?token=$TOKEN' | grep -i '^retry-after:' | tr -dc 0-9)\" -ge 1 ]"
code "$BASE/api/maps?token=$TOKEN" >/dev/null; check "429: security headers" secure
sleep 1.3
check "after a pause, served again" test "$(code "$BASE/api/maps?token=$TOKEN")" = 200
stop

# --- TLS, with a self-signed certificate
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
    -subj /CN=localhost >/dev/null 2>&1
  start --host 0.0.0.0 --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" || { echo "FAIL: TLS server did not start"; cat "$TMP/serve.err"; }
  check "TLS: the URL is https" bash -c "echo '$URL' | grep -q '^https://127.0.0.1:[0-9]*/?token=$OLD'"
  check "TLS: curl -k gets 200" test "$(code -k -H "Authorization: Bearer $TOKEN" "$BASE/api/maps")" = 200
  check "TLS: the page over https" test "$(code -k "$BASE/")" = 200
  check "TLS: audio over https" test "$(code -k "$BASE/api/tracks/1/audio?token=$TOKEN")" = 200
  check "TLS: the certificate is checked without -k" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$BASE/') = 000 ]"
  check "TLS: 401 without the token" test "$(code -k "$BASE/api/maps")" = 401
  check "TLS: plain HTTP is not answered" bash -c "[ \$(curl -s -m 5 -o /dev/null -w '%{http_code}' 'http://${BASE#https://}/api/maps') != 200 ]"
  stop
  check "TLS: a missing key file fails to start" test "$("$MM" serve --db "$TMP/lib.db" --port 0 --tls-cert "$TMP/cert.pem" --tls-key "$TMP/none.pem" >/dev/null 2>&1; echo $?)" = 1
else
  echo "note: openssl missing, TLS not tested"
fi

echo "server_auth: $pass passed, $fail failed"
[ "$fail" = 0 ]
