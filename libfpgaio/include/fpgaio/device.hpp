// Compute devices: what they are, which exist, and choosing one.
#pragma once

#include <string>
#include <vector>

namespace fpgaio {

enum class DeviceKind { cpu, xrt };

struct Device {
  std::string name;                  // "cpu", "xrt:0", ...
  DeviceKind kind = DeviceKind::cpu;
  unsigned index = 0;                // position in list_devices()
  unsigned slots = 1;                // jobs it runs at once (CPU: online cores)
  std::string description;           // for --list-devices
  std::vector<std::string> kernels;  // what it can run: "deflate", "inflate", "bnn"
};

// A source of devices. The CPU backend is always present; an XRT backend
// registers itself when XRT is available.
class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;
  virtual const char* name() const = 0;
  virtual std::vector<Device> discover() const = 0;
};

// All devices: accelerators first (in backend order), the CPU last.
std::vector<Device> list_devices();

// Picks a device by name ("cpu", "xrt:0"), by index ("0", "1"), or, when
// `spec` is empty, from the FPGA_DEVICE environment variable, else the first
// device that can run `kernel`. Throws Error(device) for one that does not
// exist or cannot run `kernel`.
Device select_device(const std::string& spec, const std::string& kernel);

// For backends: adds one to the registry (the XRT backend calls it).
void register_device_backend(const DeviceBackend* backend);

}  // namespace fpgaio
