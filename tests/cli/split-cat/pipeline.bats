#!/usr/bin/env bats
# The split-compute-join pipeline through GNU parallel: every way of
# splitting, with files and with ranges, 1, 2 and 4 jobs; the joined file is
# valid gzip, gives the input back, and is byte-identical to one process.
# Then the failures the join must refuse.

load ../helpers

SPLIT=$FPGA_BIN/fpga-split
CAT=$FPGA_BIN/fpga-cat

setup() {
  cd "$BATS_TEST_TMPDIR"
  command -v parallel >/dev/null || skip "GNU parallel is not installed"
  export PATH="$FPGA_BIN:$PATH"
  # 5.3 MiB of text: several 1 MiB blocks, so -n aligns.
  seq 1 800000 | head -c 5500000 > big.log
  touch -d '2024-01-02 03:04:05' big.log
}

# Joined output checks: valid, the input back, and (when cuts align) the
# same bytes as fpga-gzip of the whole file.
check_joined() { # joined.gz identical?
  gzip -t "$1"
  zcat "$1" | cmp - big.log
  fpga-gzip -d -c "$1" | cmp - big.log
  if [ "$2" = identical ]; then
    # fpga-gzip of the whole file, made once a case (big.log does not change).
    [ -f whole.gz ] || fpga-gzip -c big.log > whole.gz
    cmp whole.gz "$1"
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
  for j in 1 2 4; do
    for mode in files ranges; do
      rm -f big.log.0*
      if [ $mode = ranges ]; then opt=--ranges; else opt=; fi
      fpga-split $opt -n 4 big.log | parallel -j $j fpga-gzip --device {%} {}
      fpga-cat -o joined.gz big.log.*.gz
      check_joined joined.gz identical
      [ -f big.log ]
      rm joined.gz
    done
  done
}

@test "-b, --lines and --record-size pipelines give the input back" {
  fpga-split -b 2M big.log | parallel -j 2 fpga-gzip
  fpga-cat -o j1.gz big.log.*.gz
  check_joined j1.gz identical
  rm big.log.0*
  fpga-split -n l/3 big.log | parallel -j 2 fpga-gzip
  fpga-cat -o j2.gz big.log.*.gz
  check_joined j2.gz
  rm big.log.0*
  fpga-split --ranges -C 1500K big.log | parallel -j 2 fpga-gzip
  fpga-cat -o j3.gz big.log.*.gz
  check_joined j3.gz
  rm big.log.0*
  head -c $((3073 * 40)) /dev/urandom > cifar.bin
  fpga-split --record-size 3073 -n 3 cifar.bin | parallel -j 2 fpga-gzip
  for f in cifar.bin.00?.gz; do [ $(( $(zcat "$f" | wc -c) % 3073 )) -eq 0 ]; done
  fpga-cat -o c.gz cifar.bin.*.gz
  zcat c.gz | cmp - cifar.bin
}

@test "a stream on stdin split with -b, compressed and joined" {
  cat big.log | fpga-split -b 1M - part | parallel -j 2 fpga-gzip
  [ "$(ls part.0* | wc -l)" -eq 6 ]
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
