#!/usr/bin/env bats
# fpga-infer --device pynq:0, the BNN-PYNQ overlay driver, end to end against
# the emulated board (`fpga-infer pynq-emu FILE`, FPGAIO_PYNQ_EMU=FILE): the
# driver writes the model's 136,512 parameter words one accelerator run
# each, and the emulator computes from what was written only, so a wrong
# word, a wrong conversion or a wrong order shows up as a wrong class or
# score. Nothing here ran on a board. Each process loads the parameters
# once (seconds against the emulator), so the suite runs in parts.

load ../helpers
load helpers
load ../remote/helpers  # start_server, remote_teardown (setup and teardown are this file's)

setup() {
  cd "$BATS_TEST_TMPDIR"
  unset FPGA_DEVICE PARALLEL_JOBSLOT XILINX_XRT FPGA_XCLBIN FPGAIO_PYNQ_TIMEOUT_MS
  export FPGA_MODEL=$MODEL FPGA_LOCK_DIR=$BATS_TEST_TMPDIR
  EMU_PIDS=()
}

teardown() {
  local p
  for p in "${EMU_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${EMU_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  remote_teardown
}

# Starts an emulator serving FILE (extra options: faults, overlay) and waits
# until its header says serving; exports FPGAIO_PYNQ_EMU.
start_emu() { # file [options...]
  local f=$1
  shift
  "$INFER" pynq-emu -q "$@" "$f" 2> "$f.log" &
  EMU_PIDS+=($!)
  for _ in $(seq 200); do
    [ "$(header_u32 "$f" 20 2>/dev/null)" = 1 ] && { export FPGAIO_PYNQ_EMU=$PWD/$f; return 0; }
    sleep 0.05
  done
  cat "$f.log" >&2
  return 1
}

# A little-endian u32 of the emulation file's header (20 state, 108 runs).
header_u32() { # file offset
  "$PY" -c 'import struct, sys; d = open(sys.argv[1], "rb").read(4096); print(struct.unpack_from("<I", d, int(sys.argv[2]))[0])' "$1" "$2"
}

# The first N Fashion-MNIST test images as an IDX file.
fashion_idx() { # name n
  zcat "$FASHION/t10k-images-idx3-ubyte.gz" | "$PY" -c 'import sys, struct
n = int(sys.argv[1]); d = sys.stdin.buffer.read()
sys.stdout.buffer.write(struct.pack(">IIII", 0x803, n, 28, 28) + d[16:16 + n * 784])' "$2" > "$1"
}

@test "pynq:0 is listed with the emulation file, --info says what it is, and no file is a clear error" {
  run "$INFER" --list-devices
  [[ "$output" != *"pynq:0"* ]]
  FPGAIO_PYNQ_EMU=$PWD/none run "$INFER" --device pynq:0 --info
  [ "$status" -eq 1 ]
  [[ "$output" == *"no device 'pynq:0' (available: cpu, csim:0; FPGAIO_PYNQ_EMU: $PWD/none: No such file or directory)" ]]
  start_emu board
  run "$INFER" --list-devices
  [ "$status" -eq 0 ]
  [[ "$output" == *"	pynq:0	BNN-PYNQ cnvW1A1 overlay emulated by the file $PWD/board (FPGAIO_PYNQ_EMU; not a board)	bnn"* ]]
  run "$INFER" --device pynq:0 --help
  [[ "$output" == *"pynq:0 (the BNN-PYNQ cnvW1A1 overlay"* ]]
}

