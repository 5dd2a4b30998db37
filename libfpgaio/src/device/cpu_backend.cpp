// The CPU backend: the one device "cpu", always present, whose jobs the
// gzip code runs on its own engines (it has no deflate units).
#include "backends.hpp"
#include "fpgaio/deflate_units.hpp"
#include "fpgaio/pipeline.hpp"

namespace fpgaio {

namespace {

class CpuBackend final : public DeviceBackend {
 public:
  const char* name() const override { return "cpu"; }
  std::vector<Device> discover() const override {
    Device d;
    d.name = "cpu";
    d.kind = DeviceKind::cpu;
    d.slots = online_cpus();
    d.description = std::to_string(d.slots) + " online core" + (d.slots == 1 ? "" : "s");
    d.kernels = {"deflate", "inflate", "bnn"};
    return {d};
  }
  // No units: the gzip code runs the CPU engines itself, per level.
  std::vector<std::unique_ptr<DeflateUnit>> open_deflate_units(const Device&, unsigned) const override { return {}; }
};

}  // namespace

namespace detail {

const DeviceBackend& cpu_backend() {
  static const CpuBackend b;
  return b;
}

}  // namespace detail

}  // namespace fpgaio
