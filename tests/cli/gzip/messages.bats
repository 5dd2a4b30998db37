#!/usr/bin/env bats
# gzip's messages, recursion and options (issue 12). The cases that describe
# gzip behaviour pass with GNU gzip 1.12 too (FPGA_GZIP=gzip, registered as
# cli.gzip-messages.reference-gzip); the others (our additions: member and
# offset in messages, pigz's options, -l over all members) skip there.

load ../helpers

ours_only() { if is_reference; then skip "fpga-gzip only"; fi; }

# One gzip member of `seq 1 20000` written by gzip itself, no name.
make_member() { # name
  seq 1 20000 | gzip -n > "$1"
}

# Sets byte OFFSET of FILE to the byte given in octal or \x notation.
poke() { # file offset byte
  printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# --- Recursion -------------------------------------------------------------

@test "-dr skips files without a known suffix silently, exit 0; -v names them, exit 2" {
  mkdir -p d/sub
  seq 10 > d/plain; seq 20 > d/sub/other
  seq 30 | gzip > d/sub/z.gz
  run "$GZ" -dr d
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  [ -e d/plain ] && [ -e d/sub/other ] && [ -e d/sub/z ]
  [ "$(seq 30)" = "$(cat d/sub/z)" ]
  run "$GZ" -drv d
  [ "$status" -eq 2 ]
  [[ "$output" == *"d/plain: unknown suffix -- ignored"* ]]
  [[ "$output" == *"d/sub/other: unknown suffix -- ignored"* ]]
  # -t and -l under -r skip them too (as -dr does); without -r they try them.
  run "$GZ" -tr d
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run "$GZ" -lr d
  [ "$status" -eq 0 ]
  [[ "$output" != *plain* ]]
  run "$GZ" -t d/plain
  [ "$status" -eq 1 ]
  [[ "$output" == *"d/plain: not in gzip format"* ]]
}

@test "-d of a file without a suffix warns (exit 2), but not under -q (exit 0)" {
  seq 10 > plain
  run "$GZ" -d plain
  [ "$status" -eq 2 ]
  [[ "$output" == *"plain: unknown suffix -- ignored" ]]
  run "$GZ" -dq plain
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "compressing a tree again skips .gz files silently (exit 0); -v says so" {
  mkdir -p d/sub
  seq 10 > d/a; seq 20 > d/sub/b; seq 30 > d/sub/c.tgz
  run "$GZ" -r d
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  [ -e d/a.gz ] && [ -e d/sub/b.gz ] && [ -e d/sub/c.tgz ]
  run "$GZ" -r d
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  [ ! -e d/a.gz.gz ]
  run "$GZ" -rv d
  [ "$status" -eq 0 ]
  [[ "$output" == *"d/a.gz already has .gz suffix -- unchanged"* ]]
  [[ "$output" == *"d/sub/c.tgz already has .tgz suffix -- unchanged"* ]]
  # Named on the command line (no -r): said, still exit 0; -q silences it.
  run "$GZ" d/a.gz
  [ "$status" -eq 0 ]
  [ "${output#*: }" = "d/a.gz already has .gz suffix -- unchanged" ]
  run "$GZ" -q d/a.gz
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "-f on a link to a directory: ignored with gzip's warning (exit 2), recursed into with -r" {
  mkdir d; seq 10 > d/x
  ln -s d ld
  run "$GZ" -f ld
  [ "$status" -eq 2 ]
  [ "${output#*: }" = "ld is a directory -- ignored" ]
  run "$GZ" ld
  [ "$status" -eq 1 ]
  [[ "$output" == *"ld: Too many levels of symbolic links" ]]
  run "$GZ" -rf ld
  [ "$status" -eq 0 ]
  [ -e d/x.gz ] && [ ! -e d/x ]
}

@test "-t and -l read through a symbolic link without -f, as -c does (gzip's -t and -l write to standard output)" {
  make_member m.gz
  ln -s m.gz lm.gz
  mkdir d; ln -s d ld
  run "$GZ" -t lm.gz
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run "$GZ" -tv lm.gz
  [ "$status" -eq 0 ]
  [ "$output" = "lm.gz:	 OK" ]
  run "$GZ" -l lm.gz
  [ "$status" -eq 0 ]
  [[ "${lines[1]}" == *" lm" ]]
  # A link to a directory: ignored, as with -f; no link, no file, touched.
  run "$GZ" -t ld
  [ "$status" -eq 2 ]
  [ "${output#*: }" = "ld is a directory -- ignored" ]
  run "$GZ" -l ld
  [ "$status" -eq 2 ]
  [ "$(ls | LC_ALL=C sort | tr '\n' ' ')" = "d ld lm.gz m.gz " ]
  # Compressing or decompressing to a file still refuses it.
  run "$GZ" -d lm.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"lm.gz: Too many levels of symbolic links" ]]
}

# --- gzip's words for damaged data ---------------------------------------

@test "damaged data: gzip's words (crc, length, both, format, end of file), exit 1, input kept, no output" {
  make_member good.gz
  s=$(stat -c %s good.gz)
  cp good.gz crc.gz; poke crc.gz $(( s - 8 )) '\x00'
  cp good.gz len.gz; poke len.gz $(( s - 3 )) '\x07'
  cp crc.gz both.gz; poke both.gz $(( s - 3 )) '\x07'
  # A reserved block type (BTYPE 11) right after the header.
  { head -c 10 good.gz; printf '\x07\x00\x00'; } > fmt.gz
  head -c 5 good.gz > head.gz
  head -c 3000 good.gz > data.gz
  head -c $(( s - 4 )) good.gz > trailer.gz
  declare -A want=(
    [crc]="invalid compressed data--crc error"
    [len]="invalid compressed data--length error"
    [fmt]="invalid compressed data--format violated"
    [head]="unexpected end of file"
    [data]="unexpected end of file"
    [trailer]="unexpected end of file"
  )
  for f in "${!want[@]}"; do
    run "$GZ" -t $f.gz
    [ "$status" -eq 1 ]
    [[ "$output" == *"$f.gz: ${want[$f]}"* ]]
    run "$GZ" -d $f.gz
    [ "$status" -eq 1 ]
    [[ "$output" == *"$f.gz: ${want[$f]}"* ]]
    [ -e $f.gz ] && [ ! -e $f ]
  done
  run "$GZ" -t both.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"both.gz: invalid compressed data--crc error"*"both.gz: invalid compressed data--length error"* ]]
  echo 'not compressed' > plain.gz
  run "$GZ" -t plain.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"plain.gz: not in gzip format"* ]]
  # Shorter than the magic number: the file ended early, whatever its byte.
  : > empty.gz; printf 'x' > x.gz; printf '\037' > m.gz; printf '\037x' > mx.gz
  for f in empty x m; do
    run "$GZ" -t $f.gz
    [ "$status" -eq 1 ]
    [[ "$output" == *"$f.gz: unexpected end of file"* ]]
  done
  run "$GZ" -t mx.gz
  [[ "$output" == *"mx.gz: not in gzip format"* ]]
  run bash -c "'$GZ' -dc < empty.gz"
  [ "$status" -eq 1 ]
  [[ "$output" == *"stdin: unexpected end of file"* ]]
  cp good.gz tail.gz; printf 'junk' >> tail.gz
  run "$GZ" -t tail.gz
  [ "$status" -eq 2 ]
  [[ "$output" == *"tail.gz: decompression OK, trailing garbage ignored"* ]]
}

