#!/usr/bin/env bats
# The split-compute-join pipeline through GNU parallel: every way of
# splitting, with files and with ranges, 1, 2 and 4 jobs; the joined file is
# valid gzip, gives the input back, and is byte-identical to one process.
# Then the failures the join must refuse.

load ../helpers

SPLIT=$FPGA_BIN/fpga-split
CAT=$FPGA_BIN/fpga-cat

# 8.6 MiB of text: five 2 MiB blocks (fpga-gzip's default at -6), so -n 4
# aligns. Made once for the suite, copied (with its time) into each case's
# folder.
setup_file() {
  seq 1 1400000 | head -c 9000000 > "$BATS_FILE_TMPDIR/big.log"
  touch -d '2024-01-02 03:04:05' "$BATS_FILE_TMPDIR/big.log"
}

setup() {
  cd "$BATS_TEST_TMPDIR"
  command -v parallel >/dev/null || skip "GNU parallel is not installed"
  export PATH="$FPGA_BIN:$PATH"
  cp -p "$BATS_FILE_TMPDIR/big.log" .
}

# The input in a folder of its own (several pipelines through one parallel:
# GNU parallel takes some 0.5 s of CPU to start).
big_in() { # folder...
  local d
  for d; do mkdir -p "$d" && cp -p big.log "$d/"; done
}

# A join is valid gzip and gives the input back.
check_valid() { # file.gz
  gzip -t "$1"
  zcat "$1" | cmp - big.log
  fpga-gzip -d -c "$1" | cmp - big.log
}

# Joined output checks: valid, the input back, and (when cuts align) the
# same bytes as fpga-gzip of the whole file, which is checked as valid once
# a case (big.log does not change; a join of its bytes is as valid).
check_joined() { # joined.gz identical?
  if [ "$2" = identical ]; then
    if [ ! -f whole.gz ]; then
      fpga-gzip -c big.log > whole.gz
      check_valid whole.gz
    fi
    cmp whole.gz "$1"
  else
    check_valid "$1"
  fi
}

@test "the README's example works as written: split -n 2 | parallel fpga-gzip; fpga-cat" {
  fpga-split -n 2 big.log | parallel fpga-gzip
  [ -f big.log.000.gz ]
  [ -f big.log.001.gz ]
  fpga-cat big.log.*.gz > big.log.gz
  check_joined big.log.gz identical
  # The join carries the original name and time, as one process would.
  mkdir o && cp big.log.gz o/renamed.gz
  gzip -dN o/renamed.gz
  [ -f o/big.log ]
  [ "$(stat -c %Y o/big.log)" = "$(stat -c %Y big.log)" ]
}

@test "-n with chunk files and with --ranges, through 1, 2 and 4 jobs: byte-identical" {
  # Chunk files in f$j/, ranges in r$j/: both splits through one parallel.
  for j in 1 2 4; do
    big_in f$j r$j
    { fpga-split -n 4 f$j/big.log; fpga-split --ranges -n 4 r$j/big.log; } |
      parallel -j $j fpga-gzip --device {%} {}
    for d in f$j r$j; do
      [ "$(ls $d/big.log.*.gz | wc -l)" -eq 4 ]
      fpga-cat -o $d.gz $d/big.log.*.gz
      check_joined $d.gz identical
      [ -f $d/big.log ]
    done
  done
}

@test "-b, --lines and --record-size pipelines give the input back" {
  # Each split in a folder of its own, all four through one parallel.
  big_in bytes lines ranges
  mkdir rec
  head -c $((3073 * 40)) /dev/urandom > rec/cifar.bin
  { fpga-split -b 2M bytes/big.log; fpga-split -n l/3 lines/big.log; fpga-split --ranges -C 1500K ranges/big.log
    fpga-split --record-size 3073 -n 3 rec/cifar.bin; } | parallel -j 2 fpga-gzip
  fpga-cat -o j1.gz bytes/big.log.*.gz
  check_joined j1.gz identical
  fpga-cat -o j2.gz lines/big.log.*.gz
  check_joined j2.gz
  fpga-cat -o j3.gz ranges/big.log.*.gz
  check_joined j3.gz
  [ "$(ls rec/cifar.bin.00?.gz | wc -l)" -eq 3 ]
  for f in rec/cifar.bin.00?.gz; do [ $(( $(zcat "$f" | wc -c) % 3073 )) -eq 0 ]; done
  fpga-cat -o c.gz rec/cifar.bin.*.gz
  zcat c.gz | cmp - rec/cifar.bin
}

