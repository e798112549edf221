#!/usr/bin/env bash
# The musicmap program end to end: exit codes, --help/--version, mel and info on files it makes (a WAV and
# an mp3 from musicmap-synth) and on bad files. The checks against ../shared/reference (the original's
# model and spectrograms) are in cli_reference_test.sh.
# Usage: cli_test.sh MUSICMAP MUSICMAP_SYNTH
set -u
MM=$1
SYNTH=$2
. "$(dirname "$0")/testlib.sh"

"$SYNTH" --out "$TMP/made" --count 2 --seconds 30 --rate 22050 --genres blues --formats wav,mp3 --seed 1 >/dev/null 2>&1 ||
  { echo "FAIL: musicmap-synth"; exit 1; }
cp "$TMP"/made/*.wav "$TMP/made_wav.wav"
cp "$TMP"/made/*.mp3 "$TMP/made_mp3.mp3"

check "--version prints the version" bash -c "'$MM' --version | grep -Eq '^musicmap [0-9]+\.[0-9]+\.[0-9]+$'"
check "--help lists the commands" bash -c "'$MM' --help | grep -q 'mel' && '$MM' --help | grep -q 'info'"
check "no command is a usage error (2)" test "$(status_of "$MM")" = 2
check "unknown command is a usage error (2)" test "$(status_of "$MM" frobnicate)" = 2
check "unknown option is a usage error (2)" test "$(status_of "$MM" mel --bogus -o "$TMP/x" a.wav)" = 2
check "mel without -o is a usage error (2)" test "$(status_of "$MM" mel "$TMP/made_wav.wav")" = 2
check "bad --pad is a usage error (2)" test "$(status_of "$MM" mel --pad edge -o "$TMP/x" a.wav)" = 2
check "bad --jobs is a usage error (2)" test "$(status_of "$MM" mel -j 0 -o "$TMP/x" a.wav)" = 2
for cmd in mel info; do
  check "$cmd --help exits 0 and shows usage" bash -c "'$MM' $cmd --help | grep -q '^Usage: musicmap $cmd'"
done

# mel: one .npy per input, the right size, and a bad file among good ones fails alone.
printf 'not audio' > "$TMP/bad.mp3"
rc=$(status_of "$MM" mel -j 2 -o "$TMP/mel" "$TMP/made_wav.wav" "$TMP/bad.mp3" "$TMP/made_mp3.mp3")
check "mel with one bad file exits 1" test "$rc" = 1
check "the error names the bad file" grep -q "bad.mp3" "$TMP/err"
check "the error is one line" test "$(grep -c bad.mp3 "$TMP/err")" = 1
check "good files are still written" test -f "$TMP/mel/made_wav.npy" -a -f "$TMP/mel/made_mp3.npy"
check "no output for the bad file" test ! -e "$TMP/mel/bad.npy"
# 128-byte .npy header + 96*1366 float32
check ".npy has the size of 96x1366 float32" test "$(stat -c %s "$TMP/mel/made_wav.npy")" = $((128 + 96 * 1366 * 4))
check ".npy header says float32 (96, 1366)" bash -c "head -c 128 '$TMP/mel/made_wav.npy' | grep -aq \"{'descr': '<f4', 'fortran_order': False, 'shape': (96, 1366), }\""
check "--quiet prints nothing on success" bash -c "'$MM' --quiet mel -o '$TMP/q' '$TMP/made_wav.wav' 2>&1 | wc -c | grep -qx 0"
check "--full-decode works too" "$MM" -q mel -o "$TMP/whole" --full-decode "$TMP/made_mp3.mp3"
# Two inputs with the same name don't overwrite each other.
mkdir -p "$TMP/a" "$TMP/b"; cp "$TMP/made_wav.wav" "$TMP/a/song.wav"; cp "$TMP/made_wav.wav" "$TMP/b/song.wav"
"$MM" -q mel -o "$TMP/dup" "$TMP/a/song.wav" "$TMP/b/song.wav"
check "same-named inputs get distinct outputs" test -f "$TMP/dup/song.npy" -a -f "$TMP/dup/song-2.npy"

# info: the fields, text and JSON.
"$MM" info "$TMP/made_wav.wav" >"$TMP/info.txt"
check "info prints sample rate" grep -q "sample rate: 22050 Hz" "$TMP/info.txt"
check "info prints channels" grep -q "channels:    2" "$TMP/info.txt"
check "info prints duration" grep -q "30.000 s" "$TMP/info.txt"
check "info prints codec" grep -q "codec:       pcm_s16le" "$TMP/info.txt"
check "info prints the genre tag" grep -q "genre        blues" "$TMP/info.txt"
"$MM" info --json --exact "$TMP/made_mp3.mp3" >"$TMP/info.json"
check "info --json --exact counts the mp3's frames" grep -q '"frames_exact": true' "$TMP/info.json"
frames=$(sed -n 's/.*"frames": \([0-9]*\).*/\1/p' "$TMP/info.json")
check "  ... about 30 s of them (${frames:-none})" test "${frames:-0}" -ge 661500 -a "${frames:-0}" -le 663705
check "info of a missing file exits 1" test "$(status_of "$MM" info "$TMP/nope.flac")" = 1
check "and names it" grep -q "nope.flac" "$TMP/err"

# predict: a model the program can't read is refused with the file named
head -c 1000 /dev/urandom > "$TMP/cut.mmm"
check "predict with a damaged model fails (1)" test "$(status_of "$MM" predict -m "$TMP/cut.mmm" "$TMP/mel/made_wav.npy")" = 1
check "and names it" grep -q "cut.mmm" "$TMP/err"

finish cli
