#!/usr/bin/python3
"""Turn an fpga-tools model (.fbnn) into the ONNX graph FINN's dataflow build
takes, and check it.

    fbnn_to_onnx.py MODEL.fbnn -o OUT.onnx [-f] [--check-images FILE]
                    [--count N] [--reference FILE.pred] [--results FILE]
    fbnn_to_onnx.py MODEL.fbnn --finn-dir DIR --board U250|U50 --check-images FILE ...

The graph is FINN-ONNX as FINN's own Brevitas/QONNX import leaves it after
lowering: NHWC tensors, float32 values carrying integers, FINN data types and
layouts in the graph's quantization annotations (finn_datatype,
tensor_layout), and the custom ops MultiThreshold, Im2Col and MaxPoolNHWC of
the domain qonnx.custom_op.general:

    global_in  UINT8 [1,H,W,C] NHWC  (raw pixels, what idma0 reads)
    dense-only network: Flatten of the raw pixels (FINN removes a Flatten
                     between HW layers only when there is an Im2Col)
    odd map pooled:  Slice of the raw pixels to the rows and columns the
                     output depends on (FINN pools only a map the pool divides)
    MultiThreshold: pixel -> Q1.7 value (INT8), or pixel >= 128 (BIPOLAR)
    per convolution: Im2Col 3x3 -> MatMul (BIPOLAR weights) -> MultiThreshold (BIPOLAR)
    per pool:        MaxPoolNHWC 2x2
    per dense layer: Flatten (the first after a convolution) -> MatMul -> MultiThreshold (BIPOLAR)
    last layer:      MatMul -> TopK k=1 -> global_out (the class, what odma0 writes)

Every check runs before OUT is written (through a temporary file renamed at
the end): onnx.checker, ONNX shape inference in strict mode against the
shapes declared here, and, with --check-images, a numpy evaluation of the
graph read back from its own bytes (the weights and thresholds it carries,
executed with the semantics FINN and QONNX give each op) whose classes must
be exactly the reference predictions (--reference, default MODEL.pred when it
exists) image for image, and in which every tensor holds only values of the
FINN data type it is annotated with. --results writes what `fpga-infer -q -s` prints for
the same images (number, class, name, scores as matching-bit counts), so that
a test can compare the two byte for byte.

Needs Debian's python3-onnx and python3-numpy. Exit status 0 when everything
was written and checked, 1 on any error (one line on standard error, nothing
written, inputs untouched).
"""
import argparse
import gzip
import json
import os
import shutil
import struct
import sys
import tempfile
import zlib

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # reported by main() as a one-line error
    onnx = None

PROG = "fbnn_to_onnx"
HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "qonnx.custom_op.general"
OPSET = 11
CONV, POOL, FC = 1, 2, 3
FIXED8, BINARY = 0, 1
MAX_MODEL_BYTES = 256 << 20
EXACT = 1 << 24                    # float32 holds every integer below this


class Failure(Exception):
    """One-line error: 'PATH: problem'."""


def fail(path, why):
    raise Failure("%s: %s" % (path, why))


# ---------------------------------------------------------------- the model

class Layer:
    def __init__(self, kind, cin, cout):
        self.kind, self.cin, self.cout = kind, cin, cout
        self.signs = None          # cout x fan_in, +-1 (int8)
        self.thresholds = None     # cout int64: output bit = acc > T

    @property
    def fan_in(self):
        return 9 * self.cin if self.kind == CONV else self.cin


class Model:
    pass


