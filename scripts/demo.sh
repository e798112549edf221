#!/usr/bin/env bash
# Sets everything up and runs the main job on a generated demo collection:
#   dependencies, build, a demo collection (generated once, then cached in demo/music),
#   and the log-mel spectrograms of every song in demo/mel.
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
find "$DEMO/music" -type f \( -name '*.mp3' -o -name '*.flac' -o -name '*.ogg' -o -name '*.opus' \
  -o -name '*.m4a' -o -name '*.wav' \) -print0 | sort -z | xargs -0 build/musicmap mel -o "$DEMO/mel"
echo "demo: spectrograms of $(find "$DEMO/mel" -name '*.npy' | wc -l) songs are in $DEMO/mel"
