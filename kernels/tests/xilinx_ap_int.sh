#!/bin/sh
# The C-simulation built against Xilinx's own ap_int.h (ctest kernel.xilinx-ap-int): the
# kernel_gzip tool built with kernels/sim's ap_uint and the one built with the real header
# must write the same bytes. Opt-in: the real headers are never downloaded by the build;
# configure with -DFPGA_XILINX_AP_INT=DIR (DIR holding ap_int.h, e.g. the include folder
# of a checkout of Xilinx/HLS_arbitrary_Precision_Types, or of a Vitis HLS install).
# Without it the test is skipped (exit 77).
#   xilinx_ap_int.sh KERNEL_GZIP KERNEL_GZIP_XILINX SOURCE_DIR
set -eu
sim=$1 real=$2 src=$3
if [ -z "$real" ]; then
  echo "skipped: configure with -DFPGA_XILINX_AP_INT=DIR to build the C-simulation against Xilinx's ap_int.h"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Text, incompressible bytes and long runs: every block type and match length.
{ cat "$src"/kernels/gzip/* "$src"/README.md "$src"/docs/ARCHITECTURE.md
  head -c 300000 /dev/urandom
  yes 'abcabcabd' | head -c 200000
  head -c 70000 /dev/zero; } > "$tmp/in"
for block in 65536 1048576; do
  "$sim" -q -b $block -o "$tmp/sim.gz" "$tmp/in"
  "$real" -q -b $block -o "$tmp/real.gz" "$tmp/in"
  cmp "$tmp/sim.gz" "$tmp/real.gz"
  gzip -dc "$tmp/real.gz" | cmp - "$tmp/in"
done
echo "the same bytes with kernels/sim and with Xilinx's ap_int.h, $(wc -c < "$tmp/in") bytes in"
