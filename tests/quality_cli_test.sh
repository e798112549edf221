#!/usr/bin/env bash
# Maps without a model and the quality benchmark's command, end to end on a generated collection (four
# genres, tags): the scan stores descriptors, `map --features descriptors` needs no model, and
# `musicmap evaluate` scores every kind of vector against the tags, well above chance for descriptors.
# Usage: quality_cli_test.sh MUSICMAP MUSICMAP_SYNTH
set -u
MM=$1
SYNTH=$2
. "$(dirname "$0")/testlib.sh"

"$SYNTH" --out "$TMP/music" --count 40 --seconds 12 --rate 22050 --genres classical,metal,hiphop,reggae --seed 9 \
  --threads 2 >/dev/null 2>&1 || { echo "FAIL: musicmap-synth"; exit 1; }
"$MM" -q scan --db "$TMP/lib.db" -j 2 "$TMP/music" || { echo "FAIL: scan"; exit 1; }

rc=$(status_of "$MM" map --db "$TMP/lib.db" --features descriptors --method umap -j 2)
check "map --features descriptors without a model exits 0" test "$rc" = 0
check "  ... and names the map after them" grep -q "umap-n15-d0.1-descriptors" "$TMP/out"
check "  ... with its genre agreement" grep -q "genre agreement (k=10) 0\.[4-9]" "$TMP/out"
check "map: an unknown --features is a usage error" test "$(status_of "$MM" map --db "$TMP/lib.db" --features chroma)" = 2

check "evaluate --help" bash -c "'$MM' evaluate --help | grep -q '^Usage: musicmap evaluate'"
check "evaluate: a bad --labels is a usage error" test "$(status_of "$MM" evaluate --db "$TMP/lib.db" --labels genre)" = 2
check "evaluate: an unknown model fails (1)" test "$(status_of "$MM" evaluate --db "$TMP/lib.db" -m nope --methods pca)" = 1
rc=$(status_of "$MM" evaluate --db "$TMP/lib.db" --labels tags --methods pca,umap -j 2)
check "evaluate --labels tags exits 0" test "$rc" = 0
check "  ... 40 songs in 4 groups, chance about 0.23" grep -q "40 songs in 4 groups; chance .* 0.231" "$TMP/out"
check "  ... a row per kind (descriptors, mfcc, band profile, mel) and method" test "$(grep -Ec '^(descriptors|mfcc|mel) .* (pca|umap) ' "$TMP/out")" = 8
# descriptors in their own space: the share of 5 nearest neighbours of the same genre, far above chance
space5=$(awk '$1 == "descriptors" && $6 == "umap" { print $4 }' "$TMP/out")
check "  ... descriptors keep genres together (space@5 ${space5:-none} >= 0.6)" \
  awk -v v="${space5:-0}" 'BEGIN { exit !(v >= 0.6) }'

finish quality_cli
