#!/usr/bin/env bats
# kernels/bnn/fbnn_to_onnx.py: our models as the FINN-ONNX graph FINN's
# dataflow build takes. The graph's own numpy evaluation must give exactly
# fpga-infer's classes and scores (the Fashion-MNIST model, BNN-PYNQ's CNV and
# LFC, random models); the graph must have the form FINN's transformations
# look for; bad models are refused with one line and nothing written.
# Needs Debian's python3-onnx (scripts/install-deps.sh installs it); skipped
# only where it is absent.

load ../helpers

EXPORT=$FPGA_SOURCE_DIR/kernels/bnn/fbnn_to_onnx.py

# Whether python3-onnx loads, asked once for the suite (0.3 s of CPU a time).
setup_file() {
  export ONNX_PRESENT=
  if "$PY" -c 'import onnx, numpy' 2>/dev/null; then ONNX_PRESENT=1; fi
}

setup() {
  cd "$BATS_TEST_TMPDIR"
  [ -n "$ONNX_PRESENT" ] || skip "python3-onnx is not installed"
}

# The first N Fashion-MNIST test images as an IDX file.
fashion_idx() { # name n
  zcat "$FASHION/t10k-images-idx3-ubyte.gz" | "$PY" -c 'import sys, struct
n = int(sys.argv[1]); d = sys.stdin.buffer.read()
sys.stdout.buffer.write(struct.pack(">IIII", 0x803, n, 28, 28) + d[16:16 + n * 784])' "$2" > "$1"
}

@test "Fashion-MNIST model: the graph's classes are the training script's and its scores fpga-infer's, on 60 test images (200 with FPGA_LONG)" {
  need_fashion
  # The graph's numpy evaluation costs some 30 ms of CPU an image (200: 7 s
  # of the suite's 31): 60 by default, past the exporter's batches of 50.
  local n=60
  [ -z "${FPGA_LONG:-}" ] || n=200
  fashion_idx f.idx $n
  run "$PY" "$EXPORT" "$MODEL" -o m.onnx --check-images f.idx --results m.tsv
  [ "$status" -eq 0 ]
  [[ "$output" == *"m.onnx: $n images evaluated with numpy from the ONNX graph: the same classes as $MODEL.pred"* ]]
  "$INFER" -q -s --model "$MODEL" f.idx > want.tsv
  [ "$(wc -l < want.tsv)" -eq $n ]
  cmp want.tsv m.tsv
  # The gzip-compressed data set itself, as make onnx passes it.
  run "$PY" "$EXPORT" "$MODEL" -o m2.onnx --check-images "$FASHION/t10k-images-idx3-ubyte.gz" --count 5
  [ "$status" -eq 0 ]
  [[ "$output" == *"5 images evaluated"* ]]
  cmp m.onnx m2.onnx
}

