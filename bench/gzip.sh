#!/usr/bin/env bash
# Side-by-side gzip benchmark: fpga-gzip at each level against gzip, pigz,
# igzip, libdeflate-gzip and bgzip, on the same data in one run; then
# decompression. Prints Markdown tables (throughput of uncompressed data,
# ratio = compressed/original, peak RSS, CPU time per byte) and appends them
# to bench/RESULTS.md.
#
# The limit is measured in the same run: the engine a level wraps, run as
# two independent single-threaded processes on the two halves of the input
# at once (igzip for ISA-L levels, libdeflate-gzip for libdeflate ones;
# two igzip -d on the halves' libdeflate-gzip -6 files for decompression).
# Each fpga-gzip -p 2 row prints its speed as a fraction of that limit
# ("x limit") and its CPU time per byte against the limit's ("CPU x").
# Foreign single-member files are compared with igzip -d on the same file.
#
#   bench/gzip.sh [BUILD_DIR]     environment: BENCH_DIR (corpus, default
#                                 /var/tmp/fpga-bench), BENCH_MB (slice of the
#                                 kernel tar, default 256), REPEAT (3),
#                                 QUICK=1 (fewer levels and peers), LEVELS (the levels
#                                 to run), CORPUS (files instead of the two
#                                 corpora)
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
if [ -n "${CORPUS:-}" ]; then
  corpora=$CORPUS
else
  linux=$(linux_slice "$MB")
  log=$DIR/access-${MB}M.log
  [ -s "$log" ] || { python3 "$HERE/make_access_log.py" "$MB" > "$log.tmp" && mv "$log.tmp" "$log"; }
  corpora="$linux $log"
fi

# The engine (as a single-threaded command) that fpga-gzip's level wraps,
# from the level table in libfpgaio/src/codec/codec.cpp.
engine_cmd() {
  case $1 in
    1) echo "igzip -2" ;;
    2) echo "igzip -3" ;;
    *) echo "libdeflate-gzip -$1" ;;
  esac
}

# crow NAME BYTES [LIMIT_T LIMIT_CPU]: a compression row with CPU ns per
# byte, and fractions of the limit when one is given.
crow() {
  awk -v n="$1" -v b="$2" -v t="$T" -v s="$SIZE" -v r="$RSS" -v c="$CPU" -v lt="${3:-}" -v lc="${4:-}" 'BEGIN {
    if (t < 0.01) t = 0.01
    x = lt == "" ? "" : sprintf("%.3f", lt / t)
    y = lc == "" ? "" : sprintf("%.3f", c / lc)
    printf "| %-34s | %8.1f | %7.4f | %7.1f | %6.2f | %6s | %6s |\n", n, b / t / 1e6, s / b, r / 1024, c * 1e9 / b, x, y
  }'
}
drow() {
  awk -v n="$1" -v b="$2" -v t="$T" -v r="$RSS" -v c="$CPU" -v lt="${3:-}" -v lc="${4:-}" 'BEGIN {
    if (t < 0.01) t = 0.01
    x = lt == "" ? "" : sprintf("%.3f", lt / t)
    y = lc == "" ? "" : sprintf("%.3f", c / lc)
    printf "| %-34s | %8.1f | %7.1f | %6.2f | %6s | %6s |\n", n, b / t / 1e6, r / 1024, c * 1e9 / b, x, y
  }'
}

