#!/usr/bin/env bash
# Sets everything up and runs the main job on a generated demo collection:
#   dependencies, build, a demo collection (generated once, then cached in demo/music),
#   then the main job: scan, train a genre model, embed every song, and lay out the maps.
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
# The main job on the demo collection: catalogue it, learn its genres, describe every song, lay out maps.
MM=build/musicmap
DB="$DEMO/library.db"
"$MM" scan --db "$DB" "$DEMO/music"
if ! "$MM" -q embed --db "$DB" -m demo >/dev/null 2>&1; then
  # the small preset learns the demo's ten genres in a couple of minutes on two cores
  "$MM" train --db "$DB" --preset small --epochs ${DEMO_EPOCHS:-15} --name demo
  "$MM" embed --db "$DB" -m demo
fi
for method in umap tsne pca; do
  "$MM" map --db "$DB" -m demo --method "$method"
done
"$MM" status --db "$DB"
echo "demo: catalog, model and maps are in $DEMO (try: $MM tracks --db $DB)"
