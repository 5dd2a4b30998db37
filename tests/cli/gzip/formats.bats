#!/usr/bin/env bats
# The other formats gzip reads (compress .Z, pack .z, zip), suffixes in any
# case, -cdf pass-through and trailing data. Cases that describe gzip run
# against GNU gzip too (FPGA_GZIP=gzip, cli.formats.reference-gzip); the
# ones about pigz's -z and -K, and the damage tests that compare us with
# gzip, are skipped there. The damage tests try every cut and every bit flip
# in make test-long (FPGA_LONG=1); make test a sample of them that still
# cuts and flips every header byte and every byte (fixtures/mutate.py).

load ../helpers

PACK="python3 $FIXTURES/pack.py"
MUTATE="python3 $FIXTURES/mutate.py"

ours_only() { is_reference && skip "fpga-gzip only"; true; }

# Text with some repetition, the first N bytes of it.
make_words() { # name bytes
  for i in $(seq 1 400); do echo "line $i: the quick brown fox $((i * i % 97)) jumps over $((i % 7)) dogs"; done |
    head -c "$2" > "$1"
}

# A text whose LZW table fills and clears: several widths and CLEAR codes.
make_varied() { # name bytes
  head -c $(( $2 * 3 / 4 )) /dev/urandom | base64 -w 76 | head -c "$2" > "$1"
}

@test ".Z from compress: every code width 9-16 in block mode, and X.Z -> X" {
  make_varied big 400000
  make_words small 200  # -b9: compress's own 9-bit output is readable only while its table is not full
  for b in 9 10 11 12 13 14 15 16; do
    f=big; [ $b = 9 ] && f=small
    compress -b$b -c $f > x$b.Z
    "$GZ" -dc x$b.Z | cmp - $f
  done
  cp x16.Z X.Z
  run "$GZ" -d X.Z
  [ "$status" -eq 0 ]
  [ ! -e X.Z ]
  cmp X big
}

@test ".Z without block mode (compress -C) is read exactly as gzip reads it" {
  ours_only
  make_text t 20
  compress -C -c t > c.Z
  gzip -dc c.Z > ref 2>/dev/null && ref_status=0 || ref_status=$?
  "$GZ" -dc c.Z > out 2>/dev/null && status=0 || status=$?
  [ "$status" -eq "$ref_status" ]
  cmp out ref
}

@test ".Z without block mode that starts its table at 256 (compress 2.0's) is read" {
  # Made by hand: 9-bit codes 'a' 'b' 256 ('ab') 258 (defined by itself:
  # 'aba'), no CLEAR code (flags 0x10: 16 bits, block mode off).
  python3 - <<'EOF' > old.Z
codes = [ord('a'), ord('b'), 256, 258]
acc = bits = 0
out = bytearray(b"\x1f\x9d\x10")
for c in codes:
    acc |= c << bits
    bits += 9
    while bits >= 8:
        out.append(acc & 0xff); acc >>= 8; bits -= 8
if bits: out.append(acc & 0xff)
open("/dev/stdout", "wb").write(out)
EOF
  run "$GZ" -dc old.Z
  [ "$status" -eq 0 ]
  [ "$output" = "abababa" ]
}

@test ".Z without block mode, every width 9-16 (written by lzw.py, as the old compress wrote it)" {
  # Enough input to fill each width's table and go on past it (16 bits:
  # 65,279 codes, about 133 KB of this text); narrower tables fill sooner
  # (9 bits after some 260 bytes, 15 after 62 KB: 4 << BITS is over twice that).
  make_varied big 200000
  for b in 9 10 11 12 13 14 15 16; do
    n=$(( 4 << b )); [ $n -le 200000 ] || n=200000
    head -c $n big > in$b
    python3 "$FIXTURES/lzw.py" $b < in$b > n$b.Z
    "$GZ" -dc n$b.Z | cmp - in$b
  done
}

@test ".Z: unknown flag bits are gzip's warning (exit 2), over 16 bits its error" {
  make_text t 2
  compress -c t > t.Z
  printf '\x1f\x9d\xf0' > flags.Z; tail -c +4 t.Z >> flags.Z
  run "$GZ" -dc flags.Z
  [ "$status" -eq 2 ]
  [[ "$output" == *"unknown flags 0x60"* ]]
  printf '\x1f\x9d\x91' > wide.Z; tail -c +4 t.Z >> wide.Z
  run "$GZ" -dc wide.Z
  [ "$status" -eq 1 ]
  [[ "$output" == *"compressed with 17 bits, can only handle 16 bits"* ]]
}