machine=$(machine)
{
echo "## gzip benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Machine: $machine. Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Input read from the page cache; output to tmpfs. MB/s is uncompressed bytes per second (10^6);"
echo "CPU ns/B is user + system time per input byte. Best of $REPEAT runs for runs under 3 s."
echo "Limit: the level's engine as two single-threaded processes on the two halves at once;"
echo "x limit = our speed / the limit's, CPU x = our CPU time / the limit's."

for corpus in $corpora; do
  bytes=$(stat -c %s "$corpus")
  cat "$corpus" > /dev/null
  name=$(basename "$corpus")
  half=$((bytes / 2))
  head -c "$half" "$corpus" > "$OUT/h1"
  tail -c +$((half + 1)) "$corpus" > "$OUT/h2"
  echo
  echo "### compress $name ($((bytes >> 20)) MiB)"
  echo
  echo "| tool | MB/s | ratio | RSS MiB | CPU ns/B | x limit | CPU x |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  levels="1 2 3 4 5 6 7 8 9 12"
  if [ -n "${QUICK:-}" ] || [ "$corpus" = "${log:-}" ]; then levels="1 6 9 12"; fi
  levels=${LEVELS:-$levels}
  for l in $levels; do
    e=$(engine_cmd "$l")
    measure /dev/null "$e -c '$OUT/h1' > '$OUT/l1.gz' & $e -c '$OUT/h2' > '$OUT/l2.gz'; wait"
    SIZE=$(($(stat -c %s "$OUT/l1.gz") + $(stat -c %s "$OUT/l2.gz")))
    lt=$T lc=$CPU
    crow "2 x $e on halves (limit)" "$bytes"
    measure "$OUT/f$l.gz" "'$FG' -$l -p 2 -c '$corpus'"; crow "fpga-gzip -$l -p 2" "$bytes" "$lt" "$lc"
    if [ "$l" = 1 ]; then
      # Issue 26's limit for -1: two igzip -1 (ISA-L level 1, a little
      # faster than the level 2 that -1 wraps).
      f1t=$T f1c=$CPU
      measure /dev/null "igzip -1 -c '$OUT/h1' > '$OUT/l1.gz' & igzip -1 -c '$OUT/h2' > '$OUT/l2.gz'; wait"
      SIZE=$(($(stat -c %s "$OUT/l1.gz") + $(stat -c %s "$OUT/l2.gz")))
      crow "2 x igzip -1 on halves" "$bytes"
      awk -v a="$T" -v b="$f1t" -v c="$CPU" -v d="$f1c" 'BEGIN { printf "| %-34s | | | | | %6.3f | %6.3f |\n", "fpga-gzip -1 -p 2 / 2 x igzip -1", a / b, d / c }'
    fi
  done
  measure "$OUT/igzip1.gz" "igzip -1 -c '$corpus'"; crow "igzip -1" "$bytes"
  [ -n "${QUICK:-}" ] || { measure "$OUT/igzip3.gz" "igzip -3 -c '$corpus'"; crow "igzip -3" "$bytes"; }
  [ -n "${QUICK:-}" ] || { measure "$OUT/pigz1.gz" "pigz -1 -p 2 -c '$corpus'"; crow "pigz -1 -p 2" "$bytes"; }
  measure "$OUT/pigz6.gz" "pigz -6 -p 2 -c '$corpus'"; crow "pigz -6 -p 2" "$bytes"
  [ -n "${QUICK:-}" ] || { measure "$OUT/pigz9.gz" "pigz -9 -p 2 -c '$corpus'"; crow "pigz -9 -p 2" "$bytes"; }
  measure "$OUT/gzip6.gz" "gzip -6 -c '$corpus'"; crow "gzip -6" "$bytes"
  measure "$OUT/ldg6.gz" "libdeflate-gzip -6 -c '$corpus'"; crow "libdeflate-gzip -6" "$bytes"
  [ -n "${QUICK:-}" ] || { measure "$OUT/ldg12.gz" "libdeflate-gzip -12 -c '$corpus'"; crow "libdeflate-gzip -12" "$bytes"; }
  measure "$OUT/bgzip.gz" "bgzip -@ 2 -c '$corpus'"; crow "bgzip -@ 2" "$bytes"
  if command -v zopfli > /dev/null; then
    measure "$OUT/zopfli.gz" "zopfli -c '$corpus'"; crow "zopfli" "$bytes"
  fi

  echo
  echo "### decompress $name"
  echo
  echo "| tool | MB/s | RSS MiB | CPU ns/B | x limit | CPU x |"
  echo "|---|---:|---:|---:|---:|---:|"
  libdeflate-gzip -6 -c "$OUT/h1" > "$OUT/h1.gz"
  libdeflate-gzip -6 -c "$OUT/h2" > "$OUT/h2.gz"
  measure /dev/null "igzip -dc '$OUT/h1.gz' > /dev/null & igzip -dc '$OUT/h2.gz' > /dev/null; wait"
  lt=$T lc=$CPU
  drow "2 x igzip -d on halves (limit)" "$bytes"
  for l in 6 1; do
    [ -s "$OUT/f$l.gz" ] || continue
    measure /dev/null "'$FG' -dc -p 2 '$OUT/f$l.gz'"; drow "fpga-gzip -d -p 2 (own -$l output)" "$bytes" "$lt" "$lc"
  done
  measure /dev/null "'$FG' -dc -p 2 '$OUT/bgzip.gz'"; drow "fpga-gzip -d (bgzip output)" "$bytes" "$lt" "$lc"
  echo
  echo "Single-member files; x limit and CPU x here are against igzip -d of the same file."
  echo
  echo "| tool | MB/s | RSS MiB | CPU ns/B | x igzip | CPU x |"
  echo "|---|---:|---:|---:|---:|---:|"
  for f in gzip6 pigz6 igzip1 zopfli; do
    [ -s "$OUT/$f.gz" ] || continue
    case $f in gzip6) what="gzip -6" ;; pigz6) what="pigz -6" ;; igzip1) what="igzip -1" ;; zopfli) what="zopfli" ;; esac
    measure /dev/null "igzip -dc '$OUT/$f.gz'"; drow "igzip -d ($what output)" "$bytes"
    lt=$T lc=$CPU
    measure /dev/null "'$FG' -dc '$OUT/$f.gz'"; drow "fpga-gzip -d ($what output)" "$bytes" "$lt" "$lc"
  done
  # Into /dev/null both decode in one thread; into a file fpga-gzip's
  # writer thread takes the write(2) copies off the inflating one.
  measure "$OUT/d.out" "igzip -dc '$OUT/gzip6.gz'"; drow "igzip -d (gzip -6 output) to tmpfs" "$bytes"
  lt=$T lc=$CPU
  measure "$OUT/d.out" "'$FG' -dc '$OUT/gzip6.gz'"; drow "fpga-gzip -d (gzip -6 output) to tmpfs" "$bytes" "$lt" "$lc"
  rm -f "$OUT/d.out"
  measure /dev/null "pigz -dc '$OUT/gzip6.gz'"; drow "pigz -d (gzip -6 output)" "$bytes"
  if [ -s "$OUT/f6.gz" ]; then measure /dev/null "pigz -dc '$OUT/f6.gz'"; drow "pigz -d (fpga-gzip -6 output)" "$bytes"; fi
  measure /dev/null "gzip -dc '$OUT/gzip6.gz'"; drow "gzip -d (gzip -6 output)" "$bytes"
  measure /dev/null "bgzip -@ 2 -dc '$OUT/bgzip.gz'"; drow "bgzip -@ 2 -d (own output)" "$bytes"
  measure /dev/null "libdeflate-gunzip -c '$OUT/gzip6.gz'"; drow "libdeflate-gunzip (gzip -6)" "$bytes"
  rm -f "$OUT"/*.gz "$OUT/h1" "$OUT/h2"
done
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$OUT/table.md"
{ echo; cat "$OUT/table.md"; } >> "$HERE/RESULTS.md"
