#!/usr/bin/env bats
# Issue 21, item 7: a stream that is one member (the input fits in one
# block) is that member alone, carrying the end-of-stream flag itself (FT
# version 2), not a member and an empty end member. Every reader reads it,
# joins stay one stream with one end, a cut is still found, and files of
# the old format (tests/cli/fixtures/ft-v1, written by 87af3f3) read and
# join exactly as before.

load ../helpers

CAT=$FPGA_BIN/fpga-cat
SPLIT=$FPGA_BIN/fpga-split
OLD=$FIXTURES/ft-v1

# The bytes of FILE's members: offset, size, FT version and flags, one line each.
members() { # file
  "$PY" - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
pos = 0
while pos < len(b):
    flg = b[pos + 3]
    assert b[pos:pos + 2] == b"\x1f\x8b" and flg & 4
    xlen = struct.unpack_from("<H", b, pos + 10)[0]
    extra = b[pos + 12:pos + 12 + xlen]
    i, ft = 0, None
    while i + 4 <= len(extra):
        sid, n = extra[i:i + 2], struct.unpack_from("<H", extra, i + 2)[0]
        if sid == b"FT":
            ft = extra[i + 4:i + 4 + n]
        i += 4 + n
    size = struct.unpack_from("<I", ft, 2)[0]
    print(pos, size, ft[0], ft[1])
    pos += size
PY
}

@test "a 2-byte file is one member with the end flag: 45 bytes, not 81 (gzip: 26)" {
  printf ab > two
  "$OURS" -k two
  [ "$(stat -c %s two.gz)" -eq 45 ]
  [ "$(members two.gz)" = "0 45 2 1" ]
  [ "$(stat -c %s "$OLD/two.gz")" -eq 81 ]
}

@test "sizes against gzip -6: 0, 2, 100 bytes and 1 MB" {
  : > s0
  printf ab > s2
  seq 1 100 | head -c 100 > s100
  seq 1 200000 | head -c 1000000 > s1m
  for f in s0 s2 s100 s1m; do
    "$OURS" -6 -k "$f"
    gzip -6 -c "$f" > "$f.gzip"
    echo "$f: $(stat -c %s "$f") bytes, fpga-gzip $(stat -c %s "$f.gz"), gzip $(stat -c %s "$f.gzip")" >&3
  done
  # one member each (1 MB < 1 MiB): the header's FT and name, no end member
  [ "$(members s0.gz)" = "0 39 1 1" ]
  [ "$(stat -c %s s2.gz)" -eq 44 ]
  [ "$(members s1m.gz | wc -l)" -eq 1 ]
  # within FT's 14 bytes (FEXTRA) and the deflate engine's choices of gzip's size
  [ "$(stat -c %s s100.gz)" -le $(( $(stat -c %s s100.gzip) + 14 + 8 )) ]
}

@test "a one-member file is read by gzip, zcat, pigz, Python, zlib and fpga-gzip" {
  printf ab > two
  seq 1 100 > hundred
  for f in two hundred; do
    "$OURS" -k "$f"
    gzip -t "$f.gz"
    gzip -dc "$f.gz" | cmp - "$f"
    zcat "$f.gz" | cmp - "$f"
    pigz -dc "$f.gz" | cmp - "$f"
    "$PY" -c 'import gzip,sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())' "$f.gz" | cmp - "$f"
    "$PY" -c 'import zlib,sys; sys.stdout.buffer.write(zlib.decompress(open(sys.argv[1],"rb").read(), 31))' "$f.gz" | cmp - "$f"
    "$OURS" -dc "$f.gz" | cmp - "$f"
    "$OURS" -t "$f.gz"
  done
  # gzip -l now gives the true size (the last member's ISIZE is the data's)
  [ "$(gzip -l hundred.gz | awk 'NR==2 {print $2}')" -eq "$(stat -c %s hundred)" ]
  run "$OURS" -l hundred.gz
  [[ "${lines[1]}" == *" $(stat -c %s hundred) "* ]]
}

@test "-v: the ratio of a tiny file is gzip's (header and trailer left out)" {
  seq 1 1000 > t
  printf ab > two
  run "$OURS" -v -k t
  [ "$status" -eq 0 ]
  # gzip's formula: the deflate data against the input; here one member
  # with a header of 10 + 2 + 14 (FT) + 2 (the name "t") bytes
  want=$("$PY" -c "import os; n = os.path.getsize('t'); d = os.path.getsize('t.gz') - 28 - 8; print('%5.1f%%' % (100.0 * (n - d) / n))")
  [ "$output" = "t:	$want -- created t.gz" ]
  echo "gzip: $(gzip -v -c t 2>&1 > /dev/null)" >&3
  # 2 bytes in a stored block of 7 (libdeflate's choice for tiny input;
  # gzip's fixed-Huffman block is 4: -100.0%), not -4400%
  run "$OURS" -v -k two
  [ "$status" -eq 0 ]
  [ "$output" = "two:	-250.0% -- created two.gz" ]
}

@test "a cut is still found: anywhere in a one-member file, at every member boundary of a longer one" {
  printf ab > two
  "$OURS" -k two
  size=$(stat -c %s two.gz)
  for n in 2 10 20 30 40 $((size - 1)); do
    head -c "$n" two.gz > cut.gz
    run "$OURS" -t cut.gz
    [ "$status" -eq 1 ]
    run "$CAT" --as-given cut.gz
    [ "$status" -eq 1 ]
  done
  # several members: the end member is still there, and a cut after any
  # member is "cut short"
  seq 1 100000 > many
  "$OURS" -b 64 -k many
  [ "$(members many.gz | tail -1 | cut -d' ' -f3-)" = "1 1" ]
  [ "$(members many.gz | wc -l)" -ge 5 ]
  while read -r off msize ver flags; do
    [ "$ver $flags" = "1 0" ] || [ "$ver $flags" = "1 1" ]
    [ "$off" -eq 0 ] && continue
    head -c "$off" many.gz > cut.gz
    run "$OURS" -t cut.gz
    [ "$status" -eq 1 ]
    run "$CAT" --as-given cut.gz
    [ "$status" -eq 1 ]
    [[ "$output" == *"end-of-stream member is missing (truncated?)"* ]]
  done < <(members many.gz)
}