@test ".Z damaged every way: truncations and bit flips decode as gzip decodes them" {
  ours_only
  make_words t300 300
  compress -c t300 > t.Z
  $MUTATE truncate t.Z "$OURS" gzip exact
  make_words t60 60
  compress -c t60 > f.Z
  $MUTATE flip f.Z "$OURS" gzip exact
}

@test "pack (.z): read, X.z -> X, members in a row, an empty file" {
  make_text t 30
  $PACK < t > t.z
  "$GZ" -dc t.z | cmp - t
  cat t.z t.z | "$GZ" -dc | cmp - <(cat t t)
  : | $PACK > e.z
  run "$GZ" -dc e.z
  [ "$status" -eq 0 ]
  [ "$output" = "" ]
  cp t.z X.z
  "$GZ" -d X.z
  cmp X t
}

@test "pack: a wrong size in the header is gzip's length error" {
  make_text t 3
  $PACK < t > t.z
  for size in '\x00\x00\x00\x00' '\xff\xff\xff\xff' '\x7f\xff\xff\xff'; do
    { printf '\x1f\x1e'; printf "$size"; tail -c +7 t.z; } > bad.z
    run "$GZ" -dc bad.z
    [ "$status" -eq 1 ]
    [[ "$output" == *"length error"* ]]
  done
}

@test "pack damaged every way: refused or read as gzip reads it, never a crash" {
  ours_only
  make_words w300 300; $PACK < w300 > t.z
  $MUTATE truncate t.z "$OURS" gzip safe
  make_words w40 40; $PACK < w40 > f.z
  $MUTATE flip f.z "$OURS" gzip safe
}

@test "zip with one entry: deflated, stored, from a pipe; -dc and -S .zip -d" {
  make_text t 40
  zip -q one.zip t
  "$GZ" -dc one.zip | cmp - t
  zip -q -0 stored.zip t
  "$GZ" -dc stored.zip | cmp - t
  mkdir d && cd d
  cp ../one.zip .
  "$GZ" -S .zip -d one.zip
  cmp one ../t
  [ ! -e one.zip ]
}

@test "zip written from a pipe (Zip64, sizes after the data) is read" {
  ours_only   # gzip 1.12 misreads these sizes
  make_text t 40
  zip -q < t > pipe.zip
  "$GZ" -dc pipe.zip | cmp - t
  pigz -Kc t > pigz.zip
  "$GZ" -dc pigz.zip | cmp - t
}

@test "zip with more entries: -c gives the first with gzip's warning, to a file is refused" {
  make_text a 2
  make_text b 3
  zip -q two.zip a b
  run "$GZ" -dc two.zip
  [ "$status" -eq 2 ]
  [[ "$output" == *"two.zip has more than one entry--rest ignored"* ]]
  "$GZ" -dc two.zip 2>/dev/null | cmp - a
  mkdir d && cd d && cp ../two.zip .
  run "$GZ" -S .zip -d two.zip
  [ "$status" -eq 1 ]
  [[ "$output" == *"two.zip has more than one entry -- unchanged"* ]]
  [ -e two.zip ]
  [ ! -e two ]
}

@test "zip: encrypted or not deflated is refused; a wrong CRC or size is gzip's error" {
  make_text t 5
  zip -q -P secret enc.zip t
  run "$GZ" -dc enc.zip
  [ "$status" -eq 1 ]
  [[ "$output" == *"encrypted"* ]]
  zip -q one.zip t
  # CRC-32 at offset 14, uncompressed size at 22 of the local header.
  python3 -c "import sys; d=bytearray(open('one.zip','rb').read()); d[14]^=1; open('crc.zip','wb').write(d)"
  run "$GZ" -dc crc.zip
  [ "$status" -eq 1 ]
  [[ "$output" == *"crc error"* ]]
  python3 -c "import sys; d=bytearray(open('one.zip','rb').read()); d[22:26]=b'\xff\xff\xff\x7f'; open('len.zip','wb').write(d)"
  run "$GZ" -dc len.zip
  [ "$status" -eq 1 ]
  [[ "$output" == *"length error"* ]]
}

