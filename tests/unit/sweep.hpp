// How much of a long sweep a unit test runs: a sample in make test, all of
// it in make test-long (FPGA_LONG=1 in the environment; ctest passes it on).
#pragma once

#include <cstdlib>

namespace testutil {

// QUICK in make test, FULL with FPGA_LONG set.
inline int long_or(int quick, int full) {
  const char* e = std::getenv("FPGA_LONG");
  return e && *e ? full : quick;
}

}  // namespace testutil
