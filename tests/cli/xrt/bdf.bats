#!/usr/bin/env bats
# Cards named by PCIe address (issue 24 item 1): --device xrt:BDF and
# FPGA_DEVICE=xrt:BDF name the card at that address whatever its index,
# --list-devices prints the address, and the per-card lock is keyed by it,
# so two jobs never share a card however they name it. Under XRT's noop
# driver, which knows no address: FPGA_XRT_DEVICES gives each card one
# (PLATFORM@BDF). Every command runs under timeout (XRT 2.13 can hang at exit).

load ../helpers

A=0000:a1:00.1
C=0000:c1:00.1

setup() {
  cd "$BATS_TEST_TMPDIR"
  xrt_noop_env
  export FPGA_XRT_DEVICES=$U50@$A,$U50@$C FPGA_XRT_TRACE=1
  "$MAKE_XCLBIN" gzip.xclbin --platform $U50 --cus 2 --banks 2
  make_text t 300
}

T() { timeout 30 "$@"; }

@test "--list-devices prints each card's PCIe address" {
  run T "$OURS" --xclbin gzip.xclbin --list-devices
  [ "$status" -eq 0 ]
  [[ "$output" == *$'\t'"xrt:0"$'\t'"$A, $U50"* ]]
  [[ "$output" == *$'\t'"xrt:1"$'\t'"$C, $U50"* ]]
}

@test "xrt:BDF names the card at that address, with or without the domain, in any case, in --device, FPGA_DEVICE and lists" {
  local spec
  for spec in xrt:$C xrt:c1:00.1 xrt:0000:C1:00.1; do
    T "$OURS" --xclbin gzip.xclbin --device $spec -c t > /dev/null 2> trace || true
    grep -q "^fpga-xrt: xrt:1: loaded" trace
    ! grep -q "^fpga-xrt: xrt:0: loaded" trace
  done
  FPGA_DEVICE=xrt:$A T "$OURS" --xclbin gzip.xclbin -c t > /dev/null 2> trace || true
  grep -q "^fpga-xrt: xrt:0: loaded" trace
  ! grep -q "^fpga-xrt: xrt:1: loaded" trace
  # A list: both cards and the CPU from one queue (the noop cards fail and
  # are errors when named; what matters is that both were opened).
  T "$OURS" --xclbin gzip.xclbin --device xrt:$C,xrt:$A,cpu -c t > /dev/null 2> trace || true
  grep -q "^fpga-xrt: xrt:1: loaded" trace
  grep -q "^fpga-xrt: xrt:0: loaded" trace
}

@test "an address that no card has is a one-line error naming it" {
  run T "$OURS" --xclbin gzip.xclbin --device xrt:0000:ff:00.0 -c t
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "fpga-gzip: --device: no device 'xrt:0000:ff:00.0' (available: xrt:0, xrt:1, cpu"* ]]
  run T "$OURS" --xclbin gzip.xclbin --device xrt:a1:00 -c t   # no function: no address
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-gzip: --device: no device 'xrt:a1:00'"* ]]
}

# Holds the lock of the card at address $1 (the lock file's name has _ for
# :) until `release`; returns once it is held.
hold() { # bdf
  mkfifo rel
  ( flock 9; : > held; exec cat rel > /dev/null ) 9> "locks/fpga-tools-xrt-${1//:/_}.lock" 3>&- &
  echo $! >> holders
  while [ ! -e held ]; do sleep 0.05; done
}
release() { echo > rel; wait; rm -f rel held; }
teardown() {
  [ -f holders ] && while read -r p; do kill "$p" 2>/dev/null || true; done < holders
  return 0
}

@test "one lock per card, keyed by its address: named by index or by address, a job waits for the other" {
  hold $C
  # Named by index, the same card: it waits in the lock (seen in /proc).
  "$OURS" --xclbin gzip.xclbin --device xrt:1 -c t > /dev/null 2> trace &
  pid=$!
  wait_in_lock $pid
  kill -0 $pid
  release
  grep -q "^fpga-xrt: xrt:1: loaded" trace
  # Not named: the busy card at $C is passed over for the one at $A (a
  # Slurm task of rank 1 asks for that card first).
  hold $C
  SLURM_JOB_ID=1 SLURM_LOCALID=1 T "$OURS" --xclbin gzip.xclbin -c t 2> trace | gzip -dc | cmp - t
  release
  grep -q "^fpga-xrt: xrt:0: loaded" trace
  ! grep -q "^fpga-xrt: xrt:1: loaded" trace
  # Without the hold, rank 1 takes the card at $C.
  SLURM_JOB_ID=1 SLURM_LOCALID=1 T "$OURS" --xclbin gzip.xclbin -c t 2> trace | gzip -dc | cmp - t
  grep -q "^fpga-xrt: xrt:1: loaded" trace
}