@test "zip damaged every way: refused or read as gzip reads it, never a crash" {
  ours_only
  make_words e 150
  zip -q t.zip e
  $MUTATE truncate t.zip "$OURS" gzip safe
  $MUTATE sizes t.zip@14,18,22 "$OURS" gzip safe
  $MUTATE flip:40 t.zip "$OURS" gzip safe
  make_words f 30
  zip -q -0 f.zip f
  $MUTATE flip:61 f.zip "$OURS" gzip safe
}

@test "-z writes zlib (.zz) that pigz and Python read; -K a zip that unzip, gzip and pigz read" {
  ours_only
  make_text t 300
  cp t u
  "$GZ" -z -b 64k t
  [ -e t.zz ] && [ ! -e t ]
  pigz -dc t.zz | cmp - u
  python3 -c "import zlib,sys; sys.stdout.buffer.write(zlib.decompress(open('t.zz','rb').read()))" | cmp - u
  "$GZ" -dz t.zz
  cmp t u
  "$GZ" -K -b 64k t
  [ -e t.zip ] && [ ! -e t ]
  unzip -t t.zip
  unzip -p t.zip | cmp - u
  gzip -dc t.zip | cmp - u
  pigz -dc t.zip | cmp - u
  "$GZ" -dK t.zip
  cmp t u
  : | "$GZ" -zc | pigz -dc | cmp - /dev/null
  : | "$GZ" -Kc > e.zip && unzip -p e.zip | cmp - /dev/null
}

@test "zlib from pigz -z is read; a damaged zlib stream is refused" {
  ours_only
  make_text t 50
  pigz -zc t > t.zz
  "$GZ" -dc t.zz | cmp - t
  make_words w 300
  pigz -zc w > w.zz
  $MUTATE truncate w.zz "$OURS" pigz safe
  python3 -c "d=bytearray(open('t.zz','rb').read()); d[-1]^=1; open('bad.zz','wb').write(d)"
  run "$GZ" -dc bad.zz
  [ "$status" -eq 1 ]
  [[ "$output" == *"bad.zz"*"Adler-32"* ]]
}

@test "zlib: bytes after the Adler-32 trailer get the outcomes they get after a gzip member" {
  ours_only
  make_text t 20
  pigz -zc t > t.zz
  # (trailing bytes, status): zeros silent; one byte a cut magic; more a warning.
  for c in "|0" "\\0\\0\\0|0" "x|1" "xy|2" "xyz|2" "xyz\\n|2" "\\0x|2" "abcdefgh|2"; do
    { cat t.zz; printf "${c%%|*}"; } > x.zz
    run "$GZ" -dc x.zz
    [ "$status" -eq "${c#*|}" ] || { echo "trailing '${c%%|*}': status $status"; false; }
    "$GZ" -dc x.zz 2>/dev/null | cmp - t
  done
  run "$GZ" -dc x.zz
  [[ "$output" == *"x.zz: decompression OK, trailing garbage ignored" ]]
}

@test "suffixes in upper case: Y.GZ -> Y, T.TGZ -> T.tar, X.Z -> X; compressing them is refused" {
  make_text y 5
  gzip -c y > Y.GZ
  gzip -c y > T.TGZ
  compress -c y > X.Z
  "$GZ" -d Y.GZ T.TGZ X.Z
  cmp Y y && cmp T.tar y && cmp X y
  cp y Z.GZ
  run "$GZ" Z.GZ
  [ "$status" -eq 0 ]
  [[ "$output" == *"Z.GZ already has .GZ suffix -- unchanged"* ]]
  [ ! -e Z.GZ.gz ]
}

@test "-cdf passes data that is not compressed through, also after members" {
  make_text a 3
  make_text plain 2
  gzip -c a > a.gz
  cat a.gz plain | "$GZ" -dcf > out
  cmp out <(cat a plain)
  "$GZ" -dcf plain | cmp - plain
  : | "$GZ" -dcf | cmp - /dev/null
  { cat a.gz; printf '\0\0\0'; } | "$GZ" -dcf | cmp - <(cat a; printf '\0\0\0')
  printf 'x^ text that looks like zlib' | "$GZ" -dcf | cmp - <(printf 'x^ text that looks like zlib')
}

@test "-tf tests data that is not compressed as OK, as -cdf passes it (gzip's -t writes to stdout)" {
  make_text a 3
  make_text plain 2
  gzip -c a > a.gz
  cat a.gz plain > mixed.gz
  cp plain plain.gz
  for f in plain.gz mixed.gz; do
    run "$GZ" -tf $f
    [ "$status" -eq 0 ]
    [ -z "$output" ]
  done
  run "$GZ" -tfv plain.gz
  [ "$status" -eq 0 ]
  [ "$output" = "plain.gz:	 OK" ]
  run "$GZ" -t plain.gz
  [ "$status" -eq 1 ]
  # Damage in a member is still found.
  head -c 100 a.gz > cut.gz
  run "$GZ" -tf cut.gz
  [ "$status" -eq 1 ]
}

