#!/usr/bin/env bash
# The musicmap program against ../shared/reference: info and mel on librosa's test signals and the
# original's mp3s, import-keras + predict with the original's GTZAN model (its published top labels).
# Skips (77) when the reference folder is missing; fails then under CI=true.
# Usage: cli_reference_test.sh MUSICMAP REFERENCE_DIR
set -u
MM=$1
REF=$2
. "$(dirname "$0")/testlib.sh"
require_reference "$REF" "import-keras, predict and info"

"$MM" info "$REF/mel/cases/chirp_30s_22050_stereo/input.wav" >"$TMP/info.txt"
check "info prints sample rate" grep -q "sample rate: 22050 Hz" "$TMP/info.txt"
check "info prints duration" grep -q "30.000 s" "$TMP/info.txt"
cp "$REF/audio/bensound-cute.mp3" "$TMP/cute.mp3"
"$MM" info --json --exact "$TMP/cute.mp3" >"$TMP/info.json"
check "info --json has the exact frame count" grep -q '"frames": 1378944, "frames_exact": true' "$TMP/info.json"
check "mel of a reference mp3" "$MM" -q mel -o "$TMP/mel" "$TMP/cute.mp3"

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
printf 'not audio' > "$TMP/bad.mp3"
check "predict on a bad file fails (1) but does the rest" test "$(status_of "$MM" predict -m "$TMP/gtzan.mmm" "$TMP/bad.mp3" "$REF/audio/bensound-cute.mel.npy")" = 1
check "  ... and printed the good one" grep -q "cute.mel.npy: blues" "$TMP/out"

finish cli_reference
