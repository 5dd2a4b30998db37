#!/usr/bin/env bats
# kernels/bnn/fbnn_to_onnx.py: the exported graphs have the node order FINN's
# default build needs to put every layer in one dataflow partition. FINN's
# Python packages are not in Debian, so its transformations cannot run here;
# check_finn_form below applies the rules read from FINN's source
# (builder/build_dataflow_steps.py step_convert_to_hw, need_conv;
# transformation/fpgadataflow/convert_to_hw_layers.py InferStreamingMaxPool;
# transformation/move_reshape.py RemoveCNVtoFCFlatten) to say which nodes
# become HW layers, and requires the HW layers to be one unbroken run with
# nothing after it (what create_dataflow_partition accepts). The graphs'
# classes and scores are checked against fpga-infer in onnx-export.bats.

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
  cat > form.py <<'PY'
import sys
import onnx
from onnx import helper, numpy_helper


def load(path):
    m = onnx.load(path)
    g = m.graph
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(g.value_info) + list(g.input) + list(g.output)}
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    return g, shapes, inits


def attrs(n):
    return {a.name: helper.get_attribute_value(a) for a in n.attribute}


def check_finn_form(g, shapes):
    """Which nodes FINN's default steps make HW layers, and whether they form
    one partition with only host-side nodes before it. Returns the verdicts."""
    need_conv = any(n.op_type == "Im2Col" for n in g.node)
    hw = []
    for n in g.node:
        op = n.op_type
        if op in ("MultiThreshold", "MatMul", "TopK"):
            ok = True
        elif op == "Im2Col":
            ok = need_conv
        elif op == "MaxPoolNHWC":
            a = attrs(n)
            (kh, kw), (sh, sw) = a["kernel_shape"], a["strides"]
            _, h, w, _ = shapes[n.input[0]]
            ok = need_conv and (kh, kw) == (sh, sw) and (h % kh == 0 or w % kw == 0)
        elif op == "Flatten":
            ok = None          # removed when between two HW layers and need_conv
        else:
            ok = False
        hw.append([op, ok])
    for i, (op, ok) in enumerate(hw):
        if ok is None:
            between = 0 < i < len(hw) - 1 and hw[i - 1][1] and hw[i + 1][1]
            hw[i][1] = True if (need_conv and between) else False
    first = next(i for i, (_, ok) in enumerate(hw) if ok)
    stray = [op for op, ok in hw[first:] if not ok]
    assert not stray, "nodes FINN leaves between or after its HW layers: %s" % stray
    return [op for op, ok in hw[:first]]


if __name__ == "__main__":
    g, shapes, _ = load(sys.argv[1])
    print(" ".join(check_finn_form(g, shapes)))
PY
}

@test "dense-only networks flatten the raw pixels before the input threshold (BNN-PYNQ LFC)" {
  need_data
  "$INFER" import-bnn-pynq "$DATA/bnn-pynq/mnist/lfcW1A1" -o lfc.fbnn 2>/dev/null
  "$PY" "$EXPORT" lfc.fbnn -o lfc.onnx
  run "$PY" - lfc.onnx <<'PY'
import sys
sys.path.insert(0, ".")
from form import load, attrs, check_finn_form
g, shapes, inits = load(sys.argv[1])
ops = [n.op_type for n in g.node]
assert ops == ["Flatten", "MultiThreshold"] + ["MatMul", "MultiThreshold"] * 3 + ["MatMul", "TopK"], ops
flat, mt = g.node[0], g.node[1]
assert flat.input == ["global_in"] and shapes[flat.output[0]] == [1, 784], shapes[flat.output[0]]
assert mt.input[0] == flat.output[0] and inits[mt.input[1]].shape == (784, 1)
assert (inits[mt.input[1]] == 128).all() and "data_layout" not in attrs(mt)
assert inits[g.node[2].input[1]].shape == (784, 1024)
print(check_finn_form(g, shapes))
PY
  [ "$status" -eq 0 ]
  [ "$output" = "['Flatten']" ]
}

@test "dense-only random models (1-bit and 8-bit, padded first layer): Flatten first, one partition after it" {
  for spec in binary-fc-padded fixed-fc-padded; do
    "$PY" "$RANDOM_MODEL" $spec 1 r.fbnn r.idx 4
    "$PY" "$EXPORT" r.fbnn -o $spec.onnx -f
  done
  run "$PY" - <<'PY'
import sys
sys.path.insert(0, ".")
from form import load, check_finn_form
for spec, pixels, steps, odt in (("binary-fc-padded", 25, 1, b"BIPOLAR"), ("fixed-fc-padded", 48, 255, b"INT8")):
    g, shapes, inits = load(spec + ".onnx")
    ops = [n.op_type for n in g.node]
    assert ops == ["Flatten", "MultiThreshold", "MatMul", "MultiThreshold", "MatMul", "TopK"], (spec, ops)
    assert g.node[0].input == ["global_in"] and shapes[g.node[0].output[0]] == [1, pixels]
    assert inits[g.node[1].input[1]].shape == (pixels, steps), (spec, inits[g.node[1].input[1]].shape)
    assert [a.s for a in g.node[1].attribute if a.name == "out_dtype"] == [odt]
    assert inits[g.node[2].input[1]].shape[0] == pixels      # the padding folded into the thresholds
    assert check_finn_form(g, shapes) == ["Flatten"], spec
print("ok")
PY
  [ "$status" -eq 0 ]
  [ "$output" = ok ]
}

