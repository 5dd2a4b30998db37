#!/usr/bin/env bats
# The XRT backend without a card: XRT's noop driver (XCL_EMULATION_MODE=noop,
# XILINX_XRT a directory whose lib is the system's library directory) and
# metadata-only .xclbin files from make_xclbin. Kernels never run under noop:
# output buffers hold garbage, so these tests check plumbing (discovery,
# xclbin choice, loading, buffers, arguments, start, wait, timeouts, locks)
# and that the driver turns garbage into a clean error or a CPU fallback.
# Every command runs under timeout: XRT 2.13 can hang at exit.

load ../helpers

setup() {
  cd "$BATS_TEST_TMPDIR"
  xrt_noop_env
  "$MAKE_XCLBIN" gzip.xclbin --platform $U50 --cus 2 --banks 2
  make_text t 300
}

T() { timeout 30 "$@"; }

@test "no XRT: XILINX_XRT unset or wrong, plugin missing, no card: no cards listed, the CPU is used, xrt:0 is a one-line error" {
  run env -u XILINX_XRT timeout 30 "$OURS" --list-devices
  [ "$status" -eq 0 ]
  [[ "$output" != *"xrt:"* ]]
  run env -u XILINX_XRT timeout 30 "$OURS" --device xrt:0 -c t
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "fpga-gzip: --device: no device 'xrt:0' (available: cpu, csim:0; XRT: XILINX_XRT is not set"* ]]

  unset FPGA_XRT_DEVICES
  run env XILINX_XRT=/nonexistent timeout 30 "$OURS" --device xrt:0 -c t
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"XRT: XRT cannot list cards: "*"(is XILINX_XRT right?))" ]]
  XILINX_XRT=/nonexistent T "$OURS" -c t | gzip -dc | cmp - t

  run T "$OURS" --device xrt:0 -c t   # noop enumerates no card
  [ "$status" -eq 1 ]
  [[ "$output" == *"XRT: XRT sees no card)" ]]

  run env FPGA_XRT_PLUGIN=/nonexistent/libfpgaio_xrt.so FPGA_XRT_DEVICES=1 timeout 30 "$OURS" --list-devices
  [ "$status" -eq 0 ]
  [[ "$output" == *"fpga-gzip: XRT: cannot load the XRT backend: /nonexistent/libfpgaio_xrt.so"* ]]
  [[ "$output" != *"xrt:0"* ]]
}

