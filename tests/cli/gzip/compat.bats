#!/usr/bin/env bats
# gzip behaviour: these cases pass with GNU gzip too (FPGA_GZIP=gzip),
# which is how we know they describe gzip and not just our tool.

load ../helpers

@test "compress replaces foo with foo.gz, decompress restores it" {
  make_text foo 100
  cp foo orig
  run "$GZ" foo
  [ "$status" -eq 0 ]
  [ ! -e foo ]
  [ -e foo.gz ]
  run "$GZ" -d foo.gz
  [ "$status" -eq 0 ]
  [ ! -e foo.gz ]
  cmp foo orig
}

@test "-k keeps the input, -c writes to stdout and keeps it" {
  make_text foo 10
  "$GZ" -k foo
  [ -e foo ]
  [ -e foo.gz ]
  rm foo.gz
  "$GZ" -c foo > out.gz
  [ -e foo ]
  [ ! -e foo.gz ]
  gzip -dc out.gz | cmp - foo
}

@test "stdin to stdout, and - as an operand" {
  make_text foo 50
  "$GZ" < foo > a.gz
  "$GZ" -c - < foo > b.gz
  "$GZ" -d < a.gz | cmp - foo
  "$GZ" -dc - < b.gz | cmp - foo
}

@test "an existing output is not overwritten without -f (exit 2), and is with -f" {
  make_text foo 10
  echo precious > foo.gz
  run "$GZ" foo < /dev/null
  [ "$status" -eq 2 ]
  [[ "$output" == *"already exists"* ]]
  [ "$(cat foo.gz)" = precious ]
  [ -e foo ]
  run "$GZ" -f foo
  [ "$status" -eq 0 ]
  [ ! -e foo ]
  "$GZ" -t foo.gz
}

@test "decompressing never overwrites an existing file without -f" {
  make_text foo 10
  "$GZ" -k foo
  echo keep > foo
  run "$GZ" -d foo.gz < /dev/null
  [ "$status" -eq 2 ]
  [ "$(cat foo)" = keep ]
  [ -e foo.gz ]
}

@test "mode and mtime are kept file to file" {
  make_text foo 10
  chmod 640 foo
  touch -d '2001-02-03 04:05:06' foo
  "$GZ" foo
  [ "$(stat -c %a foo.gz)" = 640 ]
  [ "$(stat -c %Y foo.gz)" = "$(date -d '2001-02-03 04:05:06' +%s)" ]
  "$GZ" -d foo.gz
  [ "$(stat -c %a foo)" = 640 ]
  [ "$(stat -c %Y foo)" = "$(date -d '2001-02-03 04:05:06' +%s)" ]
}

@test "-n stores no name or time; by default the name is stored and -N restores it" {
  make_text foo 10
  "$GZ" -c -n foo > n.gz
  flags=$(od -An -tu1 -j3 -N1 n.gz | tr -d ' ')
  (( (flags & 8) == 0 ))
  [ "$(od -An -tu4 -j4 -N4 n.gz | tr -d ' ')" = 0 ]
  "$GZ" -k foo
  mv foo.gz renamed.gz
  mv foo orig
  "$GZ" -dN renamed.gz
  cmp foo orig
  [ ! -e renamed ]
}

@test "unknown suffix on decompression is a warning (exit 2) and the file is left alone" {
  echo data > plain.txt
  run "$GZ" -d plain.txt
  [ "$status" -eq 2 ]
  [[ "$output" == *"unknown suffix"* ]]
  [ "$(cat plain.txt)" = data ]
}

@test "a file that is not gzip: exit 1, named, kept" {
  echo 'not compressed' > bad.gz
  run "$GZ" -d bad.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"bad.gz"*"not in gzip format"* ]]
  [ -e bad.gz ]
  [ ! -e bad ]
}

@test "corrupt data: exit 1, no partial output, input kept" {
  make_text foo 300
  "$GZ" foo
  size=$(stat -c %s foo.gz)
  printf '\377\377\377\377\377\377\377\377' | dd of=foo.gz bs=1 seek=$(( size / 2 )) conv=notrunc status=none
  run "$GZ" -d foo.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"foo.gz"* ]]
  [ -e foo.gz ]
  [ -z "$(ls -A | grep -v '^foo.gz$')" ]
}