@test "gzip's words come first, then our member number and offset" {
  ours_only
  make_member one.gz
  s=$(stat -c %s one.gz)
  cp one.gz two.gz; cat one.gz >> two.gz
  poke two.gz $(( 2 * s - 8 )) '\x00'
  run "$OURS" -t two.gz
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-gzip: two.gz: invalid compressed data--crc error (member 2, offset $s)" ]
  head -c $(( s + 100 )) one.gz > cut.gz
  cat one.gz >> cut.gz
  head -c $(( s + 100 )) cut.gz > cut2.gz
  run "$OURS" -t cut2.gz
  [ "$output" = "fpga-gzip: cut2.gz: unexpected end of file (member 2, offset $s)" ]
}

# --- Operands, -q, -S ----------------------------------------------------

@test "a missing operand is named as given (with -d, -l, -t and several operands)" {
  seq 5 > a
  run "$GZ" -d nosuch.gz
  [ "$status" -eq 1 ]
  [ "${output#*: }" = "nosuch.gz: No such file or directory" ]
  run "$GZ" -d nosuch
  [ "$status" -eq 1 ]
  [ "${output#*: }" = "nosuch.gz: No such file or directory" ]
  run "$GZ" -t nosuch.gz
  [ "${output#*: }" = "nosuch.gz: No such file or directory" ]
  run "$GZ" -l nosuch.gz
  [ "${output#*: }" = "nosuch.gz: No such file or directory" ]
  run "$GZ" nosuch.gz
  [ "${output#*: }" = "nosuch.gz: No such file or directory" ]
  run "$GZ" -d -S .z nosuch
  [ "${output#*: }" = "nosuch.z: No such file or directory" ]
  "$GZ" -k a
  run "$GZ" -t a.gz nosuch.gz a
  [ "$status" -eq 1 ]
  [[ "$output" == *"nosuch.gz: No such file or directory"* ]]
  [[ "$output" != *".gz.gz"* ]]
  # gunzip foo finds foo.gz
  mv a orig
  run "$GZ" -d a
  [ "$status" -eq 0 ]
  cmp a orig
}

