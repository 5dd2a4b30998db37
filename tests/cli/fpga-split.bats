#!/usr/bin/env bats
# fpga-split: naming, chunking modes, IDX files, streams, manifests, ranges,
# and the edge cases: empty input, N larger than the input, unreadable input,
# existing chunks.

load helpers

SPLIT=$FPGA_BIN/fpga-split

# An IDX3 image file of N 28x28 images (like Fashion-MNIST).
make_idx() { # name n
  python3 -c 'import sys, struct, random
n = int(sys.argv[2]); random.seed(n)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, n, 28, 28))
    f.write(bytes(random.randrange(256) for _ in range(n * 784)))' "$1" "$2"
}

@test "--help and --version" {
  run "$SPLIT" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"Usage: fpga-split"* ]]
  run "$SPLIT" --version
  [[ "$output" == "fpga-split (fpga-tools) "* ]]
}

@test "-n names chunks after the input, zero-padded, and prints them" {
  make_text in 100
  run "$SPLIT" -n 3 in
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'in.000\nin.001\nin.002')" ]
  cat in.000 in.001 in.002 | cmp - in
  # Chunk sizes differ by at most one byte (no alignment below 3 blocks).
  sizes=$(stat -c %s in.00? | sort -n | uniq | wc -l)
  [ "$sizes" -le 2 ]
  # Chunks keep the input's mode and time.
  [ "$(stat -c %Y in.001)" = "$(stat -c %Y in)" ]
}

@test "--directory DIR, PREFIX, -a width, -0" {
  make_text in 10
  mkdir out
  run "$SPLIT" -n 2 --directory out in
  [ "$output" = "$(printf 'out/in.000\nout/in.001')" ]
  "$SPLIT" -n 2 -a 5 in pre | od -c | grep -q 'p   r   e   .   0   0   0   0   0  \\n'
  "$SPLIT" -0 -n 2 in p0 | tr '\0' '\n' | cmp - <(printf 'p0.000\np0.001\n')
}

@test "empty input and N larger than the input: empty chunks, or none with -e" {
  : > empty
  run "$SPLIT" -n 3 empty
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | wc -l)" -eq 3 ]
  [ ! -s empty.000 ]
  run "$SPLIT" -b 1K empty e2
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  printf 'abc' > tiny
  run "$SPLIT" -n 5 tiny
  [ "$(echo "$output" | wc -l)" -eq 5 ]
  [ "$(cat tiny.00?)" = abc ]
  rm tiny.00?
  run "$SPLIT" -e -n 5 tiny
  [ "$output" = "$(printf 'tiny.000\ntiny.001\ntiny.002')" ]
}

@test "unreadable or missing input, bad options: one-line errors, nothing written" {
  run "$SPLIT" -n 2 nonesuch
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-split: nonesuch: No such file or directory" ]
  make_text in 10
  run "$SPLIT" in
  [ "$status" -eq 1 ]
  [[ "$output" == *"give -n CHUNKS, -b SIZE, -C SIZE or -l NUMBER"* ]]
  run "$SPLIT" -n 0 in
  [ "$status" -eq 1 ]
  run "$SPLIT" -n l/2 --record-size 10 in
  [ "$status" -eq 1 ]
  run bash -c "cat in | '$SPLIT' -n 2"
  [ "$status" -eq 1 ]
  [[ "$output" == *"-n needs a regular file"* ]]
  mkdir d
  run "$SPLIT" -n 2 d
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-split: d: is a directory" ]]
  [ -z "$(ls | grep -v '^in$' | grep -v '^d$')" ]
}

@test "an existing chunk is never overwritten without -f, and nothing is written" {
  make_text in 10
  echo precious > in.001
  run "$SPLIT" -n 3 in
  [ "$status" -eq 1 ]
  [ "$output" = $'fpga-split: in.001 already exists;\tnot overwritten' ]
  [ "$(cat in.001)" = precious ]
  [ ! -e in.000 ]
  "$SPLIT" -f -n 3 in
  cat in.00? | cmp - in
}

@test "--record-size keeps records whole; a partial record is an error" {
  head -c $((3073 * 10)) /dev/urandom > c.bin
  "$SPLIT" --record-size 3073 -n 3 c.bin
  for f in c.bin.00?; do [ $(( $(stat -c %s $f) % 3073 )) -eq 0 ]; done
  cat c.bin.00? | cmp - c.bin
  rm c.bin.00?
  "$SPLIT" --record-size 3073 -b 7000 c.bin > names
  [ "$(wc -l < names)" -eq 5 ]
  printf 'x' >> c.bin
  run "$SPLIT" --record-size 3073 -n 2 c.bin
  [ "$status" -eq 1 ]
  [[ "$output" == *"not a whole number of 3073-byte records (1 bytes left over)"* ]]
}

