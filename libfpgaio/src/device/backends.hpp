// The backend table, for the selection policy (selection.cpp) and the
// backends themselves: private to src/device/.
#pragma once

#include <vector>

#include "fpgaio/device.hpp"

namespace fpgaio::detail {

// The backends built into libfpgaio (backends.cpp): the accelerators in the
// order their devices are listed, and the CPU, which is listed last.
struct BackendTable {
  std::vector<const DeviceBackend*> accelerators;
  const DeviceBackend* cpu = nullptr;
};
const BackendTable& backend_table();

// The backends, each defined in its own file (NAME_backend.cpp).
const DeviceBackend& cpu_backend();
const DeviceBackend& csim_backend();
const DeviceBackend& xrt_backend();
const DeviceBackend& pynq_backend();

}  // namespace fpgaio::detail
