#!/usr/bin/env bash
# Side-by-side gzip benchmark: fpga-gzip at each level against gzip, pigz,
# igzip, libdeflate-gzip and bgzip, on the same data in one run; then
# decompression. Prints a Markdown table (throughput of uncompressed data,
# ratio = compressed/original, peak RSS) and appends it to bench/RESULTS.md.
#
#   bench/gzip.sh [BUILD_DIR]     environment: BENCH_DIR (corpus and outputs,
#                                 default /var/tmp/fpga-bench), BENCH_MB (slice
#                                 of the kernel tar, default 256), REPEAT (3),
#                                 QUICK=1 (fewer levels)
set -euo pipefail
BUILD=${1:-build}
FG=$(cd "$BUILD/tools" && pwd)/fpga-gzip
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${BENCH_DIR:-/var/tmp/fpga-bench}
OUT=${BENCH_OUT:-/dev/shm/fpga-bench-out}
MB=${BENCH_MB:-256}
REPEAT=${REPEAT:-3}
mkdir -p "$DIR" "$OUT"
trap 'rm -rf "$OUT"' EXIT

. "$HERE/lib.sh"
need pigz pigz; need igzip isal; need bgzip tabix; need libdeflate-gzip libdeflate-tools; need /usr/bin/time time

# The corpora: a slice of the Linux 6.1 source tar and a generated access log.
linux=$(linux_slice "$MB")
log=$DIR/access-${MB}M.log
[ -s "$log" ] || { python3 "$HERE/make_access_log.py" "$MB" > "$log.tmp" && mv "$log.tmp" "$log"; }

machine=$(machine)
{
echo "## gzip benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Machine: $machine. Input read from the page cache; output to tmpfs."
echo "MB/s is uncompressed bytes per second (10^6). Best of $REPEAT runs for runs under 3 s."

for corpus in "$linux" "$log"; do
  bytes=$(stat -c %s "$corpus")
  cat "$corpus" > /dev/null
  name=$(basename "$corpus")
  header "compress $name ($((bytes >> 20)) MiB)"
  levels="1 2 3 4 5 6 7 8 9 12"
  [ -n "${QUICK:-}" ] || [ "$corpus" = "$log" ] && levels="1 6 9 12"
  for l in $levels; do
    measure "$OUT/f$l.gz" "'$FG' -$l -p 2 -c '$corpus'"; row "fpga-gzip -$l -p 2" "$bytes" c
  done
  measure "$OUT/igzip1.gz" "igzip -1 -c '$corpus'"; row "igzip -1" "$bytes" c
  measure "$OUT/igzip3.gz" "igzip -3 -c '$corpus'"; row "igzip -3" "$bytes" c
  measure "$OUT/pigz1.gz" "pigz -1 -p 2 -c '$corpus'"; row "pigz -1 -p 2" "$bytes" c
  measure "$OUT/pigz6.gz" "pigz -6 -p 2 -c '$corpus'"; row "pigz -6 -p 2" "$bytes" c
  measure "$OUT/pigz9.gz" "pigz -9 -p 2 -c '$corpus'"; row "pigz -9 -p 2" "$bytes" c
  measure "$OUT/gzip6.gz" "gzip -6 -c '$corpus'"; row "gzip -6" "$bytes" c
  measure "$OUT/ldg6.gz" "libdeflate-gzip -6 -c '$corpus'"; row "libdeflate-gzip -6" "$bytes" c
  measure "$OUT/ldg12.gz" "libdeflate-gzip -12 -c '$corpus'"; row "libdeflate-gzip -12" "$bytes" c
  measure "$OUT/bgzip.gz" "bgzip -@ 2 -c '$corpus'"; row "bgzip -@ 2" "$bytes" c

  header "decompress $name"
  measure /dev/null "'$FG' -dc -p 2 '$OUT/f6.gz'"; row "fpga-gzip -d (own -6 output)" "$bytes" d
  measure /dev/null "'$FG' -dc -p 2 '$OUT/bgzip.gz'"; row "fpga-gzip -d (bgzip output)" "$bytes" d
  measure /dev/null "'$FG' -dc '$OUT/gzip6.gz'"; row "fpga-gzip -d (gzip -6 output)" "$bytes" d
  measure /dev/null "igzip -dc '$OUT/gzip6.gz'"; row "igzip -d (gzip -6 output)" "$bytes" d
  measure /dev/null "pigz -dc '$OUT/gzip6.gz'"; row "pigz -d (gzip -6 output)" "$bytes" d
  measure /dev/null "pigz -dc '$OUT/f6.gz'"; row "pigz -d (fpga-gzip output)" "$bytes" d
  measure /dev/null "gzip -dc '$OUT/gzip6.gz'"; row "gzip -d (gzip -6 output)" "$bytes" d
  measure /dev/null "bgzip -@ 2 -dc '$OUT/bgzip.gz'"; row "bgzip -@ 2 -d (own output)" "$bytes" d
  measure /dev/null "libdeflate-gunzip -c '$OUT/gzip6.gz'"; row "libdeflate-gunzip (gzip -6)" "$bytes" d
  rm -f "$OUT"/*.gz
done
echo
} | tee "$OUT/table.md"
{ echo; cat "$OUT/table.md"; } >> "$HERE/RESULTS.md"
