#!/usr/bin/env bats
# The test suites themselves: every suite under tests/cli is run by ctest
# under a name that follows its path, and a suite run as parts runs each of
# its cases in exactly one part (a case in no part would never run).

load ../helpers

CMAKE_TESTS=$FPGA_SOURCE_DIR/tests/CMakeLists.txt

@test "every .bats file under tests/cli is a ctest entry named cli.AREA.NAME" {
  local f rel missing=""
  cd "$FPGA_SOURCE_DIR/tests/cli"
  for f in */*.bats; do
    rel=${f%.bats}
    grep -Eq "^  $rel\$|^cli_suite\($rel[ )]|^  cli_suite\($rel[ )]|^cli_suite_part\($rel " "$CMAKE_TESTS" ||
      missing="$missing $f"
  done
  [ -z "$missing" ] || { echo "not run by ctest:$missing"; false; }
  # And the other way: no entry names a file that is not there.
  local listed
  listed=$(sed -n '/^set(CLI_SUITES/,/^)/p' "$CMAKE_TESTS" | sed -n 's/^  \([a-z-]*\/[a-z-]*\)$/\1/p')
  [ "$(wc -w <<< "$listed")" -ge 20 ]
  for rel in $listed; do
    [ -f "$rel.bats" ] || { echo "CLI_SUITES names $rel.bats, which does not exist"; false; }
  done
}

@test "a suite run as parts runs every case in exactly one part" {
  local line path filter title n suites=0 bad=0
  declare -A filters
  while read -r line; do
    path=$(sed 's/^cli_suite_part(\([^ ]*\) .*/\1/' <<< "$line")
    filter=$(sed 's/^cli_suite_part([^ ]* [^ ]* "\(.*\)".*/\1/' <<< "$line")
    filters[$path]+="$filter"$'\n'
  done < <(grep '^cli_suite_part(' "$CMAKE_TESTS")
  for path in "${!filters[@]}"; do
    suites=$((suites + 1))
    while IFS= read -r title; do
      n=0
      while IFS= read -r filter; do
        [ -n "$filter" ] || continue
        [[ $title =~ $filter ]] && n=$((n + 1))
      done <<< "${filters[$path]}"
      [ "$n" -eq 1 ] || { echo "$path: '$title' is in $n parts"; bad=1; }
    done < <(sed -n 's/^@test "\(.*\)" {$/\1/p' "$FPGA_SOURCE_DIR/tests/cli/$path.bats")
  done
  [ "$suites" -ge 1 ]
  [ "$bad" -eq 0 ]
}
