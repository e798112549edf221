#!/usr/bin/env bash
# What libmusicmap.so exports (docs/api.md): every dynamic symbol it defines is an mm_ name declared in
# the public headers, and every function the headers declare is exported (a declaration without MM_API,
# or an nn.h without its visibility pragma, would leave a hole that only a program's link would find).
# Usage: exports_test.sh LIBMUSICMAP.so INCLUDE_DIR GENERATED_INCLUDE_DIR
set -u
LIB=$1
INC=$2
GEN=$3
. "$(dirname "$0")/testlib.sh"

# the public headers without their comments (so that a name in a comment declares nothing)
for h in "$INC"/musicmap/*.h "$GEN"/musicmap/*.h; do
  gcc -fpreprocessed -dD -E -P -x c "$h" 2>/dev/null
done >"$TMP/headers"
# functions declared: a name followed by '(' that is not a pointer typedef's "(*name)", nor the return
# type of a function pointer ("mm_status (*run)(...)")
grep -oE '[^*[:alnum:]_]mm_[a-z0-9_]+[[:space:]]*\(([^*]|$)' "$TMP/headers" | grep -oE 'mm_[a-z0-9_]+' | sort -u >"$TMP/declared"
# a name in a #define (an alias such as mm_knn_defaults) is not a function of its own
grep -oE '^#define (mm_[a-z0-9_]+)' "$TMP/headers" | awk '{print $2}' | sort -u >"$TMP/macros"
comm -23 "$TMP/declared" "$TMP/macros" >"$TMP/functions"

nm -D --defined-only "$LIB" | awk 'NF >= 3 {print $3}' | sed 's/@.*//' | sort -u >"$TMP/exported"
check "the library exports something" test -s "$TMP/exported"
check "the headers declare functions" test -s "$TMP/functions"

grep -v '^mm_' "$TMP/exported" >"$TMP/unprefixed"
check "every exported symbol starts with mm_" test ! -s "$TMP/unprefixed"
sed 's/^/  not mm_: /' "$TMP/unprefixed"

while read -r sym; do
  grep -qw "$sym" "$TMP/headers" || echo "$sym"
done < <(grep '^mm_' "$TMP/exported") >"$TMP/undeclared"
check "every exported symbol is declared in include/musicmap/*.h" test ! -s "$TMP/undeclared"
sed 's/^/  exported, not declared: /' "$TMP/undeclared"

comm -23 "$TMP/functions" "$TMP/exported" >"$TMP/hidden"
check "every function declared in include/musicmap/*.h is exported" test ! -s "$TMP/hidden"
sed 's/^/  declared, not exported (MM_API missing?): /' "$TMP/hidden"

finish exports
