#!/usr/bin/env python3
"""Writes standard input as compress (.Z) data without block mode.

lzw.py BITS: the old compress's format that Debian's ncompress 5.0 no longer
writes correctly (its -C output is unreadable by its own uncompress and by
gzip), for testing readers against GNU gzip. Codes LSB first from 9 bits,
in groups of eight that are padded when the width grows; no CLEAR code, the
table stops growing when full.
"""
import sys


def lzw(data, maxbits):
    out = bytearray(b"\x1f\x9d" + bytes([maxbits]))
    acc = nacc = 0
    n_bits, in_group = 9, 0
    maxmaxcode = 1 << maxbits

    def maxcode(bits):
        return maxmaxcode if bits == maxbits and bits > 9 else (1 << bits) - 1

    def put(code):
        nonlocal acc, nacc, in_group
        acc |= code << nacc
        nacc += n_bits
        while nacc >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nacc -= 8
        in_group = (in_group + 1) % 8

    table = {}
    enc_free = dec_free = 256  # the decoder numbers entries one code behind
    first = True
    i = 0
    while i < len(data):
        w = data[i]
        i += 1
        while i < len(data) and (w, data[i]) in table:
            w = table[(w, data[i])]
            i += 1
        if dec_free > maxcode(n_bits):
            while in_group:
                put(0)
            n_bits += 1
        put(w)
        if not first and dec_free < maxmaxcode:
            dec_free += 1
        first = False
        if i < len(data) and enc_free < maxmaxcode:
            table[(w, data[i])] = enc_free
            enc_free += 1
    if nacc:
        out.append(acc & 0xFF)
    return bytes(out)


if __name__ == "__main__":
    sys.stdout.buffer.write(lzw(sys.stdin.buffer.read(), int(sys.argv[1])))