@test "-q still reports an output it refused to overwrite (exit 2)" {
  seq 5 > a
  "$GZ" -k a
  run "$GZ" -q a < /dev/null
  [ "$status" -eq 2 ]
  [ "${output#*: }" = "a.gz already exists;	not overwritten" ]
  run "$GZ" -dq a.gz < /dev/null
  [ "$status" -eq 2 ]
  [ "${output#*: }" = "a already exists;	not overwritten" ]
}

@test "-q silences warnings (the status stays 2) but not errors" {
  mkdir d
  run "$GZ" -q d
  [ "$status" -eq 2 ]
  [ -z "$output" ]
  seq 5 > old; touch -d 1960-01-01 old
  run "$GZ" -q old
  [ "$status" -eq 2 ]
  [ -z "$output" ]
  seq 5 | gzip > t.gz; printf junk >> t.gz
  run "$GZ" -tq t.gz
  [ "$status" -eq 2 ]
  [ -z "$output" ]
  run "$GZ" -q nosuch
  [ "$status" -eq 1 ]
  [[ "$output" == *"nosuch: No such file or directory" ]]
  echo plain > bad.gz
  run "$GZ" -tq bad.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"bad.gz: not in gzip format" ]]
}

@test "-S '' is refused before any file is touched" {
  seq 5 > a
  run "$GZ" -S '' a
  [ "$status" -eq 1 ]
  [ "${output#*: }" = "invalid suffix ''" ]
  [ -e a ] && [ ! -e a.gz ] && [ ! -e a. ]
  run "$GZ" -d -S '' nosuch
  [ "$status" -eq 1 ]
  [ "${output#*: }" = "invalid suffix ''" ]
  run "$GZ" -S 1234567890123456789012345678901 a
  [ "$status" -eq 1 ]
  [ -e a ]
}

# --- Timestamps -----------------------------------------------------------

@test "timestamps outside the format's range are stored as 0 with gzip's warning (exit 2)" {
  for t in @-1 '1960-01-01' '2200-01-01' @4294967296 @0; do
    rm -f f f.gz
    seq 5 > f; touch -d "$t" f
    run "$GZ" f
    [ "$status" -eq 2 ]
    [ "${output#*: }" = "f: warning: file timestamp out of range for gzip format" ]
    [ "$(od -An -tu4 -j4 -N4 f.gz | tr -d ' ')" = 0 ]
    # The file keeps its own time.
    [ "$(stat -c %Y f.gz)" = "$(date -d "$t" +%s)" ]
  done
}

