#!/bin/sh
# Runs every test of a build tree with ctest and prints, after ctest's own
# summary, the wall time and the ten slowest entries, so the time budget of
# `make test` stays in sight (issue 19: 10 minutes on 2 cores, build
# included; no entry over 120 s).
#
#   scripts/run-tests.sh BUILD_DIR JOBS TIMEOUT [ctest options...]
#
# TIMEOUT is ctest's --timeout, a safety net for a hung test on a loaded
# machine (entries with their own TIMEOUT property keep it). The exit status
# is ctest's.
set -u
build=$1 jobs=$2 timeout=$3
shift 3
log=$build/Testing/ctest-output.log
mkdir -p "$build/Testing"
start=$(date +%s)
# ctest's status through a file (sh has no pipefail); both ends of the pipe
# stay in the foreground, so Ctrl-C stops the tests too.
rcfile=$build/Testing/ctest-status
echo 1 > "$rcfile"
{ (cd "$build" && ctest --output-on-failure -j "$jobs" --timeout "$timeout" "$@"); echo $? > "$rcfile"; } 2>&1 |
  tee "$log"
rc=$(cat "$rcfile")
end=$(date +%s)
echo
echo "Slowest entries (seconds; the budget is 120 each):"
sed -n 's/^ *[0-9]*\/[0-9]* Test *#[0-9]*: \([^ ]*\) .* \([0-9.]*\) sec$/\2 \1/p' "$log" |
  sort -rn | head -n 10 |
  awk '{ printf "  %7.1f  %s%s\n", $1, $2, ($2 == "armhf.build" ? "   (the armhf cross-build, not a test)" : $1 > 120 ? "   (over 120 s)" : "") }'
echo "ctest wall time: $((end - start)) s (-j $jobs)"
exit $rc
