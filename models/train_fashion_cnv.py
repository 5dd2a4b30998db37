#!/usr/bin/python3
"""Train a CNV-W1A1-topology binarized network on Fashion-MNIST and export it
in the fpga-tools model format (.fbnn, fpga-infer(1)).

    /usr/bin/python3 models/train_fashion_cnv.py [--epochs N] [--out models/fashion-cnv.fbnn]

Needs Debian's python3-torch, python3-numpy and dataset-fashion-mnist
(`make model` installs them). Images are padded from 28x28 to 32x32 with 0
pixels and quantised exactly as the engine does (Q1.7 of -1 + 2p/255). Weights
and activations are binarized with a straight-through estimator; batch-norm +
sign fold into one integer threshold per channel at export.

Besides the model it writes FILE.pred: one byte per test image, the class this
script's own binarized evaluation predicts (in float64, with the folded
thresholds). fpga-infer must predict the same (tests/cli/infer/cli.bats).
"""
import argparse
import gzip
import math
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CONV = [(1, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256)]
POOL_AFTER = {1, 3}
FC = [(256, 512), (512, 512), (512, 10)]


def load_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def quantise(images):
    """uint8 N x 28 x 28 -> float N x 1 x 32 x 32: Q1.7 of -1 + 2p/255, padded with p = 0."""
    padded = np.zeros((images.shape[0], 32, 32), dtype=np.uint8)
    padded[:, 2:30, 2:30] = images
    q = np.clip(np.round((-1.0 + 2.0 * padded.astype(np.float64) / 255.0) * 128.0), -128, 127)
    return torch.from_numpy((q / 128.0).astype(np.float32)).unsqueeze(1)


class SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


sign = SignSTE.apply


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.ParameterList([nn.Parameter(torch.randn(o, i, 3, 3) * 0.1) for i, o in CONV])
        self.cbn = nn.ModuleList([nn.BatchNorm2d(o) for _, o in CONV])
        self.fc = nn.ParameterList([nn.Parameter(torch.randn(o, i) * 0.1) for i, o in FC])
        self.fbn = nn.ModuleList([nn.BatchNorm1d(o) for _, o in FC[:-1]])
        self.scale = nn.Parameter(torch.tensor(0.1))

    def forward(self, x):
        for i, w in enumerate(self.conv):
            x = sign(self.cbn[i](F.conv2d(x, sign(w))))
            if i in POOL_AFTER:
                x = F.max_pool2d(x, 2)
        x = x.flatten(1)
        for i, w in enumerate(self.fc):
            x = F.linear(x, sign(w))
            if i < len(self.fbn):
                x = sign(self.fbn[i](x))
        return x * self.scale


def fold(bn, fan_in, first):
    """Per channel: (flip, T). The output bit is acc > T on the integer
    accumulator of weights multiplied by -1 where flip (so bit 1 means +1).
    First layer: acc = sum of +-q, q the input in units of 1/128, dot = acc/128.
    Others: acc = matching bits m, dot = 2m - K."""
    g = bn.weight.detach().double().numpy()
    b = bn.bias.detach().double().numpy()
    mu = bn.running_mean.double().numpy()
    sd = np.sqrt(bn.running_var.double().numpy() + bn.eps)
    out = []
    big = 2**31 - 1
    for c in range(len(g)):
        s = g[c] / sd[c]
        if s == 0:
            out.append((False, -big - 1 if b[c] >= 0 else big))
            continue
        t = mu[c] - b[c] / s          # y >= 0  <=>  dot >= t (s > 0) or dot <= t (s < 0)
        flip = s < 0
        if flip:
            t = -t                    # -dot >= -t
        if first:
            T = math.ceil(128.0 * t) - 1
        else:
            T = math.ceil((t + fan_in) / 2.0) - 1
        out.append((flip, int(max(-big - 1, min(big, T)))))
    return out


def pack_rows(signs):
    """signs: out x fan_in array of +-1 -> bytes of u64 words, bit j of word w = synapse 64w + j is +1."""
    out_n, fan_in = signs.shape
    words = (fan_in + 63) // 64
    bits = np.zeros((out_n, words * 64), dtype=np.uint8)
    bits[:, :fan_in] = signs > 0
    return np.packbits(bits, axis=1, bitorder="little").tobytes()   # little-endian u64 words


