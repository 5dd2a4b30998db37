#!/usr/bin/python3
"""Writes a random .fbnn model and random images for it (tests/cli/onnx-export.bats).

    random_fbnn.py SPEC SEED MODEL IMAGES N

SPEC names a layer chain (below). Weights are random bits; thresholds are
random around the middle of each layer's sum range, with some at the int32
extremes and some exactly at the range's edges, so that the export's
threshold conversion and clipping are exercised; in the first layer, half
the thresholds are the sum the images produce most often, so that an
off-by-one in the comparison (> against >=) changes outputs; and an 8-bit
first layer gets a channel that fires only on the largest sum possible,
with two images at and one below it (the edge of threshold clipping). IMAGES is an IDX file of N
images (N x H x W x C uint8), pixels biased towards 0, 127, 128 and 255.
"""
import struct
import sys
import zlib

import numpy as np

# (mode, (H, W, C), [(kind, in, out)]): kind 1 conv3x3, 2 pool, 3 fc.
SPECS = {
    # 8-bit input, an odd map pooled (7 -> 3), a 1x1 map into dense layers.
    "fixed-conv": (0, (9, 9, 2), [(1, 2, 16), (2, 16, 16), (1, 16, 24), (3, 24, 20), (3, 20, 5)]),
    # 1-bit input, 70 channels (across a 64-bit word), a 3x3x70 map flattened.
    "binary-conv": (1, (8, 8, 1), [(1, 1, 70), (2, 70, 70), (3, 630, 65), (3, 65, 4)]),
    # 1-bit input into a dense layer wider than the image (25 -> 40 inputs).
    "binary-fc-padded": (1, (5, 5, 1), [(3, 40, 40), (3, 40, 6)]),
    # 8-bit input into a dense layer wider than the image (48 -> 53 inputs).
    "fixed-fc-padded": (0, (4, 4, 3), [(3, 53, 7), (3, 7, 3)]),
}


def main():
    spec, seed, model_path, images_path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    mode, (h, w, c), layers = SPECS[spec]
    rng = np.random.default_rng(seed)
    classes = layers[-1][2]
    blob = bytearray(b"FBNN" + struct.pack("<IIIIII", 1, h, w, c, mode, classes))
    blob += struct.pack("<I", len(layers))
    for k in range(classes):
        name = ("class %d" % k).encode()
        blob += struct.pack("<H", len(name)) + name
    px = rng.integers(0, 256, size=(n, h, w, c))
    pick = rng.random((n, h, w, c))
    px[pick < 0.15] = 0
    px[(pick >= 0.15) & (pick < 0.3)] = 128
    px[(pick >= 0.3) & (pick < 0.4)] = 127
    px[(pick >= 0.4) & (pick < 0.5)] = 255
    px[0] = 0
    px[1] = 0
    px[1, h // 2, w // 2, 0] = 1
    if mode == 0:
        num = (2 * px - 255) * 128
        x = np.where(num >= 0, (num + 127) // 255, -((-num + 127) // 255)).clip(-128, 127)
    else:
        x = np.where(px >= 128, 1, -1)
    first = True
    for i, (kind, cin, cout) in enumerate(layers):
        last = i + 1 == len(layers)
        blob += struct.pack("<IIII", kind, cin, cout, 0 if last or kind == 2 else 1)
        if kind == 2:
            continue
        fan_in = 9 * cin if kind == 1 else cin
        words = (fan_in + 63) // 64
        bits = np.zeros((cout, words * 64), dtype=np.uint8)
        bits[:, :fan_in] = rng.integers(0, 2, size=(cout, fan_in))
        # 8-bit input: channel 4 fires only on the largest sum there is: all
        # its weights -1 (on the image's inputs) and every input -128 (image 0,
        # all 0 pixels); image 1 (one pixel 1, q = -127) is one below it.
        extreme = first and mode == 0 and cout > 5 and not last
        used = fan_in if kind == 1 else h * w * c
        if extreme:
            bits[4, :used] = 0
        blob += np.packbits(bits, axis=1, bitorder="little").tobytes()
        if not last:
            # acc: matching bits in [0, K], or for an 8-bit first layer the sum in [-128K, 128K].
            lo, hi = (-128 * fan_in, 128 * fan_in) if first and mode == 0 else (0, fan_in)
            t = rng.integers(lo - 2, hi + 2, size=cout)
            mid = (lo + hi) // 2
            t[rng.random(cout) < 0.6] = mid + rng.integers(-2, 3)
            if first:
                # The sums of the first layer (bit 1 = +1; padding inputs are
                # 0 in 8-bit mode, -1 in binary mode), in the engine's units.
                signs = np.where(bits[:, :fan_in] == 1, 1, -1)
                if kind == 1:
                    cols = np.concatenate([x[:, ky:ky + h - 2, kx:kx + w - 2, :]
                                           for ky in range(3) for kx in range(3)], axis=3).reshape(-1, fan_in)
                else:
                    flat = x.reshape(n, -1)
                    cols = np.concatenate([flat, np.full((n, fan_in - flat.shape[1]), 0 if mode == 0 else -1)], axis=1)
                acc = cols @ signs.T
                if mode == 1:
                    acc = (acc + fan_in) // 2             # matching bits
                for o in range(cout):
                    if rng.random() < 0.5:                # the most frequent sum
                        vals, counts = np.unique(acc[:, o], return_counts=True)
                        t[o] = vals[counts.argmax()]
            if cout > 4:
                t[0], t[1], t[2], t[3] = -2**31, 2**31 - 1, lo - 1, hi
            if extreme:
                t[4] = 128 * used - 1
            blob += struct.pack("<%di" % cout, *t.tolist())
        first = False
    blob += struct.pack("<I", zlib.crc32(bytes(blob)) & 0xFFFFFFFF)
    with open(model_path, "wb") as f:
        f.write(blob)
    with open(images_path, "wb") as f:
        f.write(b"\0\0\x08\x04" + struct.pack(">IIII", n, h, w, c))
        f.write(px.astype(np.uint8).tobytes())


if __name__ == "__main__":
    main()