def read_model(path):
    """Parses and checks a .fbnn file (fpga-infer(1), MODEL FORMAT)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_MODEL_BYTES + 1)
    except OSError as e:
        fail(path, e.strerror or str(e))
    if len(data) > MAX_MODEL_BYTES:
        fail(path, "model: larger than 256 MiB, the most a model may have (not a model?)")
    pos = 0

    def take(n, what):
        nonlocal pos
        if len(data) - pos < n:
            fail(path, "model: file ends inside the %s (truncated?)" % what)
        b = data[pos:pos + n]
        pos += n
        return b

    def u32(what):
        return struct.unpack("<I", take(4, what))[0]

    if take(4, "header") != b"FBNN":
        fail(path, "model: not an fpga-tools model (no FBNN magic)")
    version = u32("header")
    if version != 1:
        fail(path, "model: format version %d is not supported (this reads version 1)" % version)
    if len(data) < 8 or zlib.crc32(data[:-4]) & 0xFFFFFFFF != struct.unpack("<I", data[-4:])[0]:
        fail(path, "model: CRC-32 mismatch (damaged or truncated file)")
    m = Model()
    m.height, m.width, m.channels, m.mode = (u32("header") for _ in range(4))
    nclasses, nlayers = u32("header"), u32("header")
    if m.mode not in (FIXED8, BINARY):
        fail(path, "model: unknown input mode %d" % m.mode)
    if not (0 < m.height <= 4096 and 0 < m.width <= 4096 and 0 < m.channels <= 4096) or \
            m.height * m.width * m.channels > 1 << 24:
        fail(path, "model: bad input shape (at most 4096x4096, 2^24 values)")
    if not 0 < nclasses <= 1 << 16:
        fail(path, "model: bad number of classes")
    if not 0 < nlayers <= 1024:
        fail(path, "model: bad number of layers")
    m.classes = []
    for _ in range(nclasses):
        n = struct.unpack("<H", take(2, "class names"))[0]
        m.classes.append(take(n, "class names").decode("utf-8", "replace"))
    m.layers = []
    for i in range(nlayers):
        kind, cin, cout, flags = (u32("layer header") for _ in range(4))
        if kind not in (CONV, POOL, FC):
            fail(path, "model: layer %d: unknown kind %d" % (i, kind))
        if cin > 1 << 18 or cout > 1 << 18 or flags > 1 or (kind == POOL and flags):
            fail(path, "model: layer %d: bad size or flags" % i)
        layer = Layer(kind, cin, cout)
        if kind != POOL:
            words = (layer.fan_in + 63) // 64
            raw = take(cout * words * 8, "weights")
            bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8).reshape(cout, words * 8),
                                 axis=1, bitorder="little")
            if bits[:, layer.fan_in:].any():
                fail(path, "model: layer %d: weight bits beyond the fan-in" % i)
            layer.signs = np.where(bits[:, :layer.fan_in] == 1, 1, -1).astype(np.int8)
            if flags:
                layer.thresholds = np.frombuffer(take(4 * cout, "thresholds"), dtype="<i4").astype(np.int64)
        m.layers.append(layer)
    if len(data) - pos != 4:
        fail(path, "model: %d bytes after the last layer" % (len(data) - pos - 4))
    check_chain(m, path)
    return m


def check_chain(m, path):
    """The layer chain against the input shape, as the C++ loader checks it."""
    h, w, c = m.height, m.width, m.channels
    for i, l in enumerate(m.layers):
        at = "model: layer %d: " % i
        last = i + 1 == len(m.layers)
        if l.kind == CONV:
            if last:
                fail(path, at + "the last layer must be fully connected (a convolution gives a map, not class scores)")
            if l.cin != c:
                fail(path, at + "takes %d channels, gets %d" % (l.cin, c))
            if h < 3 or w < 3:
                fail(path, at + "map smaller than 3x3")
            h, w, c = h - 2, w - 2, l.cout
        elif l.kind == POOL:
            if i == 0:
                fail(path, at + "the first layer must compute")
            if l.cin != c or l.cout != c:
                fail(path, at + "pooling keeps the channels")
            if h < 2 or w < 2:
                fail(path, at + "map smaller than 2x2")
            h, w = h // 2, w // 2
            continue
        else:
            if (l.cin < h * w * c) if i == 0 else (l.cin != h * w * c):
                fail(path, at + "takes %d inputs, gets %d" % (l.cin, h * w * c))
            h, w, c = 1, 1, l.cout
        if l.cin == 0 or l.cout == 0:
            fail(path, at + "bad size")
        if last != (l.thresholds is None):
            fail(path, at + ("the last layer gives scores, not bits" if last else "no thresholds"))
        if last and l.cout != len(m.classes):
            fail(path, at + "has %d outputs for %d classes" % (l.cout, len(m.classes)))
    if m.layers[-1].kind == POOL:
        fail(path, "model: the last layer must compute scores")


def fixed8_table():
    """pixel -> Q1.7 of -1 + 2p/255 in units of 1/128, rounded to nearest
    (no ties: 255 is odd) and saturated, as the engine computes it."""
    q = []
    for p in range(256):
        num = (2 * p - 255) * 128
        v = (num + 127) // 255 if num >= 0 else -((-num + 127) // 255)
        q.append(max(-128, min(127, v)))
    return q


# ---------------------------------------------------------------- the graph

def smallest_int_type(lo, hi):
    for bits in (8, 16, 32):
        if -(1 << (bits - 1)) <= lo and hi < 1 << (bits - 1):
            return "INT%d" % bits
    raise ValueError("threshold out of the 32-bit range")


def used_extent(m):
    """The rows and columns of the input the network's output depends on:
    all of them, except where a 2x2 pool floors an odd map, whose last row
    or column no output reads. Walked back from the last map: a valid 3x3
    convolution reads 2 more than it gives, a pool twice what it gives."""
    h, w = m.height, m.width
    sizes = []
    for l in m.layers:
        if l.kind == FC:
            break
        sizes.append((h, w))
        h, w = (h - 2, w - 2) if l.kind == CONV else (h // 2, w // 2)
    for l in reversed(m.layers[:len(sizes)]):
        h, w = (h + 2, w + 2) if l.kind == CONV else (2 * h, 2 * w)
    return h, w


def build_graph(m, path):
    """The FINN-ONNX model of m. Thresholds become FINN's 'x >= t' on the
    dot product of +-1 values: for an 8-bit first layer the dot is the sum in
    units of 1/128 (acc > T <=> dot >= T + 1); for binary input it is
    2 * matches - K (matches > T <=> dot >= 2(T + 1) - K). They are clipped to
    the dot's range plus one, which changes no comparison and keeps every
    value exact in float32."""
    weights = sum(l.cout * l.fan_in for l in m.layers if l.kind != POOL)
    if weights * 4 > 1900 << 20:
        fail(path, "model: %d weights take more than the 2 GB an ONNX file can hold as float32" % weights)
    nodes, inits, infos, annotations = [], [], {}, []
    names = iter(range(1 << 30))

    def tensor(name, shape, dtype=None, layout=None):
        infos[name] = shape
        if dtype or layout:
            annotations.append((name, dtype, layout))
        return name

    def init(name, array, dtype):
        inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        annotations.append((name, dtype, None))
        return name

    def init_int(name, values):
        inits.append(numpy_helper.from_array(np.array(values, dtype=np.int64), name))
        return name

    def fresh(stem):
        return "%s_%d" % (stem, next(names))

    def threshold_node(x, shape, t, odt, scale, bias, nhwc):
        t = np.asarray(t, dtype=np.int64)
        tname = init(fresh("thresholds"), t, smallest_int_type(int(t.min()), int(t.max())))
        y = tensor(fresh("act"), shape, odt, ["N", "H", "W", "C"] if nhwc else ["N", "C"])
        attrs = dict(out_dtype=odt, out_scale=float(scale), out_bias=float(bias))
        if nhwc:
            attrs["data_layout"] = "NHWC"
        nodes.append(helper.make_node("MultiThreshold", [x, tname], [y], domain=DOMAIN,
                                      name=fresh("MultiThreshold"), **attrs))
        return y

    h, w, c = m.height, m.width, m.channels
    x = tensor("global_in", [1, h, w, c], "UINT8", ["N", "H", "W", "C"])
    # FINN's step_convert_to_hw turns the input MultiThreshold into a
    # Thresholding layer and every layer after it into a HW layer, but removes
    # a Flatten only when the graph has an Im2Col (need_conv) and converts a
    # MaxPoolNHWC only when the map divides by the pool. A node left between
    # two HW layers stops create_dataflow_partition, so every reshaping the
    # network needs that FINN would not convert is done here on the raw
    # pixels, before the input threshold: a dense-only network flattens its
    # input first, and a network that pools an odd map is cropped to the
    # pixels its output depends on (valid 3x3 convolutions and floor pooling
    # never read the last row or column of an odd map), which makes every
    # pooled map even. A node before the first HW layer stays in FINN's
    # parent graph, outside the accelerator.
    dense_only = m.layers[0].kind == FC
    need_h, need_w = used_extent(m)
    if (need_h, need_w) != (h, w):
        starts = init_int(fresh("starts"), [0, 0])
        ends = init_int(fresh("ends"), [need_h, need_w])
        axes = init_int(fresh("axes"), [1, 2])
        h, w = need_h, need_w
        y = tensor(fresh("cropped"), [1, h, w, c], "UINT8", ["N", "H", "W", "C"])
        nodes.append(helper.make_node("Slice", [x, starts, ends, axes], [y], name=fresh("Slice")))
        x = y
    shape, channels, nhwc = [1, h, w, c], c, True
    if dense_only:
        y = tensor(fresh("flat"), [1, h * w * c], "UINT8", ["N", "C"])
        nodes.append(helper.make_node("Flatten", [x], [y], axis=1, name=fresh("Flatten")))
        x, shape, channels, nhwc = y, [1, h * w * c], h * w * c, False
    if m.mode == FIXED8:
        q = fixed8_table()
        # Output q + 128 = how many of the 255 thresholds p reaches: threshold
        # k (1..255) is the first pixel whose q + 128 is at least k.
        # One row a channel (the same row): FINN's Thresholding layer then
        # needs no broadcasting.
        t = [min(p for p in range(256) if q[p] + 128 >= k) for k in range(1, 256)]
        x = threshold_node(x, shape, [t] * channels, "INT8", 1, -128, nhwc)
        bipolar, lo, hi = False, -128, 127
    else:
        x = threshold_node(x, shape, [[128]] * channels, "BIPOLAR", 2, -1, nhwc)
        bipolar, lo, hi = True, -1, 1
    spatial = not dense_only
    for i, l in enumerate(m.layers):
        last = i + 1 == len(m.layers)
        if l.kind == POOL:
            h, w = h // 2, w // 2
            y = tensor(fresh("pool"), [1, h, w, c], "BIPOLAR", ["N", "H", "W", "C"])
            nodes.append(helper.make_node("MaxPoolNHWC", [x], [y], domain=DOMAIN, name=fresh("MaxPoolNHWC"),
                                          kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]))
            x = y
            continue
        signs = l.signs.astype(np.int64)
        used = l.fan_in
        if l.kind == CONV:
            patches = tensor(fresh("patches"), [1, h - 2, w - 2, 9 * c], "BIPOLAR" if bipolar else "INT8",
                             ["N", "H", "W", "C"])
            nodes.append(helper.make_node("Im2Col", [x], [patches], domain=DOMAIN, name=fresh("Im2Col"),
                                          stride=[1, 1], kernel_size=[3, 3],
                                          input_shape="(1, %d, %d, %d)" % (h, w, c)))
            x, h, w, c = patches, h - 2, w - 2, l.cout
            out_shape = [1, h, w, c]
        else:
            if spatial:
                flat = tensor(fresh("flat"), [1, h * w * c], "BIPOLAR" if bipolar else "INT8", ["N", "C"])
                nodes.append(helper.make_node("Flatten", [x], [flat], axis=1, name=fresh("Flatten")))
                x, spatial, used = flat, False, h * w * c
            if i == 0:                        # flattened on the raw input
                used = h * w * c
            h, w, c = 1, 1, l.cout
            out_shape = [1, c]
        # A first dense layer wider than the image: the extra inputs are 0
        # bits (-1, contributing -w each) in binary mode, 0 in 8-bit mode.
        pad = signs[:, used:].sum(axis=1) * -1 if bipolar else np.zeros(l.cout, dtype=np.int64)
        if used < l.fan_in and last and pad.any():
            fail(path, "model: a one-layer network with padded inputs cannot be exported")
        wname = init(fresh("weights"), signs[:, :used].T.copy(), "BIPOLAR")
        dot = tensor(fresh("dot"), out_shape, "INT32", ["N", "H", "W", "C"] if len(out_shape) == 4 else ["N", "C"])
        nodes.append(helper.make_node("MatMul", [x, wname], [dot], name=fresh("MatMul")))
        dot_hi = used * max(-lo, hi)                # weights +-1: |dot| <= used * max|x|
        dot_lo = -dot_hi
        if max(abs(dot_lo), dot_hi) + 2 >= EXACT:
            fail(path, "model: layer %d: sums too large for exact float32" % i)
        if last:
            x = dot
            break
        if bipolar:
            t = 2 * (l.thresholds + 1) - l.fan_in - pad    # dot_used + pad >= 2(T+1) - K
        else:
            t = l.thresholds + 1
        t = np.clip(t, dot_lo, dot_hi + 1).reshape(-1, 1)
        x = threshold_node(dot, out_shape, t, "BIPOLAR", 2, -1, len(out_shape) == 4)
        bipolar, lo, hi = True, -1, 1
    k = "k_1"
    inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), k))
    values = tensor("topk_values", [1, 1])
    out_type = "UINT8" if len(m.classes) <= 256 else "UINT16" if len(m.classes) <= 65536 else "UINT32"
    out = tensor("global_out", [1, 1], out_type, ["N", "C"])
    nodes.append(helper.make_node("TopK", [x, k], [values, out], axis=-1, largest=1, sorted=1, name="TopK_0"))

    graph = helper.make_graph(
        nodes, "fbnn", [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, infos["global_in"])],
        [helper.make_tensor_value_info("global_out", TensorProto.INT64, infos["global_out"])],
        initializer=inits,
        value_info=[helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
                    for n, s in infos.items() if n not in ("global_in", "global_out")])
    for name, dtype, layout in annotations:
        a = onnx.TensorAnnotation()
        a.tensor_name = name
        if dtype:
            a.quant_parameter_tensor_names.add(key="finn_datatype", value=dtype)
        if layout:
            a.quant_parameter_tensor_names.add(key="tensor_layout", value=str(layout))
        graph.quantization_annotation.append(a)
    model = helper.make_model(graph, producer_name="fpga-tools fbnn_to_onnx",
                              opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(DOMAIN, 1)])
    model.ir_version = 7
    helper.set_model_props(model, {"classes": json.dumps(m.classes), "fbnn_input_mode":
                                   "fixed8" if m.mode == FIXED8 else "binary"})
    return model


def check_structure(model, where):
    """onnx.checker, then strict shape inference, which must agree with every
    shape declared (custom ops keep their declared outputs)."""
    try:
        onnx.checker.check_model(model, full_check=True)
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as e:  # onnx raises several types; all mean the same here
        fail(where, "ONNX check failed: %s" % str(e).strip().splitlines()[0])
    declared = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in
                list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)}
    for v in list(inferred.graph.value_info) + list(inferred.graph.output):
        shape = [d.dim_value for d in v.type.tensor_type.shape.dim]
        if v.name in declared and shape != declared[v.name]:
            fail(where, "shape inference gives %s %s, the export declared %s" % (v.name, shape, declared[v.name]))


# ---------------------------------------------------------------- numpy evaluation

def evaluate(model, images):
    """Runs the ONNX graph on images (N x H x W x C uint8) with numpy, every
    op as FINN documents it, reading only what the graph carries. Dimension 0
    is the batch. Returns {tensor name: array}. Sums stay below 2^24, so
    float32 is exact."""
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env["global_in"] = images.astype(np.float32)
    for node in model.graph.node:
        a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
        ins = [env[n] for n in node.input]
        op = node.op_type
        if op == "MultiThreshold":
            v, t = ins
            layout = a.get("data_layout", b"NCHW")
            chan_last = v.ndim == 2 or layout == b"NHWC"
            if not chan_last:
                raise Failure("MultiThreshold: only NHWC or 2D inputs are evaluated here")
            count = (v[..., None] >= (t if t.shape[0] > 1 else t[0])).sum(axis=-1)
            y = a.get("out_scale", 1.0) * count + a.get("out_bias", 0.0)
        elif op == "Im2Col":
            kh, kw = a["kernel_size"]
            if list(a["stride"]) != [1, 1] or list(a.get("pad_amount", [0, 0, 0, 0])) != [0, 0, 0, 0]:
                raise Failure("Im2Col: only stride 1 without padding is evaluated here")
            v = ins[0]
            n, hh, ww, cc = v.shape
            oh, ow = hh - kh + 1, ww - kw + 1
            # Patch element order (ky, kx, c), c fastest: FINN's documented order.
            y = np.empty((n, oh, ow, kh * kw * cc), dtype=np.float32)
            for ky in range(kh):
                for kx in range(kw):
                    j = (ky * kw + kx) * cc
                    y[..., j:j + cc] = v[:, ky:ky + oh, kx:kx + ow, :]
        elif op == "MatMul":
            y = ins[0] @ ins[1]
        elif op == "MaxPoolNHWC":
            kh, kw = a["kernel_shape"]
            if list(a["strides"]) != [kh, kw] or any(a["pads"]):
                raise Failure("MaxPoolNHWC: only stride = kernel without padding is evaluated here")
            v = ins[0]
            n, hh, ww, cc = v.shape
            oh, ow = hh // kh, ww // kw
            y = v[:, :oh * kh, :ow * kw, :].reshape(n, oh, kh, ow, kw, cc).max(axis=(2, 4))
        elif op == "Slice":
            v, starts, ends = ins[:3]
            axes = ins[3] if len(ins) > 3 else range(len(starts))
            if len(ins) > 4 and (ins[4] != 1).any():
                raise Failure("Slice: only step 1 is evaluated here")
            cut = [slice(None)] * v.ndim
            for a, b, e in zip(axes, starts, ends):
                cut[int(a)] = slice(int(b), int(e))
            y = v[tuple(cut)]
        elif op == "Flatten":
            y = ins[0].reshape(ins[0].shape[0], -1)
        elif op == "TopK":
            if int(ins[1][0]) != 1:
                raise Failure("TopK: only k = 1 is evaluated here")
            # Ties: the lower index first (ONNX TopK), as argmax takes the first.
            idx = ins[0].argmax(axis=-1)[:, None]
            env[node.output[0]] = np.take_along_axis(ins[0], idx, axis=-1)
            y = idx.astype(np.int64)
            node_out = node.output[1]
            env[node_out] = y
            continue
        else:
            raise Failure("no numpy evaluation for op %s" % op)
        if op in ("MatMul",) and np.abs(y).max(initial=0) >= EXACT:
            raise Failure("%s: a sum reaches 2^24; float32 would round it" % node.name)
        env[node.output[0]] = y.astype(np.float32)
    return env


def scores_tensor(model):
    """The TopK input: the last layer's dot products."""
    return [n for n in model.graph.node if n.op_type == "TopK"][0].input[0]