def export(net, path):
    """Writes the .fbnn model and returns the per-layer (signs, thresholds) used
    by the float64 evaluation."""
    net.eval()
    layers = []
    blob = bytearray()
    blob += b"FBNN" + struct.pack("<IIIIII", 1, 32, 32, 1, 0, len(CLASSES))
    kinds = []
    for i, (ci, co) in enumerate(CONV):
        w = torch.where(net.conv[i].detach() >= 0, 1.0, -1.0).double().numpy()   # o, i, ky, kx
        w = w.transpose(0, 2, 3, 1).reshape(co, 9 * ci)                          # k = (ky*3+kx)*IC + ic
        th = fold(net.cbn[i], 9 * ci, i == 0)
        for c, (flip, _) in enumerate(th):
            if flip:
                w[c] = -w[c]
        kinds.append((1, ci, co, w, [t for _, t in th]))
        if i in POOL_AFTER:
            kinds.append((2, co, co, None, None))
    for i, (fi, fo) in enumerate(FC):
        w = torch.where(net.fc[i].detach() >= 0, 1.0, -1.0).double().numpy()
        if i < len(net.fbn):
            th = fold(net.fbn[i], fi, False)
            for c, (flip, _) in enumerate(th):
                if flip:
                    w[c] = -w[c]
            kinds.append((3, fi, fo, w, [t for _, t in th]))
        else:
            kinds.append((3, fi, fo, w, None))
    blob += struct.pack("<I", len(kinds))
    for name in CLASSES:
        e = name.encode()
        blob += struct.pack("<H", len(e)) + e
    for kind, ci, co, w, th in kinds:
        blob += struct.pack("<IIII", kind, ci, co, 1 if th is not None else 0)
        if w is not None:
            blob += pack_rows(w)
        if th is not None:
            blob += struct.pack("<%di" % len(th), *th)
        layers.append((kind, ci, co, w, th))
    blob += struct.pack("<I", zlib.crc32(bytes(blob)) & 0xFFFFFFFF)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(blob)
    os.replace(tmp, path)
    return layers


def integer_eval(layers, x_q):
    """The exported network on exact integers (float32 holds them exactly
    here: no accumulator exceeds 2^24): x_q is N x 1 x 32 x 32 in units of
    1/128. Returns the scores (N x classes) as the engine computes them."""
    a = x_q
    first = True
    for kind, ci, co, w, th in layers:
        if kind == 2:
            a = F.max_pool2d(a, 2)
            continue
        if kind == 1:
            wt = torch.from_numpy(w.reshape(co, 3, 3, ci).transpose(0, 3, 1, 2).copy()).float()
            dot = F.conv2d(a, wt)
        else:
            a = a.flatten(1)                                   # 1x1 maps: channel order
            dot = a @ torch.from_numpy(w.T.copy()).float()
        if th is None:
            return dot.double().numpy()
        acc = dot.double() if first else (dot.double() + w.shape[1]) / 2.0
        t = torch.tensor(th, dtype=torch.float64)
        if kind == 1:
            t = t.view(1, -1, 1, 1)
        a = torch.where(acc > t, 1.0, -1.0).float()
        first = False
    raise ValueError("network has no score layer")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--shift", type=int, default=2, help="random shifts of up to N pixels (at most 2)")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only (smoke tests)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "fashion-cnv.fbnn"))
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)

    xtr = quantise(load_idx("train-images-idx3-ubyte.gz"))
    ytr = torch.from_numpy(load_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    test_u8 = load_idx("t10k-images-idx3-ubyte.gz")
    xte = quantise(test_u8)
    yte = load_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    steps = args.epochs * (len(xtr) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    for epoch in range(args.epochs):
        net.train()
        t0 = time.time()
        perm = torch.randperm(len(xtr))
        total = correct = 0
        for b in range(len(xtr) // args.batch):
            idx = perm[b * args.batch:(b + 1) * args.batch]
            x, y = xtr[idx], ytr[idx]
            flip = torch.rand(len(idx)) < 0.5                  # mirror half the images
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            if args.shift:
                # Move the batch by up to 2 pixels: within the 2-pixel border
                # of padding, so rolling wraps only padding around.
                dy, dx = np.random.randint(-args.shift, args.shift + 1, size=2)
                x = torch.roll(x, shifts=(int(dy), int(dx)), dims=(2, 3))
            out = net(x)
            loss = F.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():                               # latent weights stay in [-1, 1]
                for p in list(net.conv) + list(net.fc):
                    p.clamp_(-1, 1)
            correct += (out.argmax(1) == y).sum().item()
            total += len(y)
        line = "epoch %d: train %.2f%%, %.0f s" % (epoch + 1, 100.0 * correct / total, time.time() - t0)
        if (epoch + 1) % 3 == 0 or epoch + 1 == args.epochs:
            net.eval()
            with torch.no_grad():
                pred = torch.cat([net(xte[i:i + 1000]).argmax(1) for i in range(0, len(xte), 1000)]).numpy()
            line += ", test %.2f%% (float batch-norm)" % (100.0 * (pred == yte).mean())
        print(line, flush=True)

    layers = export(net, args.out)
    xq = (xte * 128.0).round()
    with torch.no_grad():
        scores = np.concatenate([integer_eval(layers, xq[i:i + 500]) for i in range(0, len(xq), 500)])
    pred = scores.argmax(axis=1)                               # first index of the largest score
    with open(args.out + ".pred", "wb") as f:
        f.write(pred.astype(np.uint8).tobytes())
    print("exported %s: binarized integer evaluation %.2f%% top-1 on %d test images" %
          (args.out, 100.0 * (pred == yte).mean(), len(yte)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
