# Fixtures the fpga-infer suites share: models and IDX files made here.

# A .fbnn model from its parts (the CRC-32 made right): MODE H W C, class
# names, then layers as "kind in out thresholds|- weight-words...".
write_model() { # file mode h w c classes(comma) layer...
  "$PY" - "$@" <<'EOF'
import struct, sys, zlib
path, mode, h, w, c, classes = sys.argv[1], *map(int, sys.argv[2:6]), sys.argv[6].split(",")
layers = [l.split() for l in sys.argv[7:]]
b = bytearray(b"FBNN" + struct.pack("<IIIIIII", 1, h, w, c, mode, len(classes), len(layers)))
for n in classes:
    b += struct.pack("<H", len(n)) + n.encode()
for kind, cin, cout, thr, *words in layers:
    b += struct.pack("<IIII", int(kind), int(cin), int(cout), 0 if thr == "-" else 1)
    b += b"".join(struct.pack("<Q", int(x, 0)) for x in words)
    if thr != "-":
        b += b"".join(struct.pack("<i", int(t)) for t in thr.split(","))
b += struct.pack("<I", zlib.crc32(bytes(b)) & 0xFFFFFFFF)
open(path, "wb").write(bytes(b))
EOF
}

# N IDX images of HxW (pixels i*7+k), the header's count COUNT (default N).
idx_images() { # file n h w [count]
  "$PY" - "$@" <<'EOF'
import struct, sys
path, n, h, w = sys.argv[1], *map(int, sys.argv[2:5])
count = int(sys.argv[5]) if len(sys.argv) > 5 else n
open(path, "wb").write(struct.pack(">IIII", 0x803, count, h, w) + bytes((i * 7 + 3) % 256 for i in range(n * h * w)))
EOF
}

# Fashion-MNIST test images FIRST..FIRST+N-1 as an IDX file.
fashion_part() { # file first n
  zcat "$FASHION/t10k-images-idx3-ubyte.gz" | "$PY" -c 'import sys, struct
f, n = int(sys.argv[1]), int(sys.argv[2]); d = sys.stdin.buffer.read()
sys.stdout.buffer.write(struct.pack(">IIII", 0x803, n, 28, 28) + d[16 + f * 784:16 + (f + n) * 784])' "$2" "$3" > "$1"
}

# A one-layer LFC model for HxWxC binary images: class a counts the pixels
# of 128 or more, class b the others.
tiny_model() { # file h w c
  local n=$(($2 * $3 * $4)) a="" b="" i
  for ((i = 0; i + 64 <= n; i += 64)); do a+=" 0xffffffffffffffff"; b+=" 0x0"; done
  if ((n % 64)); then a+=" $(printf '0x%x' $(((1 << (n % 64)) - 1)))"; b+=" 0x0"; fi
  write_model "$1" 1 "$2" "$3" "$4" a,b "3 $n 2 -$a$b"
}
