#!/usr/bin/env bats
# Issue 21, items 8-14: fpga-split held against GNU split 9.1 itself, case by
# case: -n of pipes and devices, round robin (-n r/N, r/K/N), a unit alone as
# a size, GNU's option checks and messages, --filter that stops reading, and
# printed names that start with '-'. Deliberate differences are in
# fpga-split(1), DEVIATIONS FROM GNU SPLIT, and are asserted as such here.

load ../helpers

SPLIT=$FPGA_BIN/fpga-split
export LC_ALL=C  # GNU's messages quote with '...'

# Lines of random lengths (0 to 300 bytes), and a last line without newline.
make_lines() { # name
  python3 -c 'import random, sys
random.seed(21)
sys.stdout.write("".join("y" * random.choice([0, 1, 2, 5, 10, 30, 100, 300]) + "\n" for _ in range(400)) + "tail")' > "$1"
}

# The chunks of fpga-split and of GNU split for the same options and input
# (the file r.txt, or with `pipe` first, r.txt through a pipe): the same
# names, the same bytes. GNU reads the file: 9.1 refuses -n N on a pipe.
same_as_gnu() { # [pipe] options...
  local pipe=
  [ "$1" = pipe ] && { pipe=1; shift; }
  rm -rf g o && mkdir g o
  (cd g && split -d -a 4 "$@" ../r.txt p.)
  if [ -n "$pipe" ]; then
    (cd o && cat ../r.txt | "$SPLIT" -a 4 "$@" - p > ../names)
  else
    (cd o && "$SPLIT" -a 4 "$@" ../r.txt p > ../names)
  fi
  # The same names and bytes (diff -r fails on a name in one folder only).
  diff -r g o || { echo "names or bytes differ for $*"; return 1; }
  # What was printed is what was made, in order.
  diff <(ls o) names
}

# GNU split's message and ours, without the program names.
same_message() { # args...
  local gnu ours
  gnu=$(split "$@" 2>&1 >/dev/null; echo "status $?")
  ours=$("$SPLIT" "$@" 2>&1 >/dev/null; echo "status $?")
  [ "${ours//fpga-split/split}" = "$gnu" ] || { echo "GNU: $gnu"; echo "ours: $ours"; return 1; }
}

@test "item 8: -n of /dev/null makes GNU split's empty chunks" {
  run "$SPLIT" -n 3 /dev/null n
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'n.000\nn.001\nn.002')" ]
  split -d -a 3 -n 3 /dev/null g.
  for i in 000 001 002; do cmp n.$i g.$i; done
  "$SPLIT" -n l/2 /dev/null l > /dev/null
  [ "$(ls l.* | wc -l)" -eq 2 ] && [ ! -s l.000 ] && [ ! -s l.001 ]
}

@test "item 8: -n N, l/N and K/N of a pipe are read to its end first: GNU's chunks of the same bytes" {
  cd_tmpfs
  make_lines r.txt
  # GNU split 9.1 refuses a pipe; fpga-split does better (a deviation).
  run bash -c "cat r.txt | split -n 3"
  [ "$status" -eq 1 ]
  [ "$output" = "split: -: cannot determine file size" ]
  for o in "-n 1" "-n 3" "-n 50" "-n l/1" "-n l/7" "-e -n l/200" "-t y -n l/9"; do
    same_as_gnu pipe $o
  done
  for k in 1 2 5; do
    cmp <(split -n $k/5 r.txt) <(cat r.txt | "$SPLIT" -n $k/5)
    cmp <(split -n l/$k/5 r.txt) <(cat r.txt | "$SPLIT" -n l/$k/5)
  done
  # A big one (past the first read, past the 1 MiB blocks) and its join.
  seq 1 600000 > big
  cat big | "$SPLIT" -n 4 - b > names
  [ "$(wc -l < names)" -eq 4 ]
  cat $(cat names) | cmp - big
  # Chunks of a stream have the default mode, not the pipe's.
  touch m
  [ "$(stat -c %a b.000)" = "$(stat -c %a m)" ]
  # The copy goes to $TMPDIR; where it cannot, a one-line error and no chunk.
  run bash -c "cat big | TMPDIR=$PWD/none '$SPLIT' -n 4 - t"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-split: -: cannot make a temporary copy of the stream in $PWD/none: No such file or directory" ]
  [ -z "$(ls t.* 2>/dev/null)" ]
}

