#!/usr/bin/env bats
# fpga-gzip's device options on a host without a card: what an unknown
# --device lists, and --xclbin naming a file that cannot be read.

load ../helpers

setup() {
  cd "$BATS_TEST_TMPDIR"
  unset FPGA_DEVICE PARALLEL_JOBSLOT FPGA_XCLBIN
  make_text t 40
}

# The names in "(available: A, B; ...)" of a "no device" error, one a line.
available() { sed -n 's/.*(available: \([^;)]*\).*/\1/p' <<< "$1" | tr -d ' ' | tr ',' '\n'; }
# The names --list-devices prints (its second column), one a line.
listed() { "$OURS" "$@" --list-devices | cut -f2; }

@test "--device naming no device lists every name the tool accepts there, each of which works" {
  run env -u XILINX_XRT "$OURS" --device gpu -c t
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-gzip: --device: no device 'gpu' (available: cpu, csim:0)" ]
  # The same names as --list-devices, and each one compresses.
  [ "$(available "$output")" = "$(env -u XILINX_XRT bash -c "$(declare -f listed); OURS='$OURS' listed")" ]
  for d in $(available "$output"); do
    env -u XILINX_XRT "$OURS" --device "$d" -c t | gzip -dc | cmp - t
  done
  run env -u XILINX_XRT FPGA_DEVICE=gpu "$OURS" -c t
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-gzip: FPGA_DEVICE: no device 'gpu' (available: cpu, csim:0)" ]
  # Decompression runs on the CPU only: csim:0 has no inflate kernel, so
  # -d --device csim:0 is refused and not offered.
  "$OURS" -c t > t.gz
  run env -u XILINX_XRT "$OURS" -d --device gpu -c t.gz
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-gzip: --device: no device 'gpu' (available: cpu)" ]
  [ "$(available "$output")" = "$(env -u XILINX_XRT "$OURS" -d --list-devices | cut -f2)" ]
  run env -u XILINX_XRT "$OURS" -d --device csim:0 -c t.gz
  [ "$status" -eq 1 ]
  env -u XILINX_XRT "$OURS" -d --device cpu -c t.gz | cmp - t
}

@test "--xclbin naming a file that cannot be read is an error naming it, whichever device runs" {
  "$OURS" -c t > t.gz
  for args in "-c t" "--device cpu -c t" "--device csim:0 -c t" "-d -c t.gz" "--list-devices"; do
    run env -u XILINX_XRT "$OURS" --xclbin nosuch.xclbin $args
    [ "$status" -eq 1 ]
    [ "$output" = "fpga-gzip: nosuch.xclbin: No such file or directory" ]
  done
  mkdir adir
  run env -u XILINX_XRT "$OURS" --xclbin adir -c t
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-gzip: adir: Is a directory" ]
  # Nothing was written: the check comes before any file is touched.
  run env -u XILINX_XRT "$OURS" --xclbin nosuch.xclbin t
  [ "$status" -eq 1 ]
  [ -f t ] && [ ! -e t.gz.tmp ] && [ "$(ls)" = "$(printf 'adir\nt\nt.gz')" ]
  # A file that is there is taken (and unused without a card), as before.
  echo x > some.xclbin
  env -u XILINX_XRT "$OURS" --xclbin some.xclbin -c t | gzip -dc | cmp - t
}
