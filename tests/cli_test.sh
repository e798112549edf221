#!/usr/bin/env bash
# The musicmap program end to end: exit codes, --help/--version, mel and info on real and bad files.
# Usage: cli_test.sh MUSICMAP REFERENCE_DIR
set -u
MM=$1
REF=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
check() { # description, command...
  local what=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}
status_of() { "$@" >"$TMP/out" 2>"$TMP/err"; echo $?; }

check "--version prints the version" bash -c "'$MM' --version | grep -Eq '^musicmap [0-9]+\.[0-9]+\.[0-9]+$'"
check "--help lists the commands" bash -c "'$MM' --help | grep -q 'mel' && '$MM' --help | grep -q 'info'"
check "no command is a usage error (2)" test "$(status_of "$MM")" = 2
check "unknown command is a usage error (2)" test "$(status_of "$MM" frobnicate)" = 2
check "unknown option is a usage error (2)" test "$(status_of "$MM" mel --bogus -o "$TMP/x" a.wav)" = 2
check "mel without -o is a usage error (2)" test "$(status_of "$MM" mel "$REF/mel/cases/short_2s/input.wav")" = 2
check "bad --pad is a usage error (2)" test "$(status_of "$MM" mel --pad edge -o "$TMP/x" a.wav)" = 2
check "bad --jobs is a usage error (2)" test "$(status_of "$MM" mel -j 0 -o "$TMP/x" a.wav)" = 2
for cmd in mel info; do
  check "$cmd --help exits 0 and shows usage" bash -c "'$MM' $cmd --help | grep -q '^Usage: musicmap $cmd'"
done

# mel: one .npy per input, the right size, and a bad file among good ones fails alone.
printf 'not audio' > "$TMP/bad.mp3"
cp "$REF/mel/cases/sine440_10s/input.wav" "$TMP/sine.wav"
cp "$REF/audio/bensound-cute.mp3" "$TMP/cute.mp3"
rc=$(status_of "$MM" mel -j 2 -o "$TMP/mel" "$TMP/sine.wav" "$TMP/bad.mp3" "$TMP/cute.mp3")
check "mel with one bad file exits 1" test "$rc" = 1
check "the error names the bad file" grep -q "bad.mp3" "$TMP/err"
check "the error is one line" test "$(grep -c bad.mp3 "$TMP/err")" = 1
check "good files are still written" test -f "$TMP/mel/sine.npy" -a -f "$TMP/mel/cute.npy"
check "no output for the bad file" test ! -e "$TMP/mel/bad.npy"
# 128-byte .npy header + 96*1366 float32
check ".npy has the size of 96x1366 float32" test "$(stat -c %s "$TMP/mel/sine.npy")" = $((128 + 96 * 1366 * 4))
check ".npy header says float32 (96, 1366)" bash -c "head -c 128 '$TMP/mel/sine.npy' | grep -aq \"{'descr': '<f4', 'fortran_order': False, 'shape': (96, 1366), }\""
check "--quiet prints nothing on success" bash -c "'$MM' --quiet mel -o '$TMP/q' '$TMP/sine.wav' 2>&1 | wc -c | grep -qx 0"
check "--full-decode works too" "$MM" -q mel -o "$TMP/whole" --full-decode "$TMP/cute.mp3"
# Two inputs with the same name don't overwrite each other.
mkdir -p "$TMP/a" "$TMP/b"; cp "$TMP/sine.wav" "$TMP/a/song.wav"; cp "$TMP/sine.wav" "$TMP/b/song.wav"
"$MM" -q mel -o "$TMP/dup" "$TMP/a/song.wav" "$TMP/b/song.wav"
check "same-named inputs get distinct outputs" test -f "$TMP/dup/song.npy" -a -f "$TMP/dup/song-2.npy"

# info: the fields, text and JSON.
"$MM" info "$REF/mel/cases/chirp_30s_22050_stereo/input.wav" >"$TMP/info.txt"
check "info prints sample rate" grep -q "sample rate: 22050 Hz" "$TMP/info.txt"
check "info prints channels" grep -q "channels:    2" "$TMP/info.txt"
check "info prints duration" grep -q "30.000 s" "$TMP/info.txt"
check "info prints codec" grep -q "codec:       pcm_s16le" "$TMP/info.txt"
"$MM" info --json --exact "$TMP/cute.mp3" >"$TMP/info.json"
check "info --json has the exact frame count" grep -q '"frames": 1378944, "frames_exact": true' "$TMP/info.json"
check "info of a missing file exits 1" test "$(status_of "$MM" info "$TMP/nope.flac")" = 1
check "and names it" grep -q "nope.flac" "$TMP/err"

# import-keras + predict: the original's GTZAN model, its published top labels on the stored spectrograms.
GTZAN=country,jazz,disco,pop,blues,reggae,metal,rock,hiphop,classical
check "import-keras writes a model" "$MM" -q import-keras "$REF/crnn/musicmapz_gtzan_crnn4.h5" --preset crnn4 --labels $GTZAN -o "$TMP/gtzan.mmm"
"$MM" predict -m "$TMP/gtzan.mmm" -k 2 "$REF/audio/bensound-actionable.mel.npy" "$REF/audio/bensound-dubstep.mel.npy" >"$TMP/pred.txt"
check "predict: actionable is rock 0.435, country 0.143" grep -q "actionable.mel.npy: rock 0.435, country 0.143" "$TMP/pred.txt"
check "predict: dubstep is pop 0.444" grep -q "dubstep.mel.npy: pop 0.444" "$TMP/pred.txt"
"$MM" predict -m "$TMP/gtzan.mmm" --json "$REF/audio/bensound-cute.mel.npy" >"$TMP/pred.json"
check "predict --json has labels, output and a 32-d hidden" bash -c "grep -q '\"labels\": \[\"country\", \"jazz\"' '$TMP/pred.json' && test \$(sed 's/.*\"hidden\": \[//' '$TMP/pred.json' | tr ',' '\n' | wc -l) = 32"
check "import-keras: wrong label count fails (1)" test "$(status_of "$MM" import-keras "$REF/crnn/musicmapz_gtzan_crnn4.h5" --preset crnn4 --labels a,b -o "$TMP/x.mmm")" = 1
check "import-keras: unknown preset is usage (2)" test "$(status_of "$MM" import-keras "$REF/crnn/musicmapz_gtzan_crnn4.h5" --preset crnn9 --labels a,b -o "$TMP/x.mmm")" = 2
head -c 1000 "$TMP/gtzan.mmm" > "$TMP/cut.mmm"
check "predict with a truncated model fails (1)" test "$(status_of "$MM" predict -m "$TMP/cut.mmm" "$REF/audio/bensound-cute.mel.npy")" = 1
check "and says it is damaged" grep -q "cut.mmm: damaged model file" "$TMP/err"
check "predict on a bad file fails (1) but does the rest" test "$(status_of "$MM" predict -m "$TMP/gtzan.mmm" "$TMP/bad.mp3" "$REF/audio/bensound-cute.mel.npy")" = 1
check "  ... and printed the good one" grep -q "cute.mel.npy: blues" "$TMP/out"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
