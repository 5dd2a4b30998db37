#!/usr/bin/env python3
"""Writes standard input in pack(1) format (.z) to standard output.

Debian has no pack program, so the tests make pack data with this helper and
check it with GNU gzip, which reads pack. The format: magic 1f 1e, the
original size (32 bits, big-endian), the longest code length L, the number of
leaves of each length 1..L (the count for L less 2), the leaves' bytes in order
of length (the end code, last of length L, has none), then the Huffman codes
most significant bit first. At each length the leaves take the highest codes.
"""
import heapq
import sys

EOB = 256


def code_lengths(freq):
    heap = [(f, i, (sym,)) for i, (sym, f) in enumerate(sorted(freq.items()))]
    heapq.heapify(heap)
    depth = {sym: 0 for sym in freq}
    n = len(heap)
    while len(heap) > 1:
        f1, _, a = heapq.heappop(heap)
        f2, _, b = heapq.heappop(heap)
        for sym in a + b:
            depth[sym] += 1
        heapq.heappush(heap, (f1 + f2, n, a + b))
        n += 1
    return depth


def pack(data):
    freq = {}
    for b in data:
        freq[b] = freq.get(b, 0) + 1
    freq[EOB] = 1
    if len(freq) < 2:
        freq[0] = 0  # a leaf that is never used keeps the tree complete
    depth = code_lengths(freq)
    top = max(depth.values())
    if top > 24:
        raise SystemExit("pack.py: codes longer than 24 bits")
    if depth[EOB] != top:  # the end code must be the last leaf of length L
        other = min(s for s in depth if depth[s] == top)
        depth[other], depth[EOB] = depth[EOB], top
    leaves = {n: sorted(s for s in depth if depth[s] == n and s != EOB) for n in range(1, top + 1)}
    leaves[top].append(EOB)
    parents = {}
    nodes = 0
    for n in range(top, 0, -1):
        parents[n] = nodes // 2
        nodes = parents[n] + len(leaves[n])
    assert nodes == 2
    code = {}
    for n in range(1, top + 1):
        for i, s in enumerate(leaves[n]):
            code[s] = (parents[n] + i, n)
    out = bytearray(b"\x1f\x1e")
    out += (len(data) & 0xFFFFFFFF).to_bytes(4, "big")
    out.append(top)
    for n in range(1, top + 1):
        out.append(len(leaves[n]) - (2 if n == top else 0))
    for n in range(1, top + 1):
        out += bytes(s for s in leaves[n] if s != EOB)
    acc, bits = 0, 0
    for s in list(data) + [EOB]:
        c, n = code[s]
        acc = (acc << n) | c
        bits += n
        while bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
        acc &= (1 << bits) - 1
    if bits:
        out.append((acc << (8 - bits)) & 0xFF)
    return bytes(out)


if __name__ == "__main__":
    sys.stdout.buffer.write(pack(sys.stdin.buffer.read()))
