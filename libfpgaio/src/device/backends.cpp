// The backend table: every source of devices libfpgaio knows, in the order
// list_devices() asks them. Adding a backend is its file (NAME_backend.cpp,
// a DeviceBackend behind NAME_backend(), declared in backends.hpp) and its
// entry here; the selection policy (selection.cpp) needs no change.
#include "backends.hpp"

namespace fpgaio::detail {

const BackendTable& backend_table() {
  static const BackendTable table{
      {
          &xrt_backend(),   // Alveo cards through XRT (a plugin loaded when XILINX_XRT is set): xrt:N
          &csim_backend(),  // kernels/gzip C-simulated on host threads, by name only: csim:N
          &pynq_backend(),  // the BNN-PYNQ overlay of a Pynq-Z1/Z2, or its emulation (FPGAIO_PYNQ_EMU): pynq:0
      },
      &cpu_backend(),  // the host's cores, always present and listed last: cpu
  };
  return table;
}

}  // namespace fpgaio::detail
