#!/usr/bin/env bats
# fpga-infer: BNN-PYNQ import with the published scores, our Fashion-MNIST
# model's accuracy and its agreement with the training script, input and
# output formats, global image numbers through split/parallel/cat, errors.

load ../helpers

# The first N Fashion-MNIST test images as an IDX file.
fashion_idx() { # name n
  zcat "$FASHION/t10k-images-idx3-ubyte.gz" | python3 -c 'import sys, struct
n = int(sys.argv[1]); d = sys.stdin.buffer.read()
sys.stdout.buffer.write(struct.pack(">IIII", 0x803, n, 28, 28) + d[16:16 + n * 784])' "$2" > "$1"
}

@test "--help, --version, --info" {
  run "$INFER" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"Usage: fpga-infer"* ]]
  run "$INFER" --version
  [[ "$output" == "fpga-infer (fpga-tools) "* ]]
  run "$INFER" --info
  [ "$status" -eq 0 ]
  [[ "$output" == *"32x32x1 (8-bit) -> conv64 conv64 pool conv128 conv128 pool conv256 conv256 fc512 fc512 fc10 -> 10 classes"* ]]
}

@test "import-bnn-pynq: deer.bin is class 4 with exactly the published scores, on every code path" {
  need_data
  "$INFER" import-bnn-pynq "$DATA/bnn-pynq/cifar10/cnvW1A1" -o cnv.fbnn
  for isa in portable avx2 avx512 neon; do
    FPGA_BNN_ISA=$isa run "$INFER" -q -s --model cnv.fbnn "$DATA/images/deer.bin"
    if [[ "$output" == *"not a code path this CPU runs"* ]]; then continue; fi
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '0\t4\tDeer\t228\t229\t251\t250\t412\t253\t230\t262\t222\t239')" ]
  done
  run "$INFER" import-bnn-pynq "$DATA/bnn-pynq/cifar10/cnvW1A1" -o cnv.fbnn
  [ "$status" -eq 1 ]
  [[ "$output" == *$'cnv.fbnn already exists;\tnot overwritten'* ]]
}

@test "import-bnn-pynq: LFC classifies the MNIST 3" {
  need_data
  "$INFER" import-bnn-pynq "$DATA/bnn-pynq/mnist/lfcW1A1" -o lfc.fbnn
  run "$INFER" -q --model lfc.fbnn "$DATA/images/mnist-3.idx3-ubyte"
  [ "$output" = "$(printf '0\t3\t3')" ]
}

@test "Fashion-MNIST: all 10,000 test images, at least 90% top-1, the same predictions as the training script" {
  need_fashion
  [ -f "$MODEL" ]
  zcat "$FASHION/t10k-images-idx3-ubyte.gz" | "$INFER" --labels "$FASHION/t10k-labels-idx1-ubyte.gz" > out.tsv 2> err
  cat err
  [ "$(wc -l < out.tsv)" -eq 10000 ]
  acc=$(sed -n 's/.*top-1 accuracy \([0-9.]*\)%.*/\1/p' err)
  awk -v a="$acc" 'BEGIN { exit !(a >= 90.0) }'
  # The training script's own integer evaluation, one byte per image.
  od -An -v -tu1 -w1 "$MODEL.pred" | tr -d ' ' > want
  [ "$(wc -l < want)" -eq 10000 ]
  cut -f2 out.tsv | cmp - want
  # And the numbers, names and order of the lines.
  [ "$(head -1 out.tsv | cut -f1)" = 0 ]
  [ "$(tail -1 out.tsv | cut -f1)" = 9999 ]
}

@test "output formats: TSV, CSV and JSON lines, with scores; confusion matrix" {
  need_fashion
  fashion_idx f.idx 20
  "$INFER" -q -s f.idx > a.tsv
  [ "$(head -1 a.tsv | awk -F'\t' '{print NF}')" -eq 13 ]
  "$INFER" -q -s -F csv f.idx > a.csv
  [ "$(head -1 a.csv | awk -F, '{print NF}')" -eq 13 ]
  "$INFER" -q -s -F jsonl f.idx > a.jsonl
  python3 -c 'import json, sys
rows = [json.loads(l) for l in open("a.jsonl")]
tsv = [l.rstrip("\n").split("\t") for l in open("a.tsv")]
assert len(rows) == 20
for r, t in zip(rows, tsv):
    assert r["index"] == int(t[0]) and r["class"] == int(t[1]) and r["name"] == t[2]
    assert r["scores"] == [int(x) for x in t[3:]]
    assert max(r["scores"]) == r["scores"][r["class"]]'
  run "$INFER" --confusion --labels "$FASHION/t10k-labels-idx1-ubyte.gz" -o /dev/null f.idx
  [[ "$output" == *"confusion matrix"* ]]
  [[ "$output" == *"Ankle boot"* ]]
}