@test "Fashion-MNIST: pynq:0 gives exactly the CPU's classes and scores on the 10,000 test images, loading the parameters once" {
  need_fashion
  zcat "$FASHION/t10k-images-idx3-ubyte.gz" > t10k-idx3-ubyte
  "$INFER" -q --device cpu -s t10k-idx3-ubyte > cpu.tsv
  [ "$(wc -l < cpu.tsv)" -eq 10000 ]
  start_emu board
  "$INFER" -v --device pynq:0 -s --batch 500 t10k-idx3-ubyte > pynq.tsv 2> err
  cmp pynq.tsv cpu.tsv
  # One run a parameter word, then the 20 batches of 500 images.
  grep -q "pynq:0: 136512 parameter words loaded in .* s (.* us a word, one accelerator run each)" err
  grep -q "10000 images in .*pynq:0, the BNN-PYNQ overlay emulated (FPGAIO_PYNQ_EMU), not a board, 2 buffer pairs" err
  [ "$(header_u32 board 108)" -eq $((136512 + 20)) ]
}

@test "BNN-PYNQ's CNV-W1A1 weights: deer.bin gets BNN-PYNQ's published scores through pynq:0" {
  need_data
  "$INFER" import-bnn-pynq "$DATA/bnn-pynq/cifar10/cnvW1A1" -o cnv.fbnn 2> /dev/null
  start_emu board
  run "$INFER" -q --device pynq:0 --model cnv.fbnn --scores "$DATA/images/deer.bin"
  [ "$status" -eq 0 ]
  [ "$output" = "0	4	Deer	228	229	251	250	412	253	230	262	222	239" ]
}

@test "a model that does not fit the overlay is refused before the emulator counted any run; not named, the CPU runs it with a warning" {
  need_fashion
  fashion_idx f.idx 5
  tiny_model tiny.fbnn 28 28 1
  start_emu board
  run "$INFER" --device pynq:0 --model tiny.fbnn f.idx
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: pynq:0: the model's input is binary; the cnvW1A1 overlay's is 8-bit (Q1.7)" ]
  [ "$(header_u32 board 108)" -eq 0 ]
  # Not named: the CPU, with one warning, and the CPU's answers.
  "$INFER" -q --device cpu --model tiny.fbnn f.idx > cpu.tsv
  "$INFER" --model tiny.fbnn f.idx > auto.tsv 2> err
  cmp auto.tsv cpu.tsv
  grep -q "^fpga-infer: warning: pynq:0: the model's input is binary; .*; classifying on cpu$" err
  [ "$(header_u32 board 108)" -eq 0 ]
  # The lfcW1A1 overlay: refused, with the reason.
  start_emu lfc --overlay lfcW1A1
  run "$INFER" --device pynq:0 f.idx
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-infer: pynq:0: the lfcW1A1 overlay thresholds its last layer in hardware"* ]]
  [ "$(header_u32 lfc 108)" -eq 0 ]
}

@test "a stopped emulator is a one-line error naming pynq:0, and not named the CPU takes over with a warning" {
  need_fashion
  fashion_idx f.idx 3
  start_emu board
  kill "${EMU_PIDS[0]}"
  wait "${EMU_PIDS[0]}" || true
  [ "$(header_u32 board 20)" -eq 2 ]
  run "$INFER" --device pynq:0 f.idx
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-infer: pynq:0: the emulator of $PWD/board (pid "*") has stopped" ]]
  "$INFER" -q --device cpu f.idx > cpu.tsv
  "$INFER" f.idx > auto.tsv 2> err
  cmp auto.tsv cpu.tsv
  grep -q "^fpga-infer: warning: pynq:0: the emulator of .* has stopped; classifying on cpu$" err
}

