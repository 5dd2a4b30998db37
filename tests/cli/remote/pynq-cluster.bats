#!/usr/bin/env bats
# Issue 23's cluster of Pynq-Z1 boards, tested as a cluster: each board a
# network namespace running `fpga-remote serve` as fpga-tools(7), PYNQ-Z1
# CLUSTER, starts it (the armhf build under qemu-user with the BNN-PYNQ
# overlay emulated where those are built, else this host's binaries on the
# CPU: board_programs), and this host (the root namespace) running the
# issue's pipeline and the page's own commands with GNU parallel. The
# results are byte-identical to one local fpga-infer on the CPU; a board
# killed after its first answer is named and its work done by the others;
# with no board left every job fails naming its range, and the join writes
# nothing. FPGA_ARMHF_BIN names the armhf build (default build-armhf/tools);
# FPGA_CLUSTER_RECORDS the batch's size (96 in make test; 400 in make
# test-long, but 96 when the boards compute on qemu's emulated CPU).

load ../helpers
load helpers

# A batch of CIFAR-10 records made from the two real ones, and the host's
# import of CNV-W1A1. 96 records (12 a job) in make test: the emulated
# overlay and the driver cost some 10 ms of CPU a record (400 records, 8
# jobs of 50, in make test-long); 96 too when the boards compute on an
# emulated CPU.
setup_file() {
  [ -d "$DATA/bnn-pynq" ] || return 0
  board_programs
  local n=96
  if [ -n "${FPGA_LONG:-}" ] && { [ -z "$BOARD_RUN" ] || [ -n "$BOARD_OVERLAY" ]; }; then n=400; fi
  export RECORDS=${FPGA_CLUSTER_RECORDS:-$n}
  "$PY" "$FIXTURES/cifar_batch.py" "$DATA/images/deer.bin" "$DATA/images/cifar10-test-0000.bin" \
    "$RECORDS" 23 > "$BATS_FILE_TMPDIR/test_batch.bin"
  "$INFER" import-bnn-pynq "$DATA/bnn-pynq/cifar10/cnvW1A1" -o "$BATS_FILE_TMPDIR/cnv.fbnn" 2>/dev/null
  # What one fpga-infer here prints for the whole batch, on the CPU.
  (cd "$BATS_FILE_TMPDIR" && "$INFER" -q --device cpu --model cnv.fbnn test_batch.bin > local.tsv)
}

# fpga-tools(7)'s PYNQ-Z1 CLUSTER as man prints it: one command a line
# (lines continued with \ joined), blanks squeezed.
cluster_section() {
  MANWIDTH=200 man -l "$FPGA_SOURCE_DIR/man/fpga-tools.7" 2>/dev/null | col -bx |
    sed -n '/^PYNQ-Z1 CLUSTER/,/^ENVIRONMENT/p' | sed -e :a -e '/\\$/N; s/\\\n//; ta' |
    sed 's/^ *//; s/  */ /g'
}