@test "truncated input: exit 1, no partial output, input kept" {
  make_text foo 300
  "$GZ" foo
  head -c 20000 foo.gz > t.gz
  run "$GZ" -d t.gz
  [ "$status" -eq 1 ]
  [ -e t.gz ]
  [ ! -e t ]
  [ -z "$(ls -A | grep -v -e '^t.gz$' -e '^foo.gz$')" ]
}

@test "-t accepts good data and rejects corrupt data" {
  make_text foo 100
  "$GZ" -c foo > good.gz
  run "$GZ" -t good.gz
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  head -c 3000 good.gz > bad.gz
  run "$GZ" -t bad.gz
  [ "$status" -eq 1 ]
}

@test "trailing zeros are ignored; trailing garbage is a warning (exit 2)" {
  make_text foo 10
  "$GZ" -c foo > z.gz
  cp z.gz g.gz
  head -c 1024 /dev/zero >> z.gz
  run "$GZ" -dc z.gz
  [ "$status" -eq 0 ]
  printf 'garbage' >> g.gz
  run "$GZ" -dc g.gz
  [ "$status" -eq 2 ]
  [[ "$output" == *"trailing garbage ignored"* ]]
}

@test "several files: a failure in the middle does not stop the rest, exit 1" {
  make_text a 10; make_text c 10
  run "$GZ" a missing c
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing"*"No such file or directory"* ]]
  [ -e a.gz ]
  [ -e c.gz ]
}

@test "directories: ignored with a warning, recursed into with -r" {
  mkdir -p d/sub
  make_text d/x 5; make_text d/sub/y 5
  run "$GZ" d
  [ "$status" -eq 2 ]
  [[ "$output" == *"is a directory"* ]]
  run "$GZ" -r d
  [ "$status" -eq 0 ]
  [ -e d/x.gz ]
  [ -e d/sub/y.gz ]
  [ ! -e d/x ]
  "$GZ" -dr d
  [ -e d/x ]
  [ -e d/sub/y ]
}

@test "symbolic links are refused without -f" {
  make_text foo 5
  ln -s foo link
  run "$GZ" link
  [ "$status" -eq 1 ]
  [ ! -e link.gz ]
}

@test "-S sets the suffix both ways" {
  make_text foo 5
  cp foo orig
  "$GZ" -S .z foo
  [ -e foo.z ]
  "$GZ" -d -S .z foo.z
  cmp foo orig
}

@test "a full disk is an error (exit 1), never a silent truncation" {
  make_text foo 100
  run bash -c "'$GZ' -c foo > /dev/full"
  [ "$status" -eq 1 ]
  [[ "$output" == *"No space left on device"* ]]
  "$GZ" -c foo > foo.gz
  run bash -c "'$GZ' -dc foo.gz > /dev/full"
  [ "$status" -eq 1 ]
  [[ "$output" == *"No space left on device"* ]]
}

@test "-dc into a closed pipe ends quietly" {
  seq 1 3000000 > big
  "$GZ" -c big > big.gz
  run bash -c "'$GZ' -dc big.gz 2>err | head -c 10 > /dev/null; cat err"
  [ -z "$output" ]
}

@test "refuses to write compressed data to a terminal" {
  command -v script >/dev/null || skip "no script(1)"
  make_text foo 1
  run script -qec "'$GZ' < foo" /dev/null
  [[ "$output" == *"terminal"* ]]
  [ "$status" -eq 1 ]
}

@test "GZIP may set a level but not -c or -k" {
  make_text foo 10
  GZIP=-9 run "$GZ" -c foo
  [ "$status" -eq 0 ]
  GZIP=-c run "$GZ" foo
  [ "$status" -eq 1 ]
  [[ "$output" == *"not valid in GZIP environment variable"* ]]
  [ -e foo ]
  [ ! -e foo.gz ]
}

@test "-l reports exact sizes and a totals line for several files" {
  make_text a 100; make_text b 200
  "$GZ" a b
  run "$GZ" -l a.gz b.gz
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *"compressed"*"uncompressed"*"ratio"*"uncompressed_name"* ]]
  [ "$(echo "${lines[1]}" | awk '{print $2}')" = 102400 ]
  [ "$(echo "${lines[2]}" | awk '{print $2}')" = 204800 ]
  [[ "${lines[3]}" == *"(totals)" ]]
}

