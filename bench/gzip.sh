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

need() { command -v "$1" >/dev/null || { echo "bench: $1 missing (make deps, or apt-get install $2)" >&2; exit 1; }; }
need pigz pigz; need igzip isal; need bgzip tabix; need libdeflate-gzip libdeflate-tools; need /usr/bin/time time

# The corpora: a slice of the Linux 6.1 source tar and a generated access log.
linux=$DIR/linux-${MB}M.tar
if [ ! -s "$linux" ]; then
  src=/usr/src/linux-source-6.1.tar.xz
  if [ ! -e "$src" ]; then
    echo "bench: installing linux-source-6.1 for the corpus" >&2
    ${SUDO:-$( [ "$(id -u)" -eq 0 ] || echo sudo)} apt-get install -y -qq linux-source-6.1 >&2
  fi
  xz -dc -T2 "$src" | head -c $((MB << 20)) > "$linux.tmp" || true
  mv "$linux.tmp" "$linux"
fi
log=$DIR/access-${MB}M.log
[ -s "$log" ] || { python3 "$HERE/make_access_log.py" "$MB" > "$log.tmp" && mv "$log.tmp" "$log"; }

# measure OUTFILE CMD...: best wall time of REPEAT runs (1 if a run is slow),
# and the peak RSS of that run. Sets T (seconds), RSS (KiB), SIZE (bytes).
measure() {
  local out=$1; shift
  local best="" rss=0 n=0
  while :; do
    local t0=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$OUT/time" bash -c "$*" > "$out"
    local t1=$EPOCHREALTIME
    local t m
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b - a}')
    m=$(tail -1 "$OUT/time")
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; rss=$m; fi
    n=$((n + 1))
    [ $n -ge "$REPEAT" ] && break
    awk -v a="$t" 'BEGIN{exit !(a>3)}' && break
  done
  T=$best; RSS=$rss; SIZE=$(stat -c %s "$out")
}

row() { # name input-bytes
  awk -v n="$1" -v b="$2" -v t="$T" -v s="$SIZE" -v r="$RSS" -v mode="$3" 'BEGIN {
    if (t < 0.01) t = 0.01
    if (mode == "c") printf "| %-30s | %8.1f | %7.4f | %7.1f |\n", n, b / t / 1e6, s / b, r / 1024
    else printf "| %-30s | %8.1f | %7s | %7.1f |\n", n, b / t / 1e6, "", r / 1024
  }'
}

header() {
  echo
  echo "### $1"
  echo
  echo "| tool | MB/s | ratio | RSS MiB |"
  echo "|---|---:|---:|---:|"
}

machine="$(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r)"
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