setup() {
  need_data
  need_netns
  command -v parallel >/dev/null || skip "no GNU parallel"
  command -v man >/dev/null || skip "no man"
  board_programs
  echo "# boards: $BOARD_WHAT; $RECORDS records" >&3
  mkdir -p "$BATS_TEST_TMPDIR/w" "$BATS_TEST_TMPDIR/models"
  cd "$BATS_TEST_TMPDIR/w"
  cp "$BATS_FILE_TMPDIR/test_batch.bin" "$BATS_FILE_TMPDIR/local.tsv" .
  cp "$BATS_FILE_TMPDIR/cnv.fbnn" "$BATS_TEST_TMPDIR/models/"
  # The token the page makes; the host's fpga-remote sends it.
  head -c 32 /dev/urandom | base64 > "$BATS_TEST_TMPDIR/token"
  export FPGA_REMOTE_TOKEN=$(cat "$BATS_TEST_TMPDIR/token")
  export PATH=$FPGA_BIN:$PATH
  # The boards' server as the page starts it, its files here.
  cluster_section > "$BATS_TEST_TMPDIR/section"
  local serve
  serve=$(sed -n 's/^sudo fpga-remote serve //p' "$BATS_TEST_TMPDIR/section")
  [ -n "$serve" ]
  serve=${serve//\/etc\/fpga-remote.token/$BATS_TEST_TMPDIR/token}
  serve=${serve//\/srv\/models/$BATS_TEST_TMPDIR/models}
  read -ra SERVE_OPTS <<< "$serve"
}

# start_boards N: boards b1..bN as the page starts them, named in
# boards.txt in that order; BPID, BLOG, BURL, BNS are arrays by board (1..N).
start_boards() { # n
  local i
  BPID=() BLOG=() BURL=() BNS=()
  : > boards.txt
  for i in $(seq "$1"); do
    start_board "b$i" "${SERVE_OPTS[@]}"
    BPID[i]=$BOARD_PID BLOG[i]=$BOARD_LOG BURL[i]=$BOARD_URL BNS[i]=$BOARD_NS
    echo "$BOARD_URL" >> boards.txt
  done
  for i in $(seq "$1"); do board_up "${BLOG[i]}" "${BPID[i]}"; done
}

# The device a board's answers name in its log.
board_device() { if [ -n "$BOARD_OVERLAY" ]; then echo pynq:0; else echo cpu; fi; }

# Lines of standard input to standard output: the first at once, the rest
# once the file $1 exists (up to 60 s), so that the test acts between the
# pipeline's first job and the others.
gate() { # file
  local line
  IFS= read -r line && printf '%s\n' "$line"
  for _ in $(seq 1200); do [ -e "$1" ] && break; sleep 0.05; done
  cat
}

# Waits (up to 60 s) until the board's log shows its first answer to an
# inference request.
wait_first_answer() { # log
  for _ in $(seq 1200); do grep -q 'POST /v1/infer 200' "$1" && return 0; sleep 0.05; done
  cat "$1" >&2
  return 1
}

# Waits (up to 60 s) until a request has reached the board in namespace $1
# and waits unread: a connection on port 8437 with bytes in its receive
# queue (the server is stopped, so nothing reads them).
wait_unread_request() { # ns
  for _ in $(seq 1200); do
    ip netns exec "$1" ss -tnH state established '( sport = :8437 )' | awk '$1 > 0 { f = 1 } END { exit !f }' && return 0
    sleep 0.05
  done
  ip netns exec "$1" ss -tn >&2
  return 1
}

@test "three boards as fpga-tools(7) sets them up: the issue's pipeline and the page's give results byte-identical to fpga-infer on the CPU here" {
  S=$BATS_TEST_TMPDIR/section
  # The model as the page has a board make it (its import, with the board's
  # binary), byte for byte the host's.
  cmd=$(sed -n 's/^sudo \(fpga-infer import-bnn-pynq .*\)/\1/p' "$S")
  [ -n "$cmd" ]
  cmd=${cmd//BNN-PYNQ\/bnn\/params/$DATA/bnn-pynq}
  cmd=${cmd//\/srv\/models/$PWD}
  read -ra words <<< "$cmd"
  board_exec "${words[@]}" 2>/dev/null
  cmp cnv.fbnn "$BATS_TEST_TMPDIR/models/cnv.fbnn"
  start_boards 3
  if [ -n "$BOARD_OVERLAY" ]; then
    # The page's check on a board: the list names pynq:0.
    grep -qx 'sudo fpga-infer --list-devices' "$S"
    FPGAIO_PYNQ_EMU=$BOARD_EMU board_exec fpga-infer --list-devices > devices
    cat devices
    awk -F '\t' '$2 == "pynq:0" { f = 1 } END { exit !f }' devices
  fi
  # The issue's pipeline, as the issue writes it.
  fpga-split --ranges --record-size 3073 -n 8 test_batch.bin | parallel -j 8 fpga-remote --hosts boards.txt fpga-infer --model cnv --save
  fpga-cat --lines test_batch.bin.*.tsv > results.tsv
  cmp local.tsv results.tsv
  [ "$(wc -l < results.tsv)" -eq "$RECORDS" ]
  # The batch is not one class over and over.
  [ "$(cut -f3 results.tsv | sort -u | wc -l)" -ge 4 ]
  # Every board answered, on its overlay (or CPU).
  for i in 1 2 3; do
    grep -q "POST /v1/infer 200 .* $(board_device)\$" "${BLOG[i]}" || { cat "${BLOG[i]}"; false; }
  done
  if [ -n "$BOARD_OVERLAY" ]; then
    # Each emulated overlay ran: its 136,512 parameter words once (once per
    # server start, not per batch), then the batches (header word `runs`,
    # docs/PYNQ-EMULATION.md).
    for i in 1 2 3; do
      runs=$(od -An -tu4 -j108 -N4 "$BATS_TEST_TMPDIR/b$i.emu" | tr -d ' ')
      echo "b$i: $runs runs"
      [ "$runs" -gt 136512 ] && [ "$runs" -lt $((2 * 136512)) ]
    done
  fi
  # The page's hosts file (board1, board2 ...: these boards) and its run.
  grep '^http://board[0-9]*:8437$' "$S" > page-boards
  [ "$(wc -l < page-boards)" -ge 2 ]
  : > boards.txt
  while read -r line; do
    i=$(sed 's|^http://board\([0-9]*\):8437$|\1|' <<< "$line")
    echo "${BURL[i]}" >> boards.txt
  done < page-boards
  awk '/^fpga-split --ranges/ { on = 1 } on { printf "%s%s", $0, (/\|$/ ? " " : "\n") } /^fpga-cat / { exit }' "$S" > run.sh
  cat run.sh
  [ "$(wc -l < run.sh)" -eq 2 ]
  rm test_batch.bin.*.tsv results.tsv
  bash -e run.sh
  cmp local.tsv results.tsv
}

@test "a board killed after its first answer: its work fails over, the board is named, the results are byte-identical" {
  start_boards 2
  # The first job's slot is board 1's. When it has answered, it is stopped,
  # the other jobs start, and when one of them has sent board 1 a request,
  # the board dies with requests in flight.
  fpga-split --ranges --record-size 3073 -n 8 test_batch.bin | gate go |
    parallel -j 8 fpga-remote --hosts boards.txt fpga-infer --model cnv --save 2> err &
  pipeline=$!
  wait_first_answer "${BLOG[1]}"
  kill -STOP "${BPID[1]}"
  touch go
  wait_unread_request "${BNS[1]}"
  kill -9 "${BPID[1]}"
  rc=0; wait "$pipeline" || rc=$?
  cat err
  [ "$rc" -eq 0 ]
  fpga-cat --lines test_batch.bin.*.tsv > results.tsv
  cmp local.tsv results.tsv
  # The dead board is named, with where its work went.
  grep -q "^fpga-remote: ${BURL[1]}: skipped (.*); trying ${BURL[2]}\$" err
  ! grep -v "^fpga-remote: ${BURL[1]}: skipped \|^fpga-remote: [0-9]* images in " err
  # It answered once; the other board did the rest.
  [ "$(grep -c 'POST /v1/infer 200' "${BLOG[1]}")" -eq 1 ]
  grep -q "POST /v1/infer 200 .* $(board_device)\$" "${BLOG[2]}"
}

@test "every board dead: each job fails naming every board, exit non-zero, no results file" {
  start_boards 2
  # Both die after board 1's first answer: the first part is written, the
  # others cannot be.
  fpga-split --ranges --record-size 3073 -n 8 test_batch.bin | gate go |
    parallel -j 8 fpga-remote --hosts boards.txt fpga-infer --model cnv --save 2> err &
  pipeline=$!
  wait_first_answer "${BLOG[1]}"
  kill -9 "${BPID[1]}" "${BPID[2]}"
  touch go
  rc=0; wait "$pipeline" || rc=$?
  cat err
  # GNU parallel's status: the number of jobs that failed (the seven after).
  [ "$rc" -eq 7 ]
  grep '^fpga-remote: test_batch.bin@00[1-7]/8:[0-9]*+[0-9]*: no host could do the work; tried ' err > failed
  [ "$(wc -l < failed)" -eq 7 ]
  [ "$(grep -cF "${BURL[1]} (" failed)" -eq 7 ]
  [ "$(grep -cF "${BURL[2]} (" failed)" -eq 7 ]
  # One part, from the job that ran before; no partial ones.
  [ "$(ls test_batch.bin.*)" = test_batch.bin.000.tsv ]
  # The join refuses, naming the first missing part, and writes nothing:
  # with -o no file at all (with '> results.tsv' the shell has made an
  # empty one).
  run fpga-cat --lines -o results.tsv test_batch.bin.*.tsv
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-cat: "*"test_batch.bin.001"* ]]
  [ ! -e results.tsv ]
  rc=0; fpga-cat --lines test_batch.bin.*.tsv > results.tsv || rc=$?
  [ "$rc" -eq 1 ]
  [ ! -s results.tsv ]
  # All dead from the start: every job fails, nothing is written.
  rm test_batch.bin.000.tsv
  rc=0; fpga-split --ranges --record-size 3073 -n 8 test_batch.bin | parallel -j 8 fpga-remote --hosts boards.txt fpga-infer --model cnv --save 2> err || rc=$?
  [ "$rc" -eq 8 ]
  [ "$(grep -c 'no host could do the work' err)" -eq 8 ]
  run ls test_batch.bin.*
  [ "$status" -ne 0 ]
}
