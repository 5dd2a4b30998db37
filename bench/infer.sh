#!/usr/bin/env bash
# fpga-infer against the same networks written plainly in PyTorch, side by
# side on the same images in one run: CNV-W1A1 (BNN-PYNQ's CIFAR-10 weights
# where ../shared/data has them, else our Fashion-MNIST model) and LFC-W1A1,
# at -p 1 and -p 2. Checks that PyTorch predicts the same classes (bit-exact
# networks), prints a Markdown table (images/s, ratio to PyTorch, peak RSS)
# and appends it to bench/RESULTS.md. One more row runs CNV through the FINN
# driver against csim:0 (the CPU engine behind a FINN accelerator's buffers)
# as a correctness run only: it must predict what the CPU predicts; its
# speed is the CPU's and says nothing about a card. And one row runs CNV
# through fpga-remote over HTTP to a server on this host (CPU engine), its
# output compared with the local one.
#
#   bench/infer.sh [BUILD_DIR]     environment: IMAGES (20000), TORCH_IMAGES (2000)
set -euo pipefail
BUILD=${1:-build}
BIN=$(cd "$BUILD/tools" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
DATA=${FPGA_SHARED_DATA:-$SRC/../shared/data}
OUT=${BENCH_OUT:-/dev/shm/fpga-infer-bench}
N=${IMAGES:-20000}
TN=${TORCH_IMAGES:-2000}
mkdir -p "$OUT"
trap 'rm -rf "$OUT"' EXIT
REPEAT=${REPEAT:-3}
. "$HERE/lib.sh"
need /usr/bin/time time
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "bench: python3-torch missing (apt-get install python3-torch)" >&2; exit 1; }

# Images: random CIFAR-10 records and random 28x28 digits (inference time does
# not depend on the pixels), plus Fashion-MNIST's test set for our own model.
python3 - "$OUT" "$N" <<'EOF'
import os, random, sys
out, n = sys.argv[1], int(sys.argv[2])
r = random.Random(1)
with open(os.path.join(out, "cifar.bin"), "wb") as f:
    f.write(bytes(r.getrandbits(8) for _ in range(n * 3073)))
with open(os.path.join(out, "digits.raw"), "wb") as f:
    f.write(bytes(r.getrandbits(8) for _ in range(n * 784)))
EOF

if [ -d "$DATA/bnn-pynq/cifar10/cnvW1A1" ]; then
  "$BIN/fpga-infer" import-bnn-pynq "$DATA/bnn-pynq/cifar10/cnvW1A1" -o "$OUT/cnv.fbnn" 2>/dev/null
  "$BIN/fpga-infer" import-bnn-pynq "$DATA/bnn-pynq/mnist/lfcW1A1" -o "$OUT/lfc.fbnn" 2>/dev/null
  cnv=$OUT/cnv.fbnn cnv_name="CNV-W1A1 (BNN-PYNQ CIFAR-10 weights)" cnv_in=$OUT/cifar.bin cnv_fmt=cifar
else
  cnv=$SRC/models/fashion-cnv.fbnn cnv_name="CNV-W1A1 topology (our Fashion-MNIST model)"
  zcat /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz > "$OUT/fashion.idx"
  cnv_in=$OUT/fashion.idx cnv_fmt=idx
  lfc=""
fi
lfc=${lfc-$OUT/lfc.fbnn}

