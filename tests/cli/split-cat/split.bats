#!/usr/bin/env bats
# fpga-split: naming, chunking modes, IDX files, streams, manifests, ranges,
# and the edge cases: empty input, N larger than the input, unreadable input,
# existing chunks.

load ../helpers

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
  run "$SPLIT" -n 0 in
  [ "$status" -eq 1 ]
  run "$SPLIT" -n l/2 --record-size 10 in
  [ "$status" -eq 1 ]
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
  [ "$output" = "fpga-split: -: $msg" ]
  run "$SPLIT" --idx -b 1K - y < z-idx3-ubyte
  [ "$status" -eq 1 ]
  # Five dimensions of 1, 2^16, 2^16, 2^16, 2^16: items of 2^64 bytes.
  printf '\0\0\x08\x05\0\0\0\x01\0\x01\0\0\0\x01\0\0\0\x01\0\0\0\x01\0\0' > o-idx5-ubyte
  run bash -c "(cat o-idx5-ubyte; echo abc) | '$SPLIT' --idx -b 1K - y"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-split: -: corrupt data: not an IDX file: items larger than 2^63 bytes" ]
  [ "$(ls -A | sort | tr '\n' ' ')" = "o-idx5-ubyte z-idx3-ubyte " ]
}

# Lines of random lengths (0 to 300 bytes), and a last line without newline.
make_lines() { # name
  python3 -c 'import random, sys
random.seed(7)
sys.stdout.write("".join("y" * random.choice([0, 1, 2, 5, 10, 30, 100, 300]) + "\n" for _ in range(400)) + "tail")' > "$1"
}

# Chunks of fpga-split and GNU split for the same options must be the same
# bytes, in the same number. $1: our extra options; the rest: the options.
# The input is r.txt, or $IN.
same_as_gnu() {
  local extra=$1 in=${IN:-r.txt}; shift
  rm -rf g o && mkdir g o
  (cd g && split -d -a 4 "$@" ../$in p.)
  (cd o && "$SPLIT" -a 4 $extra "$@" ../$in p > /dev/null)
  [ "$(ls g | wc -l)" = "$(ls o | wc -l)" ] || { echo "count differs for $*"; return 1; }
  # One process for every chunk (-b 3 makes thousands): names and bytes.
  diff -r g o > /dev/null || { echo "differs for $*:"; diff -rq g o | head -n 3; return 1; }
}

@test "GNU split's options cut exactly GNU split's chunks: -l, -C, -b, -n, -n l/N, -t" {
  cd_tmpfs
  make_lines r.txt
  # The options that make chunks of a few bytes (-b 3, -C 7, -n N of about
  # 2.6 bytes each) cut the first 3,000 bytes (its lines as long: 0 to 300
  # bytes, the last without newline): the whole 23 KB made some 66,000
  # files in g/ and o/ together, most of the suite's time. FPGA_LONG: all of it.
  local tiny=tiny.txt nn=1200
  head -c 2996 r.txt > tiny.txt && printf tail >> tiny.txt
  [ -z "${FPGA_LONG:-}" ] || tiny=r.txt nn=9000
  for o in "-l 1" "-l 7" "-l 1000" "-C 100" "-C 301" "-C 5000" "-b 333" "-n l/1" "-n l/7" \
           "-n l/50" "-n l/200" "-t y -l 3" "-t y -C 50" "-t y -n l/9" "-e -n l/200" "-b 1KB" "-b 1K" "-C 1KiB"; do
    same_as_gnu "" $o
  done
  for o in "-C 7" "-b 3"; do IN=$tiny same_as_gnu "" $o; done
  # -n N: GNU's size/N cuts with --align=0, and by default below N blocks.
  for o in "-n 1" "-n 7" "-n 50"; do same_as_gnu --align=0 $o; same_as_gnu "" $o; done
  IN=$tiny same_as_gnu --align=0 -e -n $nn
  IN=$tiny same_as_gnu "" -e -n $nn
  # And from a stream (-l, -C, -b), the -C tails carried into the next chunk.
  for o in "-l 7" "-C 100" "-C 7" "-b 333" "-t y -C 50"; do
    in=r.txt
    [ "$o" != "-C 7" ] || in=$tiny
    rm -rf g o && mkdir g o
    (cd g && split -d -a 4 $o - p. < ../$in)
    (cd o && cat ../$in | "$SPLIT" -a 4 $o - p > /dev/null)
    [ "$(ls g | wc -l)" = "$(ls o | wc -l)" ]
    diff -r g o
  done
}

