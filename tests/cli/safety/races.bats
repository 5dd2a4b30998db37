#!/usr/bin/env bats
# Issue 20, item 1: a directory or file swapped for a symbolic link (or a
# FIFO) between the walk's check and its use. fixtures/race.py runs the
# program again and again while it flips one name as fast as it can, and
# fails an attempt when the victim directory changed, the program blocked,
# or data was lost or leaked. The same cases pass with GNU gzip
# (FPGA_GZIP=gzip, ctest cli.safety.races.reference-gzip). A few hundred
# attempts by default; FPGA_LONG=1 runs ten times as many.

load ../helpers
load ../remote/helpers  # fpga-remote serve for the client's walk (setup in w/, teardown stops it)

RACE=$FIXTURES/race.py

# Attempts of a case: the default, times ten under FPGA_LONG.
attempts() { # default
  if [ -n "${FPGA_LONG:-}" ]; then echo $(( $1 * 10 )); else echo "$1"; fi
}

race() { # kind default-attempts [program...]
  local kind=$1 n
  n=$(attempts "$2")
  shift 2
  [ $# -gt 0 ] || set -- "$GZ"
  # The helper bounds every attempt (RACE_TIMEOUT, 2 s); timeout(1) bounds the case.
  run timeout $(( n + 60 )) "$PY" "$RACE" "$kind" "$n" "$@"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == "$kind: 0 of "* ]]
}

@test "-r: a directory swapped for a link to another during the walk is never entered" {
  race dir-r 30
}

@test "-d: the output goes where the input was, however the directory flips" {
  race dir-d 100
}

@test "a file swapped for a symbolic link after it was checked is not followed (no -f)" {
  race link 150
}

@test "a file swapped for a FIFO after it was checked never blocks the open" {
  race fifo 150
}

@test "fpga-remote's client walk (fpga-gzip's): the same races" {
  is_reference && skip "fpga-remote has no GNU counterpart"
  start_server races
  race dir-r 10 "$R" "http://127.0.0.1:$PORT" fpga-gzip
  race dir-d 30 "$R" "http://127.0.0.1:$PORT" fpga-gzip
  race link 30 "$R" "http://127.0.0.1:$PORT" fpga-gzip
  race fifo 30 "$R" "http://127.0.0.1:$PORT" fpga-gzip
}

@test "what was checked is what is read: the swaps one at a time, with gzip's words" {
  mkdir victim tree
  echo secret > victim/secret
  seq 1 1000 > tree/f
  # A link in place of a file is refused (O_NOFOLLOW), as gzip does.
  mv tree/f tree/f.real
  ln -s "$PWD/victim/secret" tree/f
  run timeout 10 "$GZ" tree/f
  [ "$status" -eq 1 ]
  [[ "$output" == *"tree/f: Too many levels of symbolic links"* ]]
  [ "$(cat victim/secret)" = secret ]
  [ ! -e tree/f.gz ]
  # A FIFO is ignored, never opened for long.
  rm tree/f
  mkfifo tree/f
  run timeout 10 "$GZ" tree/f
  [ "$status" -eq 2 ]
  [ "$output" = "$(basename "$GZ"): tree/f is not a directory or a regular file - ignored" ]
}

@test "a file put in the input's place while it is compressed is kept, not removed (warning)" {
  is_reference && skip "GNU gzip removes whatever has the name by then"
  seq 1 1000000 > f
  cp f orig
  echo "a new file" > new
  "$GZ" -9 f 2> err &
  pid=$!
  # Once the input is open, another file takes its name.
  for _ in $(seq 1 400); do
    ls -l /proc/$pid/fd 2>/dev/null | grep -q "$PWD/f\$" && break
    sleep 0.01
  done
  mv new f
  wait $pid && status=0 || status=$?
  cat err
  [ "$status" -eq 2 ]
  [ "$(cat err)" = "fpga-gzip: f: replaced by another file meanwhile -- not removed" ]
  [ "$(cat f)" = "a new file" ]
  gzip -dc f.gz | cmp - orig
}
