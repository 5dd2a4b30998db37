#!/usr/bin/env bats
# How fpga-cat reads its parts (issue 20's residuals): a part whose stat
# does not tell its size (/proc says 0, /sys says 4096 and holds 2, pipes,
# character devices) is read to learn it; a byte range is read through one
# descriptor from its check to its copy, as a whole file is, so a file
# swapped under its name meanwhile is never half joined; and parts are read
# through their descriptors, not /proc/self/fd, so fpga-cat works without /proc.

load ../helpers

CAT=$FPGA_BIN/fpga-cat
SPLIT=$FPGA_BIN/fpga-split

# Race attempts: a few by default, many with FPGA_LONG.
attempts() { if [ -n "${FPGA_LONG:-}" ]; then echo 2000; else echo 40; fi; }

@test "/proc/version (st_size 0) as a part is joined whole, status 0" {
  [ -r /proc/version ] || skip "no /proc/version"
  [ "$(stat -c %s /proc/version)" -eq 0 ] || skip "/proc/version has a size here"
  run "$CAT" --as-given /proc/version
  [ "$status" -eq 0 ]
  [ "$output" = "$(cat /proc/version)" ]
  "$CAT" --as-given /proc/version /proc/version > two
  cat /proc/version /proc/version | cmp - two
  # a part longer than one read
  if [ -r /proc/kallsyms ]; then
    "$CAT" --as-given /proc/kallsyms > k
    [ "$(stat -c %s k)" -gt 0 ]
    [ "$(wc -l < k)" -eq "$(wc -l < /proc/kallsyms)" ]
  fi
}

@test "/sys/kernel/profiling (says 4096, holds 2) as a part: its 2 bytes" {
  [ -r /sys/kernel/profiling ] || skip "no /sys/kernel/profiling"
  [ "$(stat -c %s /sys/kernel/profiling)" -gt "$(cat /sys/kernel/profiling | wc -c)" ] || skip "its stat tells the truth here"
  "$CAT" --as-given /sys/kernel/profiling > p
  cmp p /sys/kernel/profiling
}

@test "pipes and character devices as parts are read to their end, plain and gzip" {
  seq 1 1000 > a
  seq 1000 3000 > b
  "$CAT" --as-given <(cat a) <(cat b) > j
  cat a b | cmp - j
  "$CAT" --as-given <("$OURS" -c a) <("$OURS" -c b) > j.gz
  gzip -dc j.gz | cmp - <(cat a b)
  gzip -t j.gz
  "$CAT" --as-given /dev/null a /dev/null > j2
  cmp j2 a
  # a FIFO whose writer comes later is waited for, not read as empty
  mkfifo late
  ( sleep 0.3; cat b > late ) &
  "$CAT" --as-given a late > j3
  wait
  cat a b | cmp - j3
  # --rm removes files: not a pipe (nor /dev/fd/N, a symbolic link)
  ( cat b > late ) &
  run "$CAT" --rm --as-given a late
  wait
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-cat: late: --rm removes files, not byte ranges, standard input, pipes or devices" ]
  [ -e a ] && [ -p late ]
  run "$CAT" --rm --as-given a <(cat b)
  [ "$status" -eq 1 ]
  [ -e a ]
}

# Two byte ranges of NAME, whose content flips with OTHER's (same size)
# all the time; the output must be the ranges of one of the two files.
@test "byte ranges: a file swapped under its name during the join is never half joined (plain parts)" {
  seq 1 200000 > f
  seq 200001 400000 | head -c "$(stat -c %s f)" > f.other
  half=$(( $(stat -c %s f) / 2 ))
  rest=$(( $(stat -c %s f) - half ))
  run "$PY" "$FIXTURES/race.py" join "$(attempts)" f f.other \
    "$CAT" "f@0/2:0+$half" "f@1/2:$half+$rest"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "byte ranges: the same for gzip parts (members checked at the scan, copied from the same file)" {
  seq 1 100000 > x0
  seq 100001 200000 | head -c "$(stat -c %s x0)" > x1
  seq 300001 400000 | head -c "$(stat -c %s x0)" > y0
  seq 500001 600000 | head -c "$(stat -c %s x0)" > y1
  # stored blocks (level 0): members of the same sizes for the same lengths
  for n in x0 x1 y0 y1; do "$OURS" -0 -n -c < $n > $n.gz; done
  [ "$(stat -c %s x0.gz)" -eq "$(stat -c %s y0.gz)" ]
  cat x0.gz x1.gz > f
  cat y0.gz y1.gz > f.other
  a=$(stat -c %s x0.gz)
  b=$(stat -c %s x1.gz)
  run "$PY" "$FIXTURES/race.py" join "$(attempts)" f f.other \
    "$CAT" --as-given "f@0/2:0+$a" "f@1/2:$a+$b"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "whole-file parts under the same race: the file opened is the file joined" {
  seq 1 200000 > f
  seq 200001 400000 | head -c "$(stat -c %s f)" > f.other
  run "$PY" "$FIXTURES/race.py" join "$(attempts)" f f.other "$CAT" --as-given f
  echo "$output"
  [ "$status" -eq 0 ]
}

# fpga-cat in a mount namespace whose /proc is an empty tmpfs.
without_proc() {
  unshare -m sh -c 'mount -t tmpfs none /proc && exec "$@"' sh "$@"
}

@test "without /proc: gzip parts, plain parts, ranges, standard input, -o and --rm" {
  unshare -m sh -c 'mount -t tmpfs none /proc && [ ! -e /proc/self ]' 2>/dev/null ||
    skip "cannot unmount /proc in a mount namespace here (unshare -m)"
  seq 1 300000 > big
  "$SPLIT" -n 2 big > /dev/null
  "$OURS" -k big.000 big.001
  without_proc "$CAT" big.000.gz big.001.gz > j.gz
  gzip -dc j.gz | cmp - big
  without_proc "$CAT" big.000 big.001 > j
  cmp j big
  size=$(stat -c %s big)
  without_proc "$CAT" "big@0/2:0+1000" "big@1/2:1000+$((size - 1000))" > r
  cmp r big
  "$OURS" -c big.001 | without_proc "$CAT" --as-given big.000.gz - > s.gz
  gzip -dc s.gz | cmp - big
  without_proc "$CAT" --rm -o o.gz big.000.gz big.001.gz
  gzip -dc o.gz | cmp - big
  [ ! -e big.000.gz ] && [ ! -e big.001.gz ]
}
