#!/usr/bin/env bash
# musicmap reduce end to end: exit codes, --help, the three methods on the original's map input, bad input.
# Usage: reduce_test.sh MUSICMAP REFERENCE_DIR
set -u
MM=$1
REF=$2/layout
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
check() { # description, command...
  local what=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}
status_of() { "$@" >"$TMP/out" 2>"$TMP/err"; echo $?; }

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
  rc=$(status_of "$MM" reduce --in "$REF/gtzan970_softmax.npy" --labels "$REF/gtzan970_labels.npy" --method $m --out "$TMP/$m.npy" -j 2)
  check "$m on gtzan970 exits 0" test "$rc" = 0
  check "$m prints the quality" grep -q "trustworthiness@10 0\.9" "$TMP/out"
  check "$m prints the label agreement" grep -q "label agreement 0\.[6-9]" "$TMP/out"
  # 128-byte header + 970 x 2 float32
  check "$m writes 970 x 2 float32" test "$(stat -c %s "$TMP/$m.npy")" = $((128 + 970 * 2 * 4))
  check "$m .npy header" bash -c "head -c 128 '$TMP/$m.npy' | grep -aq \"'shape': (970, 2)\""
done
check "3-D output" "$MM" -q reduce --in "$REF/gtzan970_softmax.npy" --method umap --dims 3 --metric correlation --out "$TMP/u3.npy"
check "3-D shape" bash -c "head -c 128 '$TMP/u3.npy' | grep -aq \"'shape': (970, 3)\""
check "same seed, same bytes" bash -c "'$MM' -q reduce --in '$REF/gtzan970_softmax.npy' --method umap --seed 3 --out '$TMP/a.npy' && '$MM' -q reduce --in '$REF/gtzan970_softmax.npy' --method umap --seed 3 --out '$TMP/b.npy' && cmp -s '$TMP/a.npy' '$TMP/b.npy'"
check "labels of the wrong length exit 1" test "$(status_of "$MM" reduce --in "$REF/gtzan970_softmax.npy" --labels "$TMP/pca.npy" --out "$TMP/y.npy")" = 1

echo "reduce: $pass passed, $fail failed"
test "$fail" = 0
