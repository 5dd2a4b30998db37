#!/usr/bin/env bash
# Compression ratio of our deflate kernel (kernels/gzip), C-simulated on this CPU, against
# igzip -1, gzip -1, libdeflate-gzip -6 and fpga-gzip on the same data: the first
# KERNEL_MB MiB of the Linux 6.1 source tar and a generated access log. The kernel runs
# once per 1 MiB block (one gzip member each, as fpga-gzip writes them); the peers
# compress the whole input as one stream. Every output is checked to inflate to the
# input. Prints a Markdown table; MB/s for the kernel is C-simulation on one CPU thread,
# not an FPGA figure. The Vitis library kernel's ratio is quoted from
# ../shared/notes/accelerator-interfaces.md (C-simulated on the same 16 MiB), not run here.
#
#   bench/kernel.sh [BUILD_DIR]    environment: BENCH_DIR (corpus, default
#                                  /var/tmp/fpga-bench), KERNEL_MB (16), REPEAT (3)
set -euo pipefail
BUILD=${1:-build}
KG=$(cd "$BUILD/kernels" && pwd)/kernel_gzip
FG=$(cd "$BUILD/tools" && pwd)/fpga-gzip
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${BENCH_DIR:-/var/tmp/fpga-bench}
OUT=${BENCH_OUT:-/dev/shm/fpga-kernel-bench}
MB=${KERNEL_MB:-16}
REPEAT=${REPEAT:-3}
mkdir -p "$DIR" "$OUT"
trap 'rm -rf "$OUT"' EXIT

. "$HERE/lib.sh"
need igzip isal; need libdeflate-gzip libdeflate-tools; need /usr/bin/time time
[ -x "$KG" ] || { echo "bench: $KG missing (make build)" >&2; exit 1; }

linux=$(linux_slice "$MB")
log=$DIR/access-${MB}M.log
[ -s "$log" ] || { python3 "$HERE/make_access_log.py" "$MB" > "$log.tmp" && mv "$log.tmp" "$log"; }

check() { # OUTPUT.gz INPUT
  gzip -dc "$1" | cmp -s - "$2" || { echo "bench: $1 does not inflate to $2" >&2; exit 1; }
}

{
echo "## deflate kernel benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Machine: $(machine). Ratio = compressed/original. The kernel row is C-simulation"
echo "of kernels/gzip on one CPU thread (1 MiB a call): its MB/s is not an FPGA figure."
for corpus in "$linux" "$log"; do
  bytes=$(stat -c %s "$corpus")
  cat "$corpus" > /dev/null
  header "$(basename "$corpus") ($((bytes >> 20)) MiB)"
  measure "$OUT/k.gz" "'$KG' -q -b 1048576 -o /dev/stdout '$corpus'"; check "$OUT/k.gz" "$corpus"
  row "kernels/gzip C-sim, 1 MiB calls" "$bytes" c
  if [ "$corpus" = "$linux" ] && [ "$MB" = 16 ]; then
    echo "| Vitis library kernel (notes)   |          |  0.2568 |         |"
  fi
  measure "$OUT/i1.gz" "igzip -1 -c '$corpus'"; check "$OUT/i1.gz" "$corpus"; row "igzip -1" "$bytes" c
  measure "$OUT/g1.gz" "gzip -1 -c '$corpus'"; check "$OUT/g1.gz" "$corpus"; row "gzip -1" "$bytes" c
  measure "$OUT/l6.gz" "libdeflate-gzip -6 -c '$corpus'"; check "$OUT/l6.gz" "$corpus"; row "libdeflate-gzip -6" "$bytes" c
  if [ -x "$FG" ]; then
    for l in 1 6; do
      measure "$OUT/f$l.gz" "'$FG' -$l -p 1 -b 1M -c '$corpus'"; check "$OUT/f$l.gz" "$corpus"
      row "fpga-gzip -$l -p 1 (1 MiB blocks)" "$bytes" c
    done
  fi
  rm -f "$OUT"/*.gz
done
echo
} | tee "$OUT/table.md"
