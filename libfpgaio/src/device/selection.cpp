// The device list and the selection policy: which devices exist (the
// backend table of backends.cpp, then backends added at run time, the CPU
// last), choosing one by name, job slot or environment, and opening the
// chosen device for compression: a named device as named, else a card that
// is free and works, else the CPU.
#include "fpgaio/device.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "backends.hpp"
#include "fpgaio/deflate_units.hpp"
#include "fpgaio/device_lock.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/pipeline.hpp"

#include "../util.hpp"

namespace fpgaio {

namespace {

using util::env;
using util::all_digits;

std::mutex g_mu;
// Backends added with register_device_backend().
std::vector<const DeviceBackend*>& registered() {
  static std::vector<const DeviceBackend*> v;
  return v;
}

// Every backend in listing order: the table's accelerators, those added at
// run time, the CPU.
std::vector<const DeviceBackend*> backends() {
  const auto& table = detail::backend_table();
  std::vector<const DeviceBackend*> bs = table.accelerators;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    bs.insert(bs.end(), registered().begin(), registered().end());
  }
  bs.push_back(table.cpu);
  return bs;
}

// A device chosen by a scheduler's slot, not by name: the card then runs
// alone (the other jobs or tasks have the cores).
bool slot_from_scheduler() { return !env("PARALLEL_JOBSLOT").empty() || slurm_job_slot() != 0; }

std::string names_of(const std::vector<Device>& ds) {
  std::string s;
  for (const auto& d : ds) s += (s.empty() ? "" : ", ") + d.name;
  return s;
}

}  // namespace

// ---- the device list ----

std::vector<Device> named_only_devices() {
  std::vector<Device> out;
  for (const auto* b : backends())
    for (auto& d : b->unlisted()) {
      d.backend = b;
      out.push_back(std::move(d));
    }
  return out;
}

void register_device_backend(const DeviceBackend* backend) {
  std::lock_guard<std::mutex> lk(g_mu);
  registered().push_back(backend);
}

std::vector<Device> list_devices() {
  std::vector<Device> out;
  for (const auto* b : backends()) {
    for (auto& d : b->discover()) {
      d.index = static_cast<unsigned>(out.size());
      d.backend = b;
      out.push_back(std::move(d));
    }
  }
  return out;
}

// ---- choosing one ----

unsigned slurm_job_slot() {
  std::string local = env("SLURM_LOCALID");
  if (env("SLURM_JOB_ID").empty() || !all_digits(local) || local.size() > 6) return 0;
  return static_cast<unsigned>(std::strtoul(local.c_str(), nullptr, 10)) + 1;
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
    std::string v = env(var);
    if (!v.empty()) {
      spec = v;
      origin = var;
    }
  }
  if (spec.empty() && slurm_job_slot() != 0) {
    spec = std::to_string(slurm_job_slot());
    origin = "SLURM_LOCALID";
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
  std::optional<Device> unlisted;
  for (const auto* b : backends()) {
    if (auto d = b->find_unlisted(spec)) {
      unlisted = std::move(d);
      unlisted->backend = b;
      found = &*unlisted;
    }
  }
  if (!found) {
    std::string why;  // why the backend of the name's prefix lists nothing
    for (const auto* b : backends()) {
      std::string r = spec.rfind(std::string(b->name()) + ":", 0) == 0 ? b->why_none() : "";
      if (!r.empty()) why = "; " + r;
    }
    // Every name accepted here: the devices listed, then those chosen by
    // name only that can run `kernel` (csim:0 compresses, but does not
    // decompress).
    std::string names = names_of(devices);
    for (const auto& d : named_only_devices())
      if (can_run(d)) names += ", " + d.name;
    throw Error(ErrorKind::device, origin + ": no device '" + spec + "' (available: " + names + why + ")");
  }
  if (!can_run(*found))
    throw Error(ErrorKind::device, origin + ": device '" + found->name + "' cannot run '" + kernel + "'");
  return *found;
}