@test "in-range timestamps, up to exactly 2106-02-07 06:28:15 UTC, give no warning" {
  for t in 1 1000000000 4294967295; do
    rm -f f f.gz
    seq 5 > f; touch -d "@$t" f
    run "$GZ" f
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "$(od -An -tu4 -j4 -N4 f.gz | tr -d ' ')" = "$t" ]
  done
  # Standard input has the time of the file it is, none when it is a pipe.
  seq 5 > s; touch -d @1000000000 s
  "$GZ" < s > s.gz
  [ "$(od -An -tu4 -j4 -N4 s.gz | tr -d ' ')" = 1000000000 ]
  seq 5 | "$GZ" > p.gz
  [ "$(od -An -tu4 -j4 -N4 p.gz | tr -d ' ')" = 0 ]
  touch -d 1960-01-01 s
  run bash -c "'$GZ' < s > s.gz"
  [ "$status" -eq 2 ]
  [ "${output#*: }" = "stdin: warning: file timestamp out of range for gzip format" ]
  # -n stores no time, so nothing is out of range.
  seq 5 > g; touch -d 1960-01-01 g
  run "$GZ" -n g
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

# --- The GZIP environment variable ----------------------------------------

@test "GZIP takes exactly gzip 1.12's options, with its deprecation warning" {
  seq 5 > f
  for o in -1 -9 --fast --best -n -N --no-name --name -v --verbose --rsyncable -9n; do
    GZIP="$o" run bash -c "'$GZ' -c f > f.gz"
    [ "$status" -eq 0 ]
    [[ "$output" == *"warning: GZIP environment variable is deprecated; use an alias or script"* ]]
    "$GZ" -dc f.gz | cmp - f
  done
  # Said as GZIP is read: -q there silences it, -q on the command line does not.
  for o in -q --quiet "-9 -q"; do
    GZIP="$o" run bash -c "'$GZ' -c f > f.gz"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
  done
  GZIP=-9 run bash -c "'$GZ' -q -c f > f.gz"
  [[ "$output" == *deprecated* ]]
  GZIP=' ' run bash -c "'$GZ' -c f > f.gz"
  [ -z "$output" ]
  GZIP=-9 run "$GZ" --version
  [ "$status" -eq 0 ]
  [[ "$output" == *deprecated* ]]
}

@test "GZIP refuses the rest with gzip's messages, before any file is touched" {
  seq 5 > f
  for o in -c -d -f -k -l -r -t -S.x -h -V -m -M --recursive --synchronous --; do
    GZIP="$o" run "$GZ" f
    [ "$status" -eq 1 ]
    [ "${lines[0]#*: }" = "${o%.x}: option not valid in GZIP environment variable" ]
    [ -e f ] && [ ! -e f.gz ]
  done
  for v in x "-q x"; do
    GZIP="$v" run "$GZ" f
    [ "$status" -eq 1 ]
    [ "${lines[0]#*: }" = "x: non-option in GZIP environment variable" ]
  done
  GZIP="-- x" run "$GZ" f
  [ "${lines[0]#*: }" = "--: option not valid in GZIP environment variable" ]
  # Options gzip does not have are unknown there, as in gzip.
  GZIP=-R run "$GZ" f
  [ "$status" -eq 1 ]
  [ "${lines[0]#*: }" = "invalid option -- 'R'" ]
  [ -e f ] && [ ! -e f.gz ]
}

# --- -l -------------------------------------------------------------------

@test "-l: gzip's ratio and columns; -q drops the header and totals; -l wins over -t" {
  seq 5 | gzip > b.gz
  run "$GZ" -l b.gz
  [ "$status" -eq 0 ]
  [ "${lines[1]}" = "                 30                  10 -20.0% b" ]
  run "$GZ" -lq b.gz b.gz
  [ "${#lines[@]}" -eq 2 ]
  [ "${lines[0]}" = "                 30                  10 -20.0% b" ]
  run "$GZ" -l b.gz b.gz
  [ "${#lines[@]}" -eq 4 ]
  [[ "${lines[3]}" == *"60                  20"*"(totals)" ]]
  run "$GZ" -tl b.gz
  [[ "${lines[0]}" == *"uncompressed_name" ]]
}

