#!/usr/bin/env bats
# fpga-cat: ordering by chunk number, plain and gzip parts, output safety,
# and the checks that stop a join.

load helpers

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
  run "$CAT" r.*.tsv
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'zero\none\n2\n3\n4\n5\n6\n7\n8\n9\ntwo')" ]
}

@test "--lines refuses a plain part whose last line has no newline" {
  printf 'a\n' > r.000.tsv
  printf 'b' > r.001.tsv
  run "$CAT" --lines r.*.tsv
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-cat: r.001.tsv: corrupt data: last line has no newline (truncated?)" ]
  run "$CAT" r.*.tsv
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
  run "$CAT" x.000 y.001
  [ "$status" -eq 1 ]
  [[ "$output" == *"parts of different inputs"* ]]
  echo z | gzip > x.001
  run "$CAT" x.000 x.001
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-cat: x.000: corrupt data: not gzip data, but other parts are"* ]]
  : > x.000
  run "$CAT" x.000 x.001
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
  "$SPLIT" -l -n 3 in > names
  gzip -k in.000
  pigz -k in.001
  "$FPGA_BIN/fpga-gzip" -k in.002
  "$CAT" -o j.gz in.*.gz
  gzip -t j.gz
  zcat j.gz | cmp - in
  head -c 200 in.001.gz > t && mv t in.001.gz
  run "$CAT" -o k.gz in.*.gz
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-cat: in.001.gz: corrupt data at member 1"* ]]
  [ ! -e k.gz ]
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
  /usr/bin/time -f %M -o rss "$CAT" -o joined.gz big.log.000.gz
  cmp joined.gz big.log.000.gz
  [ "$(cat rss)" -lt 65536 ]
  rm -f big.log.000.gz joined.gz
}