@test "the graph has the form FINN's streamlining and HW conversion look for" {
  "$PY" "$EXPORT" "$MODEL" -o m.onnx
  "$PY" - m.onnx <<'PY'
import sys
import numpy as np
import onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
g = m.graph
ann = {a.tensor_name: {e.key: e.value for e in a.quant_parameter_tensor_names} for a in g.quantization_annotation}
inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
assert {(o.domain, o.version) for o in m.opset_import} == {("", 11), ("qonnx.custom_op.general", 1)}
ops = [n.op_type for n in g.node]
assert ops == (["MultiThreshold"] + ["Im2Col", "MatMul", "MultiThreshold"] * 2 + ["MaxPoolNHWC"]
               + ["Im2Col", "MatMul", "MultiThreshold"] * 2 + ["MaxPoolNHWC"]
               + ["Im2Col", "MatMul", "MultiThreshold"] * 2 + ["Flatten"]
               + ["MatMul", "MultiThreshold"] * 2 + ["MatMul", "TopK"]), ops
for n in g.node:
    custom = n.op_type in ("MultiThreshold", "Im2Col", "MaxPoolNHWC")
    assert (n.domain == "qonnx.custom_op.general") == custom, n
# What idma0 reads: 32x32x1 raw pixels, NHWC; what odma0 writes: one class.
[i] = g.input
assert [d.dim_value for d in i.type.tensor_type.shape.dim] == [1, 32, 32, 1]
assert ann["global_in"] == {"finn_datatype": "UINT8", "tensor_layout": "['N', 'H', 'W', 'C']"}
[o] = g.output
assert [d.dim_value for d in o.type.tensor_type.shape.dim] == [1, 1] and ann["global_out"]["finn_datatype"] == "UINT8"
attrs = lambda n: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
mts = [n for n in g.node if n.op_type == "MultiThreshold"]
# The input: 255 ascending thresholds on the pixel (a row per channel), INT8 out (q = count - 128).
t0 = inits[mts[0].input[1]]
a0 = attrs(mts[0])
assert t0.shape == (1, 255) and (np.diff(t0[0]) >= 0).all() and a0["out_dtype"] == b"INT8" and a0["out_bias"] == -128
assert a0["out_scale"] == 1 and a0["data_layout"] == b"NHWC"
# Every layer: one threshold per channel, BIPOLAR out as 2 * bit - 1.
for n in mts[1:]:
    a = attrs(n)
    t = inits[n.input[1]]
    assert t.ndim == 2 and t.shape[1] == 1 and a["out_dtype"] == b"BIPOLAR", a
    assert a["out_scale"] == 2 and a["out_bias"] == -1
    assert ann[n.input[1]]["finn_datatype"].startswith("INT")
    assert (t == np.round(t)).all()
for n in g.node:
    if n.op_type == "MatMul":
        w = inits[n.input[1]]
        assert set(np.unique(w)) <= {-1.0, 1.0} and ann[n.input[1]]["finn_datatype"] == "BIPOLAR"
    if n.op_type == "Im2Col":
        a = attrs(n)
        assert a["kernel_size"] == [3, 3] and a["stride"] == [1, 1]
ks = [inits[n.input[1]].shape for n in g.node if n.op_type == "MatMul"]
assert ks == [(9, 64), (576, 64), (576, 128), (1152, 128), (1152, 256), (2304, 256), (256, 512), (512, 512), (512, 10)], ks
print("ok")
PY
  # The exporter's type check: the input quantiser's output annotated INT7
  # (it reaches -128) is refused.
  "$PY" - "$EXPORT" m.onnx <<'PY'
import importlib.util, sys
import numpy as np
import onnx
spec = importlib.util.spec_from_file_location("x", sys.argv[1]); x = importlib.util.module_from_spec(spec)
spec.loader.exec_module(x)
m = onnx.load(sys.argv[2])
env = x.evaluate(m, np.zeros((1, 32, 32, 1), dtype=np.uint8))
x.check_types(m, env)
name = m.graph.node[0].output[0]
for a in m.graph.quantization_annotation:
    if a.tensor_name == name:
        for e in a.quant_parameter_tensor_names:
            if e.key == "finn_datatype":
                e.value = "INT7"
try:
    x.check_types(m, env)
    raise SystemExit("not refused")
except x.Failure as e:
    assert str(e) == name + ": annotated INT7, holds values in [-128.0, -128.0]", str(e)
PY
}

@test "BNN-PYNQ CNV: 3,072-byte NHWC images, deer.bin with exactly the published scores" {
  need_data
  "$INFER" import-bnn-pynq "$DATA/bnn-pynq/cifar10/cnvW1A1" -o cnv.fbnn 2>/dev/null
  cat "$DATA/images/deer.bin" "$DATA/images/cifar10-test-0000.bin" > two.bin
  run "$PY" "$EXPORT" cnv.fbnn -o cnv.onnx --check-images two.bin --results got.tsv
  [ "$status" -eq 0 ]
  [ "$(head -1 got.tsv)" = "$(printf '0\t4\tDeer\t228\t229\t251\t250\t412\t253\t230\t262\t222\t239')" ]
  "$INFER" -q -s --model cnv.fbnn two.bin > want.tsv
  cmp want.tsv got.tsv
  "$PY" -c 'import onnx, sys
i = onnx.load(sys.argv[1]).graph.input[0]
assert [d.dim_value for d in i.type.tensor_type.shape.dim] == [1, 32, 32, 3]' cnv.onnx
}

