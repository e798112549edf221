#!/usr/bin/env bash
# train and embed from the command line, on a small generated collection.
# Usage: train_cli_test.sh MUSICMAP MUSICMAP_SYNTH
set -u
MM=$(realpath "$1")
SYNTH=$(realpath "$2")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
check() {
  local what=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}
status_of() { "$@" >"$TMP/out" 2>"$TMP/err"; echo $?; }
DB="$TMP/lib.db"

"$SYNTH" --out "$TMP/music" --count 40 --genres classical,metal,hiphop,jazz --seconds 8 --rate 22050 --seed 5 \
  --formats wav >/dev/null
"$MM" -q scan --db "$DB" "$TMP/music"

check "train --help" bash -c "'$MM' train --help | grep -q '^Usage: musicmap train'"
check "embed --help" bash -c "'$MM' embed --help | grep -q '^Usage: musicmap embed'"
check "train: unknown preset is a usage error" test "$(status_of "$MM" train --db "$DB" --preset huge)" = 2
check "train: bad --labels is a usage error" test "$(status_of "$MM" train --db "$DB" --labels moods)" = 2
check "train: too few tracks per genre fails (1)" test "$(status_of "$MM" train --db "$DB" --min-count 100)" = 1
check "  ... and says why" grep -q "fewer than two genres" "$TMP/err"

rc=$(status_of "$MM" train --db "$DB" --preset small --epochs 3 --seed 2 --min-count 5)
check "train small for 3 epochs exits 0" test "$rc" = 0
check "train prints the results table" grep -Eq "^small +tags \(4 genres, 40\) +3 " "$TMP/out"
check "train prints the confusion matrix" grep -q "confusion matrix" "$TMP/out"
check "the model file is beside the catalog" test -s "$TMP/models/small-tags.mmm"
check "the finished checkpoint is removed" test ! -e "$TMP/models/small-tags.mmm.ckpt"
check "the model predicts" bash -c "'$MM' predict -m '$TMP/models/small-tags.mmm' \"\$(ls '$TMP'/music/*.wav | head -1)\" | grep -Eq ': (classical|metal|hiphop|jazz) '"

rc=$(status_of "$MM" embed --db "$DB")
check "embed exits 0" test "$rc" = 0
check "embed did all 40 tracks" grep -q "embed: 40 tracks embedded with 'small-tags'" "$TMP/err"
rc=$(status_of "$MM" embed --db "$DB")
check "a second embed has nothing to do" grep -q "already has vectors" "$TMP/err"

# a new song is embedded alone on the next run
"$SYNTH" --out "$TMP/more" --count 1 --genres jazz --seconds 8 --rate 22050 --seed 99 --formats wav >/dev/null
"$MM" -q scan --db "$DB" "$TMP/music" "$TMP/more"
rc=$(status_of "$MM" embed --db "$DB")
check "embed after a scan does only the new track" grep -q "embed: 1 tracks embedded" "$TMP/err"

# a model file given directly is registered under its name; a damaged one is refused
cp "$TMP/models/small-tags.mmm" "$TMP/other.mmm"
rc=$(status_of "$MM" embed --db "$DB" -m "$TMP/other.mmm")
check "embed -m FILE registers and embeds" grep -q "embed: 41 tracks embedded with 'other'" "$TMP/err"
head -c 2000 "$TMP/other.mmm" > "$TMP/cut.mmm"
check "embed with a damaged model fails (1)" test "$(status_of "$MM" embed --db "$DB" -m "$TMP/cut.mmm")" = 1
check "  ... naming it" grep -q "cut.mmm: damaged model file" "$TMP/err"
check "embed with an unknown model name fails (1)" test "$(status_of "$MM" embed --db "$DB" -m nosuchmodel)" = 1
check "  ... saying so" grep -q "no model named 'nosuchmodel'" "$TMP/err"

# map: each method and feature kind from the catalog, stored by name with its quality
check "map --help" bash -c "'$MM' map --help | grep -q '^Usage: musicmap map'"
check "map: bad method is a usage error" test "$(status_of "$MM" map --db "$DB" --method mds)" = 2
check "map: bad dims is a usage error" test "$(status_of "$MM" map --db "$DB" --dims 4)" = 2
for method in pca tsne umap; do
  rc=$(status_of "$MM" map --db "$DB" -m small-tags --method $method)
  check "map --method $method exits 0" test "$rc" = 0
  check "  ... reports 41 songs, trustworthiness and genre agreement" \
    grep -Eq "^$method.*-softmax \(small-tags\) +41 songs .* trustworthiness [01]\.[0-9]+  genre agreement \(k=10\) 0\.[0-9]+" "$TMP/out"