# ---------------------------------------------------------------- images

def read_images(path, count, m):
    """The first `count` images of an IDX file (gzip too) or CIFAR-10 binary
    records, as N x H x W x C uint8 for the model; smaller images are centred
    and padded with 0 pixels as fpga-infer does."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        fail(path, e.strerror or str(e))
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            fail(path, "gzip: %s" % e)
    if len(data) >= 4 and data[:3] == b"\0\0\x08" and 1 <= data[3] <= 4:
        nd = data[3]
        if len(data) < 4 + 4 * nd:
            fail(path, "IDX header truncated")
        dims = struct.unpack(">%dI" % nd, data[4:4 + 4 * nd])
        if nd < 3:
            fail(path, "IDX file of %d dimensions, not images (N x H x W or N x H x W x C)" % nd)
        if 0 in dims[1:]:
            fail(path, "IDX images of size 0")
        shape = dims[1:] + ((1,) if nd == 3 else ())
        per = int(np.prod(shape))
        body = data[4 + 4 * nd:]
        if len(body) != dims[0] * per:
            fail(path, "IDX data does not match its header (%d bytes, the header declares %d)" % (len(body), dims[0] * per))
        imgs = np.frombuffer(body, dtype=np.uint8).reshape((dims[0],) + tuple(shape))
    elif len(data) and len(data) % 3073 == 0:
        rec = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3073)
        imgs = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)    # planar RGB -> HWC
    else:
        fail(path, "neither IDX images nor CIFAR-10 binary records")
    imgs = imgs[:count]
    if len(imgs) == 0:
        fail(path, "no images")
    n, h, w, c = imgs.shape
    if c != m.channels or h > m.height or w > m.width:
        fail(path, "%dx%dx%d images do not fit the model's %dx%dx%d input" % (h, w, c, m.height, m.width, m.channels))
    out = np.zeros((n, m.height, m.width, c), dtype=np.uint8)
    top, left = (m.height - h) // 2, (m.width - w) // 2
    out[:, top:top + h, left:left + w, :] = imgs
    return out


# ---------------------------------------------------------------- main

def check_shapes(model, env):
    """Every tensor the evaluation produced has the shape the graph declares
    (batch dimension aside): the custom ops' outputs, which ONNX shape
    inference cannot see, included."""
    declared = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in
                list(model.graph.value_info) + list(model.graph.output)}
    for name, shape in declared.items():
        if name not in env or list(env[name].shape[1:]) != shape[1:]:
            got = list(env[name].shape[1:]) if name in env else "nothing"
            raise Failure("%s: the graph declares %s, its evaluation gives %s" % (name, shape[1:], got))


def type_range(name):
    """The integers a FINN data type holds: (min, max)."""
    if name == "BIPOLAR":
        return -1, 1
    if name == "BINARY":
        return 0, 1
    bits = int(name.lstrip("UINT"))
    if name.startswith("UINT"):
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def check_types(model, env):
    """Every annotated tensor (activations, weights, thresholds) holds only
    values of its FINN data type: FINN sizes the hardware from these
    annotations, so a wrong one would overflow on the card, not here."""
    for a in model.graph.quantization_annotation:
        dtype = {e.key: e.value for e in a.quant_parameter_tensor_names}.get("finn_datatype")
        if dtype is None or a.tensor_name not in env:
            continue
        v = env[a.tensor_name]
        lo, hi = type_range(dtype)
        if v.size and (v.min() < lo or v.max() > hi or (v != np.round(v)).any() or
                       (dtype == "BIPOLAR" and not np.isin(v, (-1, 1)).all())):
            raise Failure("%s: annotated %s, holds values in [%s, %s]" % (a.tensor_name, dtype, v.min(), v.max()))


def check_predictions(model, m, images, reference, results, ref_path):
    """Evaluates in batches; compares the classes with the reference."""
    scores_name = scores_tensor(model)
    last = m.layers[-1]
    binary_last = not (m.mode == FIXED8 and len([l for l in m.layers if l.kind != POOL]) == 1)
    classes, lines = [], []
    for s in range(0, len(images), 50):
        env = evaluate(model, images[s:s + 50])
        if s == 0:
            check_shapes(model, env)
        check_types(model, env)
        cls = env["global_out"][:, 0]
        dots = env[scores_name].astype(np.int64)
        # fpga-infer's scores: matching bits, (dot + K) / 2, for binary input.
        sc = (dots + last.fan_in) // 2 if binary_last else dots
        for j in range(len(cls)):
            k = s + j
            classes.append(int(cls[j]))
            if results is not None:
                lines.append("%d\t%d\t%s\t%s\n" % (k, cls[j], m.classes[cls[j]], "\t".join(str(v) for v in sc[j])))
    if reference is not None:
        for k, (got, want) in enumerate(zip(classes, reference)):
            if got != want:
                fail(ref_path, "image %d: the ONNX graph predicts class %d, the reference %d" % (k, got, want))
    return classes, "".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description="Export an fpga-tools model (.fbnn) as FINN-ONNX and check it.")
    ap.add_argument("model")
    ap.add_argument("-o", "--output", help="the .onnx file to write")
    ap.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    ap.add_argument("--check-images", help="IDX (gzip too) or CIFAR-10 binary images to evaluate the graph on")
    ap.add_argument("--count", type=int, default=1000, help="how many of them (default 1000)")
    ap.add_argument("--reference", help="expected classes, one byte an image (default MODEL.pred if it exists)")
    ap.add_argument("--results", help="write fpga-infer -q -s style lines for the checked images")
    ap.add_argument("--finn-dir", help="write a FINN build folder: model.onnx, dataflow_build_config.json, "
                                       "input.npy, expected_output.npy")
    ap.add_argument("--board", choices=["U250", "U50"], default="U250", help="with --finn-dir (default U250)")
    args = ap.parse_args(argv)
    try:
        if onnx is None:
            raise Failure("python3-onnx is not installed (apt-get install python3-onnx)")
        if bool(args.output) == bool(args.finn_dir):
            raise Failure("give one of -o FILE or --finn-dir DIR")
        if args.count < 1:
            raise Failure("--count must be at least 1")
        if args.results and not args.check_images:
            raise Failure("--results needs --check-images")
        if args.finn_dir and not args.check_images:
            raise Failure("--finn-dir needs --check-images (FINN's verification inputs come from them)")
        targets = [args.output] if args.output else [os.path.join(args.finn_dir, n) for n in
                                                    ("model.onnx", "dataflow_build_config.json",
                                                     "input.npy", "expected_output.npy")]
        if args.results:
            targets.append(args.results)
        for t in targets:
            if os.path.lexists(t) and not args.force:
                raise Failure("%s: File exists (use -f to overwrite)" % t)
        m = read_model(args.model)
        model = build_graph(m, args.model)
        blob = model.SerializeToString()
        where = args.output or os.path.join(args.finn_dir, "model.onnx")
        check_structure(model, where)
        reread = onnx.load_from_string(blob)          # evaluate what is written, not the builder's objects
        results_text = None
        staged = {}
        if args.check_images:
            images = read_images(args.check_images, args.count, m)
            ref_path = args.reference or (args.model + ".pred" if os.path.exists(args.model + ".pred") else None)
            reference = None
            if ref_path:
                try:
                    with open(ref_path, "rb") as f:
                        reference = list(f.read())
                except OSError as e:
                    fail(ref_path, e.strerror or str(e))
                if len(reference) < len(images):
                    fail(ref_path, "%d predictions for %d images" % (len(reference), len(images)))
            classes, results_text = check_predictions(reread, m, images, reference, args.results, ref_path)
            note = ("the same classes as %s" % ref_path) if reference is not None else "no reference to compare"
            print("%s: %d images evaluated with numpy from the ONNX graph: %s" % (where, len(images), note),
                  file=sys.stderr)
            if args.finn_dir:
                nv = min(10, len(images))
                staged["input.npy"] = images[:nv].astype(np.float32)
                staged["expected_output.npy"] = np.array(classes[:nv], dtype=np.float32).reshape(nv, 1)
        else:
            print("%s: structure checked; no --check-images, so no prediction check" % where, file=sys.stderr)
        write_outputs(args, blob, staged, results_text)
    except Failure as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 1
    return 0


def write_outputs(args, blob, staged, results_text):
    """Everything to temporary files first, renamed only when all are ready."""
    pending = []
    try:
        def stage(path, write):
            d = os.path.dirname(os.path.abspath(path))
            fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=d)
            pending.append((tmp, path))
            with os.fdopen(fd, "wb") as f:
                write(f)

        if args.finn_dir:
            os.makedirs(args.finn_dir, exist_ok=True)
            config = os.path.join(HERE, "finn", "%s.json" % args.board.lower())
            with open(config, "rb") as f:
                cfg = f.read()
            json.loads(cfg)
            stage(os.path.join(args.finn_dir, "model.onnx"), lambda f: f.write(blob))
            stage(os.path.join(args.finn_dir, "dataflow_build_config.json"), lambda f: f.write(cfg))
            for name, arr in staged.items():
                stage(os.path.join(args.finn_dir, name), lambda f, a=arr: np.save(f, a))
        else:
            stage(args.output, lambda f: f.write(blob))
        if args.results:
            stage(args.results, lambda f: f.write(results_text.encode()))
        for tmp, path in pending:
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        pending.clear()
    except OSError as e:
        raise Failure("%s: %s" % (e.filename or "output", e.strerror or str(e)))
    finally:
        for tmp, _ in pending:
            try:
                os.unlink(tmp)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
