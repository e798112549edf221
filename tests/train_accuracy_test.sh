#!/usr/bin/env bash
# The network learns generated genres: 4 genres x 25 songs of 30 s (musicmap-synth), the small preset,
# 25 epochs; the held-out test accuracy must clear a bound far above chance, and the model's output
# vectors must group the genres better than the raw spectrograms do (the original's Figure 2 vs 3).
# Measured when written: test accuracy 0.80 (chance 0.25); 10-NN genre agreement of a PCA map 0.89 for
# the softmax vectors against 0.67 for the spectrograms. The full figures (crnn4, 10 genres, 1000 songs)
# are bench figures, in bench/RESULTS.md.
# Usage: train_accuracy_test.sh MUSICMAP MUSICMAP_SYNTH
set -u
MM=$(realpath "$1")
SYNTH=$(realpath "$2")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
"$SYNTH" --out "$TMP/music" --count 100 --genres classical,hiphop,jazz,metal --seconds 30 --rate 16000 --mono \
  --formats wav --seed 11 >/dev/null || { echo "FAIL: synth"; exit 1; }
"$MM" -q scan --db "$TMP/lib.db" "$TMP/music" || { echo "FAIL: scan"; exit 1; }
"$MM" train --db "$TMP/lib.db" --preset small --epochs 25 --patience 0 --batch 8 --lr 0.003 --min-count 5 \
  >"$TMP/train.out" 2>"$TMP/train.err" || { echo "FAIL: train"; cat "$TMP/train.err"; exit 1; }
cat "$TMP/train.out"
# the results table: model dataset... epochs train val test
test_acc=$(awk '$1 == "small" && $2 == "tags" { print $NF }' "$TMP/train.out")
echo "test accuracy: ${test_acc:-none} (bound 0.70, chance 0.25)"
awk -v a="${test_acc:-0}" 'BEGIN { exit !(a >= 0.70) }' || { echo "FAIL: test accuracy ${test_acc:-none} < 0.70"; fail=1; }

"$MM" -q embed --db "$TMP/lib.db" || { echo "FAIL: embed"; exit 1; }
agreement() { "$MM" map --db "$TMP/lib.db" --method pca --features "$1" 2>&1 | sed -n 's/.*genre agreement (k=10) \([0-9.]*\).*/\1/p' | tail -1; }
soft=$(agreement softmax)
mel=$(agreement mel)
echo "10-NN genre agreement (PCA map): softmax ${soft:-none}, raw spectrograms ${mel:-none}"
awk -v s="${soft:-0}" -v m="${mel:-1}" 'BEGIN { exit !(s >= m + 0.1) }' ||
  { echo "FAIL: the learned vectors do not group genres clearly better than the spectrograms"; fail=1; }
[ "$fail" = 0 ] && echo "train_accuracy: passed"
exit $fail