done
check "map --features softmax --dims 3" test "$(status_of "$MM" map --db "$DB" -m small-tags --features softmax --dims 3)" = 0
check "  ... is named for its parameters" grep -q "^umap-n15-d0.1-3d-softmax (small-tags)" "$TMP/out"
check "map --features mel (the baseline) needs no model" test "$(status_of "$MM" map --db "$DB" --features mel --method pca)" = 0
check "  ... and is named so" grep -q "^pca-mel " "$TMP/out"
rc=$(status_of "$MM" map --db "$DB" -m small-tags --grid)
check "map --grid makes the original's 13 maps" test "$(grep -c ' songs ' "$TMP/out")" = 13
check "map --grid --name is a usage error" test "$(status_of "$MM" map --db "$DB" --grid --name x)" = 2
check "map with a model without vectors fails (1)" test "$("$MM" -q embed --db "$DB" -m "$TMP/other.mmm"; status_of "$MM" map --db "$DB" -m nosuch)" = 1

# a folder in the working directory named like a model does not shadow the catalog's model
mkdir -p "$TMP/cwd/small-tags"
check "embed -m NAME prefers the catalog's model over a folder of that name" \
  bash -c "cd '$TMP/cwd' && '$MM' embed --db '$DB' -m small-tags"
check "predict with a folder as the model says so" bash -c "'$MM' predict -m '$TMP/cwd/small-tags' x.npy 2>&1 | grep -q 'is a directory, not a model file'"

# a second phase from the trained weights (--init); a model of another preset is refused
rc=$(status_of "$MM" train --db "$DB" --preset small --epochs 1 --seed 2 --min-count 5 --lr 0.00000001 \
  --init "$TMP/models/small-tags.mmm" --name small-phase2)
check "train --init MODEL exits 0" test "$rc" = 0
check "  ... at the given learning rate" grep -q "lr 1e-08" "$TMP/err"
# with a negligible learning rate the second phase predicts what the first did
"$MM" predict -m "$TMP/models/small-tags.mmm" "$TMP"/music/*.wav | sed 's/.*: \([^ ]*\) [0-9.]*.*/\1/' >"$TMP/p1"
"$MM" predict -m "$TMP/models/small-phase2.mmm" "$TMP"/music/*.wav | sed 's/.*: \([^ ]*\) [0-9.]*.*/\1/' >"$TMP/p2"
same=$(paste "$TMP/p1" "$TMP/p2" | awk '$1 == $2' | wc -l)
check "  ... starting from its weights ($same of 40 predictions unchanged)" test "$same" -ge 36
rc=$(status_of "$MM" train --db "$DB" --preset crnn4 --epochs 1 --min-count 5 --init "$TMP/models/small-tags.mmm")
check "train --init with another preset fails (1)" test "$rc" = 1
check "  ... saying why" grep -q "another preset" "$TMP/err"

# run: the whole pipeline without serving; untagged music falls back to the spectrograms and says so
check "run --help" bash -c "'$MM' run --help | grep -q '^Usage: musicmap run'"
check "run without a folder is a usage error" test "$(status_of "$MM" run --db "$TMP/run.db")" = 2
rc=$(status_of "$MM" run --db "$TMP/run.db" --no-serve --epochs 2 --min-count 5 "$TMP/music")
check "run --no-serve on tagged music exits 0" test "$rc" = 0
check "  ... trained a model named run" grep -Eq "^small +tags \(4 genres, 40\)" "$TMP/out"
check "  ... and made three maps, from the descriptors (what wins bench/quality)" test "$(grep -c -- '-descriptors ' "$TMP/out")" = 3
# two epochs do not make a sure model: the map is coloured by the tags, and run says so with the figure
check "  ... says it colours by the tags, with the model's accuracy" grep -Eq "coloured by the files' genre tags: the model's held-out accuracy 0\.[0-9]+ is below 0\.85" "$TMP/err"
rc=$(status_of "$MM" run --db "$TMP/run.db" --no-serve --min-count 5 "$TMP/music")
check "run again: nothing new to train or embed" bash -c "grep -q 'already has vectors' '$TMP/err' && ! grep -q 'epochs' '$TMP/out'"
"$SYNTH" --out "$TMP/gtzan" --count 12 --layout gtzan --seconds 8 --seed 4 >/dev/null
rc=$(status_of "$MM" run --db "$TMP/untagged.db" --no-serve "$TMP/gtzan")
check "run on untagged music exits 0" test "$rc" = 0
check "  ... says there are too few tags" grep -q "too few genre tags to learn genres from" "$TMP/err"
check "  ... and maps the audio descriptors instead" test "$(grep -c -- '-descriptors ' "$TMP/out")" = 3
# any number of folders: the songs in the last of 1201 are scanned and mapped
mkdir -p "$TMP/empty" && (cd "$TMP/empty" && seq -f 'd%g' 1200 | xargs mkdir)
rc=$(status_of "$MM" run --db "$TMP/many.db" --no-serve "$TMP"/empty/d* "$TMP/gtzan")
check "run with 1201 folders exits 0" test "$rc" = 0
check "  ... and maps the songs of the last one" grep -Eq "^pca-descriptors +12 songs" "$TMP/out"
check "run with an unknown preset is a usage error" \
  test "$(status_of "$MM" run --db "$TMP/run.db" --no-serve --preset huge "$TMP/music")" = 2
