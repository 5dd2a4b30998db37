#!/usr/bin/env bats
# fpga-infer's inputs (issue 20): models the engine cannot compute are
# refused when loaded, never run; images are numbered across all inputs and
# --labels follows the numbers; a labels file is read only as far as the
# image numbers need, in bounded memory, whatever its header declares.

load ../helpers

# A .fbnn model from its parts (the CRC-32 made right): MODE H W C, class
# names, then layers as "kind in out thresholds|- weight-words...".
write_model() { # file mode h w c classes(comma) layer...
  "$PY" - "$@" <<'EOF'
import struct, sys, zlib
path, mode, h, w, c, classes = sys.argv[1], *map(int, sys.argv[2:6]), sys.argv[6].split(",")
layers = [l.split() for l in sys.argv[7:]]
b = bytearray(b"FBNN" + struct.pack("<IIIIIII", 1, h, w, c, mode, len(classes), len(layers)))
for n in classes:
    b += struct.pack("<H", len(n)) + n.encode()
for kind, cin, cout, thr, *words in layers:
    b += struct.pack("<IIII", int(kind), int(cin), int(cout), 0 if thr == "-" else 1)
    b += b"".join(struct.pack("<Q", int(x, 0)) for x in words)
    if thr != "-":
        b += b"".join(struct.pack("<i", int(t)) for t in thr.split(","))
b += struct.pack("<I", zlib.crc32(bytes(b)) & 0xFFFFFFFF)
open(path, "wb").write(bytes(b))
EOF
}

# N IDX images of HxW (pixels i*7+k), the header's count COUNT (default N).
idx_images() { # file n h w [count]
  "$PY" - "$@" <<'EOF'
import struct, sys
path, n, h, w = sys.argv[1], *map(int, sys.argv[2:5])
count = int(sys.argv[5]) if len(sys.argv) > 5 else n
open(path, "wb").write(struct.pack(">IIII", 0x803, count, h, w) + bytes((i * 7 + 3) % 256 for i in range(n * h * w)))
EOF
}

# Fashion-MNIST test images FIRST..FIRST+N-1 as an IDX file.
fashion_part() { # file first n
  zcat "$FASHION/t10k-images-idx3-ubyte.gz" | "$PY" -c 'import sys, struct
f, n = int(sys.argv[1]), int(sys.argv[2]); d = sys.stdin.buffer.read()
sys.stdout.buffer.write(struct.pack(">IIII", 0x803, n, 28, 28) + d[16 + f * 784:16 + (f + n) * 784])' "$2" "$3" > "$1"
}

@test "a model whose last layer is a convolution: refused in one line naming the file, never run (it crashed the engine: exit 139)" {
  # 4x4x1 one-bit input, one 3x3 convolution to two channels, two classes:
  # the validator took it, the engine read thresholds that are not there.
  write_model m.fbnn 1 4 4 1 a,b "1 1 2 - 0x1b5 0xf3"
  head -c 16 /dev/urandom > img.raw
  run "$INFER" --model m.fbnn --input-format raw --shape 4x4x1 img.raw
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: m.fbnn: corrupt data: model: layer 0: the last layer must be fully connected (a convolution gives a map, not class scores)" ]
  # From a pipe too, and with --info, the same words.
  run "$INFER" --model - --input-format raw --shape 4x4x1 img.raw < m.fbnn
  [ "$status" -eq 1 ]
  [[ "$output" == *"the last layer must be fully connected"* ]]
  run "$INFER" --info --model m.fbnn
  [ "$status" -eq 1 ]
  [[ "$output" == *"m.fbnn: corrupt data: model: layer 0: the last layer must be fully connected"* ]]
  # A convolution deeper in, before a pool that ends the model, a
  # convolution after a pool: refused the same way or as before.
  write_model m2.fbnn 1 8 8 1 a,b "1 1 2 3,3 0x1b5 0xf3" "2 2 2 -" "1 2 2 - 0x3ffff 0x1"
  run "$INFER" --model m2.fbnn --input-format raw --shape 8x8x1 img.raw
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: m2.fbnn: corrupt data: model: layer 2: the last layer must be fully connected (a convolution gives a map, not class scores)" ]
  # The same network ending in a fully connected layer over the 2x2x2 map
  # runs: 8 inputs, two classes.
  write_model ok.fbnn 1 4 4 1 a,b "1 1 2 4,4 0x1b5 0xf3" "3 8 2 - 0xa5 0x0f"
  run "$INFER" -q -s --model ok.fbnn --input-format raw --shape 4x4x1 img.raw
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == 0$'\t'* ]]
}

