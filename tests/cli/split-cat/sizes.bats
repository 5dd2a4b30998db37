#!/usr/bin/env bats
# Issue 20, item 8: files whose stat does not tell their size (/proc says 0,
# /sys says 4096 and holds 2). fpga-split reads them to learn it, as GNU
# split does, and its chunks are GNU split's (`split -n 3`).

load ../helpers

SPLIT=$FPGA_BIN/fpga-split

# The chunks of `fpga-split ARGS FILE p` against `split ARGS FILE x`, one by one.
same_as_gnu() { # file args...
  local f=$1
  shift
  rm -f p.* x??
  "$SPLIT" "$@" "$f" p > names
  split "$@" "$f" x
  local ours=(p.*) theirs=(x??)
  [ "${#ours[@]}" -eq "${#theirs[@]}" ]
  for i in "${!ours[@]}"; do cmp "${ours[$i]}" "${theirs[$i]}"; done
  cat p.* | cmp - "$f"
}

@test "/proc/version (st_size 0): -n 3 makes GNU split's chunks, nothing lost" {
  [ -r /proc/version ] || skip "no /proc/version"
  [ "$(stat -c %s /proc/version)" -eq 0 ] || skip "/proc/version has a size here"
  same_as_gnu /proc/version -n 3
  [ "$(cat p.* | wc -c)" -gt 0 ]
  same_as_gnu /proc/version -b 50
  same_as_gnu /proc/version -n l/2
  # Standard input that is such a file, and -n K/N.
  "$SPLIT" -n 3 - q < /proc/version > /dev/null
  cat q.* | cmp - /proc/version
  cmp <("$SPLIT" -n 2/3 /proc/version) <(split -n 2/3 /proc/version)
}

@test "/sys/kernel/profiling (says 4096, holds 2): -n 3 makes GNU split's chunks" {
  [ -r /sys/kernel/profiling ] || skip "no /sys/kernel/profiling"
  same_as_gnu /sys/kernel/profiling -n 3
  # The manifest tells the size read, not the one stat told.
  rm -f p.*
  "$SPLIT" -n 3 --manifest m /sys/kernel/profiling p > /dev/null
  [ "$(sed -n 2p m | cut -f2)" -eq "$(cat /sys/kernel/profiling | wc -c)" ]
}

@test "a /proc file longer than the first read (st_size 0) is read to its end" {
  [ -r /proc/kallsyms ] || skip "no /proc/kallsyms"
  cat /proc/kallsyms > k
  [ "$(stat -c %s k)" -gt 131072 ] || skip "/proc/kallsyms is short here"
  "$SPLIT" -n 3 /proc/kallsyms p > /dev/null
  cat p.* | cmp - k
  [ -s p.000 ] && [ -s p.002 ]
}

@test "a regular file: GNU split's chunks, as before" {
  seq 1 100000 > in
  same_as_gnu in -n 3
}

@test "--ranges of a file whose stat lies is a one-line error: the ranges would not hold there" {
  [ -r /proc/version ] || skip "no /proc/version"
  [ "$(stat -c %s /proc/version)" -eq 0 ] || skip "/proc/version has a size here"
  run "$SPLIT" -n 3 --ranges /proc/version
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-split: /proc/version: --ranges needs a file whose size its stat tells (it says 0 bytes and holds "*"); copy it to a file first" ]]
  [ "${#lines[@]}" -eq 1 ]
}
