#!/usr/bin/env bash
# Installs what musicmap needs on Debian 12. Idempotent: does nothing when everything is present.
# Not root and no passwordless sudo: prints the exact command to run and fails.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libavformat-dev libavcodec-dev libswresample-dev libavutil-dev   # decoding (FFmpeg)
  libsoxr-dev                                                     # resampling (librosa's soxr_hq)
  libfftw3-dev                                                    # STFT
  libebur128-dev                                                  # loudness
  libsqlite3-dev                                                  # catalog
  libdnnl-dev libopenblas-dev liblapacke-dev libhdf5-dev          # network, layouts, Keras import
  libmicrohttpd-dev                                               # server
  libmpdclient-dev mpd                                            # playlists on MPD (musicmap mpd), its test
  libcairo2-dev fonts-dejavu-core                                 # figures (plot): PNG, SVG, PDF; a font
  chromium curl wrk                                               # browser and HTTP tests, server bench
  firefox-esr xvfb xauth libgl1-mesa-dri pulseaudio               # the page in Firefox (software GL, null sink)
  libfluidsynth-dev fluid-soundfont-gm                            # generated test music
  libcmocka-dev valgrind                                          # tests
  libopenmpi-dev openmpi-bin                                      # scan --mpi (optional: built when found) and its tests
  python3-h5py python3-numpy                                      # Keras import tests: tests/keras/ writes HDF5 as Keras does
)
# the page is bundled with Node.js + npm; keep a node that is already on PATH (e.g. a newer one)
command -v node >/dev/null || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "install-deps: missing packages; run as root:" >&2
    echo "  sudo apt-get update && sudo ${cmd[*]}" >&2
    exit 1
  fi
else
  SUDO=()
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" "${cmd[@]}"
