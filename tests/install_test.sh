#!/usr/bin/env bash
# libmusicmap as an installed library (docs/api.md): `cmake --install` into a temporary prefix, then a
# small program (install_consumer.c) compiled with nothing but the installed headers and pkg-config,
# linked against the shared library and once statically, and run. Also the installed program, its man
# page (every command in it) and the headers (each compiles on its own, as C and as C++).
# Then examples/similar.c, built the same way, on a generated collection: it scans a file the catalog
# does not know and prints the songs most like it.
# Usage: install_test.sh CMAKE BUILD_DIR SOURCE_DIR [EXTRA_CFLAGS [MUSICMAP_SYNTH]]
set -u
CMAKE=$1
BUILD=$2
SRC=$3
EXTRA=${4:-} # the sanitizer flags of a sanitizer build: its library needs them in the program too
SYNTH=${5:-}
. "$(dirname "$0")/testlib.sh"

P="$TMP/prefix"
check "cmake --install succeeds" bash -c "'$CMAKE' --install '$BUILD' --prefix '$P' >'$TMP/install.log' 2>&1"
[ "$fail" = 0 ] || { cat "$TMP/install.log"; finish install; }
LIBDIR=$(dirname "$(find "$P" -name musicmap.pc | head -1)")/..
check "musicmap.pc is installed" test -f "$LIBDIR/pkgconfig/musicmap.pc"
check "libmusicmap.so with its SONAME link" test -L "$LIBDIR/libmusicmap.so" -a -e "$LIBDIR/libmusicmap.so.0"
check "libmusicmap.a" test -f "$LIBDIR/libmusicmap.a"
check "the headers, version.h among them" test -f "$P/include/musicmap/musicmap.h" -a -f "$P/include/musicmap/version.h"
check "no template is installed" test ! -e "$P/include/musicmap/version.h.in"
check "the program" test -x "$P/bin/musicmap"
check "the man page" test -f "$P/share/man/man1/musicmap.1"

export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
check "pkg-config knows musicmap" pkg-config --exists musicmap
check "pkg-config names the install prefix" bash -c "pkg-config --cflags musicmap | grep -q -- '-I$P/include'"
CFLAGS="-std=c11 -Wall -Wextra -Werror $EXTRA"

# shared: the program must find libmusicmap.so.0 in the prefix, not in the build tree
check "the consumer compiles against the installed tree (shared)" bash -c \
  "cc $CFLAGS -o '$TMP/consumer' '$SRC/tests/install_consumer.c' \$(pkg-config --cflags --libs musicmap) 2>'$TMP/cc.log' || { cat '$TMP/cc.log'; false; }"
check "it links libmusicmap.so.0" bash -c "readelf -d '$TMP/consumer' | grep -q 'NEEDED.*libmusicmap.so.0'"
mkdir -p "$TMP/db1"
LD_LIBRARY_PATH="$LIBDIR" "$TMP/consumer" "$TMP/db1" >"$TMP/out1" 2>&1
check "it runs" test $? = 0
check "it loads the installed library" bash -c "LD_LIBRARY_PATH='$LIBDIR' ldd '$TMP/consumer' | grep -q '$LIBDIR/libmusicmap.so.0\|$(cd "$LIBDIR" && pwd)/libmusicmap.so.0'"
VERSION=$(sed -n 's/^#define MM_VERSION_STRING "\(.*\)"/\1/p' "$P/include/musicmap/version.h")
check "mm_version() is the installed version" grep -q "^version $VERSION [0-9]* (compiled with $VERSION " "$TMP/out1"
check "it opened and closed a catalog" bash -c "grep -q '^catalog schema [1-9]' '$TMP/out1' && grep -q '^catalog closed' '$TMP/out1'"
check "and made it" test -f "$TMP/db1/library.db"
check "a missing model is 'not found'" grep -q "^missing model: not found" "$TMP/out1"
check "log lines go to the callback, by level" bash -c "grep -q '^consumer log 3: 3 songs' '$TMP/out1' && ! grep -q 'not shown' '$TMP/out1'"

# static: libmusicmap.a (-l: picks the archive over the .so) with the dependencies musicmap.pc names
# privately. They are linked shared here: `pkg-config --static` would also ask for the static libraries
# of FFmpeg's own dependencies, which Debian's FFmpeg .pc files list but few machines have.
PC="$LIBDIR/pkgconfig/musicmap.pc"
check "pkg-config --static adds the private dependencies" bash -c \
  "pkg-config --static --libs musicmap | grep -q -- -ldnnl && pkg-config --static --libs musicmap | grep -q -- -lsqlite3"
STATIC_LIBS="-L$LIBDIR -l:libmusicmap.a $(pkg-config --libs $(pkg-config --print-requires-private musicmap)) $(sed -n 's/^Libs.private: //p' "$PC")"
check "the consumer links libmusicmap.a" bash -c \
  "cc $CFLAGS -o '$TMP/consumer-static' '$SRC/tests/install_consumer.c' \$(pkg-config --cflags musicmap) $STATIC_LIBS 2>'$TMP/cc2.log' || { cat '$TMP/cc2.log'; false; }"