@test "-l of a file compressed from stdin: its own time and name, stdout for stdin" {
  seq 5 | gzip > b.gz
  touch -d '2020-03-04 05:06' b.gz
  run "$GZ" -lv b.gz
  [ "$status" -eq 0 ]
  [[ "${lines[1]}" == "defla 6a69ac8a Mar  4 05:06 "*" b" ]]
  run "$GZ" -lv < b.gz
  [[ "${lines[1]}" == "defla 6a69ac8a Mar  4 05:06 "*" stdout" ]]
  seq 100 > named; touch -d '2019-01-02 03:04' named
  gzip -k named; mv named.gz other.gz
  run "$GZ" -lv other.gz
  [[ "${lines[1]}" == *" Jan  2 03:04 "*" other" ]]
  run "$GZ" -lN other.gz
  [[ "${lines[1]}" == *" named" ]]
}

@test "-lv: the CRC-32 of the whole content (combined from the members) and the stored time" {
  ours_only
  seq 1 5 | gzip > m.gz
  seq 6 10 | gzip >> m.gz
  want=$(seq 1 10 | gzip | gzip -lv | awk 'NR == 2 {print $2}')
  run "$OURS" -lv m.gz
  [ "$(echo "${lines[1]}" | awk '{print $2}')" = "$want" ]
  seq 1 300000 > big; touch -d '2021-05-06 07:08' big
  "$OURS" -b 64K -k big
  want=$(gzip -c big | gzip -lv | awk 'NR == 2 {print $2}')
  run "$OURS" -lv big.gz
  [[ "${lines[1]}" == "defla $want May  6 07:08 "* ]]
}

# --- Long names -------------------------------------------------------------

@test "a name too long for the suffix is shortened as gzip shortens it, before compressing" {
  long=$(printf 'a%.0s' $(seq 253))
  seq 5 > "$long"
  run "$GZ" "$long"
  [ "$status" -eq 0 ]
  [ "${output#*: }" = "$long compressed to ${long:0:252}.gz" ]
  [ -e "${long:0:252}.gz" ] && [ ! -e "$long" ]
  # The original name is stored (even under -n) and restored by -N.
  rm -f "${long:0:252}.gz"
  seq 5 > "$long"
  run "$GZ" -q -n "$long"
  [ -z "$output" ]
  "$GZ" -dN "${long:0:252}.gz"
  [ -e "$long" ]
  # .tar becomes .tgz; otherwise the last part longer than 3 characters loses one.
  t=$(printf 'c%.0s' $(seq 250)).tar
  seq 5 > "$t"
  run "$GZ" -v "$t"
  [[ "$output" == *"-- replaced with ${t%.tar}.tgz" ]]
  p=$(printf 'd%.0s' $(seq 240)).abcdefghi.tx
  seq 5 > "$p"
  "$GZ" -q "$p"
  [ -e "$(printf 'd%.0s' $(seq 240)).abcdefgh.tx.gz" ]
}

# --- pigz's options, --synchronous, --help and --version --------------------

@test "gzip's --synchronous and -m/-M" {
  seq 1000 > f; cp f orig; touch -d @1000000000 f
  run "$GZ" --synchronous -k f
  [ "$status" -eq 0 ]
  "$GZ" -dc f.gz | cmp - orig
  "$GZ" -m -c f > m.gz
  [ "$(od -An -tu4 -j4 -N4 m.gz | tr -d ' ')" = 0 ]
  "$GZ" -n -M -c f > nm.gz
  [ "$(od -An -tu4 -j4 -N4 nm.gz | tr -d ' ')" = 1000000000 ]
}

