#!/usr/bin/env bats
# Issue 8 "No data lost, ever": each reproducer of the issue, as it was
# reported, across the tools. (The gzip file-safety rules that GNU gzip
# shares are in gzip-compat.bats, checked against gzip itself too.)

load ../helpers

CAT=$FPGA_BIN/fpga-cat
SPLIT=$FPGA_BIN/fpga-split

# Runs a command with its standard output on a pipe whose reader is gone,
# with SIGPIPE at its default or ignored (as a parent can leave it); prints
# the exit status (negative: killed by that signal) and then stderr.
closed_pipe() { # default|ignored command...
  python3 - "$@" <<'PY'
import os, signal, subprocess, sys
mode, cmd = sys.argv[1], sys.argv[2:]
r, w = os.pipe()
os.close(r)
def child():
    signal.signal(signal.SIGPIPE, signal.SIG_IGN if mode == "ignored" else signal.SIG_DFL)
p = subprocess.run(cmd, stdout=w, stderr=subprocess.PIPE, preexec_fn=child, restore_signals=False)
print(p.returncode)
sys.stdout.write(p.stderr.decode())
PY
}

@test "item 1: a flipped end-of-stream flag on a data member stops the join" {
  seq 1 600000 > in
  "$SPLIT" -n 2 --manifest=man in in
  "$GZ" -b 1M in.000 in.001   # two blocks each: data members, then the end marker
  printf '\x01' | dd of=in.001.gz bs=1 seek=17 conv=notrunc 2>/dev/null
  for opts in "--verify --manifest man" "--manifest man" "--verify" ""; do
    run "$CAT" $opts -o out.gz in.000.gz in.001.gz
    [ "$status" -eq 1 ]
    [[ "$output" == *"in.001.gz: corrupt data at member 1 (offset 0): end-of-stream member "*"empty"* ]]
    [ ! -e out.gz ]
  done
  run "$CAT" --manifest man
  [ "$status" -eq 1 ]
  [ -z "$(ls -A | grep -v '^in\|^man$')" ]
}

@test "item 1: the join's output verifies and holds exactly the parts' content" {
  seq 1 600000 > in
  "$SPLIT" -n 3 --manifest=man in in
  "$GZ" in.00?
  "$CAT" --verify --manifest man -o out.gz
  gzip -dc out.gz | cmp - in
  "$CAT" --manifest man > out2.gz
  cmp out.gz out2.gz
}

@test "item 2: fpga-cat -f --rm never removes the parts for an output that holds nothing" {
  seq 1 200000 > in
  "$SPLIT" -n 2 in in
  "$GZ" in.000 in.001
  ln -s /dev/null out.gz
  run "$CAT" -f --rm -o out.gz in.000.gz in.001.gz
  [ "$status" -eq 1 ]
  [[ "$output" == *"out.gz: not a regular file, FIFO or socket: --rm would lose the parts"* ]]
  [ -e in.000.gz ]
  [ -e in.001.gz ]
  run "$CAT" --rm -o /dev/null in.000.gz in.001.gz
  [ "$status" -eq 1 ]
  [ -e in.000.gz ]
  # without --rm, /dev/null is a fine place to write
  "$CAT" -o /dev/null in.000.gz in.001.gz
  # to standard output, or to a real file, the parts go after the commit
  "$CAT" --rm -o joined.gz in.000.gz in.001.gz
  [ ! -e in.000.gz ]
  gzip -dc joined.gz | cmp - in
}

@test "item 3: --rm implies --verify: damaged deflate data keeps every part" {
  seq 1 400000 > in
  "$SPLIT" -n 2 in in
  "$GZ" in.000 in.001
  cp in.001.gz good
  # damage deflate data well inside member 1, headers and trailers intact
  for off in 200 5000 60000; do
    cp good in.001.gz
    printf '\x55' | dd of=in.001.gz bs=1 seek=$off conv=notrunc 2>/dev/null
    cmp -s good in.001.gz && continue
    run "$CAT" --rm -o out.gz in.000.gz in.001.gz
    [ "$status" -eq 1 ]
    [ -e in.000.gz ]
    [ -e in.001.gz ]
    [ ! -e out.gz ]
  done
}

@test "item 5: a file that grows while it is compressed is kept, with gzip's warning (exit 2)" {
  # 15 MB at -9 on one thread: seconds of work, paced by the compressor, so
  # the line lands while the file is being read.
  seq 1 2000000 > log
  "$GZ" -9 -p 1 log 2> err & pid=$!
  # append once fpga-gzip has the file open, as a logger would
  for _ in $(seq 1 500); do
    ls -l /proc/$pid/fd 2>/dev/null | grep -q "$BATS_TEST_TMPDIR/log" && break
    sleep 0.01
  done
  echo "a late line" >> log
  status=0
  wait $pid || status=$?
  [ "$status" -eq 2 ]
  [ "$(cat err)" = "fpga-gzip: log: file size changed while zipping" ]
  [ -e log ]
  [ "$(tail -1 log)" = "a late line" ]
  # the output holds what was read: the input as it was, perhaps with the line
  gzip -dc log.gz > got
  [ "$(stat -c %s got)" -ge "$(seq 1 2000000 | wc -c)" ]
  cmp -n "$(stat -c %s got)" got log
}

