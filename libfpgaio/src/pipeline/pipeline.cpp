// Thread-count helpers for the ordered pool.
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "fpgaio/pipeline.hpp"

namespace fpgaio {

unsigned online_cpus() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1u;
}

unsigned default_threads() {
  const char* job = std::getenv("SLURM_JOB_ID");
  const char* cpus = std::getenv("SLURM_CPUS_PER_TASK");
  if (job && *job && cpus && std::strlen(cpus) <= 4 && std::strspn(cpus, "0123456789") == std::strlen(cpus)) {
    unsigned long n = std::strtoul(cpus, nullptr, 10);
    if (n > 0) return static_cast<unsigned>(n);
  }
  return online_cpus();
}

}  // namespace fpgaio