@test "a stream on stdin split with -b, compressed and joined" {
  cat big.log | fpga-split -b 2M - part | parallel -j 2 fpga-gzip
  [ "$(ls part.0* | wc -l)" -eq 5 ]
  fpga-cat part.*.gz > j.gz
  check_joined j.gz
}

@test "the FPGA_DEVICE idiom and a manifest-driven join" {
  fpga-split --manifest m -n 3 big.log | parallel -j 2 'FPGA_DEVICE={%} fpga-gzip {}'
  fpga-cat --manifest m --verify -o j.gz
  check_joined j.gz identical
}

@test "1,000 chunks come out in chunk order, not the shell's" {
  seq 1 20000 > many
  fpga-split -n l/1000 many > names
  [ "$(wc -l < names)" -eq 1000 ]
  [ "$(head -1 names)" = many.000 ]
  [ "$(tail -1 names)" = many.999 ]
  # Reverse the order given: the join still follows the chunk numbers.
  fpga-cat $(sort -r names) | cmp - many
  fpga-cat --as-given $(sort -r names) > rev
  ! cmp -s rev many
}

@test "the join refuses a missing, corrupt, truncated or duplicated part, and a failed job" {
  fpga-split --manifest m -n 4 big.log > names
  parallel -j 2 fpga-gzip -k < names
  mkdir keep && cp big.log.*.gz keep/

  mv big.log.001.gz gone.gz
  run fpga-cat -o out.gz big.log.*.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing part for chunk 1 of 4"* ]]
  [ ! -e out.gz ]
  # The last part missing: only a manifest can tell.
  mv gone.gz big.log.001.gz && mv big.log.003.gz gone.gz
  run fpga-cat --manifest m -o out.gz big.log.*.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing part for chunk 3 of 4"* ]]
  [ ! -e out.gz ]
  cp keep/*.gz .

  head -c 100000 keep/big.log.002.gz > big.log.002.gz
  run fpga-cat -o out.gz big.log.*.gz
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-cat: big.log.002.gz: corrupt data at member"*"truncated"* ]]
  [ ! -e out.gz ]
  cp keep/*.gz .

  printf 'X' | dd of=big.log.002.gz bs=1 seek=3000 conv=notrunc 2>/dev/null
  run fpga-cat --verify -o out.gz big.log.*.gz
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-cat: big.log.002.gz: corrupt data at member 1"* ]]
  [ ! -e out.gz ]
  # Without --verify the damage is inside the data: the manifest's CRC still
  # matches the trailers, so only inflating finds it; the structure is fine.
  cp keep/*.gz .

  cp big.log.002.gz big.log.02.gz
  run fpga-cat -o out.gz big.log.*.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"chunk 2 twice"* ]]
  [ ! -e out.gz ]
  rm big.log.02.gz

  # A part from another input under a chunk's name: the manifest's CRC tells.
  fpga-gzip -c /etc/passwd > big.log.001.gz
  run fpga-cat --manifest m -o out.gz big.log.*.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"big.log.001.gz"*"in the manifest"* ]]
  [ ! -e out.gz ]
  cp keep/*.gz .

  # A job that fails in parallel leaves no part, and the join refuses.
  rm big.log.*.gz big.log.002
  run parallel -j 2 fpga-gzip < names
  [ "$status" -eq 1 ]
  run fpga-cat -o out.gz big.log.*.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing part for chunk 2"* ]]
  [ ! -e out.gz ]
}

@test "--rm removes the parts only after the output is committed" {
  fpga-split -n 2 big.log | parallel fpga-gzip
  run fpga-cat --rm -o big.log.000.gz big.log.*.gz
  [ "$status" -eq 1 ]
  [ -f big.log.000.gz ]
  [ -f big.log.001.gz ]
  fpga-cat --rm -o j.gz big.log.*.gz
  [ ! -e big.log.000.gz ]
  [ ! -e big.log.001.gz ]
  check_joined j.gz identical
}
