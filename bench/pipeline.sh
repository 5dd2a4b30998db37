#!/usr/bin/env bash
# The split-compute-join pipeline against one process, side by side on the
# same 1 GiB input in one run: fpga-split -n 2 | parallel -j 2 fpga-gzip |
# fpga-cat, with --ranges and with chunk files, against fpga-gzip -p 2 and
# pigz -p 2. Prints a Markdown table (throughput of uncompressed data over the
# whole pipeline, ratio, peak RSS of the largest process) and appends it to
# bench/RESULTS.md. Every pipeline's output is checked to be byte-identical
# to the one-process output.
#
#   bench/pipeline.sh [BUILD_DIR]   environment: BENCH_DIR (corpus, default
#                                   /var/tmp/fpga-bench), PIPE_MB (1024),
#                                   LEVEL (6), REPEAT (3)
set -euo pipefail
BUILD=${1:-build}
BIN=$(cd "$BUILD/tools" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${BENCH_DIR:-/var/tmp/fpga-bench}
OUT=${BENCH_OUT:-/dev/shm/fpga-pipeline-out}
MB=${PIPE_MB:-1024}
LEVEL=${LEVEL:-6}
REPEAT=${REPEAT:-3}
mkdir -p "$DIR" "$OUT"
trap 'rm -rf "$OUT"' EXIT

. "$HERE/lib.sh"
need pigz pigz; need parallel parallel; need /usr/bin/time time
export PATH="$BIN:$PATH"

# The input lives on tmpfs with the outputs, so ranges' outputs (written
# beside the input) and chunk files cost the same as the other rows' writes.
cp "$(linux_slice "$MB")" "$OUT/big.tar"
in=$OUT/big.tar
bytes=$(stat -c %s "$in")

{
echo "## pipeline benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Machine: $(machine). $((bytes >> 20)) MiB of the Linux 6.1 source tar, level $LEVEL,"
echo "on tmpfs. MB/s is input bytes over the whole command's wall time. Best of $REPEAT."
echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
header "split, compress with 2 parallel jobs, join"
measure "$OUT/one.gz" "fpga-gzip -$LEVEL -p 2 -c '$in'"
row "fpga-gzip -$LEVEL -p 2 (one process)" "$bytes" c
one=$T one_cpu=$CPU
measure "$OUT/pigz.gz" "pigz -$LEVEL -p 2 -c '$in'"
row "pigz -$LEVEL -p 2" "$bytes" c
measure "$OUT/ranges.gz" "cd '$OUT' && fpga-split --ranges -n 2 big.tar | parallel -j 2 fpga-gzip -$LEVEL --device {%} {} && fpga-cat --rm big.tar.*.gz"
row "split --ranges, parallel -j 2, cat" "$bytes" c
ranges=$T ranges_cpu=$CPU
cmp "$OUT/ranges.gz" "$OUT/one.gz"
measure "$OUT/files.gz" "cd '$OUT' && fpga-split -n 2 big.tar | parallel -j 2 fpga-gzip -$LEVEL --device {%} {} && fpga-cat --rm big.tar.*.gz"
row "split (chunk files), parallel -j 2, cat" "$bytes" c
cmp "$OUT/files.gz" "$OUT/one.gz"
echo
awk -v a="$one" -v b="$ranges" 'BEGIN { printf "--ranges pipeline / one process: %.3fx (target 0.85x). Both joins byte-identical to the one-process output.\n", a / b }'
# What GNU parallel costs by itself: start-up and two empty jobs, and ten.
measure /dev/null "parallel true ::: 1 2"; p2=$T p2c=$CPU
measure /dev/null "parallel true ::: 1 2 3 4 5 6 7 8 9 10"; p10=$T p10c=$CPU
echo
awk -v a="$one_cpu" -v b="$ranges_cpu" -v p2="$p2" -v p2c="$p2c" -v p10="$p10" -v p10c="$p10c" 'BEGIN {
  printf "CPU time (user + system, every process): one process %.2f s, --ranges pipeline %.2f s (%.3fx).\n", a, b, b / a
  printf "GNU parallel alone: start-up and 2 empty jobs %.2f s wall, %.2f s CPU; 10 jobs %.2f s wall, %.2f s CPU.\n", p2, p2c, p10, p10c
  printf "Load average at the end: '"$(cut -d' ' -f1-3 /proc/loadavg)"'.\n"
}'
echo
} | tee "$OUT/table.md"
{ echo; cat "$OUT/table.md"; } >> "$HERE/RESULTS.md"
