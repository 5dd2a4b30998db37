#!/usr/bin/env python3
"""Damages a compressed file every way of a kind and compares two decoders.

mutate.py KIND FILE OURS REFERENCE [exact|safe]

KIND: truncate (every prefix), flip (every bit of every byte; flip:N of
the first N bytes), or
sizes (the given offsets' 4 bytes set to 0, 1, 0x7fffffff and 0xffffffff:
pass them as FILE@OFF,OFF,...). Each damaged copy is decoded with
`PROG -dc`. exact: our exit status and output equal the reference's.
safe: our status is 0 or 1 with a one-line message naming the file when 1,
and when ours is 0 the reference's is 0 too with the same output (we may
refuse more than it does, never less, and never write something else).
Prints each disagreement; exits 1 if there was one.
"""
import concurrent.futures
import os
import subprocess
import sys
import tempfile


def run(prog, path):
    p = subprocess.run([prog, "-dc", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout, p.stderr


def variants(kind, data, offsets):
    if kind == "truncate":
        for n in range(len(data)):
            yield f"cut at {n}", data[:n]
    elif kind.startswith("flip"):
        limit = int(kind[5:]) if kind.startswith("flip:") else len(data)
        for i in range(min(limit, len(data))):
            for bit in range(8):
                d = bytearray(data)
                d[i] ^= 1 << bit
                yield f"bit {bit} of byte {i}", bytes(d)
    elif kind == "sizes":
        for off in offsets:
            for v in (0, 1, 0x7FFFFFFF, 0xFFFFFFFF):
                d = bytearray(data)
                d[off:off + 4] = v.to_bytes(4, "little")
                yield f"{v:#x} at {off}", bytes(d)


def main():
    kind, spec, ours, ref = sys.argv[1:5]
    policy = sys.argv[5] if len(sys.argv) > 5 else "exact"
    path, _, offs = spec.partition("@")
    offsets = [int(x) for x in offs.split(",")] if offs else []
    data = open(path, "rb").read()
    bad = 0

    def check(item):
        k, (what, d) = item
        target = os.path.join(tmp, f"damaged{k}")
        with open(target, "wb") as f:
            f.write(d)
        o = run(ours, target)
        r = run(ref, target)
        os.unlink(target)
        if policy == "exact":
            ok = o[0] == r[0] and o[1] == r[1]
        else:
            ok = o[0] in (0, 1) and (o[0] == 0) <= (r[0] == 0 and o[1] == r[1])
            if o[0] == 1:
                lines = o[2].decode(errors="replace").strip().split("\n")
                ok = ok and len(lines) == 1 and "damaged" in lines[0]
        return None if ok else (f"{what}: ours {o[0]} ({len(o[1])} bytes) "
                                f"{o[2].decode(errors='replace').strip()!r}; reference {r[0]} ({len(r[1])} bytes)")

    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ThreadPoolExecutor(2) as pool:
        for msg in pool.map(check, enumerate(variants(kind, data, offsets))):
            if msg:
                bad += 1
                if bad <= 10:
                    print(msg)
    if bad:
        print(f"{bad} disagreements")
    sys.exit(1 if bad else 0)


main()