@test "several inputs are numbered across all of them: three PGMs are images 0, 1 and 2" {
  need_fashion
  fashion_part f.idx 0 3
  for i in 0 1 2; do
    { printf 'P5\n28 28\n255\n'; tail -c +$((17 + i * 784)) f.idx | head -c 784; } > "p$i.pgm"
  done
  run "$INFER" -q p0.pgm p1.pgm p2.pgm
  [ "$status" -eq 0 ]
  [ "$(cut -f1 <<< "$output" | tr '\n' ' ')" = "0 1 2 " ]
  # The same lines as the three images in one IDX file.
  [ "$output" = "$("$INFER" -q --input-format idx f.idx)" ]
  # Standard input among files goes on too; -o and --save number the same.
  run "$INFER" -q p0.pgm - p2.pgm < p1.pgm
  [ "$(cut -f1 <<< "$output" | tr '\n' ' ')" = "0 1 2 " ]
  "$INFER" -q --save p0.pgm p1.pgm p2.pgm
  [ "$(cut -f1 p2.pgm.tsv)" = 2 ]
  # --start numbers the first input; the others go on from it.
  run "$INFER" -q --start 10 p0.pgm p1.pgm p2.pgm
  [ "$(cut -f1 <<< "$output" | tr '\n' ' ')" = "10 11 12 " ]
}

@test "two IDX files holding images 0-199 and 200-399 with the test-set labels: the accuracy and the lines of one file with all 400 (was 49.50% against 91.25%)" {
  need_fashion
  fashion_part a-idx3-ubyte 0 200
  fashion_part b-idx3-ubyte 200 200
  fashion_part all-idx3-ubyte 0 400
  L=$FASHION/t10k-labels-idx1-ubyte.gz
  "$INFER" --labels "$L" --confusion all-idx3-ubyte > one.tsv 2> one.err
  "$INFER" --labels "$L" --confusion a-idx3-ubyte b-idx3-ubyte > two.tsv 2> two.err
  cat one.err two.err
  cmp one.tsv two.tsv
  [ "$(tail -1 two.tsv | cut -f1)" = 399 ]
  grep -q 'top-1 accuracy 91.25% (365 of 400)' one.err
  grep -q 'top-1 accuracy 91.25% (365 of 400)' two.err
  # The confusion matrices agree too (the timing line aside).
  diff <(tail -n +2 one.err) <(tail -n +2 two.err)
  # Chunks and ranges keep their numbers among other inputs: the second
  # half as a range after the first file.
  "$INFER" -q --labels "$L" a-idx3-ubyte "all-idx3-ubyte@001/2:$((16 + 200 * 784))+$((200 * 784))" > r.tsv
  cmp one.tsv r.tsv
}