# tags on a minority of the songs: no genre model from them
"$SYNTH" --out "$TMP/few" --count 6 --genres blues,metal --seconds 8 --seed 6 >/dev/null
rc=$(status_of "$MM" run --db "$TMP/minority.db" --no-serve --min-count 3 "$TMP/gtzan" "$TMP/few")
check "run with tags on a minority exits 0" test "$rc" = 0
check "  ... does not train on them, and says why" grep -q "only 6 of 18 songs carry one of the 2 genre tags" "$TMP/err"
check "  ... trains nothing" bash -c "! grep -q 'epoch' '$TMP/out'"
check "  ... and maps the descriptors" test "$(grep -c -- '-descriptors ' "$TMP/out")" = 3
# map with no model and no --features: the descriptors (no model needed), not an error
rc=$(status_of "$MM" map --db "$TMP/minority.db" --method pca)
check "map with no model exits 0" test "$rc" = 0
check "  ... with the descriptors" grep -q "^pca-descriptors " "$TMP/out"

# self-supervised: no labels; the model is registered, embedded, mapped by its hidden state, resumed
check "train --self-supervised --labels is a usage error" \
  test "$(status_of "$MM" train --db "$DB" --self-supervised --labels tags)" = 2
check "train --self-supervised --batch 5 is a usage error" \
  test "$(status_of "$MM" train --db "$DB" --self-supervised --batch 5)" = 2
rc=$(status_of "$MM" train --db "$DB" --self-supervised --preset small --epochs 2 --seed 3 --batch 16)
check "train --self-supervised exits 0" test "$rc" = 0
check "  ... on every track, without labels" grep -Eq "^small +self-supervised \(41\) +2 +0\.[0-9]+ +0\.[0-9]+ +[0-9.]+$" "$TMP/out"
check "  ... printing pair accuracies" grep -q "val_pair_acc" "$TMP/err"
check "  ... the model file is beside the catalog" test -s "$TMP/models/small-ssl.mmm"
check "  ... the finished checkpoint is removed" test ! -e "$TMP/models/small-ssl.mmm.ckpt"
rc=$(status_of "$MM" embed --db "$DB" -m small-ssl)
check "embed -m small-ssl embeds every track" grep -q "embed: 41 tracks embedded with 'small-ssl'" "$TMP/err"
rc=$(status_of "$MM" map --db "$DB" -m small-ssl --features hidden --method pca)
check "map --features hidden of the self-supervised model exits 0" test "$rc" = 0
check "  ... over all 41 songs" grep -Eq "^pca.*-hidden \(small-ssl\) +41 songs" "$TMP/out"
# killed after its first epoch (and checkpoint), then resumed: the epochs already done are not run again
"$MM" train --db "$DB" --self-supervised --preset small --epochs 50 --seed 3 --batch 16 --name ssl-resume \
  >"$TMP/r1.out" 2>"$TMP/r1.err" &
pid=$!
for _ in $(seq 600); do grep -q "^epoch" "$TMP/r1.err" && break; sleep 0.1; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
done_before=$(grep -c "^epoch" "$TMP/r1.err")
check "a killed self-supervised run leaves its checkpoint" test -e "$TMP/models/ssl-resume.mmm.ckpt"
rc=$(status_of "$MM" train --db "$DB" --self-supervised --preset small --epochs $((done_before + 1)) --seed 3 \
  --batch 16 --name ssl-resume --resume --temperature 0.5)
check "  ... --resume with another temperature fails (1)" test "$rc" = 1
check "  ... saying why" grep -q "another view length or temperature" "$TMP/err"
rc=$(status_of "$MM" train --db "$DB" --self-supervised --preset small --epochs $((done_before + 1)) --seed 3 \
  --batch 16 --name ssl-resume --resume)
check "  ... --resume finishes it" test "$rc" = 0
check "  ... without running again the $done_before epoch(s) done before" bash -c "! grep -q '^epoch  1/' '$TMP/err'"
check "  ... and registers it" grep -Eq "^small +self-supervised \(41\) +$((done_before + 1)) " "$TMP/out"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
