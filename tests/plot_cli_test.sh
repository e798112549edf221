#!/usr/bin/env bash
# `musicmap plot` end to end on a generated collection: `run` trains a small model (its history stored
# with it) and writes map.png beside the catalog; every figure renders from that catalog in each format;
# PNGs have the asked size, SVGs parse as XML, PDFs start with %PDF; `serve --export` includes the
# figures; usage errors are 2, a missing figure (no grid maps) is 1.
# Usage: plot_cli_test.sh MUSICMAP MUSICMAP_SYNTH
set -u
MM=$1
SYNTH=$2
. "$(dirname "$0")/testlib.sh"
PY=/usr/bin/python3

"$SYNTH" --out "$TMP/music" --count 40 --seconds 12 --rate 22050 --genres classical,metal,hiphop,reggae --seed 5 \
  --threads 2 >/dev/null 2>&1 || { echo "FAIL: musicmap-synth"; exit 1; }
DB="$TMP/lib/library.db"
rc=$(status_of "$MM" run --db "$DB" --no-serve --epochs 2 --min-count 5 -j 2 "$TMP/music")
check "run exits 0" test "$rc" = 0 || cat "$TMP/err"
check "run prints where map.png went" grep -q "^map image: $TMP/lib/map.png" "$TMP/out"

png_size() { # FILE -> "W H" from the PNG header (fails when it is no PNG)
  "$PY" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); assert d[:8]==b"\x89PNG\r\n\x1a\n"; print(*struct.unpack(">II", d[16:24]))' "$1"
}
svg_ok() { "$PY" -c 'import sys, xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); assert r.tag.endswith("svg")' "$1"; }
pdf_ok() { [ "$(head -c 4 "$1")" = "%PDF" ]; }
check "map.png beside the catalog is 1800 x 1280" test "$(png_size "$TMP/lib/map.png")" = "1800 1280"

P="$MM plot --db $DB"
check "plot map -o map.png" test "$(status_of $P map -o "$TMP/a.png")" = 0
check "  ... prints the file" grep -q "a.png" "$TMP/out"
$P -q map --width 600 --height 400 --scale 1 --color-by tag -o "$TMP/b.png"
check "  ... at --width 600 --height 400 --scale 1: 600 x 400" test "$(png_size "$TMP/b.png")" = "600 400"
check "plot map --color-by folder -o .svg" test "$(status_of $P map --color-by folder -o "$TMP/a.svg")" = 0
check "  ... parses as XML" svg_ok "$TMP/a.svg"
check "plot map --map NAME --color-by predicted -o .pdf" \
  test "$(status_of $P map --map umap-n15-d0.1-descriptors --color-by predicted -o "$TMP/a.pdf")" = 0
check "  ... starts with %PDF" pdf_ok "$TMP/a.pdf"
check "plot training -o curves.svg" test "$(status_of $P training -o "$TMP/curves.svg")" = 0
check "  ... parses as XML" svg_ok "$TMP/curves.svg"
check "plot training --model run -o curves.png" test "$(status_of $P training --model run -o "$TMP/curves.png")" = 0
check "plot confusion -o cm.png" test "$(status_of $P confusion -o "$TMP/cm.png")" = 0
check "  ... is a PNG" test -n "$(png_size "$TMP/cm.png")"
check "plot confusion -o cm.pdf" test "$(status_of $P confusion -o "$TMP/cm.pdf")" = 0
check "  ... %PDF" pdf_ok "$TMP/cm.pdf"
check "plot compare A B -o ab.png" test "$(status_of $P compare umap-n15-d0.1-descriptors pca-descriptors -o "$TMP/ab.png")" = 0
check "  ... two panels wide: 2480 x 1280" test "$(png_size "$TMP/ab.png")" = "2480 1280"

# run made one of the grid's maps (t-SNE perplexity 30 of the descriptors), none of the mel baseline
check "plot grid of maps not made fails (1), saying what to run" test "$(status_of $P grid --features mel -o "$TMP/g.pdf")" = 1
check "  ... names map --grid" grep -q "map --grid" "$TMP/err"
check "  ... and writes nothing" test ! -e "$TMP/g.pdf"
"$MM" -q map --db "$DB" --grid -j 2 || echo "FAIL: map --grid"
check "plot grid -o grid.pdf" test "$(status_of $P grid -o "$TMP/grid.pdf")" = 0
check "  ... %PDF" pdf_ok "$TMP/grid.pdf"
check "plot grid -o grid.png" test "$(status_of $P grid -o "$TMP/grid.png")" = 0

check "no figure: usage error (2)" test "$(status_of $P)" = 2
check "unknown figure: 2" test "$(status_of $P pie -o "$TMP/x.png")" = 2
check "no -o: 2" test "$(status_of $P map)" = 2
check "a .jpg: 2" test "$(status_of $P map -o "$TMP/x.jpg")" = 2
check "bad --color-by: 2" test "$(status_of $P map --color-by mood -o "$TMP/x.png")" = 2
check "compare with one map: 2" test "$(status_of $P compare pca-descriptors -o "$TMP/x.png")" = 2
check "an unknown map: 1" test "$(status_of $P map --map nosuch -o "$TMP/x.png")" = 1
check "an unknown model: 1" test "$(status_of $P training --model nosuch -o "$TMP/x.svg")" = 1
check "  ... nothing written" test ! -e "$TMP/x.png" -a ! -e "$TMP/x.svg"

rc=$(status_of "$MM" serve --db "$DB" --export "$TMP/site")
check "serve --export exits 0" test "$rc" = 0
check "  ... with figures/map.png" test "$(png_size "$TMP/site/figures/map.png")" = "1800 1280"
check "  ... the grid" pdf_ok "$TMP/site/figures/grid.pdf"
check "  ... the training curves" svg_ok "$TMP/site/figures/training.svg"
check "  ... the confusion matrix" test -n "$(png_size "$TMP/site/figures/confusion.png")"
check "  ... and every 2-D map" test -s "$TMP/site/figures/maps/tsne-p5-descriptors.png"
finish plot_cli
