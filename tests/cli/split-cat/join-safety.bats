#!/usr/bin/env bats
# fpga-cat's join and the parts' safety (issue 20, items 2 and 9): a part
# that changes while it is joined is kept, with gzip's warning (status 2);
# --rm removes a part's name only while it names the file that was joined;
# the default join checks every gzip member's bytes after its header against
# the CRC-32 in its FC subfield (members without one are inflated), --verify
# inflates every member, so a damaged part stops it before anything is
# written.

load ../helpers

CAT=$FPGA_BIN/fpga-cat
SPLIT=$FPGA_BIN/fpga-split

# Runs fpga-cat ARGS with its standard output into a pipe that is not read
# until it is full (fpga-cat is blocked in the middle of its copy),
# then runs CHANGE (shell code), lets the reader drain the pipe into OUT and
# waits. Sets status and err (fpga-cat's exit status and stderr). The waits
# are in Python: Bats traces every command of a shell loop, slowly.
held_join() { # out change args...
  local out=$1 change=$2
  shift 2
  rm -f cat.status full go
  # (the status by && ||: errexit holds in the subshell)
  ( "$CAT" "$@" 2> cat.err && s=0 || s=$?; echo $s > cat.status ) | "$PY" -c '
import array, fcntl, os, shutil, sys, termios, time
n, last, since = array.array("i", [0]), -1, time.time()
end = time.time() + 30
while time.time() < end:
    fcntl.ioctl(0, termios.FIONREAD, n)
    if n[0] != last:
        last, since = n[0], time.time()
    elif n[0] >= 32768 and time.time() - since > 0.2:
        break  # full (short writes leave pages part empty): the writer waits
    time.sleep(0.01)
open("full", "w").close()
while not os.path.exists("go") and time.time() < end:
    time.sleep(0.01)
with open(sys.argv[1], "wb") as f:
    shutil.copyfileobj(sys.stdin.buffer, f)
' "$out" &
  local bg=$!
  "$PY" -c '
import os, time
end = time.time() + 30
while not os.path.exists("full") and time.time() < end:
    time.sleep(0.01)'
  # fpga-cat is still running, blocked on the full pipe
  [ ! -e cat.status ]
  eval "$change"
  touch go
  wait "$bg" || true
  # the reader may end before the status is written
  "$PY" -c '
import os, time
end = time.time() + 30
while time.time() < end and not (os.path.exists("cat.status") and os.path.getsize("cat.status")):
    time.sleep(0.01)'
  status=$(cat cat.status)
  err=$(cat cat.err)
}

# Damages one byte at OFFSET of FILE (XOR 0xff).
flip() { # file offset
  python3 - "$1" "$2" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off] ^= 0xFF
open(p, "wb").write(b)
PY
}

# The offset of the CRC-32 in the trailer of FILE's first member.
first_trailer_crc() { # file
  python3 - "$1" <<'PY'
import sys, zlib
b = open(sys.argv[1], "rb").read()
d = zlib.decompressobj(31)
d.decompress(b)
print(len(b) - len(d.unused_data) - 8)
PY
}

@test "item 2: --rm keeps a part appended to during the join (the issue's script), status 2" {
  seq 1 400000 > big.txt
  "$SPLIT" -n l/2 big.txt > /dev/null
  held_join joined.txt 'echo "appended line" >> big.txt.001' --rm --lines big.txt.000 big.txt.001
  [ "$status" -eq 2 ]
  [ "$err" = "fpga-cat: big.txt.001: file size changed while joining; not removed" ]
  [ ! -e big.txt.000 ]
  [ -e big.txt.001 ]
  [ "$(tail -1 big.txt.001)" = "appended line" ]
  # the output holds the parts as they were opened
  cmp joined.txt big.txt
}

