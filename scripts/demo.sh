#!/usr/bin/env bash
# Sets everything up and runs the main job on a generated demo collection:
#   dependencies, build, a demo collection (generated once, then cached in demo/music),
#   then the main job, `musicmap run`: scan, learn the genres, embed, lay out maps, serve the page.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
DEMO=${DEMO_DIR:-demo}
COUNT=${DEMO_COUNT:-300}
if [ ! -f "$DEMO/music/.complete-$COUNT" ]; then
  rm -rf "$DEMO/music"
  # 30 s at 22.05 kHz keeps generation near a minute on 2 cores; formats rotate through all six.
  build/tools/musicmap-synth --out "$DEMO/music" --count "$COUNT" --seed 1 --seconds 30 --rate 22050
  touch "$DEMO/music/.complete-$COUNT"
else
  echo "demo: using the cached collection in $DEMO/music"
fi
# The main job on the demo collection: `musicmap run` catalogues it, learns its genres from the tags,
# describes every song, lays out UMAP, t-SNE and PCA maps and serves the page (Ctrl-C stops it).
# DEMO_SERVE=0 stops after the maps; DEMO_PORT picks the port (default 8080).
SERVE=()
[ "${DEMO_SERVE:-1}" = 1 ] || SERVE=(--no-serve)
exec build/musicmap run --db "$DEMO/library.db" --epochs "${DEMO_EPOCHS:-15}" --port "${DEMO_PORT:-8080}" \
  "${SERVE[@]}" "$DEMO/music"