@test "a --labels gzip bomb (2^32-1 labels declared, 400 MB of zeros): read only as far as the images need, in bounded memory (was 540 MB)" {
  [ -x /usr/bin/time ] || skip "/usr/bin/time is not installed"
  { printf '\0\0\010\001\377\377\377\377'; head -c 400M /dev/zero; } | gzip -1 > bomb.gz
  [ "$(stat -c %s bomb.gz)" -lt $((4 * 1024 * 1024)) ]
  write_model lfc.fbnn 1 4 4 1 a,b "3 16 2 - 0x00ff 0xff00"
  idx_images img-idx3-ubyte 60 4 4
  # Without labels, then with the bomb: about the same memory.
  /usr/bin/time -f %M -o base.rss "$INFER" -q --model lfc.fbnn img-idx3-ubyte > base.tsv
  run /usr/bin/time -f %M -o bomb.rss "$INFER" --model lfc.fbnn --labels bomb.gz img-idx3-ubyte
  echo "$output"; cat base.rss bomb.rss
  [ "$status" -eq 0 ]
  # Every label is 0: the accuracy is the share of class 0.
  zeros=$(cut -f2 base.tsv | grep -c '^0$' || true)
  [[ "$output" == *"top-1 accuracy"*"($zeros of 60)"* ]]
  [ "$(tail -1 bomb.rss)" -lt $(( $(tail -1 base.rss) + 64 * 1024 )) ]
  # Image numbers far into it (--start): the labels before them are passed,
  # not kept.
  run /usr/bin/time -f %M -o far.rss "$INFER" -q --start 300000000 --model lfc.fbnn --labels bomb.gz img-idx3-ubyte
  [ "$status" -eq 0 ]
  [ "$(tail -1 far.rss)" -lt $(( $(tail -1 base.rss) + 64 * 1024 )) ]
  # Past the 400 MB the file holds: an error naming it, still in bounded memory.
  run /usr/bin/time -f %M -o past.rss "$INFER" -q --start 419430395 --model lfc.fbnn --labels bomb.gz img-idx3-ubyte
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"fpga-infer: bomb.gz: corrupt data: IDX header describes 4294967303 bytes but the file has 419430408"* ]]
  [ "$(tail -1 past.rss)" -lt $(( $(tail -1 base.rss) + 64 * 1024 )) ]
}

@test "labels: a plain file of the wrong size fails at once; a labels file shorter than the images warns; labels from a pipe are read in order" {
  idx_images img-idx3-ubyte 6 4 4
  write_model lfc.fbnn 1 4 4 1 a,b "3 16 2 - 0x00ff 0xff00"
  "$PY" -c 'import struct, sys; sys.stdout.buffer.write(struct.pack(">II", 0x801, 4) + bytes([0, 1, 0, 1]))' > four
  "$PY" -c 'import struct, sys; sys.stdout.buffer.write(struct.pack(">II", 0x801, 9) + bytes([0, 1, 0, 1]))' > lies
  run "$INFER" --model lfc.fbnn --labels lies img-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: lies: corrupt data: IDX header describes 17 bytes but the file has 12" ]
  run "$INFER" --model lfc.fbnn --labels four img-idx3-ubyte
  [ "$status" -eq 0 ]
  [[ "$output" == *"warning: four: 4 labels, but 2 images are numbered past them; left out of the accuracy"* ]]
  acc=$(sed -n 's/.*\(top-1 accuracy .*\)/\1/p' <<< "$output")
  [[ "$acc" == *" of 4)" ]]
  # From a pipe, in order: the same as from the file.
  run "$INFER" --model lfc.fbnn --labels <(cat four) img-idx3-ubyte
  [ "$status" -eq 0 ]
  [ "$(sed -n 's/.*\(top-1 accuracy .*\)/\1/p' <<< "$output")" = "$acc" ]
  [[ "$output" == *"2 images are numbered past them"* ]]
}

@test "a file whose stat lies about its size (/proc) is read to learn it: whole images counted, the rest named up front" {
  [ -r /proc/cpuinfo ] && [ "$(stat -c %s /proc/cpuinfo)" -eq 0 ] || skip "no /proc/cpuinfo of st_size 0"
  n=$(wc -c < /proc/cpuinfo)
  run "$INFER" --input-format raw --shape 28x28x1 -q /proc/cpuinfo
  if [ $((n % 784)) -eq 0 ]; then
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq $((n / 784)) ]
  else
    [ "$status" -eq 1 ]
    [[ "$output" == *"/proc/cpuinfo: corrupt data: "*" bytes at the end are not a whole image of 784 bytes"* ]]
  fi
}