{
echo "## inference benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Machine: $(machine). fpga-infer: whole process (load, read, classify, write) on"
echo "$N images, best of $REPEAT; PyTorch: forward passes only, $TN images, batches of 100, 2 threads."
echo
echo "| network | program | images/s | vs PyTorch | RSS MiB |"
echo "|---|---|---:|---:|---:|"
bench_net() { # name model input fmt torchfmt extra
  local name=$1 model=$2 input=$3 fmt=$4 tfmt=$5 extra=${6:-}
  local tout torch_rate
  tout=$( { /usr/bin/time -f 'rss %M' /usr/bin/python3 "$HERE/infer_torch.py" "$model" "$input" "$tfmt" 2 "$TN" > "$OUT/torch.pred"; } 2>&1 )
  torch_rate=$(echo "$tout" | awk '/^images/ {printf "%.1f", $2 / $4}')
  torch_rss=$(echo "$tout" | awk '/^rss/ {print $2}')
  last_torch_rate=$torch_rate
  for p in 1 2; do
    measure "$OUT/pred.tsv" "'$BIN/fpga-infer' -q -p $p --model '$model' --input-format $fmt $extra '$input'"
    awk -v n="$name" -v p="$p" -v N="$N" -v t="$T" -v r="$RSS" -v tr="$torch_rate" 'BEGIN {
      printf "| %s | fpga-infer -p %s | %.0f | %.1fx | %.1f |\n", n, p, N / t, N / t / tr, r / 1024 }'
  done
  awk -v n="$name" -v tr="$torch_rate" -v r="$torch_rss" 'BEGIN { printf "| %s | PyTorch, 2 threads | %.0f | 1.0x | %.1f |\n", n, tr, r / 1024 }'
  # Bit-exact: the same classes for the images both ran.
  # (awk reads the whole file: head would end cut by SIGPIPE, and pipefail.)
  awk -F'\t' -v n="$TN" 'NR <= n { print $2 }' "$OUT/pred.tsv" | cmp -s - "$OUT/torch.pred" ||
    { echo "bench: $name: PyTorch and fpga-infer disagree" >&2; exit 1; }
}
bench_net "$cnv_name" "$cnv" "$cnv_in" "$cnv_fmt" "$cnv_fmt"
# The FINN driver on csim:0: a correctness row (no speed: not a card).
"$BIN/fpga-infer" -q --device csim:0 -p 2 --model "$cnv" --input-format "$cnv_fmt" "$cnv_in" > "$OUT/csim.tsv"
cmp -s "$OUT/csim.tsv" "$OUT/pred.tsv" ||
  { echo "bench: $cnv_name: csim:0 (FINN driver) and the CPU disagree" >&2; exit 1; }
echo "| $cnv_name | fpga-infer --device csim:0 (FINN driver, CPU stand-in; correctness only) | - | - | - |"
# fpga-remote over HTTP to a server on this host (loopback): the same CPU
# engine behind the protocol, client and server sharing the same cores. The
# output must be byte-identical to the local run's.
mkdir -p "$OUT/models"
cp "$cnv" "$OUT/models/cnv.fbnn"
"$BIN/fpga-remote" serve --listen 127.0.0.1:0 --models "$OUT/models" 2> "$OUT/serve.log" &
spid=$!
# (This runs in the table's subshell: its EXIT trap must not remove $OUT,
# which still holds the table; the main shell's trap does that.)
trap 'kill $spid 2>/dev/null || true' EXIT
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$OUT/serve.log")
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$OUT/serve.log" >&2; echo "bench: fpga-remote serve did not start" >&2; exit 1; }
measure "$OUT/remote.tsv" "'$BIN/fpga-remote' http://127.0.0.1:$port fpga-infer -q --model cnv --input-format $cnv_fmt '$cnv_in'"
cmp -s "$OUT/remote.tsv" "$OUT/pred.tsv" ||
  { echo "bench: $cnv_name: fpga-remote fpga-infer and local fpga-infer disagree" >&2; exit 1; }
srss=$(awk '/^VmHWM/ {print $2}' "/proc/$spid/status")
awk -v n="$cnv_name" -v N="$N" -v t="$T" -v r="$RSS" -v s="$srss" -v tr="$last_torch_rate" 'BEGIN {
  printf "| %s | fpga-remote http://127.0.0.1 fpga-infer (server on this host, CPU engine, 2 slots; client %.1f MiB, server peak %.1f MiB) | %.0f | %.1fx | %.1f |\n", n, r / 1024, s / 1024, N / t, N / t / tr, (r + s) / 1024 }'
kill "$spid"; wait "$spid" 2>/dev/null || true
if [ -n "$lfc" ]; then
  bench_net "LFC-W1A1 (BNN-PYNQ MNIST weights)" "$lfc" "$OUT/digits.raw" raw raw28 "--shape 28x28x1"
fi
echo
echo "PyTorch and fpga-infer predicted the same class for every image both ran. The csim:0"
echo "row is a correctness run: the FINN driver (idma0/odma0 buffers, batches in flight) against"
echo "a stand-in computed by the CPU engine predicted the CPU's class for all $N images; no card ran."
echo "The fpga-remote row runs client and server on this machine's cores (the server's CPU engine, no"
echo "card); its output was cmp'd with the local fpga-infer's. Its RSS is client plus server."
echo
} | tee "$OUT/table.md"
{ echo; cat "$OUT/table.md"; } >> "$HERE/RESULTS.md"