@test "item 2: --rm keeps a gzip part that got a member appended during the join" {
  seq 1 400000 > big.txt
  "$SPLIT" -n l/2 big.txt > /dev/null
  "$OURS" big.txt.000 big.txt.001
  held_join joined.gz 'echo "appended line" | gzip >> big.txt.001.gz' --rm big.txt.000.gz big.txt.001.gz
  [ "$status" -eq 2 ]
  [ "$err" = "fpga-cat: big.txt.001.gz: file size changed while joining; not removed" ]
  [ ! -e big.txt.000.gz ]
  [ "$(gzip -dc big.txt.001.gz | tail -1)" = "appended line" ]
  gzip -dc joined.gz | cmp - big.txt
}

@test "item 2: --rm does not remove another file put under a part's name during the join" {
  seq 1 400000 > big.txt
  "$SPLIT" -n l/2 big.txt > /dev/null
  cp big.txt.001 want.001
  held_join joined.txt 'mv big.txt.001 moved.001; echo "another file" > big.txt.001' \
    --rm --lines big.txt.000 big.txt.001
  [ "$status" -eq 2 ]
  [[ "$err" == "fpga-cat: big.txt.001: "*" while joining; not removed" ]]
  [ "$(cat big.txt.001)" = "another file" ]
  cmp moved.001 want.001
  cmp joined.txt big.txt
}

@test "item 2: a part rewritten in place during the join (same size) is reported, status 2" {
  seq 1 400000 > big.txt
  "$SPLIT" -n l/2 big.txt > /dev/null
  held_join joined.txt 'printf X | dd of=big.txt.001 bs=1 seek=100 conv=notrunc 2>/dev/null' big.txt.000 big.txt.001
  [ "$status" -eq 2 ]
  [ "$err" = "fpga-cat: big.txt.001: file changed while joining" ]
  [ -e big.txt.000 ]
}

@test "item 2: a part left alone is removed as before, relative to its directory" {
  mkdir d
  seq 1 300000 > d/big.txt
  (cd d && "$SPLIT" -n l/2 big.txt > /dev/null && "$OURS" big.txt.000 big.txt.001)
  "$CAT" --rm -o j.gz d/big.txt.000.gz d/big.txt.001.gz
  [ ! -e d/big.txt.000.gz ]
  [ ! -e d/big.txt.001.gz ]
  gzip -dc j.gz | cmp - d/big.txt
  # --rm and a symbolic link to a part: removing the link would keep the data
  (cd d && "$SPLIT" -n l/2 big.txt > /dev/null)
  ln -s d/big.txt.001 link.001
  run "$CAT" --rm -o j2 d/big.txt.000 link.001
  [ "$status" -eq 1 ]
  [[ "$output" == *"link.001: a symbolic link: --rm removes only the parts themselves"* ]]
  [ -e d/big.txt.000 ] && [ -e d/big.txt.001 ] && [ ! -e j2 ]
  # without --rm a link is read like the file
  "$CAT" -o j3 d/big.txt.000 link.001
  cmp j3 d/big.txt
}

# Three gzip parts of fpga-gzip (indexed members, checked from their
# headers and trailers alone before), the middle one damaged.
# Made once for the file (setup_file), copied for each test.
setup_file() {
  cd "$BATS_FILE_TMPDIR"
  seq 1 600000 > big.log
  "$SPLIT" -n 3 big.log > /dev/null
  # Blocks of 256 KiB: parts of several members, which carry FC (a part of
  # one member has none and is inflated by the default check).
  "$OURS" -k -b 256K big.log.000 big.log.001 big.log.002
}

make_parts() {
  cp "$BATS_FILE_TMPDIR"/big.log* .
  [ "$(stat -c %s big.log)" -gt 3000000 ]
  cp big.log.001.gz good.001.gz
}

refused() { # what is expected in the message
  run bash -c "'$CAT' big.log.*.gz > j.gz"
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-cat: big.log.001.gz: "*"$1"* ]]
  [ ! -s j.gz ]
  run "$CAT" -o out.gz big.log.*.gz
  [ "$status" -eq 1 ]
  [ ! -e out.gz ]
}

