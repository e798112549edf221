#!/usr/bin/env bash
# musicmap reduce end to end: exit codes, --help, the three methods on Gaussian blobs the test makes
# (make_blobs: 600 points, 16-d, 6 clusters), bad input. The original's 970-song vectors are in
# reduce_reference_test.sh.
# Usage: reduce_test.sh MUSICMAP MAKE_BLOBS
set -u
MM=$1
BLOBS=$2
. "$(dirname "$0")/testlib.sh"

"$BLOBS" "$TMP/x.npy" "$TMP/lab.npy" 600 16 6 5 || { echo "FAIL: make_blobs"; exit 1; }

check "reduce --help exits 0 and shows usage" bash -c "'$MM' reduce --help | grep -q '^Usage: musicmap reduce'"
check "--help lists reduce" bash -c "'$MM' --help | grep -q reduce"
check "missing --in is a usage error (2)" test "$(status_of "$MM" reduce --out "$TMP/y.npy")" = 2
check "bad --method is a usage error (2)" test "$(status_of "$MM" reduce --in x.npy --out y.npy --method mds)" = 2
check "bad --dims is a usage error (2)" test "$(status_of "$MM" reduce --in x.npy --out y.npy --dims 4)" = 2
check "bad --metric is a usage error (2)" test "$(status_of "$MM" reduce --in x.npy --out y.npy --metric manhattan)" = 2
check "missing input exits 1" test "$(status_of "$MM" reduce --in "$TMP/nope.npy" --out "$TMP/y.npy")" = 1
check "and names it" grep -q "nope.npy" "$TMP/err"
printf 'not a numpy file' >"$TMP/bad.npy"
check "a damaged input exits 1" test "$(status_of "$MM" reduce --in "$TMP/bad.npy" --out "$TMP/y.npy")" = 1
check "and names it" grep -q "bad.npy" "$TMP/err"

for m in pca tsne umap; do
  rc=$(status_of "$MM" reduce --in "$TMP/x.npy" --labels "$TMP/lab.npy" --method $m --out "$TMP/$m.npy" -j 2)
  check "$m on blobs exits 0" test "$rc" = 0
  check "$m prints the quality" grep -q "trustworthiness@10 0\.9" "$TMP/out"
  check "$m keeps the blobs apart (label agreement >= 0.9)" grep -Eq "label agreement (0\.9|1\.0)" "$TMP/out"
  # 128-byte header + 600 x 2 float32
  check "$m writes 600 x 2 float32" test "$(stat -c %s "$TMP/$m.npy")" = $((128 + 600 * 2 * 4))
  check "$m .npy header" bash -c "head -c 128 '$TMP/$m.npy' | grep -aq \"'shape': (600, 2)\""
done
check "3-D output" "$MM" -q reduce --in "$TMP/x.npy" --method umap --dims 3 --metric correlation --out "$TMP/u3.npy"
check "3-D shape" bash -c "head -c 128 '$TMP/u3.npy' | grep -aq \"'shape': (600, 3)\""
check "same seed, same bytes" bash -c "'$MM' -q reduce --in '$TMP/x.npy' --method umap --seed 3 --out '$TMP/a.npy' && '$MM' -q reduce --in '$TMP/x.npy' --method umap --seed 3 --out '$TMP/b.npy' && cmp -s '$TMP/a.npy' '$TMP/b.npy'"
check "labels of the wrong length exit 1" test "$(status_of "$MM" reduce --in "$TMP/x.npy" --labels "$TMP/pca.npy" --out "$TMP/y.npy")" = 1

finish reduce
