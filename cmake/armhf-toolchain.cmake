# Cross build for armhf (the Pynq-Z1's Zynq-7020: dual Cortex-A9 with NEON),
# fully static, with Debian's crossbuild-essential-armhf and the sysroot of
# armhf static libraries that scripts/armhf-sysroot.sh unpacks (`make armhf`
# does both). libc and libstdc++ are the cross toolchain's own.
#
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/armhf-toolchain.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)

if(NOT FPGA_ARMHF_SYSROOT)
  if(DEFINED ENV{FPGA_ARMHF_SYSROOT})
    set(FPGA_ARMHF_SYSROOT "$ENV{FPGA_ARMHF_SYSROOT}")
  else()
    set(FPGA_ARMHF_SYSROOT /var/cache/fpga-tools/armhf-sysroot)
  endif()
endif()
set(FPGA_ARMHF_SYSROOT "${FPGA_ARMHF_SYSROOT}" CACHE PATH "armhf sysroot of static libraries (scripts/armhf-sysroot.sh)")
if(NOT EXISTS "${FPGA_ARMHF_SYSROOT}/usr/include")
  message(FATAL_ERROR "${FPGA_ARMHF_SYSROOT}: no armhf sysroot (scripts/install-deps.sh --armhf makes it)")
endif()
# try_compile projects see the same settings.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES FPGA_ARMHF_SYSROOT)

# Libraries and headers from the sysroot and the cross toolchain only, never
# the machine's amd64 ones; programs (pkg-config, bats) from the machine.
set(CMAKE_FIND_ROOT_PATH "${FPGA_ARMHF_SYSROOT}" /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
set(ENV{PKG_CONFIG_LIBDIR} "${FPGA_ARMHF_SYSROOT}/usr/lib/arm-linux-gnueabihf/pkgconfig:${FPGA_ARMHF_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${FPGA_ARMHF_SYSROOT}")
set(ENV{PKG_CONFIG_PATH} "")
set(PKG_CONFIG_ARGN --static)

# Cortex-A9 with NEON, hard-float (every PYNQ image is armhf). The sysroot's
# multiarch include folder holds the per-architecture headers (gmp.h, curl's
# curlbuild) that the cross compiler does not search by itself.
set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-a9 -mfpu=neon -mfloat-abi=hard")
set(CMAKE_CXX_FLAGS_INIT "-mcpu=cortex-a9 -mfpu=neon -mfloat-abi=hard")
include_directories(SYSTEM "${FPGA_ARMHF_SYSROOT}/usr/include/arm-linux-gnueabihf")
# Static: one set of binaries for every PYNQ image (glibc 2.27 to 2.35 and
# later), nothing to match (README, Pynq-Z1 / armhf).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
# ctest and gtest_discover_tests run armhf programs through qemu-user.
find_program(FPGA_QEMU_ARM qemu-arm-static)
if(FPGA_QEMU_ARM)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${FPGA_QEMU_ARM}")
endif()