@test "a network that pools an odd map is cropped on the raw pixels, so every pooled map is even" {
  # fixed-conv: 9x9 -> conv 7x7 -> pool 3x3 (the last row and column of the
  # 7x7 map are never read) -> conv 1x1 -> dense. The export reads 8x8.
  "$PY" "$RANDOM_MODEL" fixed-conv 2 r.fbnn r.idx 60
  run "$PY" "$EXPORT" r.fbnn -o r.onnx --check-images r.idx --results got.tsv
  [ "$status" -eq 0 ]
  "$INFER" -q -s --model r.fbnn r.idx > want.tsv
  cmp want.tsv got.tsv
  run "$PY" - r.onnx <<'PY'
import sys
sys.path.insert(0, ".")
from form import load, check_finn_form
g, shapes, inits = load(sys.argv[1])
ops = [n.op_type for n in g.node]
assert ops == ["Slice", "MultiThreshold", "Im2Col", "MatMul", "MultiThreshold", "MaxPoolNHWC",
               "Im2Col", "MatMul", "MultiThreshold", "Flatten", "MatMul", "MultiThreshold", "MatMul", "TopK"], ops
s = g.node[0]
assert s.input[0] == "global_in" and shapes["global_in"] == [1, 9, 9, 2] and shapes[s.output[0]] == [1, 8, 8, 2]
assert [list(inits[n]) for n in s.input[1:]] == [[0, 0], [8, 8], [1, 2]]
[pool] = [n for n in g.node if n.op_type == "MaxPoolNHWC"]
assert shapes[pool.input[0]] == [1, 6, 6, 16] and shapes[pool.output[0]] == [1, 3, 3, 16]
print(check_finn_form(g, shapes))
PY
  [ "$status" -eq 0 ]
  [ "$output" = "['Slice']" ]
}

@test "even maps are not cropped, and a convolutional network keeps its Flatten where FINN removes it" {
  "$PY" "$RANDOM_MODEL" binary-conv 1 r.fbnn r.idx 4
  "$PY" "$EXPORT" r.fbnn -o r.onnx
  "$PY" "$EXPORT" "$MODEL" -o fashion.onnx
  run "$PY" - r.onnx fashion.onnx <<'PY'
import sys
sys.path.insert(0, ".")
from form import load, check_finn_form
g, shapes, _ = load(sys.argv[1])
ops = [n.op_type for n in g.node]
assert ops == ["MultiThreshold", "Im2Col", "MatMul", "MultiThreshold", "MaxPoolNHWC", "Flatten",
               "MatMul", "MultiThreshold", "MatMul", "TopK"], ops
assert check_finn_form(g, shapes) == []
g, shapes, _ = load(sys.argv[2])
assert [n.op_type for n in g.node][0] == "MultiThreshold" and check_finn_form(g, shapes) == []
print("ok")
PY
  [ "$status" -eq 0 ]
  [ "$output" = ok ]
}

@test "the form check refuses what stopped FINN: a Flatten after the input threshold of a dense-only network, an odd pooled map" {
  "$PY" "$RANDOM_MODEL" binary-fc-padded 1 d.fbnn d.idx 4
  "$PY" "$EXPORT" d.fbnn -o d.onnx
  "$PY" "$RANDOM_MODEL" fixed-conv 1 c.fbnn c.idx 4
  "$PY" "$EXPORT" c.fbnn -o c.onnx
  run "$PY" - <<'PY'
import sys
sys.path.insert(0, ".")
from form import load, check_finn_form
# The dense graph as the exporter used to write it: threshold, then Flatten.
g, shapes, _ = load("d.onnx")
g.node[0].op_type, g.node[1].op_type = "MultiThreshold", "Flatten"
try:
    check_finn_form(g, shapes)
    raise SystemExit("dense: accepted")
except AssertionError as e:
    assert "['Flatten']" in str(e), str(e)
# The odd map pooled as it used to be: 7x7 into the MaxPoolNHWC.
g, shapes, _ = load("c.onnx")
[pool] = [n for n in g.node if n.op_type == "MaxPoolNHWC"]
shapes[pool.input[0]] = [1, 7, 7, 16]
try:
    check_finn_form(g, shapes)
    raise SystemExit("odd pool: accepted")
except AssertionError as e:
    assert "'MaxPoolNHWC'" in str(e), str(e)
print("ok")
PY
  [ "$status" -eq 0 ]
  [ "$output" = ok ]
}
