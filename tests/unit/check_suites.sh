#!/bin/sh
# ctest's unit.suites: every GoogleTest suite in the unit_tests binary has
# its ctest entry (tests/CMakeLists.txt makes one a suite from the sources'
# TEST lines), so no test is built and never run.
#
#   check_suites.sh UNIT_TESTS SUITE...
set -eu
bin=$1
shift
# "Suite." or "Prefix/Suite." (TEST_P instantiations), one a line.
got=$("$bin" --gtest_list_tests | sed -n 's/^\([^ #][^ ]*\)\.\( .*\)\{0,1\}$/\1/p' | sed 's|^.*/||' | sort -u)
want=$(printf '%s\n' "$@" | sort -u)
missing=$(printf '%s\n' "$got" | grep -vxF "$want" || true)
[ -z "$missing" ] || { echo "suites without a ctest entry (unit.SUITE):" $missing; exit 1; }
extra=$(printf '%s\n' "$want" | grep -vxF "$got" || true)
[ -z "$extra" ] || { echo "ctest entries for suites the binary does not have:" $extra; exit 1; }
echo "$(printf '%s\n' "$got" | wc -l) suites, each a ctest entry"
