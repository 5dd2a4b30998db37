#!/usr/bin/python3
"""The software baseline for bench/infer.sh: the same binarized network
written plainly in PyTorch on the CPU (float tensors holding +-1 weights,
convolutions, thresholds as comparisons), the kind of baseline the seed
projects measured (Brevitas on a dual-core CPU).

    /usr/bin/python3 bench/infer_torch.py MODEL.fbnn IMAGES FORMAT [THREADS] [LIMIT]

FORMAT is cifar (3073-byte records), idx (IDX images) or raw28 (784-byte
images). Prints one predicted class per line on stdout (to check against
fpga-infer) and "images N seconds S" on stderr.
"""
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F


def load_model(path):
    b = open(path, "rb").read()
    if b[:4] != b"FBNN" or zlib.crc32(b[:-4]) & 0xFFFFFFFF != struct.unpack("<I", b[-4:])[0]:
        raise SystemExit("%s: not a valid .fbnn model" % path)
    ver, h, w, c, mode, ncls, nlay = struct.unpack("<7I", b[4:32])
    pos = 32
    for _ in range(ncls):
        (n,) = struct.unpack("<H", b[pos:pos + 2])
        pos += 2 + n
    layers = []
    for _ in range(nlay):
        kind, cin, cout, flags = struct.unpack("<4I", b[pos:pos + 16])
        pos += 16
        wts = th = None
        if kind != 2:
            fan = 9 * cin if kind == 1 else cin
            words = (fan + 63) // 64
            raw = np.frombuffer(b, dtype=np.uint8, count=cout * words * 8, offset=pos)
            pos += cout * words * 8
            bits = np.unpackbits(raw.reshape(cout, words * 8), axis=1, bitorder="little")[:, :fan]
            wts = bits.astype(np.float32) * 2 - 1
            if flags & 1:
                th = np.frombuffer(b, dtype="<i4", count=cout, offset=pos).astype(np.float64)
                pos += 4 * cout
        layers.append((kind, cin, cout, wts, th))
    return (h, w, c, mode), layers


def build(layers):
    """Torch tensors per layer: conv weights as O x I x 3 x 3 (+-1)."""
    out = []
    for kind, cin, cout, w, th in layers:
        if kind == 1:
            w = torch.from_numpy(w.reshape(cout, 3, 3, cin).transpose(0, 3, 1, 2).copy())
        elif kind == 3:
            w = torch.from_numpy(w.copy())
        t = None if th is None else torch.from_numpy(th).float()
        out.append((kind, w, t))
    return out


def forward(net, x, mode):
    """x: N x C x H x W float; fixed8 input in units of 1/128, binary input +-1."""
    first = True
    for kind, w, t in net:
        if kind == 2:
            x = F.max_pool2d(x, 2)
            continue
        if kind == 1:
            dot = F.conv2d(x, w)
            k = w.shape[1] * 9
        else:
            x = x.permute(0, 2, 3, 1).flatten(1) if x.dim() == 4 else x
            if x.shape[1] < w.shape[1]:                      # LFC pads its input with -1
                x = F.pad(x, (0, w.shape[1] - x.shape[1]), value=-1.0)
            dot = x @ w.t()
            k = w.shape[1]
        if t is None:
            return (dot + k) / 2 if not (first and mode == 0) else dot
        acc = dot if (first and mode == 0) else (dot + k) / 2
        tt = t.view(1, -1, 1, 1) if kind == 1 else t.view(1, -1)
        x = torch.where(acc > tt, 1.0, -1.0)
        first = False


def images(path, fmt, shape, limit):
    h, w, c, mode = shape
    data = open(path, "rb").read()
    if fmt == "cifar":
        n = len(data) // 3073
        a = np.frombuffer(data, dtype=np.uint8, count=n * 3073).reshape(n, 3073)[:, 1:].reshape(n, 3, 32, 32)
    elif fmt == "idx":
        nd = data[3]
        dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
        a = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims[0], 1, dims[1], dims[2])
    else:
        n = len(data) // 784
        a = np.frombuffer(data, dtype=np.uint8, count=n * 784).reshape(n, 1, 28, 28)
    a = a[:limit] if limit else a
    if a.shape[2] < h:                                       # centre, pad with 0 pixels
        p = (h - a.shape[2]) // 2
        a = np.pad(a, ((0, 0), (0, 0), (p, h - a.shape[2] - p), (p, w - a.shape[3] - p)))
    a = a.astype(np.float64)
    if mode == 0:
        x = np.clip(np.round((-1.0 + 2.0 * a / 255.0) * 128.0), -128, 127)
    else:
        x = np.where(a >= 128, 1.0, -1.0)
    return torch.from_numpy(x.astype(np.float32))


def main():
    model, imgs, fmt = sys.argv[1:4]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    limit = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    torch.set_num_threads(threads)
    shape, layers = load_model(model)
    net = build(layers)
    x = images(imgs, fmt, shape, limit)
    t0 = time.time()
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), 100):
            preds.append(forward(net, x[i:i + 100], shape[3]))
    dt = time.time() - t0
    # The first index of the largest score, as fpga-infer and BNN-PYNQ pick
    # (numpy guarantees the first; scores of random images do tie).
    best = np.argmax(torch.cat(preds).numpy(), axis=1)
    sys.stdout.write("".join("%d\n" % p for p in best.tolist()))
    sys.stderr.write("images %d seconds %.3f\n" % (len(x), dt))


if __name__ == "__main__":
    main()