@test "BNN-PYNQ LFC: 1-bit input, and the first layer's 784-to-832 padding folded into its thresholds" {
  need_data
  "$INFER" import-bnn-pynq "$DATA/bnn-pynq/mnist/lfcW1A1" -o lfc.fbnn 2>/dev/null
  run "$PY" "$EXPORT" lfc.fbnn -o lfc.onnx --check-images "$DATA/images/mnist-3.idx3-ubyte" --results got.tsv
  [ "$status" -eq 0 ]
  "$INFER" -q -s --model lfc.fbnn "$DATA/images/mnist-3.idx3-ubyte" > want.tsv
  cmp want.tsv got.tsv
  [ "$(cut -f2 got.tsv)" = 3 ]
}

@test "random models (8-bit and 1-bit input, odd pooling, padded dense layers, extreme thresholds): the graph's scores are fpga-infer's" {
  # The twelve models and their exports in one python (numpy and onnx load
  # once): random_fbnn.py's and fbnn_to_onnx.py's main, each with the
  # arguments of its command line, every export's exit status checked.
  local spec seed
  "$PY" - "$RANDOM_MODEL" "$EXPORT" <<'PY'
import importlib.util, sys
def load(path):
    spec = importlib.util.spec_from_file_location(path.rsplit("/", 1)[-1][:-3], path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m
maker, export = load(sys.argv[1]), load(sys.argv[2])
for spec in ("fixed-conv", "binary-conv", "binary-fc-padded", "fixed-fc-padded"):
    for seed in (1, 2, 3):
        tag = "%s-%d" % (spec, seed)
        sys.argv = ["random_fbnn.py", spec, str(seed), tag + ".fbnn", tag + ".idx", "150"]
        maker.main()
        rc = export.main([tag + ".fbnn", "-o", tag + ".onnx", "--check-images", tag + ".idx", "--results", tag + ".tsv"])
        assert rc == 0, (tag, rc)
PY
  for spec in fixed-conv binary-conv binary-fc-padded fixed-fc-padded; do
    for seed in 1 2 3; do
      "$INFER" -q -s --model $spec-$seed.fbnn $spec-$seed.idx > want.tsv
      [ "$(wc -l < want.tsv)" -eq 150 ]
      cmp want.tsv $spec-$seed.tsv || { echo "differs: $spec $seed"; false; }
    done
  done
}

@test "the prediction check fails when the graph and the reference disagree, and nothing is written" {
  need_fashion
  fashion_idx f.idx 20
  # A reference with image 7's class changed.
  "$PY" -c 'import sys
d = bytearray(open(sys.argv[1], "rb").read(20)); d[7] = (d[7] + 1) % 10
open("bad.pred", "wb").write(d)' "$MODEL.pred"
  run "$PY" "$EXPORT" "$MODEL" -o m.onnx --check-images f.idx --reference bad.pred --results r.tsv
  [ "$status" -eq 1 ]
  [ "$output" = "fbnn_to_onnx: bad.pred: image 7: the ONNX graph predicts class $(od -An -tu1 -j7 -N1 "$MODEL.pred" | tr -d ' '), the reference $(od -An -tu1 -j7 -N1 bad.pred | tr -d ' ')" ]
  [ ! -e m.onnx ] && [ ! -e r.tsv ]
  [ -z "$(ls -A | grep -v '^f.idx$\|^bad.pred$')" ]
  # A model whose last hidden layer is damaged (all its thresholds at the
  # int32 maximum, CRC-32 redone) against the real predictions.
  "$PY" - "$MODEL" <<'PY'
import struct, sys, zlib
d = bytearray(open(sys.argv[1], "rb").read()[:-4])
# fc 512 -> 512 is the second-to-last layer: its 512 thresholds end where the last layer's header starts.
end = len(d) - 10 * 8 * 8 - 16
d[end - 4 * 512:end] = struct.pack("<512i", *([2**31 - 1] * 512))
d += struct.pack("<I", zlib.crc32(bytes(d)) & 0xFFFFFFFF)
open("damaged.fbnn", "wb").write(d)
PY
  "$INFER" --info --model damaged.fbnn >/dev/null
  run "$PY" "$EXPORT" damaged.fbnn -o m.onnx --check-images f.idx --reference "$MODEL.pred"
  [ "$status" -eq 1 ]
  [[ "$output" == "fbnn_to_onnx: $MODEL.pred: image "*": the ONNX graph predicts class "*", the reference "* ]]
  [ ! -e m.onnx ]
  # Too few reference predictions.
  head -c 10 "$MODEL.pred" > short.pred
  run "$PY" "$EXPORT" "$MODEL" -o m.onnx --check-images f.idx --reference short.pred
  [ "$status" -eq 1 ]
  [ "$output" = "fbnn_to_onnx: short.pred: 10 predictions for 20 images" ]
}

@test "--finn-dir: model.onnx, the board's build configuration and FINN's verification inputs" {
  need_fashion
  for board in U250 U50; do
    run "$PY" "$EXPORT" "$MODEL" --finn-dir fd-$board --board $board --check-images "$FASHION/t10k-images-idx3-ubyte.gz" --count 12
    [ "$status" -eq 0 ]
    [ "$(ls fd-$board | tr '\n' ' ')" = "dataflow_build_config.json expected_output.npy input.npy model.onnx " ]
  done
  # Both folders in one python (numpy loads once).
  "$PY" - "$MODEL.pred" U250 U50 <<'PY'
import json, sys
import numpy as np
pred = sys.argv[1]
for board in sys.argv[2:]:
    d = "fd-" + board
    cfg = json.load(open(d + "/dataflow_build_config.json"))
    assert cfg["board"] == board and cfg["shell_flow_type"] == "vitis_alveo", cfg
    assert cfg["vitis_platform"].startswith("xilinx_%s_" % board.lower())
    assert "bitfile" in cfg["generate_outputs"] and cfg["verify_input_npy"] == "input.npy"
    x = np.load(d + "/input.npy")
    y = np.load(d + "/expected_output.npy")
    assert x.shape == (10, 32, 32, 1) and x.dtype == np.float32 and x.max() <= 255
    assert (x[:, :2].sum(), x[:, :, :2].sum()) == (0, 0)      # 28x28 centred in 32x32
    assert list(y[:, 0].astype(int)) == list(open(pred, "rb").read(10))
PY
  # Not over an existing folder's files without -f; with -f, yes.
  run "$PY" "$EXPORT" "$MODEL" --finn-dir fd-U250 --check-images "$FASHION/t10k-images-idx3-ubyte.gz" --count 5
  [ "$status" -eq 1 ]
  [ "$output" = "fbnn_to_onnx: fd-U250/model.onnx: File exists (use -f to overwrite)" ]
  run "$PY" "$EXPORT" "$MODEL" -f --finn-dir fd-U250 --check-images "$FASHION/t10k-images-idx3-ubyte.gz" --count 5
  [ "$status" -eq 0 ]
  run "$PY" "$EXPORT" "$MODEL" --finn-dir fd-new
  [ "$status" -eq 1 ]
  [ "$output" = "fbnn_to_onnx: --finn-dir needs --check-images (FINN's verification inputs come from them)" ]
  [ ! -e fd-new ]
}

@test "bad models: every truncation, bit flip and edited size is one line naming the file, exit 1, nothing written" {
  "$PY" "$RANDOM_MODEL" binary-fc-padded 5 small.fbnn small.idx 4
  # In one process: every prefix and every single-bit flip of a small model.
  "$PY" - "$EXPORT" small.fbnn <<'PY'
import importlib.util, os, struct, sys, zlib
spec = importlib.util.spec_from_file_location("x", sys.argv[1]); x = importlib.util.module_from_spec(spec)
spec.loader.exec_module(x)
data = open(sys.argv[2], "rb").read()
def refused(blob, want):
    open("m.fbnn", "wb").write(blob)
    try:
        x.read_model("m.fbnn")
    except x.Failure as e:
        msg = str(e)
        assert msg.startswith("m.fbnn: model: ") and "\n" not in msg and want in msg, (len(blob), msg)
        return
    raise AssertionError("accepted: %d bytes" % len(blob))
for n in range(len(data)):
    refused(data[:n], "")
# Every bit of every byte with FPGA_LONG (5,200 flips, 2.5 s of CPU); by
# default every bit of the 32-byte header and of the last 8 bytes (the
# CRC-32 and what it ends), one bit of each byte between them, the bit going
# round with the offset (every byte flipped, every bit position used).
every = bool(os.environ.get("FPGA_LONG"))
for i in range(len(data) * 8):
    byte, bit = divmod(i, 8)
    if not (every or byte < 32 or byte >= len(data) - 8 or bit == byte % 8):
        continue
    b = bytearray(data); b[byte] ^= 1 << bit
    refused(bytes(b), "")
refused(data + b"\0", "")
# Edited size fields with the CRC-32 redone: the chain check names the layer.
def recrc(b): return bytes(b[:-4]) + struct.pack("<I", zlib.crc32(bytes(b[:-4])) & 0xFFFFFFFF)
b = bytearray(data); b[8:12] = struct.pack("<I", 9)          # height 5 -> 9
refused(recrc(b), "layer 0: takes 40 inputs, gets 45")
b = bytearray(data); b[12:16] = struct.pack("<I", 0)         # width 0
refused(recrc(b), "bad input shape")
b = bytearray(data); b[24:28] = struct.pack("<I", 7)         # 7 classes for 6 scores
refused(recrc(b), "")
print("ok")
PY
  # The command line's refusals, each fbnn_to_onnx's main in one python
  # (numpy and onnx load once: some 0.35 s of CPU a process); the other
  # cases run the program itself, its exit status included.
  cp small.fbnn t.fbnn && truncate -s 100 t.fbnn
  head -c 5000 /dev/urandom > noise.bin
  printf '\0\0\x08\x03\0\0\0\1\0\0\0\x09\0\0\0\x09' > big.idx && head -c 81 /dev/zero >> big.idx
  head -c 90 big.idx > cut.idx
  head -c 16 big.idx > none.idx
  "$PY" - "$EXPORT" "$MODEL" "$FASHION/t10k-labels-idx1-ubyte.gz" <<'PY'
import contextlib, importlib.util, io, os, sys
spec = importlib.util.spec_from_file_location("x", sys.argv[1]); x = importlib.util.module_from_spec(spec)
spec.loader.exec_module(x)
model, labels = sys.argv[2:]
def refused(args, want):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = x.main(args)
    assert (rc, out.getvalue(), err.getvalue()) == (1, "", "fbnn_to_onnx: %s\n" % want), (args, rc, out.getvalue(), err.getvalue())
refused(["t.fbnn", "-o", "t.onnx"], "t.fbnn: model: CRC-32 mismatch (damaged or truncated file)")
assert not os.path.exists("t.onnx")
refused(["noise.bin", "-o", "t.onnx"], "noise.bin: model: not an fpga-tools model (no FBNN magic)")
refused(["missing.fbnn", "-o", "t.onnx"], "missing.fbnn: No such file or directory")
assert not os.path.exists("t.onnx")
# An existing output is kept without -f (replaced with it: below).
open("t.onnx", "w").write("keep\n")
refused(["small.fbnn", "-o", "t.onnx"], "t.onnx: File exists (use -f to overwrite)")
assert open("t.onnx").read() == "keep\n"
# Check images that do not fit the model, or are not images.
refused(["small.fbnn", "-o", "u.onnx", "--check-images", model], model + ": neither IDX images nor CIFAR-10 binary records")
refused(["small.fbnn", "-o", "u.onnx", "--check-images", "big.idx"], "big.idx: 9x9x1 images do not fit the model's 5x5x1 input")
refused(["small.fbnn", "-o", "u.onnx", "--check-images", "cut.idx"],
        "cut.idx: IDX data does not match its header (74 bytes, the header declares 81)")
if os.path.exists(labels):
    refused(["small.fbnn", "-o", "u.onnx", "--check-images", labels],
            labels + ": IDX file of 1 dimensions, not images (N x H x W or N x H x W x C)")
refused(["small.fbnn", "-o", "u.onnx", "--check-images", "none.idx", "--count", "3"],
        "none.idx: IDX data does not match its header (0 bytes, the header declares 81)")
assert not os.path.exists("u.onnx")
print("ok")
PY
  run "$PY" "$EXPORT" small.fbnn -o t.onnx -f
  [ "$status" -eq 0 ]
  "$PY" -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]))' t.onnx
  [ -z "$(ls -A | grep '^\.')" ]   # no temporary file left behind
}