@test "item 7: SIGKILL leaves no temporary file behind" {
  python3 -c 'import os; os.close(os.open(".", os.O_TMPFILE | os.O_WRONLY))' 2>/dev/null ||
    skip "this file system has no O_TMPFILE"
  seq 1 8000000 > big
  "$GZ" -9 -p 1 big & pid=$!
  for _ in $(seq 1 500); do
    ls -l /proc/$pid/fd 2>/dev/null | grep -q "(deleted)\|$BATS_TEST_TMPDIR/\.big" && break
    sleep 0.01
  done
  sleep 0.2
  kill -KILL $pid
  wait $pid || true
  [ "$(ls -A)" = big ]
  # fpga-split's chunk in progress and fpga-cat's output too
  mkdir s && cd s
  mkfifo ../fifo
  "$SPLIT" -b 1G ../fifo part > /dev/null & pid=$!
  exec 8> ../fifo
  seq 1 100000 >&8
  sleep 0.2
  kill -KILL $pid
  wait $pid || true
  exec 8>&-
  [ -z "$(ls -A)" ]
}

@test "SIGPIPE: killed by it as gzip (141), or 'Broken pipe' and exit 1 when the parent ignores it" {
  seq 1 300000 > in
  "$GZ" -k in
  "$SPLIT" -n 3 in in > /dev/null
  "$GZ" -k in.000 in.001 in.002
  for cmd in "$GZ -c in" "$GZ -dc in.gz" "$CAT in.000.gz in.001.gz in.002.gz" "$CAT in.000 in.001 in.002"; do
    run closed_pipe default $cmd
    [ "${lines[0]}" = -13 ]
    [ "${#lines[@]}" -eq 1 ]
    run closed_pipe ignored $cmd
    [ "${lines[0]}" = 1 ]
    [[ "${lines[1]}" == "fpga-"*": stdout: Broken pipe" ]]
  done
  # fpga-split prints chunk names: a closed pipe there removes the chunks
  mkdir s && cd s
  run closed_pipe default "$SPLIT" -n 3 ../in x
  [ "${lines[0]}" = -13 ]
  [ -z "$(ls -A)" ]
  run closed_pipe ignored "$SPLIT" -n 3 ../in x
  [ "${lines[0]}" = 1 ]
  [ "${lines[1]}" = "fpga-split: stdout: Broken pipe" ]
  [ -z "$(ls -A)" ]
}

@test "fuzz_join finding: zero padding after a gzip-made part does not end the joined stream" {
  seq 1 1000 > a
  seq 2000 3000 > b
  gzip -c a > x.0.gz
  head -c 100 /dev/zero >> x.0.gz
  gzip -c b > x.1.gz
  "$CAT" -q -o j.gz x.0.gz x.1.gz || [ $? -eq 2 ]
  run "$GZ" -dc j.gz
  [ "$status" -eq 0 ]
  [ "$output" = "$(cat a b)" ]
  gzip -dc j.gz | cmp - <(cat a b)
}

# Found by an adversarial review of the fixes above.

@test "review A1: a stream that fails after some chunks keeps the complete chunks, and says so" {
  head -c 250000 /dev/urandom > data
  mkdir out
  # a full file system after the first chunk (root only: mount)
  [ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs"
  mount -t tmpfs -o size=160k tmpfs out 2>/dev/null || skip "cannot mount a small tmpfs"
  run bash -c "cat data | '$SPLIT' -b 100K - out/s"
  ls -A out > listing
  umount out
  [ "$status" -eq 1 ]
  [[ "$output" == *"kept the 1 complete chunk out/s.000 (a stream cannot be read again)"* ]]
  [ "$(cat listing)" = s.000 ]
}

@test "review A2: fpga-split never replaces its own input" {
  seq 1000 > a.000
  cp a.000 orig
  run "$SPLIT" -f -n 2 a.000 a
  [ "$status" -eq 1 ]
  [[ "$output" == *"a.000: a chunk would replace the input"* ]]
  cmp a.000 orig
}

@test "review A3, A4: -o /dev/stdout writes through the shell's descriptor; a regular file under /dev is no device" {
  seq 1 100000 > in
  "$SPLIT" -n 2 in in > /dev/null
  "$GZ" in.000 in.001
  echo HEADER > f
  "$CAT" -o /dev/stdout in.000.gz in.001.gz >> f
  [ "$(head -1 f)" = HEADER ]
  tail -c +8 f | gzip -dc | cmp - in
  { echo HEADER; "$CAT" -o /dev/stdout in.000.gz in.001.gz; } > g
  [ "$(head -1 g)" = HEADER ]
  [ -d /dev/shm ] || skip "no /dev/shm"
  shm=/dev/shm/fpga-tools-review-$$
  head -c 100000 /dev/urandom > $shm
  run "$CAT" -o $shm in.000.gz in.001.gz
  [ "$status" -eq 1 ]
  [ "$(stat -c %s $shm)" -eq 100000 ]
  "$CAT" -f -o $shm in.000.gz in.001.gz
  gzip -dc $shm | cmp - in
  rm -f $shm
}

@test "review A5: --rm refuses standard output on /dev/null" {
  seq 1 100000 > in
  "$SPLIT" -n 2 in in > /dev/null
  "$GZ" in.000 in.001
  run bash -c "'$CAT' --rm in.000.gz in.001.gz > /dev/null"
  [ "$status" -eq 1 ]
  [[ "$output" == *"--rm would lose the parts"* ]]
  [ -e in.000.gz ]
  "$CAT" --rm in.000.gz in.001.gz | gzip -dc | cmp - in
  [ ! -e in.000.gz ]
}

@test "review A6: -f does not follow a symlink to a device or FIFO into a file (gzip's rule)" {
  ln -s /dev/zero z
  run timeout 20 "$GZ" -f z
  [ "$status" -eq 2 ]
  [ "${output#*: }" = "z is not a directory or a regular file - ignored" ]
  [ ! -e z.gz ]
}