# One fault of the emulator, one error line from the driver (the run bound
# shortened for the faults that never finish). 40 images in batches of 16:
# the two buffer pairs take batches as their threads come, so which batch is
# compute run N is not fixed; the message names the batch and its images.
fault_case() { # fault regex
  need_fashion
  fashion_idx f.idx 40
  start_emu board --fault "$1"
  FPGAIO_PYNQ_TIMEOUT_MS=1500 run "$INFER" --device pynq:0 --batch 16 -o out.tsv f.idx
  [ "$status" -eq 1 ]
  [ ! -e out.tsv ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" =~ ^fpga-infer:\ pynq:0/b[12]:\ batch\ [123]\ \(images\ ([0-9]+)-([0-9]+)\):\ $2 ]] || { echo "$output"; false; }
}

@test "fault lost-done: the run is not done within the bound, an error naming pynq:0, never a hang" {
  fault_case lost-done=2 "(not run: the accelerator failed before \()?a batch of (16|8) images not done within 1.5 s: the emulator of $PWD/board \(pid [0-9]+\) did not set ap_done"
}

@test "fault refuse: the emulator's refusal and its reason" {
  # Refused at once: the emulator cleared its fault when it took the run.
  fault_case refuse=1 "a batch of 16 images: the emulator refused the run: compute run 1: refused on purpose"
}

@test "fault short-output: no output for the batch's last image" {
  fault_case short-output=3 "no output for image ([0-9]+) \(score 0 of 64 not written\)"
  [ "${BASH_REMATCH[3]}" = "${BASH_REMATCH[2]}" ]
}

@test "fault wrong-score: a score beyond the last layer's fan-in" {
  fault_case wrong-score=5 "score [0-9]+ of image 4 is [0-9]+, beyond the last layer's fan-in 512$"
}

@test "fault flip-bit: a wrong parameter word shows as classes that are not the CPU's (the driver cannot read the memories back)" {
  need_fashion
  fashion_idx f.idx 300
  "$INFER" -q --device cpu -s f.idx > cpu.tsv
  # Word 700 is a weight word of layer 1 (layer 0 takes words 1-640: 16 PEs
  # of 36 weight and 4 threshold words), whose top kept bit (31) flips. A
  # flip in layer 0 could pass unseen: its bits 1 and 2 meet the channels
  # this 1-channel model feeds 0.
  start_emu board --fault flip-bit=700
  "$INFER" -q --device pynq:0 -s f.idx > pynq.tsv
  ! cmp -s pynq.tsv cpu.tsv
}

@test "fpga-remote serve --device pynq:0 loads the parameters once for the server, not a request, and answers as the CPU" {
  need_fashion
  fashion_idx f.idx 50
  start_emu board
  start_server serve --device pynq:0
  "$INFER" -q --device cpu -s f.idx > cpu.tsv
  for i in 1 2 3; do
    "$FPGA_BIN/fpga-remote" "http://127.0.0.1:$PORT" fpga-infer -q -s --batch 20 f.idx > remote$i.tsv
    cmp remote$i.tsv cpu.tsv
  done
  # 136,512 words once, then 3 x 3 requests of at most 20 images.
  [ "$(header_u32 board 108)" -eq $((136512 + 9)) ]
}

@test "fault lost-done, not named: the overlay failing mid-input leaves the rest to the CPU with one warning, and the output is the CPU's" {
  need_fashion
  fashion_idx f.idx 40
  "$INFER" -q --device cpu -s f.idx > cpu.tsv
  start_emu board --fault lost-done=2
  FPGAIO_PYNQ_TIMEOUT_MS=1500 "$INFER" -s --batch 16 f.idx > auto.tsv 2> err
  cmp auto.tsv cpu.tsv
  [ "$(grep -c warning err)" -eq 1 ]
  grep -q "^fpga-infer: warning: pynq:0/b[12]: batch [123] (images [0-9]*-[0-9]*): .*not done within 1.5 s.*; classifying the rest on the CPU$" err
  grep -q "on the CPU after pynq:0 failed" err
}

@test "fpga-remote serve: a model that does not fit pynq:0 is answered by the CPU engine, and the overlay is never written" {
  need_fashion
  fashion_idx f.idx 5
  mkdir models
  tiny_model models/tiny.fbnn 28 28 1
  start_emu board
  start_server serve --device pynq:0 --models models
  "$INFER" -q --device cpu --model models/tiny.fbnn -s f.idx > cpu.tsv
  "$FPGA_BIN/fpga-remote" "http://127.0.0.1:$PORT" fpga-infer -q -s --model tiny f.idx > remote.tsv
  cmp remote.tsv cpu.tsv
  [ "$(header_u32 board 108)" -eq 0 ]
}