check "without libmusicmap.so" bash -c "! readelf -d '$TMP/consumer-static' | grep -q libmusicmap"
mkdir -p "$TMP/db2"
"$TMP/consumer-static" "$TMP/db2" >"$TMP/out2" 2>&1
check "the static consumer runs" test $? = 0
check "and says the same" bash -c "diff <(sed 1d '$TMP/out1') <(sed 1d '$TMP/out2') && grep -q '^version $VERSION' '$TMP/out2'"

# the example: the ten songs most like a file, scanning it first when it is new
check "examples/similar.c compiles against the installed tree" bash -c \
  "cc $CFLAGS -o '$TMP/similar' '$SRC/examples/similar.c' \$(pkg-config --cflags --libs musicmap) 2>'$TMP/cc3.log' || { cat '$TMP/cc3.log'; false; }"
if [ -n "$SYNTH" ] && [ -x "$SYNTH" ]; then
  "$SYNTH" --out "$TMP/songs" --count 16 --seconds 30 --genres classical,metal --formats wav --seed 4 >/dev/null 2>&1
  NEW=$(ls "$TMP"/songs/*.wav | head -1)
  # everything but NEW catalogued by the installed program
  mkdir -p "$TMP/known"
  for f in "$TMP"/songs/*.wav; do [ "$f" = "$NEW" ] || ln -s "$f" "$TMP/known/"; done
  "$P/bin/musicmap" -q scan --db "$TMP/ex.db" "$TMP/known"
  LD_LIBRARY_PATH="$LIBDIR" "$TMP/similar" "$TMP/ex.db" "$NEW" >"$TMP/sim1" 2>"$TMP/sim1.err"
  check "similar: runs on a new file" test $? = 0
  check "similar: says it scanned it" grep -q 'was new to the catalog: scanned' "$TMP/sim1.err"
  check "similar: ten songs, nearest first" bash -c "test \$(wc -l <'$TMP/sim1') = 10 && sort -n -c '$TMP/sim1'"
  check "similar: the file itself is not among them" bash -c "! grep -qF '$NEW' '$TMP/sim1'"
  LD_LIBRARY_PATH="$LIBDIR" "$TMP/similar" "$TMP/ex.db" "$NEW" 3 >"$TMP/sim2" 2>"$TMP/sim2.err"
  check "similar: a known file is not scanned again" bash -c "! grep -q scanned '$TMP/sim2.err' && test \$(wc -l <'$TMP/sim2') = 3"
  check "similar: the same nearest songs" bash -c "diff <(head -3 '$TMP/sim1') '$TMP/sim2'"
  # two genres far apart: the nearest songs are of the file's own genre (the generator's list says which)
  TSV="$TMP/songs/musicmap-synth.tsv"
  G=$(awk -F'\t' -v f="$(basename "$NEW")" '$3 == f {print $4}' "$TSV")
  awk -F'\t' -v g="$G" '$1 == "track" && $4 == g {print $3}' "$TSV" >"$TMP/same-genre"
  check "similar: the 5 nearest share the file's genre" bash -c "test \$(head -5 '$TMP/sim1' | grep -cF -f '$TMP/same-genre') -ge 4"
  check "similar: a file that is no audio fails with a message" bash -c \
    "echo x >'$TMP/x.wav'; ! LD_LIBRARY_PATH='$LIBDIR' '$TMP/similar' '$TMP/ex.db' '$TMP/x.wav' 2>'$TMP/sim3.err' && grep -q 'similar: .*x.wav' '$TMP/sim3.err'"
else
  echo "NOTE: no musicmap-synth given: the example was compiled but not run"
fi

# each header on its own, as C and as C++ (a C++ program includes them inside no extern "C" of its own)
for h in "$P"/include/musicmap/*.h; do
  name=$(basename "$h")
  check "$name compiles alone (C)" bash -c "echo '#include <musicmap/$name>' | cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I'$P/include' -x c -"
  if command -v c++ >/dev/null; then
    check "$name compiles alone (C++)" bash -c "echo '#include <musicmap/$name>' | c++ -Wall -Wextra -Werror -fsyntax-only -I'$P/include' -x c++ -"
  fi
done

# the installed program and its man page: every command of `musicmap --help` has a section
check "the installed program runs" bash -c "'$P/bin/musicmap' --version | grep -q '^musicmap $VERSION'"
"$P/bin/musicmap" --help | awk '/^Commands:/ {on = 1; next} on && /^$/ {exit} on {print $1}' >"$TMP/commands"
check "musicmap --help lists commands" test -s "$TMP/commands"
while read -r c; do
  roff=$(printf '%s' "$c" | sed 's/-/\\\\-/g')
  check "the man page documents '$c'" grep -q "^\.SS \"musicmap $roff\"" "$P/share/man/man1/musicmap.1"
done <"$TMP/commands"
if command -v groff >/dev/null; then
  check "the man page is clean roff" bash -c "groff -man -Tutf8 -ww -z '$P/share/man/man1/musicmap.1' 2>'$TMP/groff' && test ! -s '$TMP/groff'"
fi

finish install
