#!/bin/sh
# Runs one armhf ctest entry (tests/CMakeLists.txt) with the armhf build's
# programs under qemu-user; exits 77, which ctest counts as skipped, when
# there is no armhf build (make armhf) or no qemu-arm-static.
#
#   run.sh unit GTEST_FILTER          the board's unit tests (unit_tests_board)
#   run.sh bats BATS FILTER SUITE     the cases of SUITE matching FILTER
#
# FPGA_ARMHF_LONG=1 (make test-armhf-long): every unit test (unit_tests),
# whole suites.
set -u
if [ ! -x "${FPGA_ARMHF_BIN:?}/fpga-gzip" ]; then
  echo "skipped: no armhf build in ${FPGA_ARMHF_BUILD:-?} (make armhf)"
  exit 77
fi
command -v qemu-arm-static >/dev/null ||
  { echo "skipped: qemu-arm-static is missing (scripts/install-deps.sh --armhf)"; exit 77; }
case $1 in
  unit)
    bin=$FPGA_ARMHF_BUILD/tests/unit_tests_board
    [ -z "${FPGA_ARMHF_LONG:-}" ] || bin=$FPGA_ARMHF_BUILD/tests/unit_tests
    [ -x "$bin" ] || { echo "$bin: not built (make armhf; make test-armhf-long builds unit_tests)" >&2; exit 1; }
    filter=$2
    if [ -z "${FPGA_ARMHF_LONG:-}" ]; then
      case $filter in *-*) filter=$filter:$3 ;; *) filter=$filter-$3 ;; esac
    fi
    exec qemu-arm-static "$bin" --gtest_filter="$filter" ;;
  bats)
    if [ -n "${FPGA_ARMHF_LONG:-}" ]; then exec "$2" "$4"; fi
    exec "$2" --filter "$3" "$4" ;;
  *) echo "run.sh: unknown kind '$1'" >&2; exit 2 ;;
esac