@test "item 8: a device that never ends is GNU split's error, and nothing is written" {
  same_message -n 2 /dev/zero z
  run "$SPLIT" -n 2 /dev/zero z
  [ "$output" = "fpga-split: /dev/zero: cannot determine file size: Value too large for defined data type" ]
  run bash -c "'$SPLIT' -n 2 - z < /dev/zero"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-split: -: cannot determine file size: Value too large for defined data type" ]
  run bash -c "split -n 2 - z < /dev/zero"
  [ "$output" = "split: -: cannot determine file size: Value too large for defined data type" ]
  [ -z "$(ls)" ]
}

@test "item 9: -n r/N deals lines out as GNU split does, from a file or a pipe, with -e and -t" {
  cd_tmpfs
  make_lines r.txt
  for o in "-n r/1" "-n r/3" "-n r/7" "-n r/500" "-e -n r/500" "-t y -n r/4" "-e -t y -n r/9"; do
    same_as_gnu $o
    same_as_gnu pipe $o
  done
  # Empty input: N empty chunks, or none with -e.
  : > r.txt
  same_as_gnu -n r/3
  same_as_gnu -e -n r/3
}

@test "item 9: -n r/K/N writes chunk K's lines to standard output, as GNU split" {
  make_lines r.txt
  for n in 1 4 9; do
    for k in 1 3 $n; do
      [ $k -le $n ] || continue
      cmp <(split -n r/$k/$n r.txt) <("$SPLIT" -n r/$k/$n r.txt)
      cmp <(split -n r/$k/$n r.txt) <(cat r.txt | "$SPLIT" -n r/$k/$n)
    done
  done
  [ "$(ls)" = r.txt ]
  same_message -n r/5/4 r.txt
  same_message -n r/0 r.txt
}

@test "item 9: -n r/N --filter: each chunk's lines through its own command, as GNU split" {
  make_lines r.txt
  mkdir g o
  (cd g && split -d -a 3 -n r/5 --filter='cat > $FILE.out' ../r.txt p.)
  (cd o && "$SPLIT" -n r/5 --filter='cat > $FILE.out' ../r.txt p > ../printed)
  [ ! -s printed ]  # the filters' output is standard output
  [ "$(ls o | wc -l)" -eq 5 ]
  diff -r g o
  # A failing command is GNU's error.
  run "$SPLIT" -n r/2 --filter='exit 3' r.txt
  [ "$status" -eq 3 ]  # the command's status, as GNU split
  [ "${lines[0]}" = "fpga-split: with FILE=r.txt.000, exit 3 from command: exit 3" ]
}

@test "item 9: -u (--unbuffered): with -n r/N each line reaches its chunk as it comes, as GNU" {
  cd_tmpfs
  make_lines r.txt
  same_as_gnu -u -n r/3
  same_as_gnu pipe -u -n r/3
  same_as_gnu -u -l 50  # no effect elsewhere
  # A line reaches its filter while the input is still open.
  mkfifo in
  "$SPLIT" -u -n r/1 --filter='cat > $FILE.out' in &
  exec 7<> in  # read-write: never blocks, even if fpga-split did not start
  echo first >&7
  for _ in $(seq 1 600); do [ -s in.000.out ] && break; sleep 0.05; done
  [ "$(cat in.000.out)" = first ]
  echo second >&7
  exec 7>&-
  wait
  [ "$(cat in.000.out)" = "$(printf 'first\nsecond')" ]
}

@test "item 9: -n r/N with more chunks than the soft open-file limit: raised to the hard one, or refused before writing" {
  cd_tmpfs
  make_lines r.txt
  [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 1000 ] || skip "hard open-file limit $(ulimit -Hn)"
  (ulimit -Sn 128 && same_as_gnu -n r/300)
  rm -rf o g
  run bash -c "ulimit -n 128; '$SPLIT' -n r/300 r.txt"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-split: -n r/300 keeps 300 chunks open at once, 664 files; the limit of open files is 128 (ulimit -n)" ]
  [ "$(ls)" = "$(printf 'names\nr.txt')" ]
}

@test "item 9: -n r/N names no byte ranges: --ranges, --manifest, --record-size are refused before anything is written" {
  seq 1 100 > f
  for o in --ranges "--manifest m" "--record-size 10" --idx; do
    run "$SPLIT" -n r/2 $o f
    [ "$status" -eq 1 ]
    [[ "${lines[0]}" == "fpga-split: -n r/N deals lines out"* ]]
  done
  [ "$(ls)" = f ]
}

