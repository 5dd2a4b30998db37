#!/usr/bin/env bash
# The cost of fpga-cat's checks: the join of gzip parts with the default
# check (every member's bytes read against the CRC-32 in its FC subfield),
# with --verify (every member inflated, its CRC-32 checked) and the copy
# alone (--no-verify), side by side on the same parts in one run, with the
# compression of the same parts and a parallel test of the joined file as
# yardsticks. The parts: an access log of JOIN_MB MiB cut by fpga-split -n 2
# and compressed by fpga-gzip. Prints a Markdown table and appends it to
# bench/RESULTS.md.
#
#   bench/join.sh [BUILD_DIR]   environment: BENCH_DIR (corpus, default
#                               /var/tmp/fpga-bench), JOIN_MB (1024),
#                               LEVEL (6), REPEAT (3)
set -euo pipefail
BUILD=${1:-build}
BIN=$(cd "$BUILD/tools" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${BENCH_DIR:-/var/tmp/fpga-bench}
OUT=${BENCH_OUT:-/dev/shm/fpga-join-out}
MB=${JOIN_MB:-1024}
LEVEL=${LEVEL:-6}
REPEAT=${REPEAT:-3}
mkdir -p "$DIR" "$OUT"
trap 'rm -rf "$OUT"' EXIT

. "$HERE/lib.sh"
need /usr/bin/time time
export PATH="$BIN:$PATH"

log=$DIR/access-${MB}M.log
[ -s "$log" ] || { python3 "$HERE/make_access_log.py" "$MB" > "$log.tmp" && mv "$log.tmp" "$log"; }
# Parts and outputs on tmpfs: the copy costs what the kernel's copy costs.
cp "$log" "$OUT/big.log"
bytes=$(stat -c %s "$OUT/big.log")
(cd "$OUT" && fpga-split -n 2 big.log > /dev/null)

# step NAME CMD: one row; T from measure (lib.sh), the copy's time as 1x.
rows=""
step() {
  measure "$OUT/out" "$2"
  rows+=$(awk -v n="$1" -v b="$bytes" -v t="$T" -v r="$RSS" 'BEGIN {
    if (t < 0.001) t = 0.001
    printf "%s\t%.3f\t%.1f\t%.1f\n", n, t, b / t / 1e6, r / 1024 }')$'\n'
}
step "fpga-gzip -$LEVEL -p 2 of the 2 parts (compression)" \
  "cd '$OUT' && fpga-gzip -$LEVEL -p 2 -k -f big.log.000 big.log.001"
packed=$(( $(stat -c %s "$OUT/big.log.000.gz") + $(stat -c %s "$OUT/big.log.001.gz") ))
step "fpga-cat --no-verify (the copy alone)" "cd '$OUT' && fpga-cat --no-verify big.log.*.gz"
cp "$OUT/out" "$OUT/copy.gz"
step "fpga-cat (default: FC checksums), to stdout" "cd '$OUT' && fpga-cat big.log.*.gz"
cmp "$OUT/out" "$OUT/copy.gz"
step "fpga-cat (default: FC checksums), -o FILE" "cd '$OUT' && fpga-cat -f -o joined.gz big.log.*.gz"
cmp "$OUT/joined.gz" "$OUT/copy.gz"
step "fpga-cat --verify (every member inflated), to stdout" "cd '$OUT' && fpga-cat --verify big.log.*.gz"
cmp "$OUT/out" "$OUT/copy.gz"
step "fpga-cat --verify -p 1 (inflated on one thread)" "cd '$OUT' && fpga-cat --verify -p 1 big.log.*.gz"
step "fpga-gzip -t -p 2 of the joined file" "fpga-gzip -t -p 2 '$OUT/joined.gz'"
gzip -dc "$OUT/joined.gz" | cmp - "$OUT/big.log"

{
echo "## join benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Machine: $(machine). $((bytes >> 20)) MiB access log (bench/make_access_log.py), fpga-split -n 2,"
echo "fpga-gzip -$LEVEL: $((packed >> 20)) MiB of parts, on tmpfs. MB/s is uncompressed bytes over"
echo "the command's wall time; x copy is the time against fpga-cat --no-verify. Best of $REPEAT."
echo
echo "### fpga-cat: verification against the copy alone"
echo
echo "| step | seconds | MB/s | x copy | RSS MiB |"
echo "|---|---:|---:|---:|---:|"
copy=$(printf '%s' "$rows" | awk -F'\t' '/--no-verify/ {print $2}')
printf '%s' "$rows" | awk -F'\t' -v c="$copy" '{ printf "| %s | %.3f | %.1f | %.1fx | %.1f |\n", $1, $2, $3, $2 / c, $4 }'
echo
} | tee "$OUT/table.md"
{ echo; cat "$OUT/table.md"; } >> "$HERE/RESULTS.md"