@test "discovery: each card with its platform, the xclbin from the search path and its compute units" {
  # An installation: BIN/fpga-gzip and BIN/../share/fpga-tools/xclbin/PLATFORM/.
  mkdir -p inst/bin inst/share/fpga-tools/xclbin/$U50
  cp "$OURS" inst/bin/
  cp gzip.xclbin inst/share/fpga-tools/xclbin/$U50/gzip.xclbin
  export FPGA_XRT_PLUGIN=$FPGA_BIN/../lib/fpga-tools/libfpgaio_xrt.so
  [ -f "$FPGA_XRT_PLUGIN" ] || FPGA_XRT_PLUGIN=$(ls "$FPGA_BIN"/../lib*/fpga-tools/libfpgaio_xrt.so "$FPGA_BIN"/../lib/*/fpga-tools/libfpgaio_xrt.so 2>/dev/null | head -1)
  run env FPGA_XRT_DEVICES=$U50,$U250 timeout 30 inst/bin/fpga-gzip --list-devices
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "1	xrt:0	bdf unknown, $U50, $PWD/inst/bin/../share/fpga-tools/xclbin/$U50/gzip.xclbin, 2 compute units: xilGzipCompBlock_1,xilGzipCompBlock_2	deflate" ]]
  [[ "${lines[1]}" == "2	xrt:1	bdf unknown, $U250: no xclbin for platform $U250 in $PWD/inst/bin/../share/fpga-tools/xclbin/$U250"*"(use --xclbin or FPGA_XCLBIN)	deflate" ]]
  [[ "${lines[2]}" == "3-4	cpu	"* ]]
  # --xclbin and FPGA_XCLBIN name the file instead; the platform must match.
  run env FPGA_XRT_DEVICES=$U250 FPGA_XCLBIN=gzip.xclbin timeout 30 "$OURS" --list-devices
  [[ "${lines[0]}" == "1	xrt:0	bdf unknown, $U250: gzip.xclbin: built for platform $U50, the card is $U250	deflate" ]]
  run T "$OURS" --xclbin gzip.xclbin --list-devices
  [[ "${lines[0]}" == "1	xrt:0	bdf unknown, platform unknown, gzip.xclbin, 2 compute units: "* ]]
}

@test "xclbin errors: missing, not an xclbin, another platform, no xilGzipCompBlock: one line with --device, CPU with a warning without" {
  "$MAKE_XCLBIN" other.xclbin --platform $U50 --kernel krnl_vadd
  echo garbage > garbage.xclbin
  export FPGA_XRT_DEVICES=$U250
  "$MAKE_XCLBIN" u250.xclbin --platform $U250 --kernel krnl_vadd
  # A missing file comes from FPGA_XCLBIN here: --xclbin naming a file that
  # cannot be read is refused before any card is opened (last case).
  for c in "FPGA_XCLBIN|missing.xclbin:missing.xclbin: No such file or directory" \
           "--xclbin|garbage.xclbin:garbage.xclbin: not an xclbin file" \
           "--xclbin|gzip.xclbin:gzip.xclbin: built for platform $U50, the card is $U250" \
           "--xclbin|u250.xclbin:u250.xclbin: no xilGzipCompBlock kernel in it (kernels: krnl_vadd)"; do
    how=${c%%|*} c=${c#*|}
    file=${c%%:*} msg=${c#*:}
    if [ "$how" = FPGA_XCLBIN ]; then xclbin=(); export FPGA_XCLBIN=$file; else xclbin=(--xclbin "$file"); unset FPGA_XCLBIN; fi
    run T "$OURS" "${xclbin[@]}" --device xrt:0 -c t
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [ "$output" = "fpga-gzip: xrt:0: $msg" ]
    T "$OURS" "${xclbin[@]}" -c t > t.gz 2> err
    [ "$(cat err)" = "fpga-gzip: warning: xrt:0: $msg; compressing on cpu" ]
    gzip -dc t.gz | cmp - t
    T "$OURS" -q "${xclbin[@]}" -c t 2> err > /dev/null
    [ ! -s err ]
  done
  unset FPGA_XCLBIN
  for dev in "--device xrt:0" "" "--device cpu"; do
    run T "$OURS" --xclbin missing.xclbin $dev -c t
    [ "$status" -eq 1 ]
    [ "$output" = "fpga-gzip: missing.xclbin: No such file or directory" ]
  done
}

@test "a card's run: xclbin loaded, buffers in each argument's memory group, arguments bound, started, waited for" {
  "$MAKE_XCLBIN" split.xclbin --platform $U50 --cus 2 --banks 3 --split-args
  FPGA_XRT_TRACE=1 T "$OURS" --xclbin split.xclbin --device xrt:0 -c t > /dev/null 2> trace || true
  grep -q "^fpga-xrt: xrt:0: loaded split.xclbin (2 compute units)$" trace
  # Unit 1 on bank 0 with its two small buffers on bank 1; unit 2 on bank 1, small ones on bank 2.
  for u in "cu1.1 0 1" "cu1.2 0 1" "cu2.1 1 2" "cu2.2 1 2"; do
    set -- $u
    grep -q "^fpga-xrt: xrt:0/$1: input buffer of 1048832 bytes in memory group $2 (argument 0: group $2)$" trace
    grep -q "^fpga-xrt: xrt:0/$1: output buffer of [0-9]* bytes in memory group $2 (argument 1: group $2)$" trace
    grep -q "^fpga-xrt: xrt:0/$1: size buffer of 4096 bytes in memory group $3 (argument 2: group $3)$" trace
    grep -q "^fpga-xrt: xrt:0/$1: checksum buffer of 4096 bytes in memory group $3 (argument 3: group $3)$" trace
  done
  # Every buffer exists before the first start; a start is followed by its wait (ERT COMPLETED = 4).
  last_alloc=$(grep -n "buffer of" trace | tail -1 | cut -d: -f1)
  first_start=$(grep -n ": start, " trace | head -1 | cut -d: -f1)
  [ "$last_alloc" -lt "$first_start" ]
  grep -A1 ": start, " trace | grep -q ": wait -> state 4$"
}

@test "garbage from the card: one-line error naming card, unit and block with --device; CPU fallback with a warning without" {
  cp t keep
  run T "$OURS" --xclbin gzip.xclbin --device xrt:0 keep
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" =~ ^"fpga-gzip: keep: xrt:0/cu"[12]"."[12]": block 1 (307200 bytes): returned CRC-32 ffffffff, the host computed "[0-9a-f]{8}$ ]]
  [ -f keep ] && [ ! -e keep.gz ]
  T "$OURS" --xclbin gzip.xclbin -b 64K keep 2> err
  [ ! -e keep ] && gzip -dc keep.gz | cmp - t
  [ "$(wc -l < err)" -eq 1 ]
  [[ "$(cat err)" =~ ^"fpga-gzip: warning: xrt:0/cu"[12]"."[12]": block "[0-9]+" (65536 bytes): returned CRC-32 ffffffff, the host computed "[0-9a-f]{8}"; compressing the rest on the CPU"$ ]]
  # FPGA_DEVICE names a device as --device does.
  run env FPGA_DEVICE=xrt:0 timeout 30 "$OURS" --xclbin gzip.xclbin -c t
  [ "$status" -eq 1 ]
}

@test "a run that does not finish in time is an error (FPGA_XRT_TIMEOUT_MS; noop_completion_delay_us)" {
  # The noop driver's wait() sleeps through the delay and reports the run
  # completed, so what is tested is the limit on a run that completes late.
  printf '[Runtime]\nnoop_completion_delay_us=400000\n' > xrt.ini
  run env FPGA_XRT_TIMEOUT_MS=100 timeout 30 "$OURS" --xclbin gzip.xclbin --device xrt:0 -c t
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" =~ ^"fpga-gzip: t: xrt:0/cu"[12]"."[12]": block 1 (307200 bytes): run took "[0-9]+" ms, over the limit of 100 ms"$ ]]
  FPGA_XRT_TIMEOUT_MS=100 T "$OURS" --xclbin gzip.xclbin -c t 2> err | gzip -dc | cmp - t
  grep -q "over the limit of 100 ms; compressing the rest on the CPU" err
}

# Holds the lock of card N until `release N`; returns once it is held.
hold() { # N
  mkfifo rel$1
  ( flock 9; : > held$1; cat rel$1 > /dev/null ) 9> locks/fpga-tools-xrt-index-$1.lock &
  while [ ! -e held$1 ]; do sleep 0.05; done
}
release() { echo > rel$1; }

@test "one job per card across processes: a busy card is passed over, or waited for when named" {
  export FPGA_XRT_DEVICES=2 FPGA_XRT_TRACE=1
  hold 0
  T "$OURS" --xclbin gzip.xclbin -c t 2> trace | gzip -dc | cmp - t
  grep -q "^fpga-xrt: xrt:1: loaded" trace
  ! grep -q "^fpga-xrt: xrt:0: loaded" trace
  hold 1
  T "$OURS" --xclbin gzip.xclbin -c t 2> trace | gzip -dc | cmp - t   # both busy: the CPU, silently
  ! grep -q "loaded\|warning" trace
  release 1
  # A named card is waited for: the process blocks in flock until the
  # holder lets go (seen in /proc, not timed), then runs on it.
  "$OURS" --xclbin gzip.xclbin --device xrt:0 -c t > /dev/null 2> trace &
  pid=$!
  wait_in_lock $pid
  kill -0 $pid
  release 0
  wait $pid || true
  grep -q "^fpga-xrt: xrt:0: loaded" trace
  wait
  # parallel -j 8 on two cards: every job completes (cards or CPU).
  for i in 1 2 3 4 5 6 7 8; do cp t t$i; done
  unset FPGA_XRT_TRACE
  timeout 60 parallel -j 8 "$OURS" -q --xclbin gzip.xclbin {} ::: t1 t2 t3 t4 t5 t6 t7 t8
  for i in 1 2 3 4 5 6 7 8; do gzip -dc t$i.gz | cmp - t; done
}
