#!/usr/bin/env bash
# The quality benchmark: every kind of song vector and every map method scored side by side with
# `musicmap evaluate` (k-NN(5/10) same-label agreement in the vectors' space, which is what "similar
# songs" returns, and on the 2-D map; trustworthiness), on
#   real       the real-music development collection (bench/quality/fetch-real.sh), labels = folders
#              (one per soundtrack); it has almost no genre tags, so no tag-trained model;
#   generated  a generated collection (musicmap-synth, 300 songs, 10 genres), labels = genre tags, with
#              a model trained on those tags as `musicmap run` trains it (the demo's settings).
# Both also score the original system's GTZAN CRNN, imported, when its Keras file is at hand.
# Usage: bench/quality/run.sh [real|generated|both]   (default both)
# Env: MM_BENCH_DIR (catalogs, default ~/.cache/musicmap/bench), GTZAN_H5 (the original's weights),
#      EPOCHS (the generated model's training, default 15 as in the demo).
# Not a test: it prints tables for bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x build/musicmap ] || scripts/build.sh >/dev/null
MM=$PWD/build/musicmap
SYNTH=$PWD/build/tools/musicmap-synth
OUT=${MM_BENCH_DIR:-$HOME/.cache/musicmap/bench}
H5=${GTZAN_H5:-$PWD/../shared/reference/crnn/musicmapz_gtzan_crnn4.h5}
GTZAN=country,jazz,disco,pop,blues,reggae,metal,rock,hiphop,classical
mkdir -p "$OUT"

with_gtzan() { # DB: imports the original's model into the catalog and embeds with it; prints -m args
  [ -f "$H5" ] || return 0
  [ -f "$OUT/gtzan.mmm" ] || "$MM" -q import-keras "$H5" --preset crnn4 --labels "$GTZAN" -o "$OUT/gtzan.mmm" >&2
  "$MM" -q embed --db "$1" -m "$OUT/gtzan.mmm" >&2
  echo "-m gtzan"
}

real() {
  bench/quality/fetch-real.sh >/dev/null
  local music=${MM_REAL_DIR:-$HOME/.cache/musicmap/real}/music db=$OUT/real.db
  echo "== real: $music (labels: folders)"
  /usr/bin/time -f "scan: %e s wall, %U s user" "$MM" -q scan --db "$db" "$music"
  # shellcheck disable=SC2046
  "$MM" evaluate --db "$db" --labels folders $(with_gtzan "$db")
}

generated() {
  local music=$OUT/generated db=$OUT/generated.db
  if [ ! -f "$music/.complete" ]; then
    rm -rf "$music"
    "$SYNTH" --out "$music" --count 300 --seed 1 --seconds 30 --rate 22050 >/dev/null
    touch "$music/.complete"
  fi
  echo "== generated: $music (labels: genre tags)"
  /usr/bin/time -f "scan: %e s wall, %U s user" "$MM" -q scan --db "$db" "$music"
  "$MM" -q run --db "$db" --no-serve --epochs "${EPOCHS:-15}" "$music" >/dev/null
  # shellcheck disable=SC2046
  "$MM" evaluate --db "$db" --labels tags -m run $(with_gtzan "$db")
}

case "${1:-both}" in
  real) real ;;
  generated) generated ;;
  both) real; generated ;;
  *) echo "usage: $0 [real|generated|both]" >&2; exit 2 ;;
esac
