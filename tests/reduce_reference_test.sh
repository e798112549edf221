#!/usr/bin/env bash
# musicmap reduce on the original's 970-song GTZAN vectors (../shared/reference/layout): quality figures
# close to the original's. Skips (77) when the reference folder is missing; fails then under CI=true.
# Usage: reduce_reference_test.sh MUSICMAP REFERENCE_DIR
set -u
MM=$1
. "$(dirname "$0")/testlib.sh"
require_reference "$2" "gtzan970 layout"
REF=$2/layout

for m in pca tsne umap; do
  rc=$(status_of "$MM" reduce --in "$REF/gtzan970_softmax.npy" --labels "$REF/gtzan970_labels.npy" --method $m --out "$TMP/$m.npy" -j 2)
  check "$m on gtzan970 exits 0" test "$rc" = 0
  check "$m prints the quality" grep -q "trustworthiness@10 0\.9" "$TMP/out"
  check "$m prints the label agreement" grep -q "label agreement 0\.[6-9]" "$TMP/out"
  # 128-byte header + 970 x 2 float32
  check "$m writes 970 x 2 float32" test "$(stat -c %s "$TMP/$m.npy")" = $((128 + 970 * 2 * 4))
  check "$m .npy header" bash -c "head -c 128 '$TMP/$m.npy' | grep -aq \"'shape': (970, 2)\""
done

finish reduce_reference
