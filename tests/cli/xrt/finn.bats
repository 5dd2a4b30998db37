#!/usr/bin/env bats
# fpga-infer's FINN path through XRT without a card: the noop driver and
# metadata-only .xclbin files from make_xclbin --finn (idma0 and odma0, each
# (buffer, numReps)). Kernels never run under noop: odma0 never writes a
# class, which the driver must catch. So these tests check plumbing
# (discovery, pairing, loading, buffers, arguments, start order, waits,
# time limits, locks) and every error, not classification.
# Every command runs under timeout: XRT 2.13 can hang at exit.

load ../helpers

setup() {
  cd "$BATS_TEST_TMPDIR"
  xrt_noop_env
  "$MAKE_XCLBIN" finn.xclbin --finn --platform $U50 --banks 2
  cp "$MODEL" m.fbnn
  export FPGA_MODEL=$PWD/m.fbnn
  # Ten 28x28 images (a gradient), IDX.
  python3 -c 'import struct, sys
sys.stdout.buffer.write(struct.pack(">IIII", 0x803, 10, 28, 28) + bytes((i * 7 + i // 784) % 256 for i in range(7840)))' > ten-idx3-ubyte
  timeout 30 "$INFER" -q --device cpu ten-idx3-ubyte > cpu.tsv
}

T() { timeout 30 "$@"; }

@test "discovery: a card with a FINN xclbin offers bnn (idma0, odma0); without one, or with a gzip xclbin, it says why" {
  run T "$INFER" --xclbin finn.xclbin --list-devices
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "1	xrt:0	bdf unknown, platform unknown, finn.xclbin, 2 compute units: idma0,odma0	bnn" ]
  run env FPGA_XRT_DEVICES=$U50,$U250 timeout 30 "$INFER" --xclbin finn.xclbin --list-devices
  [ "${lines[0]}" = "1	xrt:0	bdf unknown, $U50, finn.xclbin, 2 compute units: idma0,odma0	bnn" ]
  [ "${lines[1]}" = "2	xrt:1	bdf unknown, $U250: finn.xclbin: built for platform $U50, the card is $U250	bnn" ]
  # FINN builds are per model: no search path; the pairing or --xclbin names one.
  run T "$INFER" --list-devices
  [[ "${lines[0]}" == "1	xrt:0	bdf unknown, platform unknown: no xclbin for the model: name its FINN build with --xclbin, FPGA_XCLBIN, or an xclbin line with a file in the model's pairing (MODEL.finn)	bnn" ]]
  "$MAKE_XCLBIN" gzip.xclbin --platform $U50 --cus 1
  run env FPGA_XCLBIN=gzip.xclbin timeout 30 "$INFER" --list-devices
  [ "${lines[0]}" = "1	xrt:0	bdf unknown, platform unknown: gzip.xclbin: not a FINN accelerator: no idma0 compute unit (compute units: xilGzipCompBlock:xilGzipCompBlock_1)	bnn" ]
  # fpga-gzip still sees the card as a deflate device, and does not take the FINN build.
  run env FPGA_XCLBIN=finn.xclbin timeout 30 "$FPGA_BIN/fpga-gzip" --list-devices
  [[ "${lines[0]}" == "1	xrt:0	bdf unknown, platform unknown: finn.xclbin: no xilGzipCompBlock kernel in it (kernels: StreamingDataflowPartition_0, StreamingDataflowPartition_2)	deflate" ]]
}

@test "a batch on the card: pairing checked, xclbin loaded, buffers in each DMA's bank, (buffer, numReps) bound, idma0 started before odma0, odma0 then idma0 waited for" {
  T "$INFER" pair m.fbnn finn.xclbin 2> pair.err
  uuid=$(sed -n 's/^xclbin \([0-9a-f]*\) .*/\1/p' m.fbnn.finn)
  [ ${#uuid} -eq 32 ]
  FPGA_XRT_TRACE=1 T "$INFER" --device xrt:0 ten-idx3-ubyte > out 2> trace || true
  # The UUID that fpga-infer read from the header is the one XRT loaded.
  grep -qx "fpga-xrt: xrt:0: loaded $PWD/finn.xclbin (FINN, uuid $uuid; StreamingDataflowPartition_0:{idma0} (0, 1), StreamingDataflowPartition_2:{odma0} (0, 1))" trace
  # idma0 on bank 0, odma0 on bank 1 (--banks 2): each buffer set in its DMA's group.
  for b in b1 b2 b3; do
    grep -qx "fpga-xrt: xrt:0/$b: idma0 input buffer of $((256 * 1024)) bytes in memory group 0 (argument 0: group 0)" trace
    grep -qx "fpga-xrt: xrt:0/$b: odma0 output buffer of 256 bytes in memory group 1 (argument 0: group 1)" trace
  done
  last_alloc=$(grep -n "buffer of" trace | tail -1 | cut -d: -f1)
  first_start=$(grep -n "start, " trace | head -1 | cut -d: -f1)
  [ "$last_alloc" -lt "$first_start" ]
  # One batch of all ten images: idma0 (in, 10), odma0 (out, 10), wait for odma0, then idma0 (ERT COMPLETED = 4).
  grep "^fpga-xrt: xrt:0/b1: " trace | grep -v "buffer of" > b1
  diff b1 - <<EOF
fpga-xrt: xrt:0/b1: idma0 start, 10 images
fpga-xrt: xrt:0/b1: odma0 start, 10 images
fpga-xrt: xrt:0/b1: odma0 wait -> state 4
fpga-xrt: xrt:0/b1: idma0 wait -> state 4
EOF
  # odma0 wrote nothing (noop): a one-line error naming card, port, batch and image.
  [ "$(grep -v '^fpga-xrt' trace)" = "fpga-infer: xrt:0/b1: batch 1 (images 0-9): no class returned for image 0 (odma0 did not write it)" ]
  [ ! -s out ]
}

@test "FINN's own argument lists, with the AXI stream between buffer and numReps: arguments found by kind, not position" {
  "$MAKE_XCLBIN" s.xclbin --finn --streams --platform $U50 --banks 2
  T "$INFER" pair m.fbnn s.xclbin 2> /dev/null
  FPGA_XRT_TRACE=1 T "$INFER" --device xrt:0 --xclbin s.xclbin ten-idx3-ubyte > /dev/null 2> trace || true
  # idma0 (in0_V, out_V stream, numReps): buffer 0, count 2; odma0 (in0_V stream, out_V, numReps): buffer 1, count 2.
  grep -q "^fpga-xrt: xrt:0: loaded s.xclbin (FINN, uuid [0-9a-f]*; StreamingDataflowPartition_0:{idma0} (0, 2), StreamingDataflowPartition_2:{odma0} (1, 2))$" trace
  grep -qx "fpga-xrt: xrt:0/b1: odma0 output buffer of 256 bytes in memory group 1 (argument 1: group 1)" trace
  grep -qx "fpga-xrt: xrt:0/b1: odma0 wait -> state 4" trace
}

@test "several batches in flight: each port's two starts stay together, so odma0's queue has idma0's order" {
  T "$INFER" pair m.fbnn finn.xclbin 2> /dev/null
  printf '[Runtime]\nnoop_completion_delay_us=20000\n' > xrt.ini
  FPGA_XRT_TRACE=1 T "$INFER" --device xrt:0 --batch 3 ten-idx3-ubyte > /dev/null 2> trace || true
  grep "start, " trace > starts
  [ "$(wc -l < starts)" -ge 2 ]
  # Every idma0 start is followed at once by the odma0 start of the same port and size.
  python3 - <<'EOF'
lines = [l.split(": ", 2) for l in open("starts").read().splitlines()]
assert len(lines) % 2 == 0, lines
for a, b in zip(lines[::2], lines[1::2]):
    assert a[2].startswith("idma0 start, ") and b[2].startswith("odma0 start, "), (a, b)
    assert a[1] == b[1] and a[2][len("idma0"):] == b[2][len("odma0"):], (a, b)
    assert a[2].endswith(" 3 images") or a[2].endswith(" 1 images"), a
EOF
  grep -q "xrt:0/b2: idma0 start, 3 images" starts
}

@test "pairing: no pairing, a pairing of another model, an xclbin of another network: refused before loading" {
  run env FPGA_XRT_TRACE=1 timeout 30 "$INFER" --device xrt:0 --xclbin finn.xclbin -o out.tsv ten-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: xrt:0: $PWD/m.fbnn has no FINN pairing ($PWD/m.fbnn.finn), so nothing says which xclbin implements it; make one with 'fpga-infer pair MODEL XCLBIN'" ]
  [ ! -e out.tsv ]
  T "$INFER" pair m.fbnn finn.xclbin 2> /dev/null
  "$MAKE_XCLBIN" other.xclbin --finn --platform $U50 --tag other
  run env FPGA_XRT_TRACE=1 timeout 30 "$INFER" --device xrt:0 --xclbin other.xclbin -o out.tsv ten-idx3-ubyte
  [ "$status" -eq 1 ]
  [[ "$output" =~ ^"fpga-infer: xrt:0: other.xclbin: xclbin "[0-9a-f]{32}" is not paired with the model ($PWD/m.fbnn.finn): it implements another network, or the pairing is out of date"$ ]]
  [ ! -e out.tsv ]
  # The same through FPGA_XCLBIN.
  run env FPGA_XCLBIN=other.xclbin timeout 30 "$INFER" --device xrt:0 ten-idx3-ubyte
  [ "$status" -eq 1 ]
  [[ "$output" == *"is not paired with the model"* ]]
  # A pairing written for another model (the sidecar copied beside it).
  python3 -c 'import sys; d = bytearray(open("m.fbnn", "rb").read()); d[40] ^= 1
import zlib, struct; d[-4:] = struct.pack("<I", zlib.crc32(bytes(d[:-4]))); open("m2.fbnn", "wb").write(bytes(d))'
  cp m.fbnn.finn m2.fbnn.finn
  run env FPGA_MODEL=$PWD/m2.fbnn timeout 30 "$INFER" --device xrt:0 ten-idx3-ubyte
  [ "$status" -eq 1 ]
  [[ "$output" =~ ^"fpga-infer: $PWD/m2.fbnn.finn: written for another model (model-crc32 "[0-9a-f]{8}", $PWD/m2.fbnn has "[0-9a-f]{8}")"$ ]]
  # The CPU does not care.
  FPGA_MODEL=$PWD/m2.fbnn T "$INFER" -q --device cpu ten-idx3-ubyte > /dev/null
}

@test "missing kernels, a run over its time limit, --scores: one-line errors with --device" {
  "$MAKE_XCLBIN" noodma.xclbin --finn --platform $U50 --no-odma
  T "$INFER" pair m.fbnn finn.xclbin noodma.xclbin 2> /dev/null
  run T "$INFER" --device xrt:0 --xclbin noodma.xclbin ten-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: xrt:0: noodma.xclbin: not a FINN accelerator: no odma0 compute unit (compute units: StreamingDataflowPartition_0:idma0)" ]
  "$MAKE_XCLBIN" gzip.xclbin --platform $U50
  run T "$INFER" --device xrt:0 --xclbin gzip.xclbin ten-idx3-ubyte
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-infer: xrt:0: gzip.xclbin: not a FINN accelerator: no idma0 compute unit"* ]]
  # The noop driver's wait sleeps through the delay and reports completion:
  # the limit holds for a batch that completes late.
  printf '[Runtime]\nnoop_completion_delay_us=400000\n' > xrt.ini
  run env FPGA_XRT_TIMEOUT_MS=100 timeout 30 "$INFER" --device xrt:0 -o out.tsv ten-idx3-ubyte
  [ "$status" -eq 1 ]
  [[ "$output" =~ ^"fpga-infer: xrt:0/b1: batch 1 (images 0-9): batch took "[0-9]+" ms, over the limit of 100 ms"$ ]]
  [ ! -e out.tsv ]
  : > xrt.ini
  run T "$INFER" --device xrt:0 -s ten-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: --scores: xrt:0 gives classes only (a FINN accelerator has no scores); use --device cpu" ]
}

@test "not named: a card that fails gives way to the CPU with one warning; a busy card silently; named, it is waited for" {
  T "$INFER" pair m.fbnn finn.xclbin 2> /dev/null
  # The card is the first bnn device, so it is chosen; it fails (noop), the CPU classifies.
  T "$INFER" ten-idx3-ubyte > out.tsv 2> err
  cmp out.tsv cpu.tsv
  [ "$(grep -c warning err)" -eq 1 ]
  grep -q "^fpga-infer: warning: xrt:0/b1: batch 1 (images 0-9): no class returned for image 0 (odma0 did not write it); classifying the rest on the CPU$" err
  grep -q "on the CPU after xrt:0 failed" err
  # An unusable card (no odma0) at open: a warning, then the CPU.
  "$MAKE_XCLBIN" noodma.xclbin --finn --platform $U50 --no-odma
  T "$INFER" --xclbin noodma.xclbin ten-idx3-ubyte > out.tsv 2> err
  cmp out.tsv cpu.tsv
  grep -q "^fpga-infer: warning: xrt:0: noodma.xclbin: not a FINN accelerator: no odma0 compute unit.*; classifying on cpu$" err
  # No pairing, or a damaged one: a warning, then the CPU.
  mv m.fbnn.finn keep.finn
  T "$INFER" --xclbin finn.xclbin ten-idx3-ubyte > out.tsv 2> err
  cmp out.tsv cpu.tsv
  grep -q "^fpga-infer: warning: xrt:0: $PWD/m.fbnn has no FINN pairing.*; classifying on cpu$" err
  echo garbage > m.fbnn.finn
  T "$INFER" --xclbin finn.xclbin ten-idx3-ubyte > out.tsv 2> err
  cmp out.tsv cpu.tsv
  grep -q "^fpga-infer: warning: $PWD/m.fbnn.finn: line 1: not an fpga-tools FINN pairing.*; classifying on cpu$" err
  mv keep.finn m.fbnn.finn
  # Busy (another process holds its lock): the CPU, without a word.
  mkfifo rel
  ( flock 9; : > held; cat rel > /dev/null ) 9> locks/fpga-tools-xrt-index-0.lock &
  while [ ! -e held ]; do sleep 0.05; done
  FPGA_XRT_TRACE=1 T "$INFER" -q ten-idx3-ubyte > out.tsv 2> err
  cmp out.tsv cpu.tsv
  ! grep -q "loaded\|warning" err
  # Named, the card is waited for (seen in /proc, not timed).
  FPGA_XRT_TRACE=1 "$INFER" --device xrt:0 ten-idx3-ubyte > /dev/null 2> trace &
  pid=$!
  wait_in_lock $pid
  echo > rel
  wait $pid || true
  grep -q "^fpga-xrt: xrt:0: loaded" trace
  wait
}

@test "damaged xclbins: every cut, and bit flips in the header, section table and tables XRT walks: one-line errors, never a crash" {
  T "$INFER" pair m.fbnn finn.xclbin 2> /dev/null
  # Positions: the length and section count of the header, every field of
  # the section table, each table's count, and bytes of each section.
  python3 - finn.xclbin > positions <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
pos = set(range(304, 312)) | set(range(448, 452))
n = struct.unpack_from("<I", d, 448)[0]
for k in range(n):
    h = 456 + 40 * k
    pos |= {h, h + 4, h + 24, h + 25, h + 28, h + 31, h + 32, h + 33, h + 36, h + 39}
    off, size = struct.unpack_from("<QQ", d, h + 24)
    pos |= {off, off + 1, off + 3, off + size // 2, off + size - 1}
print(" ".join(str(p) for p in sorted(pos)))
PY
  cuts=$(python3 -c 'import struct, sys
d = open(sys.argv[1], "rb").read(); n = struct.unpack_from("<I", d, 448)[0]
c = {0, 7, 8, 495, 496, len(d) - 1}
for k in range(n):
    off, size = struct.unpack_from("<QQ", d, 456 + 40 * k + 24); c |= {off, off + size - 1}
print(" ".join(str(x) for x in sorted(c)))' finn.xclbin)
  for n in $cuts; do
    head -c $n finn.xclbin > cut.xclbin
    run T "$INFER" --device xrt:0 --xclbin cut.xclbin -o out.tsv ten-idx3-ubyte
    [ "$status" -eq 1 ] || { echo "cut at $n: status $status: $output"; false; }
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "fpga-infer: xrt:0: cut.xclbin: "* ]] || { echo "cut at $n: $output"; false; }
    [ ! -e out.tsv ]
  done
  # Every position in make test-long, every other one in make test.
  local step i=0
  step=$(long_step 2)
  for p in $(cat positions); do
    i=$((i + 1)); [ $(( i % step )) -eq 0 ] || continue
    python3 -c 'import sys
d = bytearray(open("finn.xclbin", "rb").read()); d[int(sys.argv[1])] ^= 0xFF; open("flip.xclbin", "wb").write(d)' $p
    run T "$INFER" --device xrt:0 --xclbin flip.xclbin -o out.tsv ten-idx3-ubyte
    [ "$status" -eq 1 ] || { echo "flip at $p: status $status: $output"; false; }
    [ "${#lines[@]}" -eq 1 ] || { echo "flip at $p: $output"; false; }
    [[ "$output" == "fpga-infer: xrt:0"* ]]
    [ ! -e out.tsv ]
  done
  # fpga-gzip's check is the same code: a cut gzip xclbin is an error, not a crash.
  "$MAKE_XCLBIN" gzip.xclbin --platform $U50
  head -c 100 gzip.xclbin > cutgz.xclbin
  echo data > d
  run T "$FPGA_BIN/fpga-gzip" --device xrt:0 --xclbin cutgz.xclbin -c d
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-gzip: xrt:0: cutgz.xclbin: damaged xclbin: cut short (100 bytes, the header alone has 496)" ]
}
