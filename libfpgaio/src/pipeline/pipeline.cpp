// Thread-count helpers for the ordered pool.
#include <unistd.h>

#include "fpgaio/pipeline.hpp"

namespace fpgaio {

unsigned online_cpus() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1u;
}

}  // namespace fpgaio
