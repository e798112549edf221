#!/usr/bin/env bash
# musicmap mpd against a real MPD started here (private port, folders and the null output): the queued
# songs are the playlist `musicmap similar|mix|radio` prints, in order, with MPD's music directory found
# by looking a song up in its database; `follow --once` tops the queue up from the song playing without
# queuing a song twice; and MPD loads the M3U files musicmap writes. Skips (77) without mpd.
# Usage: playlist_mpd_test.sh MUSICMAP MUSICMAP_SYNTH
set -u
MM=$1
SYNTH=$2
command -v mpd >/dev/null || { echo "SKIP: no mpd binary"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
. "$(dirname "$0")/testlib.sh"

"$SYNTH" --out "$TMP/music/library" --count 16 --seconds 12 --genres blues,classical,metal,jazz --formats mp3,flac,ogg \
  --seed 5 >/dev/null 2>&1 || { echo "FAIL: musicmap-synth"; exit 1; }
"$MM" -q scan --db "$TMP/lib.db" --clips 1 "$TMP/music" || { echo "FAIL: scan"; exit 1; }
DB=(--db "$TMP/lib.db")

# a free port: one the kernel gives, then released for mpd
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
mkdir -p "$TMP/playlists"
cat >"$TMP/mpd.conf" <<EOF
music_directory "$TMP/music"
playlist_directory "$TMP/playlists"
db_file "$TMP/mpd.db"
log_file "$TMP/mpd.log"
pid_file "$TMP/mpd.pid"
bind_to_address "127.0.0.1"
port "$PORT"
auto_update "no"
audio_output {
  type "null"
  name "null"
}
EOF
mpd --no-daemon "$TMP/mpd.conf" >/dev/null 2>&1 &
MPD=$!
trap 'kill $MPD 2>/dev/null; wait $MPD 2>/dev/null; rm -rf "$TMP"' EXIT

# MPD's protocol, one command per call: prints the response's lines (without OK)
cat >"$TMP/mpc.py" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rwb")
f.readline()
for cmd in sys.argv[2:]:
    f.write(cmd.encode() + b"\n"); f.flush()
    while True:
        line = f.readline().decode().rstrip("\n")
        if line == "OK": break
        if line.startswith("ACK"): print(line); sys.exit(1)
        print(line)
EOF
mpc() { python3 "$TMP/mpc.py" "$PORT" "$@"; }
for _ in $(seq 100); do mpc ping >/dev/null 2>&1 && break; sleep 0.1; done
mpc update >/dev/null
for _ in $(seq 100); do mpc status | grep -q updating_db || break; sleep 0.1; done
check "mpd's database has the 16 songs" test "$(mpc "listall" | grep -c '^file:')" = 16

queue() { mpc playlistinfo | sed -n 's/^file: //p'; }
expected() { python3 -c "
import json; root='$TMP/music/'
for s in json.load(open('$TMP/want.json'))['songs']: print(s['path'][len(root):])"; }
MPDARGS=(--host 127.0.0.1 --port "$PORT")

"$MM" -q similar "${DB[@]}" -n 6 --json 1 >"$TMP/want.json"
check "mpd similar: exit 0" test "$(status_of "$MM" mpd similar "${DB[@]}" "${MPDARGS[@]}" -n 6 --clear 1)" = 0
check "mpd similar: the queue is the playlist, in order" diff <(queue) <(expected)
check "mpd similar: it found MPD's music directory" grep -q "music directory is $TMP/music" "$TMP/err"

"$MM" -q mix "${DB[@]}" -n 6 --json 1 2 >"$TMP/want.json"
check "mpd mix --clear: exit 0" test "$(status_of "$MM" mpd mix "${DB[@]}" "${MPDARGS[@]}" -n 6 --clear 1 2)" = 0
check "mpd mix: the queue is the playlist" diff <(queue) <(expected)

"$MM" -q radio "${DB[@]}" -n 5 --seed 3 --with-seeds --json 4 >"$TMP/want.json"
check "mpd radio: exit 0" test "$(status_of "$MM" mpd radio "${DB[@]}" "${MPDARGS[@]}" -n 5 --seed 3 --with-seeds \
  --mpd-root "$TMP/music" --clear 4)" = 0
check "mpd radio: the queue is the playlist" diff <(queue) <(expected)

# follow: the song playing and 4 after it, none twice
mpc clear >/dev/null
FIRST=$(python3 -c "import json; print(json.load(open('$TMP/want.json'))['songs'][0]['path'][len('$TMP/music/'):])")
mpc "add \"$FIRST\"" "play 0" "pause 1" >/dev/null
check "mpd follow --once: exit 0" test "$(status_of "$MM" mpd follow "${DB[@]}" "${MPDARGS[@]}" --keep 4 --once)" = 0
check "follow: the queue is topped up to the song and 4 more" test "$(queue | wc -l)" = 5
check "follow: no song twice" test "$(queue | sort -u | wc -l)" = 5
check "follow: a second top-up adds nothing while 4 are left" bash -c \
  "'$MM' -q mpd follow ${DB[*]} --host 127.0.0.1 --port $PORT --keep 4 --once && test \$(python3 '$TMP/mpc.py' $PORT playlistinfo | grep -c '^file:') = 5"

# MPD reads the playlists musicmap writes (absolute paths under its music directory, UTF-8)
# (a stored playlist, .m3u in its playlist folder; and a .m3u8 among the music, paths relative to it)
"$MM" -q journey "${DB[@]}" --steps 5 --m3u "$TMP/playlists/way.m3u" 3 7 >/dev/null
mpc clear "load way" >/dev/null
check "mpd loads the stored .m3u: the journey's 5" test "$(queue | wc -l)" = 5
mkdir -p "$TMP/music/lists"
"$MM" -q similar "${DB[@]}" -n 5 --relative --m3u8 "$TMP/music/lists/near.m3u8" --json 3 >"$TMP/want.json"
mpc clear "load lists/near.m3u8" >/dev/null
check "mpd loads the relative .m3u8: the playlist" diff <(queue) <(expected)

check "mpd without a subcommand: usage (2)" test "$(status_of "$MM" mpd)" = 2
check "mpd follow with a song: usage (2)" test "$(status_of "$MM" mpd follow "${DB[@]}" 1)" = 2
check "mpd on a closed port: failure (1)" test "$(status_of "$MM" mpd similar "${DB[@]}" --host 127.0.0.1 --port 1 1)" = 1

finish playlist_mpd
