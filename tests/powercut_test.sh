#!/usr/bin/env bash
# A power cut, simulated: a scan killed (-9) at a random moment, then the database's write-ahead log and
# the feature file cut at random points and a random record's bytes overwritten, as a lost write or a
# bad sector would leave them. Each time: the catalog opens and reports (no damage read as data, SQLite's
# integrity check passes), `status --verify` finds the damaged records by their checksums, and the next
# scan reads those songs again, leaving every song catalogued with a record that verifies.
# Usage: powercut_test.sh MUSICMAP MUSICMAP_SYNTH [ROUNDS]
set -u
MM=$1 SYNTH=$2 ROUNDS=${3:-4}
. "$(dirname "$0")/testlib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
"$SYNTH" --out "$TMP/a" --count 12 --seconds 4 --seed 21 --formats wav,flac --threads 2 >/dev/null 2>&1
"$SYNTH" --out "$TMP/b" --count 12 --seconds 4 --seed 22 --formats wav,flac --threads 2 >/dev/null 2>&1
"$MM" -q scan --db "$TMP/base.db" "$TMP/a" || { echo "FAIL: the first scan"; exit 1; }
RANDOM=${POWERCUT_SEED:-7}

# db: integrity and the features rows of ok tracks, as JSON numbers: "ok features integrity"
inspect() {
  "$PY" - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ok = db.execute("SELECT count(*) FROM tracks WHERE status = 'ok'").fetchone()[0]
feat = db.execute("SELECT count(*) FROM features f JOIN tracks t ON t.id = f.track_id WHERE t.status = 'ok'").fetchone()[0]
print(ok, feat, db.execute("PRAGMA integrity_check").fetchone()[0])
PY
}

for round in $(seq 1 "$ROUNDS"); do
  R="$TMP/r$round"
  mkdir -p "$R"
  cp "$TMP/base.db" "$R/lib.db"
  cp "$TMP/base.features" "$R/lib.features"
  # a scan of twelve more songs, killed somewhere in the middle
  "$MM" -q scan --db "$R/lib.db" -j 1 --batch 2 "$TMP/a" "$TMP/b" 2>/dev/null &
  pid=$!
  sleep "$(printf "0.%02d" $((RANDOM % 38 + 2)))"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  # the cut: the WAL and the feature file each lose a random tail; one record gets garbage
  fsize=$(stat -c %s "$R/lib.features")
  if [ -f "$R/lib.db-wal" ]; then
    wsize=$(stat -c %s "$R/lib.db-wal")
    [ "$wsize" -gt 0 ] && truncate -s $(( (RANDOM * 32768 + RANDOM) % wsize )) "$R/lib.db-wal"
  fi
  records=$(( (fsize - 4096) / 262272 ))
  cut=$(( 4096 + ( (RANDOM * 32768 + RANDOM) % (fsize - 4096 + 1) ) ))
  truncate -s "$cut" "$R/lib.features"
  kept=$(( (cut - 4096) / 262272 ))
  if [ "$kept" -gt 1 ]; then
    victim=$(( RANDOM % kept ))
    printf 'power cut garbage' | dd of="$R/lib.features" bs=1 seek=$(( 4096 + victim * 262272 + 1000 )) conv=notrunc 2>/dev/null
  fi
  echo "round $round: feature file cut from $records records to $kept (+ one overwritten), WAL cut"

  rc=$(status_of "$MM" status --db "$R/lib.db" --json)
  check "round $round: the catalog opens and reports" test "$rc" = 0
  check "round $round: its report is JSON" "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/out"
  read -r ok feat integrity < <(inspect "$R/lib.db")
  check "round $round: SQLite's integrity check passes ($integrity)" test "$integrity" = ok
  check "round $round: no ok track points past the cut ($feat of $ok have records)" test "$feat" -le "$ok"
  rc=$(status_of "$MM" status --db "$R/lib.db" --verify)
  check "round $round: status --verify runs" test "$rc" = 0
  damaged=$(sed -n 's/.*: \([0-9]*\) damaged.*/\1/p' "$TMP/err")
  if [ "$kept" -gt 1 ] && [ "$feat" -gt 0 ]; then
    echo "round $round: --verify found $damaged damaged"
  fi
  rc=$(status_of "$MM" scan --db "$R/lib.db" -j 2 "$TMP/a" "$TMP/b")
  check "round $round: the next scan succeeds" test "$rc" = 0
  read -r ok feat integrity < <(inspect "$R/lib.db")
  check "round $round: all 24 songs ok, each with its record ($ok ok, $feat records)" test "$ok" = 24 -a "$feat" = 24
  rc=$(status_of "$MM" status --db "$R/lib.db" --verify)
  check "round $round: every record verifies afterwards" grep -q ": 0 damaged" "$TMP/err"
done
# a damaged record the cheap check can't see (inside the file): found by --verify, read again by scan
cp "$TMP/base.db" "$TMP/v.db"
cp "$TMP/base.features" "$TMP/v.features"
printf 'bad sector' | dd of="$TMP/v.features" bs=1 seek=$(( 4096 + 3 * 262272 + 5000 )) conv=notrunc 2>/dev/null
rc=$(status_of "$MM" status --db "$TMP/v.db" --verify)
check "an overwritten record is found by its checksum" grep -q ": 1 damaged" "$TMP/err"
rc=$(status_of "$MM" scan --db "$TMP/v.db" "$TMP/a")
check "and the next scan reads that one song again" grep -q "1 changed" "$TMP/err"
rc=$(status_of "$MM" status --db "$TMP/v.db" --verify)
check "after which every record verifies" grep -q ": 0 damaged" "$TMP/err"
finish powercut
