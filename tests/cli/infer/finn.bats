#!/usr/bin/env bats
# fpga-infer on FINN devices, checked with the csim stand-in (the CPU engine
# behind a FINN accelerator's buffers: NHWC images in, one class byte an
# image out, through the same driver as a card): it must predict exactly
# what the CPU path predicts, image for image, whatever the batching, the
# input format, the ranges and the joins. The model is given through
# FPGA_MODEL (option letters may change; the variable does not).

load ../helpers

setup() {
  cd "$BATS_TEST_TMPDIR"
  unset FPGA_DEVICE PARALLEL_JOBSLOT XILINX_XRT FPGA_XCLBIN
  export FPGA_MODEL=$MODEL
}

# The first N Fashion-MNIST test images as an IDX file.
fashion_idx() { # name n
  zcat "$FASHION/t10k-images-idx3-ubyte.gz" | python3 -c 'import sys, struct
n = int(sys.argv[1]); d = sys.stdin.buffer.read()
sys.stdout.buffer.write(struct.pack(">IIII", 0x803, n, 28, 28) + d[16:16 + n * 784])' "$2" > "$1"
}

@test "csim:0 is listed for bnn, by name only, and --info says what it is" {
  run "$INFER" --list-devices
  [ "$status" -eq 0 ]
  [[ "$output" == *"-	csim:0	"*"FINN stand-in"*"not a card)	deflate,bnn"* ]]
  run "$INFER" --device csim:0 --info
  [ "$status" -eq 0 ]
  [[ "$output" == *"device: csim:0, "*" batches in flight (FINN: classes only)"* ]]
}

@test "Fashion-MNIST: csim:0 predicts what the CPU predicts on all 10,000 test images, and at any batch size and port count" {
  need_fashion
  zcat "$FASHION/t10k-images-idx3-ubyte.gz" > t10k-idx3-ubyte
  "$INFER" -q --device cpu t10k-idx3-ubyte > cpu.tsv
  [ "$(wc -l < cpu.tsv)" -eq 10000 ]
  "$INFER" --device csim:0 --labels "$FASHION/t10k-labels-idx1-ubyte.gz" t10k-idx3-ubyte > csim.tsv 2> err
  cmp csim.tsv cpu.tsv
  # The summary says what ran: not a card.
  grep -q "csim:0: the FINN stand-in, CPU engine on [0-9]* threads; a correctness run, not a card" err
  grep -q "top-1 accuracy" err
  # Batches that do not divide the count (partial last batches), one image a
  # batch, one port and many; FPGA_DEVICE names the device too. On the
  # first 1,000 images in make test (each pass over all 10,000 is some 10
  # CPU s), on all of them in make test-long.
  local n=1000 sub=s-idx3-ubyte
  [ -z "${FPGA_LONG:-}" ] || n=10000
  fashion_idx $sub $n
  head -n $n cpu.tsv > sub.tsv
  for b in 1 7 64 999 10000 16384; do
    "$INFER" -q --device csim:0 --batch $b -p 3 $sub | cmp - sub.tsv
  done
  FPGA_DEVICE=csim:0 "$INFER" -q -p 1 --batch 333 $sub | cmp - sub.tsv
  # From a stream, and as CSV and JSON lines.
  cat $sub | "$INFER" -q --device csim:0 --batch 100 | cmp - sub.tsv
  "$INFER" -q --device cpu -F csv $sub > cpu.csv
  "$INFER" -q --device csim:0 -F csv $sub | cmp - cpu.csv
  "$INFER" -q --device cpu -F jsonl $sub > cpu.jsonl
  "$INFER" -q --device csim:0 -F jsonl $sub | cmp - cpu.jsonl
}

@test "BNN-PYNQ CNV on CIFAR-10 records: csim:0 takes NHWC from the planar records and predicts what the CPU predicts" {
  need_data
  "$INFER" import-bnn-pynq "$DATA/bnn-pynq/cifar10/cnvW1A1" -o cnv.fbnn 2>/dev/null
  export FPGA_MODEL=$PWD/cnv.fbnn
  run "$INFER" -q --device csim:0 "$DATA/images/deer.bin"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '0\t4\tDeer')" ]
  # Every pixel matters: the records, and the records with their colour
  # planes rotated (R,G,B -> G,B,R) and with rows mirrored, which the
  # network sees as other pictures; 13 records in batches of 5 (a partial last one).
  python3 -c '
import sys
recs = [open(p, "rb").read() for p in sys.argv[1:]]
out = b""
for k in range(13):
    r = recs[k % 2]
    lab, px = r[:1], r[1:]
    planes = [px[i * 1024:(i + 1) * 1024] for i in range(3)]
    if k % 3 == 1: planes = planes[1:] + planes[:1]
    if k % 3 == 2: planes = [b"".join(p[y * 32:(y + 1) * 32][::-1] for y in range(32)) for p in planes]
    out += lab + b"".join(planes)
open("t.bin", "wb").write(out)' "$DATA/images/deer.bin" "$DATA/images/cifar10-test-0000.bin"
  "$INFER" -q --device cpu t.bin > cpu.tsv
  [ "$(wc -l < cpu.tsv)" -eq 13 ]
  [ "$(cut -f2 cpu.tsv | sort -u | wc -l)" -ge 2 ]
  "$INFER" -q --device csim:0 --batch 5 t.bin | cmp - cpu.tsv
  "$INFER" -q --device csim:0 --batch 1 -p 1 t.bin | cmp - cpu.tsv
  # Labels from the records count: the cat is right.
  run "$INFER" --device csim:0 -o /dev/null "$DATA/images/cifar10-test-0000.bin"
  [[ "$output" == *"top-1 accuracy 100.00% (1 of 1)"* ]]
}

