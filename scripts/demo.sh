#!/bin/sh
# Compresses a generated web-server log with fpga-gzip, checks it with gzip,
# and prints sizes and throughput next to gzip's.
set -eu
BUILD=${1:-build}
BIN=$BUILD/tools
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 bench/make_access_log.py 64 > "$dir/access.log"
size=$(stat -c %s "$dir/access.log")
echo "Sample: a generated access log, $size bytes"
echo "Devices:"
"$BIN/fpga-gzip" --list-devices | sed 's/^/  /'
now() { date +%s.%N; }
t0=$(now); "$BIN/fpga-gzip" -k "$dir/access.log"; t1=$(now)
gzip -6 -c "$dir/access.log" > "$dir/ref.gz"; t2=$(now)
gzip -t "$dir/access.log.gz"
"$BIN/fpga-gzip" -dc "$dir/access.log.gz" | cmp - "$dir/access.log"
ours=$(stat -c %s "$dir/access.log.gz"); ref=$(stat -c %s "$dir/ref.gz")
awk -v s="$size" -v a="$ours" -v b="$ref" -v t0="$t0" -v t1="$t1" -v t2="$t2" 'BEGIN {
  printf "fpga-gzip -6: %d bytes (ratio %.4f) in %.2f s, %.0f MB/s\n", a, a/s, t1-t0, s/(t1-t0)/1e6;
  printf "gzip -6:      %d bytes (ratio %.4f) in %.2f s, %.0f MB/s\n", b, b/s, t2-t1, s/(t2-t1)/1e6;
}'
echo "gzip -t accepts the output, and fpga-gzip -d restores the input byte for byte."
"$BIN/fpga-gzip" -l "$dir/access.log.gz"

echo
echo "fpga-infer: the Fashion-MNIST test set (10,000 images) with the default model,"
echo "a CNV-W1A1-topology binarized network trained by models/train_fashion_cnv.py:"
F=/usr/share/datasets/fashion-mnist
zcat "$F/t10k-images-idx3-ubyte.gz" |
  "$BIN/fpga-infer" --labels "$F/t10k-labels-idx1-ubyte.gz" > "$dir/fashion.tsv"
echo "First lines (image, class, name):"
head -3 "$dir/fashion.tsv" | sed 's/^/  /'
