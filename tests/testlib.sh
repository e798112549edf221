# Sourced by the shell tests: a temporary folder, check/status_of, the closing line, and the rule for
# reference data (../shared/reference exists only beside this project's own checkout and in its CI).
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
check() { # description, command...
  local what=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}
status_of() { "$@" >"$TMP/out" 2>"$TMP/err"; echo $?; }
# require_reference DIR WHAT: skip (exit 77) when DIR is missing; under CI=true that is a failure.
require_reference() {
  [ -f "$1/README.md" ] && return 0
  if [ "${CI:-}" = true ]; then
    echo "FAIL: reference data not found at $1: the $2 checks cannot run (CI=true needs ../shared/reference)"
    exit 1
  fi
  echo "SKIP: reference data not found at $1: the $2 checks did not run"
  exit 77
}
# finish NAME: the closing line, and the exit status
finish() {
  echo "$1: $pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit
}