@test "PGM, PPM, raw and stdin inputs give the same classes as IDX" {
  need_fashion
  fashion_idx f.idx 3
  "$INFER" -q f.idx | cut -f2 > want
  python3 -c 'd = open("f.idx", "rb").read()[16:]
for i in range(3):
    open("img%d.pgm" % i, "wb").write(b"P5\n# a comment\n28 28\n255\n" + d[i * 784:(i + 1) * 784])
open("f.raw", "wb").write(d)'
  "$INFER" -q img0.pgm img1.pgm img2.pgm | cut -f2 | cmp - want
  "$INFER" -q --shape 28x28x1 f.raw | cut -f2 | cmp - want
  cat img0.pgm img1.pgm img2.pgm | "$INFER" -q | cut -f2 | cmp - want
  "$INFER" -q - < f.idx | cut -f2 | cmp - want
  FPGA_BNN_ISA=portable "$INFER" -q f.idx | cut -f2 | cmp - want
}

@test "chunks and ranges keep global image numbers; fpga-cat joins them exactly" {
  need_fashion
  fashion_idx f-idx3-ubyte 1000
  "$INFER" -q -p 2 f-idx3-ubyte > whole.tsv
  "$FPGA_BIN/fpga-split" --idx --ranges -n 4 f-idx3-ubyte | parallel -j 2 "$INFER" -q --save --device {%} {}
  "$FPGA_BIN/fpga-cat" --lines -o joined.tsv f-idx3-ubyte.*.tsv
  cmp joined.tsv whole.tsv
  rm f-idx3-ubyte.*.tsv
  "$FPGA_BIN/fpga-split" --idx --manifest m -n 3 f-idx3-ubyte | parallel -j 2 "$INFER" -q --manifest m --save
  "$FPGA_BIN/fpga-cat" --lines --manifest m -S .tsv -o joined2.tsv
  cmp joined2.tsv whole.tsv
  rm f-idx3-ubyte.*.tsv f-idx3-ubyte.00?
  # Chunk files without --start or --manifest: each knows where its images
  # began, so the numbers are the whole file's; the results carry the count.
  "$FPGA_BIN/fpga-split" --idx -n 3 f-idx3-ubyte | parallel -j 2 "$INFER" -q --save
  "$FPGA_BIN/fpga-cat" --lines -o joined3.tsv f-idx3-ubyte.*.tsv
  cmp joined3.tsv whole.tsv
  run "$FPGA_BIN/fpga-cat" --lines f-idx3-ubyte.000.tsv f-idx3-ubyte.001.tsv
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing part for chunk 2 of 3 (f-idx3-ubyte.002.tsv)"* ]]
  # One image alone keeps its number; the summary says "1 image".
  fashion_idx small 3
  "$FPGA_BIN/fpga-split" --idx -n 3 small > /dev/null
  run "$INFER" -p 1 small.002
  [ "${lines[0]%%$'\t'*}" = 2 ]
  [[ "${lines[1]}" == "fpga-infer: 1 image in "*", 1 thread)" ]]
}

@test "CIFAR-10 records split with --record-size keep their numbers and labels" {
  need_data
  "$INFER" import-bnn-pynq "$DATA/bnn-pynq/cifar10/cnvW1A1" -o cnv.fbnn 2>/dev/null
  for i in 1 2 3 4 5 6; do cat "$DATA/images/deer.bin" "$DATA/images/cifar10-test-0000.bin"; done > t.bin
  "$INFER" -q --model cnv.fbnn t.bin > whole.tsv
  "$FPGA_BIN/fpga-split" --record-size 3073 --ranges -n 3 t.bin | parallel "$INFER" -q --model cnv.fbnn --save
  "$FPGA_BIN/fpga-cat" --lines t.bin.*.tsv | cmp - whole.tsv
  run "$INFER" --model cnv.fbnn "t.bin@001:100+3073"
  [ "$status" -eq 1 ]
  [[ "$output" == *"range does not hold whole images"* ]]
  # cifar10-test-0000 is a cat (label 3), deer.bin's label is a placeholder.
  run "$INFER" --model cnv.fbnn -o /dev/null "$DATA/images/cifar10-test-0000.bin"
  [[ "$output" == *"top-1 accuracy 100.00% (1 of 1)"* ]]
}

@test "bad models and bad images: one-line errors, exit 1, no output file" {
  need_fashion
  fashion_idx f.idx 5
  head -c 1000 "$MODEL" > cut.fbnn
  run "$INFER" --model cut.fbnn -o out.tsv f.idx
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: cut.fbnn: corrupt data: model: CRC-32 mismatch (damaged or truncated file)" ]
  [ ! -e out.tsv ]
  echo hello > junk.fbnn
  run "$INFER" --model junk.fbnn f.idx
  [ "$status" -eq 1 ]
  [[ "$output" == *"junk.fbnn"*"not an fpga-tools model"* ]]
  run "$INFER" --model nonesuch.fbnn f.idx
  [ "$output" = "fpga-infer: nonesuch.fbnn: No such file or directory" ]
  head -c 3000 f.idx > short.idx
  run "$INFER" -o out.tsv --input-format idx short.idx
  [ "$status" -eq 1 ]
  [[ "$output" == *"short.idx"*"IDX header describes"* ]]
  [ ! -e out.tsv ]
  python3 -c 'open("big.pgm","wb").write(b"P5 40 40 255\n" + bytes(1600))'
  run "$INFER" big.pgm
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: big.pgm: picture is 40x40x1 but the model takes 32x32x1" ]
  run "$INFER" --input-format raw f.idx
  [[ "$output" == *"raw images need --shape"* ]]
}

