#!/usr/bin/env bats
# Long runs, opt-in: make stress (FPGA_STRESS=1). Not part of make test.

load ../helpers

setup() {
  [ -n "${FPGA_STRESS:-}" ] || skip "set FPGA_STRESS=1 (make stress)"
  cd "$BATS_TEST_TMPDIR"
}

@test "a 4 GiB stream through compress | decompress: exact length, bounded memory" {
  run bash -c "head -c 4294967296 /dev/urandom | /usr/bin/time -f '%M' '$OURS' -1 -p 2 2>rss1 | /usr/bin/time -f '%M' '$OURS' -d -p 2 2>rss2 | wc -c"
  [ "$output" = 4294967296 ]
  (( $(tail -1 rss1) < 65536 ))
  (( $(tail -1 rss2) < 65536 ))
}

@test "a 1 GiB text file round-trips at every level from 1 to 9" {
  seq 1 150000000 | head -c 1073741824 > big
  for l in 1 2 3 4 5 6 7 8 9; do
    "$OURS" -$l -c big | gzip -dc | cmp - big
  done
}