@test "-n K/N and -n l/K/N write chunk K to standard output, as GNU split" {
  make_lines r.txt
  for n in 1 7 50; do
    for k in 1 3 $n; do
      [ $k -le $n ] || continue
      cmp <(split -n $k/$n r.txt) <("$SPLIT" --align=0 -n $k/$n r.txt)
      cmp <(split -n l/$k/$n r.txt) <("$SPLIT" -n l/$k/$n r.txt)
    done
  done
  [ -z "$(ls | grep -v '^r.txt$')" ]
  run "$SPLIT" -n 5/4 r.txt
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-split: invalid chunk number: '5'"* ]]
}

@test "--ranges -n K/N prints chunk K's range alone, its count kept (a Slurm task's own chunk)" {
  make_lines r.txt
  head -c 3145728 /dev/urandom > big   # three 1 MiB blocks: aligned cuts
  for f in r.txt big; do
    for mode in "" l/; do
      for n in 1 3 7; do
        "$SPLIT" --ranges -n $mode$n $f > all
        for k in $(seq $n); do
          [ "$("$SPLIT" --ranges -n $mode$k/$n $f)" = "$(sed -n ${k}p all)" ]
        done
      done
    done
  done
  [ "$("$SPLIT" --ranges -n 2/3 big)" = "big@001/3:1048576+1048576" ]
  [ "$("$SPLIT" --ranges -0 -n 3/3 big | tr '\0' '\n')" = "big@002/3:2097152+1048576" ]
  [ -z "$(ls | grep -v '^r.txt$\|^big$\|^all$')" ]
  run "$SPLIT" --ranges -n 4/3 big
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-split: invalid chunk number: '4'"* ]]
  run "$SPLIT" --ranges -e -n 1/3 big
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-split: --ranges -n K/N prints chunk K of N as cut: -e does not apply"* ]]
  run "$SPLIT" --ranges --manifest m -n 1/3 big
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-split: -n K/N writes chunk K to standard output: --filter and --manifest do not apply"* ]]
}

