#!/usr/bin/env bash
# Arrow IPC at the copy limit: fpga-split --arrow -n 8 of a table of at
# least 1 GiB into chunk files and fpga-cat of the chunks back, side by side
# in one run with cp of the same file and GNU split -n 8 (bytes, no format)
# and cat of its pieces, and fpga-split --ranges (nothing copied). The
# table: an Arrow IPC file written by our own test writer (make_arrow: an
# int64 column and a dictionary-encoded utf8 column, ARROW_BATCHES batches
# of ARROW_ROWS rows), on tmpfs. Best of REPEAT for each step, wall time and
# CPU time (user + sys). Prints a Markdown table and appends it to
# bench/RESULTS.md.
#
#   bench/arrow.sh [BUILD_DIR]   environment: ARROW_BATCHES (96), ARROW_ROWS
#                                (1048576: 12 MiB a batch), REPEAT (3),
#                                BENCH_OUT (/dev/shm/fpga-arrow-bench)
set -euo pipefail
BUILD=${1:-build}
BIN=$(cd "$BUILD/tools" && pwd)
MAKE_ARROW=$(cd "$BUILD/tests" && pwd)/make_arrow
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${BENCH_OUT:-/dev/shm/fpga-arrow-bench}
REPEAT=${REPEAT:-3}
BATCHES=${ARROW_BATCHES:-96}
ROWS=${ARROW_ROWS:-1048576}
rm -rf "$OUT"
mkdir -p "$OUT"
trap 'rm -rf "$OUT"' EXIT
. "$HERE/lib.sh"
need /usr/bin/time time
[ -x "$MAKE_ARROW" ] || { echo "bench: build make_arrow first (cmake --build $BUILD --target make_arrow)" >&2; exit 1; }
export PATH="$BIN:$PATH"
cd "$OUT"
"$MAKE_ARROW" --file --dict --batches "$BATCHES" --rows "$ROWS" > t.arrow
bytes=$(stat -c %s t.arrow)

# step NAME CLEAN CMD: the best of REPEAT runs of CMD (CLEAN first, untimed).
rows=""
step() {
  local best="" cpu="" before after
  for _ in $(seq "$REPEAT"); do
    bash -c "$2"
    sync
    before=$(du -sb . | cut -f1)
    /usr/bin/time -f '%e %U %S' -o time.txt bash -c "$3" > /dev/null
    read -r e u s < time.txt
    after=$(du -sb . | cut -f1)
    if [ -z "$best" ] || awk -v a="$e" -v b="$best" 'BEGIN{exit !(a<b)}'; then
      best=$e
      cpu=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u + s}')
    fi
  done
  rows+="$1"$'\t'"$best"$'\t'"$cpu"$'\t'"$((after - before))"$'\n'
}
step "cp t.arrow copy" "rm -f copy" "cp t.arrow copy"
step "GNU split -n 8 t.arrow (bytes)" "rm -f copy x??" "split -n 8 t.arrow"
step "cat x?? > joined (GNU split's pieces)" "rm -f joined" "cat x?? > joined"
rm -f x?? joined
step "fpga-split --arrow -n 8 t.arrow" "rm -f t.arrow.00?" "fpga-split --arrow -n 8 t.arrow"
step "fpga-cat t.arrow.00? > joined" "rm -f joined" "fpga-cat t.arrow.00? > joined"
# The join of the chunks of a file is a stream: its messages are the file's.
rm -f t.arrow.00?
fpga-split --arrow -n 1 --arrow-file joined > /dev/null
mv joined.000 refile
fpga-split --arrow-file -n 1 t.arrow > /dev/null
cmp refile t.arrow.000
rm -f t.arrow.00? joined refile
step "fpga-split --arrow --ranges -n 8 t.arrow (no copy)" "true" "fpga-split --arrow --ranges -n 8 t.arrow"
ranges=$(fpga-split --arrow --ranges -n 8 t.arrow)
# shellcheck disable=SC2086
fpga-cat $ranges > joined
fpga-split --arrow -n 1 t.arrow > /dev/null
cmp joined t.arrow.000
rm -f joined t.arrow.000

{
echo "## Arrow IPC benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Machine: $(machine); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo "Command: bench/arrow.sh $BUILD (ARROW_BATCHES=$BATCHES ARROW_ROWS=$ROWS REPEAT=$REPEAT)."
echo "Table: $((bytes >> 20)) MiB Arrow IPC file (make_arrow --file --dict --batches $BATCHES --rows $ROWS),"
echo "on tmpfs. Best of $REPEAT by wall time; CPU is user + sys of that run; written: bytes the step left"
echo "in the folder (0: nothing copied). x split is the wall time against GNU split -n 8."
echo
echo "| step | wall s | CPU s | x split | written MiB |"
echo "|---|---:|---:|---:|---:|"
base=$(printf '%s' "$rows" | awk -F'\t' '/^GNU split/ {print $2}')
printf '%s' "$rows" | awk -F'\t' -v b="$base" '{ printf "| %s | %.3f | %.2f | %.2fx | %.1f |\n", $1, $2, $3, $2 / b, $4 / 1048576 }'
echo
} | tee table.md
{ echo; cat table.md; } >> "$HERE/RESULTS.md"