@test "item 10: a unit alone is one of it (-b K, -C K, -b KB, -b b) in every tool, as GNU" {
  cd_tmpfs
  make_lines r.txt
  for o in "-b K" "-C K" "-b KB" "-b b" "-C KiB" "-b k"; do
    same_as_gnu $o
  done
  same_message -b B r.txt
  same_message -b iB r.txt
  # fpga-gzip's -b: K alone is 1 KiB, its smallest block.
  head -c 5000 r.txt > small
  "$FPGA_BIN/fpga-gzip" -c -b K small | "$FPGA_BIN/fpga-gzip" -dc | cmp - small
}

@test "item 11: -a 0 is the default suffix length, as in GNU" {
  seq 1 100 > f
  run "$SPLIT" -a 0 -l 30 f
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'f.000\nf.001\nf.002\nf.003')" ]
  split -a 0 -l 30 f g
  [ "$(ls g* | wc -l)" -eq 4 ]
  # And -a 2 then -a 0: the default again.
  [ "$("$SPLIT" -f -a 2 -a 0 -l 30 f | head -1)" = f.000 ]
}

@test "item 11: the obsolete -NUM is -l NUM, the last one counting; with another mode it is GNU's error" {
  cd_tmpfs
  make_lines r.txt
  same_as_gnu -1
  same_as_gnu -37
  same_as_gnu -5 -3
  same_as_gnu -e -7
  same_as_gnu -e7
  same_as_gnu -7e
  same_as_gnu -1e0
  same_as_gnu -20 -e
  same_as_gnu -ety -3
  same_message -1 -l 2 r.txt
  same_message -b 10 -3 r.txt
  # An option's value that looks like -NUM stays its value.
  "$SPLIT" --additional-suffix -5 -n 2 r.txt q > names
  [ "$(head -1 names)" = q.000-5 ]
  # -0 is --null here (GNU: -l 0, an error): a deviation.
  "$SPLIT" -0 -n 2 r.txt z | tr '\0' '\n' | cmp - <(printf 'z.000\nz.001\n')
}

@test "item 11: --lines takes any number up to 2^64-1; -b and -C up to 2^63-1, GNU's error past it" {
  seq 1 100 > f
  run "$SPLIT" --lines=18446744073709551615 f
  [ "$status" -eq 0 ]
  [ "$output" = f.000 ]
  cmp f f.000
  split --lines=18446744073709551615 f g
  cmp f gaa
  rm f.000 gaa
  "$SPLIT" --line-bytes=9223372036854775807 f > /dev/null
  cmp f f.000
  rm f.000
  for o in --line-bytes=9223372036854775808 --bytes=9223372036854775808 --bytes=99999999999999999999 \
           --bytes=16E --lines=18446744073709551616 --number=18446744073709551616; do
    same_message $o f
  done
  [ "$(ls)" = f ]
}

@test "item 11: two different -t separators are GNU's error; the same one twice is not" {
  seq 1 100 > f
  same_message -ta -tb -l1 f
  same_message -t a -t '\0' -l1 f
  run "$SPLIT" -ta -ta -l1 f
  [ "$status" -eq 0 ]
  same_message -t ab -l1 f
  same_message -t '' -l1 f
  [ "$(ls f*)" = "$(printf 'f\nf.000')" ]
}

@test "item 11: without a mode, -l 1000 as GNU split" {
  cd_tmpfs
  seq 1 2500 > r.txt
  same_as_gnu
  same_as_gnu pipe
  # Records and IDX items are no lines: there a mode is still asked for.
  run "$SPLIT" --record-size 10 r.txt
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == "fpga-split: give -n CHUNKS, -b SIZE or -C SIZE" ]]
}

@test "item 12: bad numbers of chunks, lines and bytes are GNU split's one-line messages, without 'Try --help'" {
  seq 1 100 > f
  for o in "-n 0" "-n x" "-n 4/3" "-n 0/3" "-n l/0/3" "-n r/x/3" "-n 99999999999999999999" \
           "-n 2/99999999999999999999" "-n l/0" "-l 0" "-l x" "-l 1K" "-l 99999999999999999999" "-b 0" "-b x" \
           "-C 0" "-b 99999999999999999999" "-a x"; do
    same_message $o f
  done
  run "$SPLIT" -n 0 f
  [ "${#lines[@]}" -eq 1 ]
  [ "$(ls)" = f ]
}

