#!/usr/bin/env bats
# fpga-cat: ordering by chunk number, plain and gzip parts, output safety,
# and the checks that stop a join.

load ../helpers

CAT=$FPGA_BIN/fpga-cat
SPLIT=$FPGA_BIN/fpga-split

@test "--help and --version" {
  run "$CAT" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"Usage: fpga-cat"* ]]
  run "$CAT" --version
  [[ "$output" == "fpga-cat (fpga-tools) "* ]]
}

@test "plain parts join byte for byte in chunk order" {
  printf 'zero\n' > r.0.tsv
  printf 'one\n' > r.1.tsv
  printf 'two\n' > r.10.tsv
  for i in 2 3 4 5 6 7 8 9; do echo "$i" > r.$i.tsv; done
  # Made by hand, the parts say nothing of how many there are: a warning
  # (exit 2), which -q silences.
  run "$CAT" -q r.*.tsv
  [ "$status" -eq 2 ]
  [ "$output" = "$(printf 'zero\none\n2\n3\n4\n5\n6\n7\n8\n9\ntwo')" ]
  run "$CAT" r.0.tsv r.1.tsv
  [ "$status" -eq 2 ]
  [[ "$output" == "fpga-cat: r.0.tsv: warning: carries no part count (made by gzip or pigz?)"*"give --manifest to check"* ]]
}

@test "--lines refuses a plain part whose last line has no newline" {
  printf 'a\n' > r.000.tsv
  printf 'b' > r.001.tsv
  run "$CAT" -q --lines r.*.tsv
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-cat: r.001.tsv: corrupt data: last line has no newline (truncated?)" ]
  run "$CAT" -q r.*.tsv
  [ "$output" = "$(printf 'a\nb')" ]
}

@test "names without a chunk number, parts of different inputs, mixed kinds" {
  echo a > a.txt
  run "$CAT" a.txt
  [ "$status" -eq 1 ]
  [[ "$output" == *"a.txt: no chunk number in the name"*"--as-given"* ]]
  run "$CAT" --as-given a.txt a.txt
  [ "$output" = "$(printf 'a\na')" ]
  echo x > x.000
  echo y > y.001
  run "$CAT" -q x.000 y.001
  [ "$status" -eq 1 ]
  [[ "$output" == *"parts of different inputs"* ]]
  echo z | gzip > x.001
  run "$CAT" -q x.000 x.001
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-cat: x.000: corrupt data: not gzip data, but other parts are"* ]]
  : > x.000
  run "$CAT" -q x.000 x.001
  [[ "$output" == "fpga-cat: x.000: corrupt data: empty, but other parts are gzip data"* ]]
}

@test "-o is atomic, refuses to overwrite without -f, and never writes over a part" {
  make_text in 3000
  "$SPLIT" -n 2 in | xargs "$FPGA_BIN/fpga-gzip"
  echo keep > out.gz
  run "$CAT" -o out.gz in.*.gz
  [ "$status" -eq 1 ]
  [ "$(cat out.gz)" = keep ]
  "$CAT" -f -o out.gz in.*.gz
  zcat out.gz | cmp - in
  run bash -c "'$CAT' in.*.gz >> in.001.gz"
  [ "$status" -eq 1 ]
  [[ "$output" == *"the output is one of the parts"* ]]
  [ -z "$(ls -a | grep '^\.out')" ]
}

@test "gzip parts made by gzip and pigz join too (checked by inflating)" {
  make_text in 500
  "$SPLIT" -n l/3 in > names
  gzip -k in.000
  pigz -k in.001
  "$FPGA_BIN/fpga-gzip" -k in.002
  run "$CAT" -o j.gz in.*.gz
  # gzip and pigz parts say nothing of the count: a warning, exit 2.
  [ "$status" -eq 2 ]
  [[ "$output" == "fpga-cat: in.000.gz: warning: carries no part count"* ]]
  gzip -t j.gz
  zcat j.gz | cmp - in
  # The first part's name rule holds for gzip's parts too.
  [ "$(gzip -lN j.gz | awk 'NR==2 {print $4}')" = in ]
  head -c 200 in.001.gz > t && mv t in.001.gz
  run "$CAT" -q -o k.gz in.*.gz
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-cat: in.001.gz: corrupt data at member 1"* ]]
  [ ! -e k.gz ]
}