@test "pigz's -0, -H, -U, -C, -Y, -A, -L: output gzip and pigz read" {
  ours_only
  { seq 1 50000; head -c 100000 /dev/zero | tr '\0' a; } > f
  for o in -0 -H -U -Y "-A entry" "-C note" --huffman --rle "--comment=note" --synchronous; do
    "$OURS" $o -c f > o.gz
    gzip -dc o.gz | cmp - f
    pigz -dc o.gz | cmp - f
  done
  "$OURS" -0 -c f > 0.gz
  "$OURS" -H -c f > h.gz
  "$OURS" -U -c f > u.gz
  "$OURS" -c f > 6.gz
  [ "$(stat -c %s 0.gz)" -gt "$(stat -c %s f)" ]   # stored
  [ "$(stat -c %s u.gz)" -lt "$(stat -c %s h.gz)" ] # RLE finds the run
  [ "$(stat -c %s 6.gz)" -lt "$(stat -c %s h.gz)" ]
  # -C: FCOMMENT in the first header, after the name.
  "$OURS" -C 'a note' -c f > c.gz
  [ $(( $(od -An -tu1 -j3 -N1 c.gz) & 16 )) -eq 16 ]
  python3 - <<'PY'
data = open("c.gz", "rb").read()
assert data[3] & 8 and data[3] & 16
xlen = data[10] | data[11] << 8
p = 12 + xlen
name_end = data.index(0, p)
assert data[p:name_end] == b"f"
comment_end = data.index(0, name_end + 1)
assert data[name_end + 1:comment_end] == b"a note", data[name_end + 1:comment_end]
PY
  run "$OURS" -L
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "fpga-gzip (fpga-tools) "* ]]
}

@test "--help and --version to a full disk exit 1 (every tool)" {
  run bash -c "'$GZ' --help > /dev/full"
  [ "$status" -eq 1 ]
  run bash -c "'$GZ' --version > /dev/full"
  [ "$status" -eq 1 ]
  is_reference && return 0
  for t in fpga-gzip fpga-gunzip fpga-zcat fpga-cat fpga-split fpga-infer; do
    for o in --help --version; do
      run bash -c "'$FPGA_BIN/$t' $o > /dev/full"
      [ "$status" -eq 1 ]
      [[ "$output" == *"No space left on device"* ]]
    done
  done
  run bash -c "'$OURS' -L > /dev/full"
  [ "$status" -eq 1 ]
}

@test "every tool prints the Apache-2.0 notice with -L and --license" {
  is_reference && skip "fpga-tools' own licence"
  local t o
  for t in fpga-gzip fpga-cat fpga-split fpga-infer fpga-remote; do
    for o in -L --license; do
      run "$FPGA_BIN/$t" $o
      [ "$status" -eq 0 ]
      [ "${lines[0]}" = "$t (fpga-tools) $("$FPGA_BIN/$t" --version | sed 's/.* //')" ]
      [[ "$output" == *"Apache License, Version 2.0"* ]]
    done
    run bash -c "'$FPGA_BIN/$t' --license > /dev/full"
    [ "$status" -eq 1 ]
  done
  grep -q "Apache License" "$FPGA_SOURCE_DIR/LICENSE"
  grep -q "^License: Apache-2.0" "$FPGA_SOURCE_DIR/scripts/debian-copyright"
}

@test "-o - is standard output in fpga-cat and fpga-infer, not a file named -" {
  ours_only
  seq 1 1000 > a
  "$OURS" -c a > a.gz
  "$FPGA_BIN/fpga-cat" --as-given -o - a.gz > joined.gz
  [ ! -e ./- ]
  cmp joined.gz a.gz
  # Four 28x28 IDX images.
  python3 -c 'import struct, sys; sys.stdout.buffer.write(struct.pack(">IIII", 0x803, 4, 28, 28) + bytes(range(256)) * 12 + bytes(64))' > four.idx
  "$FPGA_BIN/fpga-infer" -q --model "$FPGA_SOURCE_DIR/models/fashion-cnv.fbnn" four.idx > want.tsv
  "$FPGA_BIN/fpga-infer" -q --model "$FPGA_SOURCE_DIR/models/fashion-cnv.fbnn" -o - four.idx > got.tsv
  [ ! -e ./- ]
  [ "$(wc -l < got.tsv)" -eq 4 ]
  cmp got.tsv want.tsv
}

