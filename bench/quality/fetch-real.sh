#!/usr/bin/env bash
# Builds musicmap's real-music development collection from seven Debian game-soundtrack packages:
#
#   $DIR/debs/<package>_<version>_all.deb      the downloaded packages (apt-get download, no install)
#   $DIR/music/<package>/<track>               tracks of >= 30 s, one folder per package (= the label)
#   $DIR/music/.manifest.tsv                   package, file, seconds, sha256, source inside the .deb
#   $DIR/music/.complete                       written last; the folder is renamed into place whole
#
# DIR is ${MM_REAL_DIR:-$HOME/.cache/musicmap/real}, never inside the checkout. Idempotent: a finished
# collection is only summarised again; .debs already downloaded are not fetched twice.
# Needs apt-get and dpkg-deb (Debian/Ubuntu), unzip or /usr/bin/python3 for the .pk3 archives, and
# ffprobe or the project's build/musicmap (built with scripts/build.sh if missing) for durations.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
DIR=${MM_REAL_DIR:-$HOME/.cache/musicmap/real}
MIN_SECONDS=30
PACKAGES=(asc-music drascula-music hyperrogue-music nexuiz-music planetblupi-music-ogg singularity-music ufoai-music)
# Audio formats FFmpeg decodes; the probe below still drops any file it cannot read.
AUDIO_EXT='ogg|oga|opus|mp3|flac|wav|m4a|aac|mod|xm|it|s3m'
# Folders of sound effects, not music (hyperrogue-music ships a 30.0 s "tada.ogg" there).
SKIP_REGEX='.*/sounds/.*'

log() { printf 'fetch-real: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

DIR=$(realpath -m -- "$DIR")
case "$DIR/" in "$ROOT"/*) die "MM_REAL_DIR ($DIR) is inside the checkout ($ROOT); choose a folder outside it" ;; esac
mkdir -p "$DIR"
MUSIC=$DIR/music
STAMP="packages=${PACKAGES[*]} min_seconds=$MIN_SECONDS skip=$SKIP_REGEX"

# One run at a time per collection folder.
if command -v flock >/dev/null; then
    exec 9>"$DIR/.lock"
    flock 9
fi

# Per package: tracks, minutes; then the chance level of k-NN same-folder agreement,
# sum_i n_i (n_i - 1) / (N (N - 1)): the agreement of neighbours drawn at random.
summary() {
    awk -F'\t' '
        { n[$1]++; s[$1] += $3; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
        END {
            printf "%-24s %7s %9s\n", "package", "tracks", "minutes"
            for (i = 1; i <= k; i++) { p = order[i]; N += n[p]; S += s[p]; pairs += n[p] * (n[p] - 1)
                printf "%-24s %7d %9.1f\n", p, n[p], s[p] / 60 }
            printf "%-24s %7d %9.1f\n", "total", N, S / 60
            printf "chance level of k-NN(5) same-folder agreement: %.3f\n", (N > 1 ? pairs / (N * (N - 1)) : 0)
        }' "$MUSIC/.manifest.tsv"
    printf 'collection: %s (%s on disk; .debs: %s)\n' "$MUSIC" "$(du -sh "$MUSIC" | cut -f1)" "$(du -sh "$DIR/debs" 2>/dev/null | cut -f1 || echo -)"
}

if [[ -f $MUSIC/.complete && "$(cat "$MUSIC/.complete")" == "$STAMP" ]]; then
    log "already complete"
    summary
    exit 0
fi

# --- tools --------------------------------------------------------------------------------------
command -v apt-get >/dev/null || die "needs apt-get (a Debian-based system)"
command -v dpkg-deb >/dev/null || die "needs dpkg-deb (a Debian-based system)"
if ! command -v unzip >/dev/null && ! [[ -x /usr/bin/python3 ]]; then
    [[ $(id -u) -eq 0 ]] || die "needs unzip (or /usr/bin/python3) for .pk3 archives: apt-get install unzip"
    log "installing unzip"
    apt-get install -y -qq unzip >/dev/null
fi
if command -v ffprobe >/dev/null; then
    PROBE=ffprobe
else
    PROBE=musicmap
    MUSICMAP=$ROOT/build/musicmap
    if [[ ! -x $MUSICMAP ]]; then
        log "building musicmap (for durations)"
        "$ROOT/scripts/build.sh" >&2
    fi
fi

# Prints a file's duration in seconds, or nothing when no decodable audio stream is found.
duration() {
    if [[ $PROBE == ffprobe ]]; then
        ffprobe -v error -select_streams a:0 -show_entries stream=codec_type:format=duration \
            -of default=nw=1 "$1" 2>/dev/null |
            awk -F= '$1 == "codec_type" && $2 == "audio" { a = 1 } $1 == "duration" && $2 ~ /^[0-9.]+$/ { d = $2 }
                     END { if (a && d != "") print d }' || true
    else
        "$MUSICMAP" info --json --exact "$1" 2>/dev/null |
            sed -n 's/.*"duration": *\([0-9.eE+-]*\).*/\1/p' | head -n 1 || true
    fi
}