@test "fpga-zcat -f passes plain data through after members" {
  ours_only
  make_text a 3
  make_text plain 2
  "$GZ" -c a > a.gz
  ln -s "$OURS" fpga-zcat
  cat a.gz plain | ./fpga-zcat -f | cmp - <(cat a plain)
}

# Trailing bytes after a member: gzip 1.12's outcome for each, measured.
trailing_case() { # hex-bytes status message-or-empty
  make_text a 1
  gzip -c a > a.gz
  { cat a.gz; printf "$1"; } > x.gz
  run "$GZ" -dc x.gz
  [ "$status" -eq "$2" ]
  if [ -n "$3" ]; then [[ "$output" == *"x.gz"*"$3"* ]]; else [ "$output" = "$(cat a)" ]; fi
  run "$GZ" -t x.gz
  [ "$status" -eq "$2" ]
  run "$GZ" -dcq x.gz
  [ "$status" -eq "$2" ]
}

@test "trailing data: zeros are ignored silently" {
  trailing_case '\0' 0 ''
  trailing_case '\0\0\0\0\0\0\0\0' 0 ''
}

@test "trailing data: one non-zero byte is gzip's unexpected end of file (exit 1)" {
  trailing_case '\x01' 1 'unexpected end of file'
  trailing_case '\x1f' 1 'unexpected end of file'
  trailing_case '\xff' 1 'unexpected end of file'
}

@test "trailing data: other bytes are gzip's warning (exit 2), also after zeros" {
  trailing_case '\x01\x02' 2 'decompression OK, trailing garbage ignored'
  trailing_case '\0\x01' 2 'decompression OK, trailing garbage ignored'
  trailing_case 'PK\x03\x04' 2 'decompression OK, trailing garbage ignored'
  trailing_case 'x\x9c' 2 'decompression OK, trailing garbage ignored'
}

@test "trailing data: a magic number cut short is gzip's unexpected end of file" {
  trailing_case '\x1f\x8b' 1 'unexpected end of file'
  trailing_case '\x1f\x8b\x08\0\0\0\0\0\0\x03' 1 'unexpected end of file'
  trailing_case '\x1f\x9d' 1 'unexpected end of file'
  trailing_case '\x1f\x1e' 1 'unexpected end of file'
}

@test "trailing data: with -q the warning is silent, the status stays 2" {
  make_text a 1
  gzip -c a > a.gz
  { cat a.gz; printf 'junk'; } > x.gz
  run "$GZ" -dcq x.gz
  [ "$status" -eq 2 ]
  [ "$output" = "$(cat a)" ]
}

@test "an empty or one-byte input is gzip's unexpected end of file, two bytes not gzip" {
  : > e.gz
  run "$GZ" -t e.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"e.gz: unexpected end of file"* ]]
  printf x > o.gz
  run "$GZ" -t o.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"o.gz: unexpected end of file"* ]]
  printf xy > t.gz
  run "$GZ" -t t.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"t.gz: not in gzip format"* ]]
}

@test "compress data after a gzip member is decoded, as gzip does" {
  make_text a 2
  make_text b 3
  gzip -c a > a.gz
  compress -c b > b.Z
  $PACK < b > b.z
  cat a.gz b.Z | "$GZ" -dc | cmp - <(cat a b)
  cat a.gz b.z a.gz | "$GZ" -dc | cmp - <(cat a b a)
}

@test "-l lists .Z, pack and zip files as gzip does (exit 0, the uncompressed size)" {
  make_words w 5000
  compress -c w > w.Z
  $PACK < w > w.z
  zip -q w.zip w
  for f in w.Z w.z w.zip; do
    run "$GZ" -l $f
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [ "$(echo "${lines[1]}" | awk '{print $2}')" -eq 5000 ]
  done
  run "$GZ" -l w.Z
  [ "$(echo "${lines[1]}" | awk '{print $4}')" = w ]
  run "$GZ" -lv w.Z
  [ "$status" -eq 0 ]
  [ "$(echo "${lines[1]}" | awk '{print $1}')" = compr ]
}