@test "ranges and chunks on csim:0 keep global image numbers; fpga-cat joins them into the CPU's output" {
  need_fashion
  fashion_idx f-idx3-ubyte 1000
  "$INFER" -q --device cpu f-idx3-ubyte > whole.tsv
  "$FPGA_BIN/fpga-split" --idx --ranges -n 4 f-idx3-ubyte > ranges
  [ "$(wc -l < ranges)" -eq 4 ]
  # Each range to FILE.INDEX.tsv, as fpga-cat --lines expects.
  while read -r r; do
    i=${r#*@}; i=${i%%[:/]*}
    "$INFER" -q --device csim:0 --batch 64 "$r" > "f-idx3-ubyte.$i.tsv"
  done < ranges
  # The first range starts at image 0, the others where they lie.
  [ "$(head -1 f-idx3-ubyte.000.tsv | cut -f1)" = 0 ]
  [ "$(head -1 f-idx3-ubyte.001.tsv | cut -f1)" -gt 0 ]
  # Written through standard output, the results carry no part count: a
  # warning (exit 2) that -q silences.
  "$FPGA_BIN/fpga-cat" -q --lines -o joined.tsv f-idx3-ubyte.*.tsv || [ $? -eq 2 ]
  cmp joined.tsv whole.tsv
  # Chunk files numbered by the manifest, through parallel.
  rm f-idx3-ubyte.*.tsv
  "$FPGA_BIN/fpga-split" --idx --manifest m -n 3 f-idx3-ubyte | parallel -j 2 "$INFER -q --device csim:0 --batch 50 --manifest m {} > {}.tsv"
  "$FPGA_BIN/fpga-cat" --lines --manifest m -S .tsv -o joined2.tsv
  cmp joined2.tsv whole.tsv
}

@test "classes only: --scores on csim:0 is a one-line error and writes nothing; --confusion works from the classes" {
  need_fashion
  fashion_idx f.idx 50
  run "$INFER" --device csim:0 -s -o out.tsv f.idx
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: --scores: csim:0 gives classes only (a FINN accelerator has no scores); use --device cpu" ]
  [ ! -e out.tsv ]
  "$INFER" --device cpu --confusion --labels "$FASHION/t10k-labels-idx1-ubyte.gz" -o /dev/null f.idx 2> cpu.err
  "$INFER" --device csim:0 --confusion --labels "$FASHION/t10k-labels-idx1-ubyte.gz" -o /dev/null f.idx 2> csim.err
  # The same matrix and accuracy (the first line, with the speed, differs).
  diff <(sed 1d cpu.err) <(sed 1d csim.err)
  grep -q "confusion matrix" csim.err
  sed -n 's/.*\(top-1 accuracy [^)]*)\).*/\1/p' cpu.err > a
  sed -n 's/.*\(top-1 accuracy [^)]*)\).*/\1/p' csim.err | cmp - a
}

@test "pair: MODEL.finn names the xclbin's UUID; bad xclbins, a model file that is not one, an existing pairing without -f" {
  printf 'xclbin2\0' > a.xclbin
  head -c 408 /dev/zero >> a.xclbin
  printf '\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef' >> a.xclbin
  head -c 100 /dev/zero >> a.xclbin
  cp "$MODEL" m.fbnn
  run "$INFER" pair m.fbnn a.xclbin
  [ "$status" -eq 0 ]
  grep -qx "xclbin 0123456789abcdef0123456789abcdef a.xclbin" m.fbnn.finn
  crc=$(tail -c 4 m.fbnn | od -An -tx4 | tr -d ' ')
  grep -qx "model-crc32 $crc" m.fbnn.finn
  # Not overwritten without -f; replaced with it.
  run "$INFER" pair m.fbnn a.xclbin
  [ "$status" -eq 1 ]
  [[ "$output" == *$'m.fbnn.finn already exists;\tnot overwritten'* ]]
  "$INFER" pair m.fbnn a.xclbin -f 2>/dev/null
  # Not an xclbin, cut short: nothing written.
  rm m.fbnn.finn
  echo hello > b.xclbin
  run "$INFER" pair m.fbnn b.xclbin
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: b.xclbin: corrupt data: not an xclbin file (no xclbin2 magic)" ]
  head -c 300 a.xclbin > c.xclbin
  run "$INFER" pair m.fbnn c.xclbin
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: c.xclbin: corrupt data: xclbin header cut short" ]
  run "$INFER" pair a.xclbin a.xclbin
  [ "$status" -eq 1 ]
  [[ "$output" == *"a.xclbin"*"not an fpga-tools model"* ]]
  [ ! -e m.fbnn.finn ] && [ ! -e a.xclbin.finn ]
  # A damaged pairing does not stop the CPU or csim, which need none.
  printf 'garbage\n' > m.fbnn.finn
  head -c 784 /dev/zero > z.raw
  FPGA_MODEL=m.fbnn "$INFER" -q --device cpu --shape 28x28x1 z.raw > cpu.tsv
  FPGA_MODEL=m.fbnn "$INFER" -q --device csim:0 --shape 28x28x1 z.raw | cmp - cpu.tsv
}