std::vector<std::string> split_device_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  for (;;) {
    std::size_t j = s.find(',', i);
    out.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

// ---- opening the device that compresses: cards or the CPU ----

std::vector<std::unique_ptr<DeflateUnit>> open_deflate_units(const Device& device, unsigned threads) {
  if (!device.backend) return {};  // a Device made by hand: the CPU's
  return device.backend->open_deflate_units(device, threads);
}

namespace {

Device cpu_device() {
  for (const auto& d : list_devices())
    if (d.kind == DeviceKind::cpu) return d;
  throw Error(ErrorKind::device, "no CPU device");
}

// A named device, opened: a card is waited for (its lock) and any failure
// is an error.
void open_named(const Device& d, unsigned threads, OpenedDevice& r) {
  if (d.kind == DeviceKind::cpu) {
    r.cpu_threads = threads ? threads : default_threads();
    return;
  }
  if (!d.lock_key.empty()) r.locks.push_back(DeviceLock::acquire(d, true));
  auto units = open_deflate_units(d, threads);
  for (auto& u : units) r.units.push_back(std::move(u));
}

}  // namespace

OpenedDevice open_deflate_device(const std::string& spec_in, unsigned threads) {
  OpenedDevice r;
  std::string spec = spec_in.empty() ? env("FPGA_DEVICE") : spec_in;
  r.explicit_choice = !spec.empty();
  if (spec.find(',') != std::string::npos) {
    // A list: every device named in it, fed from one queue.
    std::vector<std::string> seen;
    for (const auto& name : split_device_list(spec)) {
      std::string origin = spec_in.empty() ? "FPGA_DEVICE" : "--device";
      if (name.empty() || name.find_first_not_of("0123456789") == std::string::npos)
        throw Error(ErrorKind::device, origin + ": '" + spec + "': a list names devices (" +
                                           (name.empty() ? "an empty name" : "'" + name + "' is a job slot") + ")");
      if (std::find(seen.begin(), seen.end(), name) != seen.end())
        throw Error(ErrorKind::device, origin + ": '" + spec + "' names '" + name + "' twice");
      seen.push_back(name);
      Device d = select_device(name, "deflate");
      if (r.device.name.empty() || r.device.kind == DeviceKind::cpu) r.device = d;
      open_named(d, threads, r);
    }
    if (r.units.empty()) r.cpu_threads = 0;  // only the CPU
    return r;
  }
  Device chosen = select_device(spec_in, "deflate");
  if (chosen.kind == DeviceKind::cpu) {
    r.device = chosen;
    return r;
  }
  if (r.explicit_choice || chosen.kind == DeviceKind::csim) {
    // Named: the device alone (its output does not depend on timing).
    r.device = chosen;
    open_named(chosen, threads, r);
    return r;
  }
  // Not named: the chosen card, else another free card, else the CPU; a card
  // that fails is passed over with a warning. The card shares the blocks with
  // the CPU's threads, unless a GNU parallel job slot or a Slurm task's rank
  // chose it (the other jobs have the cores then).
  bool from_slot = slot_from_scheduler();
  std::vector<Device> order{chosen};
  for (const auto& d : list_devices())
    if (d.kind == chosen.kind && d.name != chosen.name) order.push_back(d);
  for (const auto& d : order) {
    std::unique_ptr<DeviceLock> lock;
    try {
      lock = DeviceLock::acquire(d, false);
      if (!lock) continue;  // busy: another process has it
      r.units = open_deflate_units(d, threads);
    } catch (const Error& e) {
      r.warnings.push_back(e.what());
      r.units.clear();
      continue;
    }
    r.locks.push_back(std::move(lock));
    r.device = d;
    if (!from_slot) r.cpu_threads = threads ? threads : default_threads();
    return r;
  }
  r.device = cpu_device();
  return r;
}

Device select_inflate_device(const std::string& spec_in) {
  std::string spec = spec_in.empty() ? env("FPGA_DEVICE") : spec_in;
  if (spec.find(',') != std::string::npos) {
    auto names = split_device_list(spec);
    if (std::find(names.begin(), names.end(), "cpu") != names.end()) return cpu_device();
  }
  try {
    return select_device(spec_in, "inflate");
  } catch (const Error&) {
    // FPGA_DEVICE set for a session names the card that compresses; a card
    // without an inflate kernel leaves -d, -t and -l on the CPU, which gives
    // the same bytes. A device named with --device, or one that does not
    // exist, stays an error.
    if (!spec_in.empty() || spec.empty()) throw;
    for (const auto& name : split_device_list(spec)) select_device(name, "");  // throws for a name that is nothing
    return cpu_device();
  }
}

}  // namespace fpgaio