# Issue 26, item 3: fpga-gzip's default block is 2 MiB, fpga-split's default
# --align 2M, so its chunks, compressed apart and joined, are one process's
# bytes at any level.
@test "fpga-split -n's default chunks join byte-identically to fpga-gzip of the whole file, at -1 and -6" {
  seq 1 1000000 | head -c 6815744 > in   # 6.5 MiB: four 2 MiB blocks, seven 1 MiB ones (-n 2 at 1M: 3M)
  touch -d '2024-01-02 03:04:05' in
  for n in 2 3; do
    for lv in -1 -6; do
      rm -f in.0*
      "$SPLIT" -n $n in > names
      [ "$(wc -l < names)" -eq $n ]
      # every cut on a 2 MiB boundary
      for f in $(head -n -1 names); do [ $(( $(stat -c %s $f) % (2 << 20) )) -eq 0 ]; done
      "$OURS" $lv $(cat names)
      "$CAT" -o j.gz in.0*.gz
      "$OURS" $lv -c in > whole.gz
      cmp whole.gz j.gz
      rm -f j.gz in.0*.gz
      # ranges, the same
      for r in $("$SPLIT" --ranges -n $n in); do "$OURS" $lv "$r"; done
      "$CAT" -o j.gz in.0*.gz
      cmp whole.gz j.gz
      rm -f j.gz in.0*.gz
    done
  done
}

@test "ranges are parts too" {
  make_text in 100
  run "$CAT" $("$SPLIT" --ranges -n 4 in | sort -r)
  [ "$status" -eq 0 ]
  "$CAT" $("$SPLIT" --ranges -n 4 in) | cmp - in
  run "$CAT" --rm $("$SPLIT" --ranges -n 2 in)
  [ "$status" -eq 1 ]
  [[ "$output" == *"--rm removes files, not byte ranges"* ]]
  [ -f in ]
}

@test "a damaged manifest is a one-line error" {
  make_text in 100
  "$SPLIT" --manifest m -n 2 in | xargs "$FPGA_BIN/fpga-gzip"
  "$CAT" --manifest m | zcat | cmp - in
  head -c 40 m > m2
  run "$CAT" --manifest m2 in.*.gz
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-cat: m2: corrupt data: manifest line "* ]]
}

@test "a missing first, middle or last part is refused, with and without a manifest" {
  seq 1 300000 > big.log
  "$SPLIT" --manifest m -n 4 big.log | xargs "$FPGA_BIN/fpga-gzip" -k
  for gone in 0 1 3; do
    parts=""
    for i in 0 1 2 3; do [ $i = $gone ] || parts="$parts big.log.00$i.gz"; done
    run "$CAT" -o out.gz $parts
    [ "$status" -eq 1 ]
    [ "$output" = "fpga-cat: missing part for chunk $gone of 4 (big.log.00$gone.gz) (a job that failed?)" ]
    run "$CAT" --manifest m -o out.gz $parts
    [ "$status" -eq 1 ]
    [[ "$output" == *"missing part for chunk $gone of 4"* ]]
    [ ! -e out.gz ]
  done
  "$CAT" big.log.00{0,1,2,3}.gz | "$FPGA_BIN/fpga-gzip" -dc | cmp - big.log
  # Plain chunk files carry their count too.
  run "$CAT" big.log.00{0,1,2}
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing part for chunk 3 of 4 (big.log.003)"* ]]
  "$CAT" big.log.00? | cmp - big.log
}

