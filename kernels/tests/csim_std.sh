#!/bin/sh
# The kernels' C++ standard (ctest kernel.csim-std): kernels/Makefile (HLS_STD, for v++),
# kernels/gzip/hls.tcl (-std=, for vitis_hls) and kernels/CMakeLists.txt (the C-simulation,
# passed here as $3) must name the same one, and the kernel must compile under it with
# -pedantic-errors (no GNU extensions, which Vitis's clang front end need not take).
# Under C++11, which older Vitis HLS releases default to, what fails is printed.
#   csim_std.sh CXX KERNELS_DIR CMAKE_STANDARD
set -u
cxx=$1 dir=$2 cmake_std=$3
make_std=$(sed -n 's/^HLS_STD ?= c++\([0-9][0-9]\)$/\1/p' "$dir/Makefile")
tcl_std=$(sed -n 's/.*-std=c++\([0-9][0-9]\).*/\1/p' "$dir/gzip/hls.tcl" | sort -u)
echo "C++ standard: Makefile c++$make_std, hls.tcl c++$tcl_std, C-simulation (CMake) c++$cmake_std"
if [ -z "$make_std" ] || [ "$make_std" != "$tcl_std" ] || [ "$make_std" != "$cmake_std" ]; then
  echo "kernels: the Makefile, hls.tcl and CMakeLists.txt name different C++ standards" >&2
  exit 1
fi
flags="-fsyntax-only -Wno-unknown-pragmas -I$dir/sim -I$dir/gzip"
if ! "$cxx" -std=c++"$make_std" -pedantic-errors $flags "$dir/gzip/gzip_kernel.cpp"; then
  echo "kernels: gzip/gzip_kernel.cpp does not compile as C++$make_std" >&2
  exit 1
fi
if out=$("$cxx" -std=c++11 $flags "$dir/gzip/gzip_kernel.cpp" 2>&1); then
  echo "C++11: compiles as well"
else
  echo "C++11 (for information): $(printf '%s\n' "$out" | grep -c 'error:') errors, the first:"
  printf '%s\n' "$out" | grep 'error:' | head -3
fi