@test "-a too small: GNU split's errors, and no chunk of a file is written" {
  seq 1 100 > f
  run split -a 1 -d -n 11 f g
  gnu=${lines[0]#split: }
  run "$SPLIT" -a 1 -n 11 f
  [ "$status" -eq 1 ]
  [ "${lines[0]#fpga-split: }" = "$gnu" ]
  [ "$gnu" = "the suffix length needs to be at least 2" ]
  run split -a 1 -d -l 5 f h
  gnu=${lines[0]#split: }
  rm -f h?
  run "$SPLIT" -a 1 -l 5 f
  [ "$status" -eq 1 ]
  [ "${lines[0]#fpga-split: }" = "$gnu" ]
  [ "$gnu" = "output file suffixes exhausted" ]
  [ -z "$(ls | grep -v '^f$')" ]
  # A stream: the chunks that fit are kept (GNU keeps them too).
  run bash -c "cat f | '$SPLIT' -a 1 -l 5 - s"
  [ "$status" -eq 1 ]
  [[ "$output" == *"output file suffixes exhausted"* ]]
  [ "$(ls s.? | wc -l)" -eq 10 ]
  run "$SPLIT" -a 1 --numeric-suffixes=10 -n 2 f
  [[ "$output" == *"numerical suffix start value is too large for the suffix length"* ]]
}

@test "sizes with GNU's units in every tool; bad ones are one-line errors" {
  cd_tmpfs
  head -c 3000000 /dev/zero > z
  for s in 1K:1024 1KB:1000 1KiB:1024 1M:1048576 1MB:1000000 1b:512; do
    "$SPLIT" -b ${s%%:*} z p > /dev/null
    [ "$(stat -c %s "$(ls p.* | head -1)")" -eq ${s#*:} ]
    rm p.*
  done
  for bad in 1.5K 1Kb 1B 0x10 -1 ''; do
    run "$SPLIT" -b "$bad" z
    [ "$status" -eq 1 ]
    [[ "${lines[0]}" == "fpga-split: invalid number of bytes: '$bad'" ]]
  done
  # fpga-gzip's -b reads the same units.
  "$FPGA_BIN/fpga-gzip" -c -b 1MB z | "$FPGA_BIN/fpga-gzip" -l > /dev/null
  run "$FPGA_BIN/fpga-gzip" -c -b 1Kb z
  [ "$status" -eq 1 ]
}

@test "-d, -x, --numeric-suffixes=FROM, --additional-suffix name chunks as GNU split numbers them" {
  seq 1 100 > f
  [ "$("$SPLIT" -d -n 2 f | tr '\n' ' ')" = "f.000 f.001 " ]
  [ "$("$SPLIT" -f -x -n 17 f | tail -1)" = f.010 ]
  [ "$("$SPLIT" --numeric-suffixes=7 -n 2 f q | tr '\n' ' ')" = "q.007 q.008 " ]
  [ "$("$SPLIT" --hex-suffixes=f -n 2 f h | tr '\n' ' ')" = "h.00f h.010 " ]
  [ "$("$SPLIT" --additional-suffix=.txt -n 2 f a | tr '\n' ' ')" = "a.000.txt a.001.txt " ]
  # Parts numbered from 7 still join in order: they carry their place.
  "$FPGA_BIN/fpga-cat" q.007 q.008 | cmp - f
}

@test "--filter pipes each chunk to the command with FILE and FPGA_PART set" {
  seq 1 50000 > big.log
  run "$SPLIT" -n 4 --filter='fpga_out=$(cat | wc -c); echo "$FILE $FPGA_PART $fpga_out"' big.log
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "big.log.000 0/4 0 $(( $(stat -c %s big.log) / 4 ))" ]
  [ "${#lines[@]}" -eq 4 ]
  [ ! -e big.log.000 ]
  # The issue's recipe: compressed as cut, joined, and the join knows the count.
  "$SPLIT" -n 4 --filter="'$FPGA_BIN/fpga-gzip' > \$FILE.gz" big.log
  "$FPGA_BIN/fpga-cat" big.log.00{0,1,2,3}.gz | "$FPGA_BIN/fpga-gzip" -dc | cmp - big.log
  run "$FPGA_BIN/fpga-cat" big.log.00{0,1,2}.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing part for chunk 3 of 4 (big.log.003.gz)"* ]]
  # A command that fails is GNU split's error; one that stops reading is not.
  run "$SPLIT" -n 2 --filter='exit 3' big.log
  [ "$status" -eq 3 ]  # the command's status, as GNU split
  [ "${lines[0]}" = "fpga-split: with FILE=big.log.000, exit 3 from command: exit 3" ]
  run "$SPLIT" -n 2 --filter='head -c 1 > /dev/null' big.log
  [ "$status" -eq 0 ]
}

@test "--ranges of standard input and old spellings are clear errors" {
  seq 1 100 > f
  run bash -c "cat f | '$SPLIT' --ranges -n 2 -"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == "fpga-split: --ranges names byte ranges of a file; standard input has no name"* ]]
  # -l (old: never cut a line) now takes a number; -d DIR is gone.
  run "$SPLIT" -l -n 2 f
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == "fpga-split: invalid number of lines: '-n'" ]]
  run "$SPLIT" -t ab -l 2 f
  [[ "${lines[0]}" == "fpga-split: multi-character separator 'ab'" ]]
  [ -z "$(ls | grep -v '^f$')" ]
}

@test "chunk files carry which chunk of how many they are; a stream's last one knows the count" {
  seq 1 3000 > f
  "$SPLIT" -n 3 f > /dev/null
  python3 -c 'import os; print(os.getxattr("f.002", "user.fpga-tools.part").decode())' > a
  [ "$(cat a)" = "2/3 $(( $(stat -c %s f.000) + $(stat -c %s f.001) ))" ]
  cat f | "$SPLIT" -b 5000 - s > /dev/null
  [ "$(python3 -c 'import os; print(os.getxattr("s.000", "user.fpga-tools.part").decode())')" = "0/0 0" ]
  [ "$(python3 -c 'import os; print(os.getxattr("s.002", "user.fpga-tools.part").decode())')" = "2/3 10000" ]
}

@test "review: a PREFIX ending in / names chunks in that folder (out/.000), as GNU split; nothing of the current folder is touched" {
  seq 100000 > big.txt
  mkdir out
  echo precious > .000
  "$SPLIT" -f -n 2 big.txt out/ > names
  [ "$(cat names)" = "$(printf 'out/.000\nout/.001')" ]
  [ "$(cat .000)" = precious ]
  [ ! -e .001 ]
  cat out/.000 out/.001 | cmp - big.txt
}