@test "item 9: the default join checks the parts: a flipped byte in a middle part's deflate data stops it" {
  make_parts
  "$CAT" big.log.*.gz > j.gz
  gzip -t j.gz
  size=$(stat -c %s good.001.gz)
  for off in 1000 $((size / 2)) $((size - 2000)); do
    cp good.001.gz big.log.001.gz
    flip big.log.001.gz $off
    refused "corrupt data"
  done
}

@test "item 9: a flipped CRC-32 in a trailer of a middle part stops the default join" {
  make_parts
  flip big.log.001.gz "$(first_trailer_crc big.log.001.gz)"
  refused "corrupt data"
}

@test "item 9: an appended member with damaged data stops the default join" {
  make_parts
  seq 1 20000 > extra
  "$OURS" -c extra > extra.gz
  flip extra.gz 2000
  cat extra.gz >> big.log.001.gz
  refused "corrupt data"
  # the same member undamaged is data: the join keeps it
  cp good.001.gz big.log.001.gz
  "$OURS" -c extra >> big.log.001.gz
  "$CAT" big.log.*.gz > j.gz
  gzip -dc j.gz | cmp - <(cat big.log.000 big.log.001 extra big.log.002)
}

@test "item 9: a truncated part stops the join" {
  make_parts
  head -c $(( $(stat -c %s good.001.gz) - 30 )) good.001.gz > big.log.001.gz
  refused "truncated"
}

@test "issue 24: the default check reads each member against its FC CRC-32, --verify inflates instead" {
  make_parts
  # FC: after FT at offset 12 (4 + 10 bytes) and FP (4 + 25) in a chunk's
  # first member; its CRC-32 at bytes 1-4 of its data.
  python3 - big.log.001.gz <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
assert b[12:14] == b"FT" and b[26:28] == b"FP" and b[55:57] == b"FC", b[:64]
b[60] ^= 1
open(sys.argv[1], "wb").write(b)
PY
  refused "compressed data or trailer does not match the CRC-32 in its header (damaged?)"
  # The data itself is intact: --verify, which inflates, joins it.
  "$CAT" --verify big.log.*.gz | gzip -dc | cmp - big.log
  # A member of a stream of one member carries none: inflated by default.
  "$OURS" -c -b 64K big.log.000 | "$PY" -c 'import sys; d = sys.stdin.buffer.read(); assert d[26:28] == b"FC", d[:40]'
  printf 'x\n' | "$OURS" -c | "$PY" -c 'import sys; d = sys.stdin.buffer.read(); assert d[12:14] == b"FT" and d[10:12] == b"\x0e\x00", d'
}

@test "item 9: --verify inflates every member, --no-verify copies after the structural checks alone" {
  make_parts
  "$CAT" --verify big.log.*.gz | cmp - <("$CAT" big.log.*.gz)
  flip big.log.001.gz 40000
  run "$CAT" --verify -o out.gz big.log.*.gz
  [ "$status" -eq 1 ]
  # the copy alone: headers and trailers are checked, the data is not
  run "$CAT" --no-verify -o out.gz big.log.*.gz
  [ "$status" -eq 0 ]
  ! gzip -t out.gz 2>/dev/null
  # --no-verify and --rm exclude each other
  run "$CAT" --rm --no-verify -o out2.gz big.log.*.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"--rm and --no-verify exclude each other"* ]]
  [ -e big.log.000.gz ] && [ ! -e out2.gz ]
}

@test "item 2: parts held open to the end: 200 parts join under a soft limit of 64 descriptors" {
  seq 1 3000 > many
  "$SPLIT" -n l/200 many > names
  run bash -c 'ulimit -Sn 64 && exec "$0" "$@" | cmp - many' "$CAT" $(cat names)
  [ "$status" -eq 0 ]
  run bash -c 'ulimit -Sn 64 && exec "$0" "$@"' "$CAT" --rm -o joined $(cat names)
  [ "$status" -eq 0 ]
  cmp joined many
  [ ! -e many.000 ] && [ ! -e many.199 ]
}