@test "joins of one-member parts: one stream, exactly one end, every cut found" {
  seq 1 1000 > a
  seq 1001 2000 > b
  seq 2001 3000 > c
  "$OURS" -k a b c
  "$CAT" --as-given a.gz b.gz c.gz > j.gz
  gzip -dc j.gz | cmp - <(cat a b c)
  "$OURS" -t j.gz
  # the inner members lost their end flag (FT version 1 again); one end member
  [ "$(members j.gz | cut -d' ' -f3- | tr '\n' ' ')" = "1 0 1 0 1 0 1 1 " ]
  while read -r off msize ver flags; do
    [ "$off" -eq 0 ] && continue
    head -c "$off" j.gz > cut.gz
    run "$OURS" -t cut.gz
    [ "$status" -eq 1 ]
  done < <(members j.gz)
  # a split of a small file, compressed and joined: the same data, one end
  seq 1 5000 > small
  "$SPLIT" -n 3 small > /dev/null
  "$OURS" small.000 small.001 small.002
  "$CAT" small.*.gz > sj.gz
  gzip -dc sj.gz | cmp - small
  [ "$(members sj.gz | awk '$4 == 1' | wc -l)" -eq 1 ]
  # one part of one member joins to itself (name and all): still one member
  "$OURS" -c a > one.gz
  "$CAT" --as-given one.gz | cmp - one.gz
  # cat of one-member files is a valid concatenation
  cat a.gz b.gz | "$OURS" -dc | cmp - <(cat a b)
}

@test "blocks of a big file: as before, data members and an end member, byte-identical join" {
  seq 1 600000 > big
  "$OURS" -k big
  [ "$(members big.gz | tail -1 | cut -d' ' -f2-)" = "36 1 1" ]
  "$SPLIT" -n 2 big > /dev/null
  "$OURS" big.000 big.001
  "$CAT" big.000.gz big.001.gz | cmp - big.gz
  # a file of exactly one block: one member too
  head -c 1048576 big > block
  "$OURS" -k block
  [ "$(members block.gz | wc -l)" -eq 1 ]
  "$OURS" -dc block.gz | cmp - block
}

@test "files of the old format (written by 87af3f3) read and join exactly as before" {
  [ "$(gzip -dc "$OLD/two.gz")" = "ab" ]
  "$OURS" -dc "$OLD/two.gz" | cmp - <(printf ab)
  "$OURS" -t "$OLD/empty.gz" "$OLD/small.gz" "$OLD/small.joined.gz"
  "$OURS" -dc "$OLD/small.gz" | cmp - <(seq 1 30)
  cp "$OLD/small.000.gz" "$OLD/small.001.gz" .
  "$CAT" small.000.gz small.001.gz | cmp - "$OLD/small.joined.gz"
  # an old file cut before its end member is still cut short
  head -c 45 "$OLD/two.gz" > cut.gz
  run "$OURS" -t cut.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"end-of-stream member is missing"* ]]
  run "$CAT" --as-given cut.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"end-of-stream member is missing (truncated?)"* ]]
  # old and new parts join into one stream
  printf ab > two
  "$OURS" -k two
  "$CAT" --as-given "$OLD/two.gz" two.gz | gzip -dc | cmp - <(printf abab)
  "$CAT" --as-given two.gz "$OLD/two.gz" > mixed.gz
  [ "$(members mixed.gz | cut -d' ' -f3- | tr '\n' ' ')" = "1 0 1 0 1 1 " ]
}

@test "a one-member file whose FT member size is stale (renamed by a joiner older than version 2) reads as gzip reads it" {
  # fpga-cat before version 2 copied such a member as a foreign one: it
  # renamed FNAME (f.000 -> f) and left FT's member size as it was. gzip
  # reads the result, so fpga-gzip must too (its data, CRC-32 and trailer
  # are still checked).
  head -c 3000 "$FPGA_SOURCE_DIR/README.md" > f
  "$SPLIT" -n 3 f > /dev/null
  "$OURS" f.000 f.001 f.002
  "$PY" - f.000.gz f.001.gz f.002.gz <<'PY' > stale.gz
import sys
out = b""
for n, path in enumerate(sys.argv[1:]):
    b = open(path, "rb").read()
    assert b[3] & 8  # FNAME
    xlen = b[10] | b[11] << 8
    p = 12 + xlen
    end = b.index(0, p)
    # The first part keeps its name, shortened; the others lose theirs.
    name = b[p:end].rsplit(b".", 1)[0] + b"\0" if n == 0 else b""
    flg = b[3] if n == 0 else b[3] & ~8
    out += b[:3] + bytes([flg]) + b[4:p] + name + b[end + 1:]
sys.stdout.buffer.write(out)
PY
  gzip -t stale.gz
  "$OURS" -dc stale.gz > out
  cmp out f
  "$OURS" -t stale.gz
  # A cut inside a member is still found.
  head -c 100 stale.gz > cut.gz
  run "$OURS" -t cut.gz
  [ "$status" -eq 1 ]
}