@test "item 12: an empty pipe with -n l/1 is one empty chunk (GNU 9.1: cannot determine file size)" {
  run bash -c ": | split -n l/1"
  [ "$output" = "split: -: cannot determine file size" ]
  # We read the pipe, so its bytes (none) are split as GNU splits an empty file.
  : > empty
  split -n l/1 empty g
  run bash -c ": | '$SPLIT' -n l/1"
  [ "$status" -eq 0 ]
  [ "$output" = x.000 ]
  cmp x.000 gaa
  : | "$SPLIT" -f -e -n l/1 > names
  [ ! -s names ]
}

@test "item 13: --filter stops reading once its command has gone (a huge sparse input ends at once)" {
  truncate -s 64G sparse || skip "no sparse files here"
  # What the processes read, from the kernel's count for this shell and the
  # children it has reaped (no clock involved).
  run bash -c "'$SPLIT' -n 2 --filter='head -c1 > \$FILE.n' sparse; grep '^rchar' /proc/\$\$/io"
  [ "$status" -eq 0 ]
  [ "$(stat -c %s sparse.000.n)" -eq 1 ] && [ "$(stat -c %s sparse.001.n)" -eq 1 ]
  rchar=${lines[-1]#rchar: }
  [ "$rchar" -lt $((256 << 20)) ] || { echo "read $rchar bytes"; false; }
  # GNU split too.
  run bash -c "split -n 2 --filter='head -c1 > \$FILE.g' sparse; grep '^rchar' /proc/\$\$/io"
  [ "${lines[-1]#rchar: }" -lt $((256 << 20)) ]
  # Round robin: every filter gone ends the run.
  yes 0123456789 | head -c 64M > lines
  run bash -c "'$SPLIT' -n r/3 --filter='head -c1 > \$FILE.r' lines; grep '^rchar' /proc/\$\$/io"
  [ "$status" -eq 0 ]
  [ "$(cat lines.00?.r)" = 000 ]
  [ "${lines[-1]#rchar: }" -lt $((32 << 20)) ]
}

@test "item 14: a chunk name that starts with - is printed as ./-NAME, so the next tool reads a file" {
  seq 1 50000 > ./-d.log
  run "$SPLIT" -n 2 -- -d.log
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf './-d.log.000\n./-d.log.001')" ]
  # The issue's pipeline.
  "$SPLIT" -f -n 2 -- -d.log | parallel "$FPGA_BIN/fpga-gzip"
  [ -e ./-d.log.000.gz ] && [ -e ./-d.log.001.gz ]
  "$FPGA_BIN/fpga-cat" ./-d.log.000.gz ./-d.log.001.gz | "$FPGA_BIN/fpga-gzip" -dc | cmp - ./-d.log
  # Ranges and the manifest too; xargs as well as parallel.
  "$SPLIT" --ranges -n 2 --manifest m -- -d.log | xargs "$FPGA_BIN/fpga-gzip" -f
  grep -q "	./-d.log@000/2:" m
  cat ./-d.log.000.gz ./-d.log.001.gz | "$FPGA_BIN/fpga-gzip" -dc | cmp - ./-d.log
  # A PREFIX of its own, and a stream.
  [ "$(cat ./-d.log | "$SPLIT" -l 40000 - -- -p | head -1)" = ./-p.000 ]
  # Without a '-' nothing changes.
  [ "$("$SPLIT" -f -n 1 -- -d.log plain)" = plain.000 ]
}

@test "-n l/N with more chunks than bytes: GNU 9.1's chunks (chunk k nominally ends at byte k-1)" {
  printf 'x\nx\nx\n' > r.txt
  for n in 7 12; do same_as_gnu -n l/$n; done
  printf 'a\nbb\nccc\n\ndddd\ne' > r.txt
  for n in 17 20 40; do same_as_gnu -n l/$n; done
  printf 'a\nb\nc\nd\ne\n' > r.txt
  for n in 3 6 10 11 12; do same_as_gnu -n l/$n; done
}

@test "--filter: a command that fails gives its own status (128 + signal for a signal) and GNU's message" {
  seq 1000 > big
  for f in 'exit 3' 'kill -9 $$'; do
    gnu=$(split -n 2 --filter="$f" big 2>&1; echo "status $?")
    ours=$("$SPLIT" -n 2 --filter="$f" big 2>&1 >/dev/null; echo "status $?")
    # The same words and status; only the chunk names differ (xaa: big.000).
    [ "${ours//fpga-split/split}" = "${gnu//xaa/big.000}" ] || { echo "GNU: $gnu"; echo "ours: $ours"; false; }
  done
  [ ! -e big.000 ]
}