@test "ranges and streams carry the count: a missing last part is found without a manifest" {
  seq 1 300000 > big.log
  "$SPLIT" --ranges -n 3 big.log | xargs -n 1 "$FPGA_BIN/fpga-gzip"
  run "$CAT" big.log.000.gz big.log.001.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing part for chunk 2 of 3"* ]]
  rm big.log.*.gz
  cat big.log | "$SPLIT" -b 500K - s | xargs "$FPGA_BIN/fpga-gzip"
  n=$(ls s.*.gz | wc -l)
  [ "$n" -ge 3 ]
  "$CAT" s.*.gz | "$FPGA_BIN/fpga-gzip" -dc | cmp - big.log
  rm "s.00$((n - 1)).gz"
  run "$CAT" s.*.gz
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-cat: missing the last part: chunk $((n - 1)) or later (s.00$((n - 1)).gz)"* ]]
}

@test "- is a part: standard input, with the same checks" {
  seq 1 300000 > big.log
  "$SPLIT" -n 3 big.log | xargs "$FPGA_BIN/fpga-gzip"
  "$CAT" big.log.000.gz - big.log.002.gz < big.log.001.gz | "$FPGA_BIN/fpga-gzip" -dc | cmp - big.log
  run bash -c "'$CAT' big.log.000.gz - < big.log.001.gz"
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing part for chunk 2 of 3"* ]]
  head -c 100 big.log.001.gz > cut.gz
  run bash -c "'$CAT' big.log.000.gz - big.log.002.gz < cut.gz"
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-cat: -: corrupt data"* ]]
}

@test "pigz and gzip parts: a warning that completeness cannot be checked, none with --manifest" {
  seq 1 30000 > in
  "$SPLIT" --manifest m -n 2 in > /dev/null
  gzip -k in.000
  pigz -k in.001
  run "$CAT" -o j.gz in.000.gz in.001.gz
  [ "$status" -eq 2 ]
  [[ "$output" == *"warning: carries no part count"* ]]
  zcat j.gz | cmp - in
  # gzip's first name big.log.000 becomes big.log, as for our parts.
  [ "$(gzip -lN j.gz | awk 'NR==2 {print $4}')" = in ]
  run "$CAT" --manifest m -o k.gz in.000.gz in.001.gz
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "a part whose header holds a 96 MiB name is read in bounded memory" {
  # The header is parsed in pieces (HeaderParser), not read whole: before,
  # a 300 MB name took 529 MB of memory.
  python3 -c "
import sys, zlib, struct
d = b'hello world\n' * 1000
c = zlib.compressobj(6, zlib.DEFLATED, -15)
body = c.compress(d) + c.flush()
sys.stdout.buffer.write(b'\x1f\x8b\x08\x08' + bytes(4) + b'\x00\x03' + b'n' * (96 << 20) + b'\x00' + body +
                        struct.pack('<II', zlib.crc32(d), len(d)))" > big.log.000.gz
  /usr/bin/time -f %M -o rss "$CAT" -q -o joined.gz big.log.000.gz || [ $? -eq 2 ]
  cmp joined.gz big.log.000.gz
  [ "$(tail -1 rss)" -lt 65536 ]
  rm -f big.log.000.gz joined.gz
}

@test "an edited part count (2^60, or one part of another split) is refused at once" {
  seq 1 100000 > b
  "$SPLIT" -n 3 b | xargs "$FPGA_BIN/fpga-gzip"
  cp b.001.gz keep.gz
  # FP follows FT in the first header: bytes 26-27 'FP', count at 39-46.
  [ "$(head -c 28 b.001.gz | tail -c 2)" = FP ]
  python3 -c 'import struct, sys
d = bytearray(open(sys.argv[1], "rb").read()); d[39:47] = struct.pack("<Q", 1 << 60)
open(sys.argv[1], "wb").write(d)' b.001.gz
  run timeout 20 "$CAT" b.00{0,1,2}.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"parts of different splits"* ]]
  for f in b.000.gz b.002.gz; do
    python3 -c 'import struct, sys
d = bytearray(open(sys.argv[1], "rb").read()); d[39:47] = struct.pack("<Q", 1 << 60)
open(sys.argv[1], "wb").write(d)' $f
  done
  run timeout 20 "$CAT" b.00{0,1,2}.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing parts for chunks 3, 4, 5, 6, 7, ... (1152921504606846973 in all)"* ]]
}