@test "SIGTERM mid-file leaves no partial output and keeps the input" {
  seq 1 25000000 > big
  "$GZ" -9 big & pid=$!
  sleep 0.3
  kill -TERM $pid
  wait $pid || true
  [ -e big ]
  [ ! -e big.gz ]
  [ -z "$(ls -A | grep -v '^big$')" ]
}

@test "-v reports the ratio and what was created" {
  make_text foo 10
  run "$GZ" -v foo
  [ "$status" -eq 0 ]
  [[ "$output" == *"foo:"*"%"*"replaced with foo.gz"* ]]
}

# Issue 8: gzip's file-safety rules (these pass against GNU gzip too).

@test "-f replaces a symlink or FIFO where the output goes, never writes through it" {
  seq 1000 > a
  cp a orig
  ln -s /dev/null a.gz
  run "$GZ" -f a
  [ "$status" -eq 0 ]
  [ ! -L a.gz ]
  [ -f a.gz ]
  [ ! -e a ]
  "$GZ" -dc a.gz | cmp - orig
  ln -s /dev/null a
  run "$GZ" -df a.gz
  [ "$status" -eq 0 ]
  [ ! -L a ]
  cmp a orig
  [ ! -e a.gz ]
  [ -c /dev/null ]
  mkfifo a.gz
  run "$GZ" -f a
  [ "$status" -eq 0 ]
  [ -f a.gz ]
  [ ! -e a ]
  "$GZ" -dc a.gz | cmp - orig
}

@test "without -f, an existing symlink output is left alone and the input kept" {
  seq 1000 > a
  ln -s /dev/null a.gz
  run "$GZ" a < /dev/null
  [ "$status" -eq 2 ]
  [ -L a.gz ]
  cmp a <(seq 1000)
}

@test "a file with other hard links is ignored (exit 2) unless -f or -c" {
  seq 1000 > f
  ln f g
  run "$GZ" f
  [ "$status" -eq 2 ]
  [ "${output#*: }" = "f has 1 other link -- file ignored" ]
  [ -e f ]
  [ ! -e f.gz ]
  ln f h
  run "$GZ" f
  [ "${output#*: }" = "f has 2 other links -- file ignored" ]
  run "$GZ" -q f
  [ "$status" -eq 2 ]
  [ -z "$output" ]
  "$GZ" -c f > c.gz
  [ -e f ]
  run "$GZ" -f f
  [ "$status" -eq 0 ]
  [ -e f.gz ]
  [ ! -e f ]
  cmp g <(seq 1000)
  # decompression too, and -t reads it
  ln f.gz k.gz
  run "$GZ" -d f.gz
  [ "$status" -eq 2 ]
  [ "${output#*: }" = "f.gz has 1 other link -- file ignored" ]
  [ ! -e f ]
  "$GZ" -t f.gz
}

@test "setuid and setgid files are ignored (exit 2) even with -f or -k, sticky ones unless -f" {
  for b in u+s g+s +t; do
    seq 1000 > "f$b"
    chmod "$b" "f$b"
  done
  run "$GZ" fu+s
  [ "$status" -eq 2 ]
  [ "${output#*: }" = "fu+s is set-user-ID on execution - ignored" ]
  run "$GZ" fg+s
  [ "$status" -eq 2 ]
  [ "${output#*: }" = "fg+s is set-group-ID on execution - ignored" ]
  run "$GZ" f+t
  [ "$status" -eq 2 ]
  [ "${output#*: }" = "f+t has the sticky bit set - file ignored" ]
  [ -u fu+s ]
  [ -g fg+s ]
  [ -k f+t ]
  [ -z "$(ls | grep '\.gz$')" ]
  run "$GZ" -f fu+s
  [ "$status" -eq 2 ]
  run "$GZ" -k fg+s
  [ "$status" -eq 2 ]
  [ -z "$(ls | grep '\.gz$')" ]
  "$GZ" -c fu+s | "$GZ" -dc | cmp - <(seq 1000)
  run "$GZ" -f f+t
  [ "$status" -eq 0 ]
  [ -e f+t.gz ]
  seq 10 | "$GZ" > s.gz
  chmod u+s s.gz
  run "$GZ" -df s.gz
  [ "$status" -eq 2 ]
  [ "${output#*: }" = "s.gz is set-user-ID on execution - ignored" ]
  [ ! -e s ]
}