@test "--idx splits an IDX file into valid IDX files, from a file or a stream" {
  make_idx imgs-idx3-ubyte 10
  "$SPLIT" --idx -n 3 imgs-idx3-ubyte > names
  total=0
  for f in $(cat names); do
    n=$(python3 -c 'import sys,struct; d=open(sys.argv[1],"rb").read(); m,n,r,c=struct.unpack(">IIII",d[:16]); assert m==0x803 and r==c==28 and len(d)==16+n*784; print(n)' "$f")
    total=$((total + n))
  done
  [ "$total" -eq 10 ]
  # The items, in order, are the input's.
  for f in $(cat names); do tail -c +17 "$f"; done | cmp - <(tail -c +17 imgs-idx3-ubyte)
  mkdir s
  "$SPLIT" --idx -b 3000 - s/x < imgs-idx3-ubyte > snames
  [ "$(wc -l < snames)" -eq 4 ]
  [ "$(stat -c %s s/x.003)" -eq $((16 + 784)) ]
  head -c 1000 imgs-idx3-ubyte > cut
  run "$SPLIT" --idx -n 2 cut
  [ "$status" -eq 1 ]
  [[ "$output" == *"cut: "*"IDX header describes"* ]]
  run bash -c "'$SPLIT' --idx -b 1K - z < cut"
  [ "$status" -eq 1 ]
  [ ! -e z.000 ]
}

@test "--ranges prints ranges and writes nothing; the manifest has CRC-32s" {
  make_text in 4000
  run "$SPLIT" --ranges --manifest m -n 2 in
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'in@000/2:0+2097152\nin@001/2:2097152+%d' $(( $(stat -c %s in) - 2097152 )))" ]
  [ ! -e in.000 ]
  head -1 m | grep -q '^fpga-split-manifest	1$'
  crc=$(head -c 2097152 in | gzip -c | tail -c 8 | od -An -tx4 -N4 | tr -d ' ')
  grep -q "^chunk	0	0	2097152	2097152	$crc	in@000/2:0+2097152\$" m
  run "$SPLIT" --ranges --manifest m -n 2 in
  [ "$status" -eq 1 ]
  [ "$output" = $'fpga-split: m already exists;\tnot overwritten' ]
}

@test "a stream is split as it is read, in constant memory" {
  head -c 300000000 /dev/zero | /usr/bin/time -f %M -o rss "$SPLIT" -b 64M - z > names
  [ "$(wc -l < names)" -eq 5 ]
  [ "$(stat -c %s z.004)" -eq $((300000000 - 4 * 67108864)) ]
  [ "$(cat rss)" -lt 30000 ]
}

# Issue 8

@test "--idx: a 0 dimension or an item size past 64 bits is a one-line error, file or stream, and leaves no file" {
  printf '\0\0\x08\x03\0\0\0\x05\0\0\0\0\0\0\0\x1c' > z-idx3-ubyte
  msg="corrupt data: IDX dimension 2 of 3 is 0 (items of no bytes)"
  for opt in "-n 3" "-b 1K" "--ranges -n 2"; do
    run "$SPLIT" --idx $opt z-idx3-ubyte
    [ "$status" -eq 1 ]
    [ "$output" = "fpga-split: z-idx3-ubyte: $msg" ]
  done
  run bash -c "(cat z-idx3-ubyte; echo abc) | '$SPLIT' --idx -b 1K - y"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-split: stdin: $msg" ]
  run "$SPLIT" --idx -b 1K - y < z-idx3-ubyte
  [ "$status" -eq 1 ]
  # Five dimensions of 1, 2^16, 2^16, 2^16, 2^16: items of 2^64 bytes.
  printf '\0\0\x08\x05\0\0\0\x01\0\x01\0\0\0\x01\0\0\0\x01\0\0\0\x01\0\0' > o-idx5-ubyte
  run bash -c "(cat o-idx5-ubyte; echo abc) | '$SPLIT' --idx -b 1K - y"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-split: stdin: corrupt data: not an IDX file: items larger than 2^63 bytes" ]
  [ "$(ls -A | sort | tr '\n' ' ')" = "o-idx5-ubyte z-idx3-ubyte " ]
}
