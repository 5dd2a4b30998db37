// The device registry, the CPU backend, and device selection.
#include "fpgaio/device.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "fpgaio/error.hpp"
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
};

std::mutex g_mu;
std::vector<const DeviceBackend*>& backends() {
  static std::vector<const DeviceBackend*> v;
  return v;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string names_of(const std::vector<Device>& ds) {
  std::string s;
  for (const auto& d : ds) s += (s.empty() ? "" : ", ") + d.name;
  return s;
}

// "csim:N" for N a small number.
std::optional<Device> csim_device(const std::string& spec) {
  if (spec.rfind("csim:", 0) != 0 || !all_digits(spec.substr(5)) || spec.size() > 8) return std::nullopt;
  Device d;
  d.name = spec;
  d.kind = DeviceKind::csim;
  d.index = ~0u;
  d.slots = 1;
  d.description = "kernels/gzip C-simulated, and the FINN stand-in (the CPU engine behind idma0/odma0's "
                  "buffers), on " + std::to_string(online_cpus()) + " host threads (by name only; not a card)";
  d.kernels = {"deflate", "bnn"};
  return d;
}

}  // namespace

std::vector<Device> named_only_devices() { return {*csim_device("csim:0")}; }

void register_device_backend(const DeviceBackend* backend) {
  std::lock_guard<std::mutex> lk(g_mu);
  backends().push_back(backend);
}

std::vector<Device> list_devices() {
  load_device_plugins();
  static const CpuBackend cpu;
  std::vector<const DeviceBackend*> bs;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    bs = backends();
  }
  bs.push_back(&cpu);
  std::vector<Device> out;
  for (const auto* b : bs) {
    for (auto& d : b->discover()) {
      d.index = static_cast<unsigned>(out.size());
      out.push_back(std::move(d));
    }
  }
  return out;
}

std::vector<Device> job_slots(const std::string& kernel) {
  std::vector<Device> out;
  for (const auto& d : list_devices()) {
    if (!kernel.empty() && std::find(d.kernels.begin(), d.kernels.end(), kernel) == d.kernels.end()) continue;
    for (unsigned i = 0; i < std::max(1u, d.slots); ++i) out.push_back(d);
  }
  return out;
}

Device select_device(const std::string& spec_in, const std::string& kernel) {
  std::string spec = spec_in;
  std::string origin = "--device";
  for (const char* var : {"FPGA_DEVICE", "PARALLEL_JOBSLOT"}) {
    if (!spec.empty()) break;
    const char* env = std::getenv(var);
    if (env && *env) {
      spec = env;
      origin = var;
    }
  }
  auto devices = list_devices();
  auto can_run = [&](const Device& d) {
    return kernel.empty() || std::find(d.kernels.begin(), d.kernels.end(), kernel) != d.kernels.end();
  };
  if (spec.empty()) {
    for (const auto& d : devices)
      if (can_run(d)) return d;
    throw Error(ErrorKind::device, "no device can run '" + kernel + "'");
  }
  if (all_digits(spec)) {
    // A GNU parallel job slot ({%}, counted from 1): slots go to the devices
    // in order, each device taking as many as it runs jobs at once, and wrap.
    unsigned long n = spec.size() > 9 ? ~0ul : std::strtoul(spec.c_str(), nullptr, 10);
    if (n == 0) throw Error(ErrorKind::device, origin + ": job slots count from 1 (GNU parallel's {%})");
    auto slots = job_slots(kernel);
    if (slots.empty()) throw Error(ErrorKind::device, "no device can run '" + kernel + "'");
    return slots[(n - 1) % slots.size()];
  }
  const Device* found = nullptr;
  for (const auto& d : devices)
    if (d.name == spec) found = &d;
  auto csim = csim_device(spec);
  if (csim) found = &*csim;
  if (!found) {
    std::string why;
    if (spec.rfind("xrt:", 0) == 0) {
      std::string r = xrt_unavailable_reason();
      if (!r.empty()) why = "; XRT: " + r;
    }
    throw Error(ErrorKind::device,
                origin + ": no device '" + spec + "' (available: " + names_of(devices) + why + ")");
  }
  if (!can_run(*found))
    throw Error(ErrorKind::device, origin + ": device '" + found->name + "' cannot run '" + kernel + "'");
  return *found;
}

}  // namespace fpgaio