@test "--help and --version into a closed pipe: killed by SIGPIPE, or exit 1 when it is ignored" {
  # A pipe closed before the program starts, every time: a FIFO opened for
  # reading and writing, then for writing, its reading end closed (the
  # `{ sleep 0.3; ...; } | true` this replaces counted on `true` having
  # exited within 0.3 s, which a loaded machine does not promise).
  mkfifo p
  for o in --help --version; do
    run bash -c "exec 3<>p 4>p 3<&-; '$GZ' $o >&4; echo \"rc=\$?\" >&2"
    [[ "$output" == *"rc=141"* ]]
    run bash -c "trap '' PIPE; exec 3<>p 4>p 3<&-; '$GZ' $o >&4; echo \"rc=\$?\" >&2"
    [[ "$output" == *"rc=1"* ]]
    [[ "$output" == *"Broken pipe"* ]]
  done
}

@test "-v says what gzip says: with -c, and the ratio when decompressing" {
  seq 5 > v
  run bash -c "'$GZ' -cv v > /dev/null"
  [[ "$output" == "v:"*"% -- replaced with stdout" ]]
  run bash -c "'$GZ' -kcv v > /dev/null"
  [[ "$output" == "v:"*"% -- created stdout" ]]
  # Decompressing, the ratio leaves the header and trailer out, as gzip's does.
  seq 5 | gzip > s.gz
  run bash -c "'$GZ' -dcv s.gz > /dev/null"
  [ "$output" = "s.gz:	-20.0% -- replaced with stdout" ]
  seq 1000 | gzip > t.gz
  run "$GZ" -dv t.gz
  [ "$output" = "t.gz:	 53.0% -- replaced with t" ]
}

@test "-v of standard input: gzip's ratio alone when compressing, ' OK' when testing, nothing when decompressing" {
  seq 5 > v
  "$GZ" -c v > v.gz
  # (-n: no name in either header, so that the sizes are the same.)
  run bash -c "'$GZ' -cnv v 2>&1 > /dev/null"
  ratio=${output#v:	}
  ratio=${ratio% -- replaced with stdout}
  [[ "$ratio" == *% ]]
  run bash -c "'$GZ' -nv < v 2>&1 > /dev/null"
  [ "$status" -eq 0 ]
  [ "$output" = "$ratio" ]
  run bash -c "'$GZ' -cnv - < v 2>&1 > /dev/null"
  [ "$output" = "$ratio" ]
  run bash -c "'$GZ' -tv < v.gz"
  [ "$status" -eq 0 ]
  [ "$output" = " OK" ]
  run bash -c "'$GZ' -dv < v.gz 2>&1 > /dev/null"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "a terminal refused: gzip's two lines, none under -q, exit 1 either way" {
  command -v script >/dev/null || skip "no script(1)"
  seq 3 > f
  name=$(basename "$GZ")
  run script -qec "'$GZ' < f" /dev/null
  [ "$status" -eq 1 ]
  [ "${lines[0]%$'\r'}" = "$name: compressed data not written to a terminal. Use -f to force compression." ]
  [ "${lines[1]%$'\r'}" = "For help, type: $name -h" ]
  run script -qec "'$GZ' -q < f" /dev/null
  [ "$status" -eq 1 ]
  [ -z "$output" ]
  run script -qec "'$GZ' -d" /dev/null < /dev/null
  [ "$status" -eq 1 ]
  [ "${lines[0]%$'\r'}" = "$name: compressed data not read from a terminal. Use -f to force decompression." ]
}

@test "-dN with a stored name too long for the directory: truncated, with gzip's warning (exit 2)" {
  python3 - <<'PY'
import struct, zlib
raw = b"hello\n"
c = zlib.compressobj(6, zlib.DEFLATED, -15)
body = c.compress(raw) + c.flush()
header = b"\x1f\x8b\x08\x08" + struct.pack("<I", 0) + b"\x00\x03" + b"n" * 300 + b"\x00"
open("x.gz", "wb").write(header + body + struct.pack("<II", zlib.crc32(raw), len(raw)))
PY
  run "$GZ" -dN x.gz
  [ "$status" -eq 2 ]
  short=$(printf 'n%.0s' $(seq 255))
  [ "${output#*: }" = "$short: warning, name truncated" ]
  [ "$(cat "$short")" = hello ]
  [ ! -e x.gz ]
}