# Extracts the audio members of a zip (.pk3) archive into a folder.
unzip_audio() {
    local zip=$1 out=$2 rc=0
    mkdir -p "$out"
    if command -v unzip >/dev/null; then
        local pats=() e
        for e in ${AUDIO_EXT//|/ }; do pats+=("*.$e"); done
        # unzip warns for every pattern without a match; its messages are shown only on failure.
        unzip -qq -o -C "$zip" "${pats[@]}" -d "$out" 2>"$out.err" || rc=$?
        [[ $rc -eq 0 || $rc -eq 11 ]] || { cat "$out.err" >&2; die "unzip $zip failed ($rc)"; } # 11: no match
        rm -f "$out.err"
    else
        /usr/bin/python3 - "$zip" "$out" "$AUDIO_EXT" <<'EOF'
import re, sys, zipfile
zip_path, out, exts = sys.argv[1:]
audio = re.compile(r"\.(%s)$" % exts, re.I)
with zipfile.ZipFile(zip_path) as z:
    z.extractall(out, [m for m in z.namelist() if audio.search(m)])
EOF
    fi
}

# --- download -----------------------------------------------------------------------------------
mkdir -p "$DIR/debs"
download() { # into a scratch folder, then moved: an interrupted download never looks finished
    local tmp
    tmp=$(mktemp -d "$DIR/debs/.partial.XXXXXX")
    if (cd "$tmp" && apt-get download -q "$@" >&2); then
        mv "$tmp"/*.deb "$DIR/debs/"
        rmdir "$tmp"
    else
        rm -rf "$tmp"
        return 1
    fi
}
missing=()
for p in "${PACKAGES[@]}"; do
    compgen -G "$DIR/debs/${p}_*.deb" >/dev/null || missing+=("$p")
done
if ((${#missing[@]})); then
    log "downloading ${missing[*]}"
    if ! download "${missing[@]}"; then
        [[ $(id -u) -eq 0 ]] || die "apt-get download failed; try 'sudo apt-get update' and run again"
        log "download failed; running apt-get update and retrying"
        apt-get update -qq >&2
        download "${missing[@]}" || die "apt-get download ${missing[*]} failed"
    fi
fi

# --- extract, probe, deduplicate ----------------------------------------------------------------
rm -rf "$DIR"/.work.* "$DIR"/debs/.partial.* # left by a run that was killed
WORK=$(mktemp -d "$DIR/.work.XXXXXX") # same file system as $MUSIC, for the final rename
trap 'rm -rf "$WORK"' EXIT
STAGE=$WORK/music
mkdir -p "$STAGE"
: >"$STAGE/.manifest.tsv"
declare -A SEEN # sha256 -> first copy, across all packages

for p in "${PACKAGES[@]}"; do
    debs=("$DIR/debs/${p}"_*.deb)
    deb=${debs[-1]}
    x=$WORK/x/$p
    mkdir -p "$x/deb" "$STAGE/$p"
    dpkg-deb -x "$deb" "$x/deb"
    # .pk3 archives (Quake-style zip files) hold the music of nexuiz and ufoai.
    i=0
    while IFS= read -r -d '' pk3; do
        unzip_audio "$pk3" "$x/pk3/$i/${pk3#"$x/deb/"}"
        i=$((i + 1))
    done < <(find "$x/deb" -type f -iname '*.pk3' -print0)

    kept=0 short=0 bad=0 dup=0
    # Regular files only: symlinks (drascula's per-language folders) point at files already seen.
    while IFS= read -r -d '' f; do
        d=$(duration "$f")
        if [[ -z $d ]]; then
            log "$p: skipping ${f##*/}: not decodable"
            bad=$((bad + 1))
            continue
        fi
        if awk -v d="$d" -v m="$MIN_SECONDS" 'BEGIN { exit !(d < m) }'; then
            short=$((short + 1))
            continue
        fi
        sum=$(sha256sum "$f" | cut -d' ' -f1)
        if [[ -n ${SEEN[$sum]:-} ]]; then
            dup=$((dup + 1))
            continue
        fi
        # Keep the file name; on a clash prefix its parent folder, then number it.
        base=${f##*/}
        name=$base
        [[ -e $STAGE/$p/$name ]] && { parent=${f%/*}; name=${parent##*/}-$base; }
        n=2
        while [[ -e $STAGE/$p/$name ]]; do name=${base%.*}-$n.${base##*.}; n=$((n + 1)); done
        cp "$f" "$STAGE/$p/$name"
        SEEN[$sum]=$p/$name
        src=${f#"$x/"}
        src=${src#deb/}
        src=${src#pk3/*/}
        printf '%s\t%s\t%s\t%s\t%s\n' "$p" "$name" "$d" "$sum" "$src" >>"$STAGE/.manifest.tsv"
        kept=$((kept + 1))
    done < <(find "$x" -type f -regextype posix-extended -iregex ".*\.($AUDIO_EXT)" \
        ! -regex "$SKIP_REGEX" -print0 | sort -z)
    log "$p: kept $kept; dropped $short under ${MIN_SECONDS} s, $dup duplicates, $bad undecodable"
    rm -rf "$x"
done

# --- publish atomically -------------------------------------------------------------------------
printf '%s\n' "$STAMP" >"$STAGE/.complete"
rm -rf "$MUSIC" # an older collection (other package list); never a half-built one
mv "$STAGE" "$MUSIC"
summary
