# Vitis HLS synthesis of the deflate kernel alone (make -C kernels hls): the report of
# resources, latency and initiation intervals, without a platform or an .xclbin. Never
# run here (no Vitis): the first place to look once a machine with Vitis is available.
open_project -reset gzip_kernel
set_top xilGzipCompBlock
add_files $::env(SRC)/gzip_kernel.cpp -cflags "-std=c++14 -I$::env(SRC)"
open_solution -reset -flow_target vitis solution
set_part $::env(PART)
create_clock -period [expr {1000.0 / $::env(FREQ_MHZ)}]
csynth_design
exit