# Issue 8

@test "an IDX file with a 0 dimension is a one-line error naming it, from a file or a stream, and leaves no file" {
  printf '\0\0\x08\x03\0\0\0\x05\0\0\0\0\0\0\0\x1c' > z-idx3-ubyte
  run "$INFER" -o out.tsv z-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: z-idx3-ubyte: corrupt data: IDX dimension 2 of 3 is 0 (items of no bytes)" ]
  run bash -c "cat z-idx3-ubyte | '$INFER' -o out.tsv"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: stdin: corrupt data: IDX dimension 2 of 3 is 0 (items of no bytes)" ]
  run "$INFER" -o out.tsv - < z-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$(ls -A)" = z-idx3-ubyte ]
}

@test "a 5 GiB sparse file as the model fails at once in little memory; /dev/zero is not a model" {
  printf '\0\0\x08\x03\0\0\0\x01\0\0\0\x1c\0\0\0\x1c' > one-idx3-ubyte
  head -c 784 /dev/zero >> one-idx3-ubyte
  truncate -s 5G big.fbnn
  run /usr/bin/time -f %M -o rss "$INFER" --model big.fbnn one-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: big.fbnn: corrupt data at offset 4: model: not an fpga-tools model (no FBNN magic)" ]
  [ "$(tail -1 rss)" -lt 65536 ]
  run "$INFER" --model /dev/zero one-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: /dev/zero: corrupt data at offset 4: model: not an fpga-tools model (no FBNN magic)" ]
  # A valid header that declares more than 256 MiB: refused before reading on.
  python3 -c 'import struct, sys
sys.stdout.buffer.write(b"FBNN" + struct.pack("<7I", 1, 28, 28, 1, 1, 10, 1) + b"\0\0" * 10 + struct.pack("<4I", 3, 262144, 262144, 0))' > huge.fbnn
  head -c 100000000 /dev/zero >> huge.fbnn
  run /usr/bin/time -f %M -o rss "$INFER" --model huge.fbnn one-idx3-ubyte
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: huge.fbnn: corrupt data: model: larger than 256 MiB, the most a model may have (not a model?)" ]
  [ "$(tail -1 rss)" -lt 65536 ]
}

@test "a model from a pipe or standard input loads; data after it is refused" {
  need_fashion
  fashion_idx f.idx 3
  "$INFER" -q f.idx > want
  cat "$MODEL" | "$INFER" -q --model /dev/stdin f.idx | cmp - want
  "$INFER" -q --model - f.idx < "$MODEL" | cmp - want
  run bash -c "cat '$MODEL' '$MODEL' | '$INFER' --model - f.idx"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: stdin: corrupt data at offset $(stat -c %s "$MODEL"): model: data after the last layer" ]
  cat "$MODEL" > extra.fbnn
  printf 'xy' >> extra.fbnn
  run "$INFER" --model extra.fbnn f.idx
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: extra.fbnn: corrupt data at offset $(stat -c %s "$MODEL"): model: 2 bytes after the last layer" ]
  run "$INFER" --model - < "$MODEL"
  [ "$status" -eq 1 ]
  [[ "$output" == *"the images must come from files"* ]]
}

@test "an IDX stream is held to its header's image count, with the file's message" {
  need_fashion
  fashion_idx f5-idx3-ubyte 5
  head -c $((16 + 3 * 784 + 100)) f5-idx3-ubyte > short
  cat f5-idx3-ubyte f5-idx3-ubyte > long
  for f in short long; do
    run "$INFER" --input-format idx -o out.tsv "$f"
    [ "$status" -eq 1 ]
    want=${output#fpga-infer: $f: }
    [[ "$want" == "corrupt data: IDX header describes 3936 bytes but the file has "* ]]
    run bash -c "cat $f | '$INFER' -o out.tsv"
    [ "$status" -eq 1 ]
    [ "$output" = "fpga-infer: stdin: $want" ]
    [ ! -e out.tsv ]
  done
  # One byte too many is enough; the exact count passes.
  run bash -c "(cat f5-idx3-ubyte; printf x) | '$INFER' -q"
  [ "$status" -eq 1 ]
  [[ "$output" == *"fpga-infer: stdin: corrupt data: IDX header describes 3936 bytes but the file has 3937" ]]
  cat f5-idx3-ubyte | "$INFER" -q > out
  [ "$(wc -l < out)" -eq 5 ]
}
