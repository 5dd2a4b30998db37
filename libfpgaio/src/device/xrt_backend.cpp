// The XRT backend as libfpgaio sees it: libfpgaio_xrt.so loaded with dlopen()
// when XILINX_XRT is set (so programs run, and list no cards, where XRT is
// not installed), its cards registered as devices "xrt:N", the xclbin choice,
// one lock per card across processes, and the choice between a card and the
// CPU when a card fails or is busy.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "fpgaio/accel.hpp"
#include "fpgaio/device.hpp"
#include "fpgaio/error.hpp"
#include "xrt_plugin.hpp"

namespace fpgaio {

namespace {

std::mutex g_mu;
std::string g_xclbin;  // set_xclbin()
std::string g_kernel = "deflate";  // set_xclbin_kernel()

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string program_dir() {
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "";
  std::string p(exe, static_cast<std::size_t>(n));
  auto slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}

xrt_plugin::XclbinChoice xclbin_choice() {
  xrt_plugin::XclbinChoice c;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    c.file = g_xclbin;
    c.kernel = g_kernel;
  }
  if (c.file.empty()) c.file = env("FPGA_XCLBIN");
  std::string dir = program_dir();
  if (!dir.empty()) c.search_dirs.push_back(dir + "/../share/fpga-tools/xclbin");
#ifdef FPGAIO_DATADIR
  std::string installed = std::string(FPGAIO_DATADIR) + "/fpga-tools/xclbin";
  if (std::find(c.search_dirs.begin(), c.search_dirs.end(), installed) == c.search_dirs.end())
    c.search_dirs.push_back(installed);
#endif
  return c;
}

std::atomic<bool> g_xrt_loaded{false};

struct PluginState {
  xrt_plugin::Plugin* plugin = nullptr;
  std::string reason;  // why there is none
};

// Loads libfpgaio_xrt.so once: from FPGA_XRT_PLUGIN (tests), else beside the
// program (BIN/../lib/fpga-tools, which is also where the build tree puts it).
const PluginState& plugin_state() {
  static const PluginState st = [] {
    PluginState s;
#ifndef FPGAIO_WITH_XRT
    s.reason = "this build has no XRT backend (FPGAIO_WITH_XRT=OFF, or libxrt-dev was missing)";
    return s;
#else
    if (env("XILINX_XRT").empty()) {
      s.reason = "XILINX_XRT is not set (source XRT's setup.sh)";
      return s;
    }
    std::string path = env("FPGA_XRT_PLUGIN");
    if (path.empty()) path = program_dir() + "/" FPGAIO_XRT_PLUGIN_RELDIR "/libfpgaio_xrt.so";
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = ::dlerror();
      s.reason = std::string("cannot load the XRT backend: ") + (e ? e : path);
      return s;
    }
    auto entry = reinterpret_cast<xrt_plugin::EntryPoint>(::dlsym(h, xrt_plugin::kEntryPoint));
    xrt_plugin::Plugin* p = entry ? entry() : nullptr;
    if (!p || p->abi_version() != xrt_plugin::kAbiVersion) {
      s.reason = path + ": not this version's XRT backend";
      return s;
    }
    s.plugin = p;  // never unloaded: XRT keeps threads and static state
    g_xrt_loaded = true;
    return s;
#endif
  }();
  return st;
}

std::string describe(const xrt_plugin::Card& c) {
  std::string d = (c.bdf.empty() ? "bdf unknown" : c.bdf) + ", " +
                  (c.platform.empty() ? "platform unknown" : c.platform);
  if (!c.problem.empty()) return d + ": " + c.problem;
  d += ", " + c.xclbin + (c.loaded ? " (loaded)" : "") + ", " + std::to_string(c.cus.size()) +
       " compute unit" + (c.cus.size() == 1 ? "" : "s") + ":";
  for (std::size_t i = 0; i < c.cus.size(); ++i) d += (i ? "," : " ") + c.cus[i];
  return d;
}

class XrtBackend final : public DeviceBackend {
 public:
  const char* name() const override { return "xrt"; }
  std::vector<Device> discover() const override {
    std::lock_guard<std::mutex> lk(mu_);
    if (!done_) {
      done_ = true;
      const auto& st = plugin_state();
      if (!st.plugin) {
        note_ = st.reason;
      } else {
        try {
          auto choice = xclbin_choice();
          for (const auto& c : st.plugin->discover(choice)) {
            Device d;
            d.name = "xrt:" + std::to_string(c.index);
            d.kind = DeviceKind::xrt;
            d.slots = 1;  // one job per card (and a lock across processes)
            d.description = describe(c);
            d.kernels = {choice.kernel};
            d.lock_key = c.bdf.empty() ? "xrt-index-" + std::to_string(c.index) : "xrt-" + c.bdf;
            devices_.push_back(std::move(d));
          }
          if (devices_.empty()) note_ = "XRT sees no card";
        } catch (const std::exception& e) {
          note_ = e.what();
        }
      }
    }
    return devices_;
  }
  std::string note() const {
    discover();
    std::lock_guard<std::mutex> lk(mu_);
    return note_;
  }

 private:
  mutable std::mutex mu_;
  mutable bool done_ = false;
  mutable std::vector<Device> devices_;
  mutable std::string note_;
};

XrtBackend& xrt_backend() {
  static XrtBackend b;
  return b;
}

// A port of the plugin whose exceptions become Error(device) naming the
// unit and the block.
class CheckedPort final : public GzipKernelPort {
 public:
  explicit CheckedPort(std::unique_ptr<GzipKernelPort> p) : p_(std::move(p)) {}
  const std::string& name() const override { return p_->name(); }
  std::size_t input_padding() const override { return p_->input_padding(); }
  std::size_t output_capacity(std::size_t n) const override { return p_->output_capacity(n); }
  void run(const std::uint8_t* in, std::uint32_t n, std::uint8_t* out, std::size_t out_cap,
           std::uint32_t& compressed_size, std::uint32_t& checksum) override {
    ++runs_;
    try {
      p_->run(in, n, out, out_cap, compressed_size, checksum);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(ErrorKind::device, name() + ": block " + std::to_string(runs_) + " (" + std::to_string(n) +
                                         " bytes): " + e.what());
    }
  }

 private:
  std::unique_ptr<GzipKernelPort> p_;
  std::uint64_t runs_ = 0;
};

unsigned xrt_index(const Device& d) {
  return static_cast<unsigned>(std::strtoul(d.name.c_str() + 4, nullptr, 10));
}

unsigned timeout_ms() {
  std::string t = env("FPGA_XRT_TIMEOUT_MS");
  unsigned long v = t.empty() ? 0 : std::strtoul(t.c_str(), nullptr, 10);
  return v ? static_cast<unsigned>(std::min(v, 3600000ul)) : 10000;
}

// Directory of the per-card lock files: FPGA_LOCK_DIR, else /run/lock (shared
// by all users), else $XDG_RUNTIME_DIR, else /tmp.
std::string lock_dir() {
  std::string d = env("FPGA_LOCK_DIR");
  if (!d.empty()) return d;
  for (const std::string& c : {std::string("/run/lock"), env("XDG_RUNTIME_DIR")})
    if (!c.empty() && ::access(c.c_str(), W_OK | X_OK) == 0) return c;
  return "/tmp";
}

}  // namespace

void load_device_plugins() {
  static std::once_flag once;
  std::call_once(once, [] { register_device_backend(&xrt_backend()); });
}

std::string xrt_unavailable_reason() {
  load_device_plugins();
  return xrt_backend().note();
}

void set_xclbin(const std::string& path) {
  std::lock_guard<std::mutex> lk(g_mu);
  g_xclbin = path;
}

void set_xclbin_kernel(const std::string& kernel) {
  std::lock_guard<std::mutex> lk(g_mu);
  g_kernel = kernel;
}

namespace bnn {

std::vector<std::unique_ptr<FinnPort>> open_xrt_finn_ports(const Device& device, const FinnPairing& pairing,
                                                           std::size_t image_bytes, std::size_t max_images,
                                                           unsigned ports, std::string& uuid) {
  const auto& st = plugin_state();
  if (!st.plugin) throw Error(ErrorKind::device, device.name + ": " + st.reason);
  xrt_plugin::FinnOpenRequest r;
  r.index = xrt_index(device);
  r.name = device.name;
  r.xclbin = xclbin_choice();
  r.xclbin.kernel = "bnn";
  for (const auto& b : pairing.builds) r.uuids.push_back(b.uuid);
  r.pairing = pairing.path;
  r.ports = ports;
  r.image_bytes = image_bytes;
  r.max_images = max_images;
  r.timeout_ms = timeout_ms();
  try {
    auto opened = st.plugin->open_finn(r);
    uuid = opened.uuid;
    return std::move(opened.ports);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::device, device.name + ": " + e.what());
  }
}

}  // namespace bnn

std::vector<std::unique_ptr<DeflateUnit>> open_xrt_deflate_units(const Device& device) {
  const auto& st = plugin_state();
  if (!st.plugin) throw Error(ErrorKind::device, device.name + ": " + st.reason);
  xrt_plugin::OpenRequest r;
  r.index = xrt_index(device);
  r.name = device.name;
  r.xclbin = xclbin_choice();
  r.timeout_ms = timeout_ms();
  std::vector<std::unique_ptr<GzipKernelPort>> ports;
  try {
    ports = st.plugin->open_gzip(r);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::device, device.name + ": " + e.what());
  }
  std::vector<std::unique_ptr<DeflateUnit>> units;
  for (auto& p : ports) units.push_back(make_gzip_kernel_unit(std::make_unique<CheckedPort>(std::move(p))));
  return units;
}

// ---- locks ----

DeviceLock::~DeviceLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<DeviceLock> DeviceLock::acquire(const Device& device, bool wait) {
  if (device.lock_key.empty()) return std::make_unique<DeviceLock>();
  std::string path = lock_dir() + "/fpga-tools-" + device.lock_key + ".lock";
  for (auto& c : path)
    if (c == ':') c = '_';
  // Open an existing lock without O_CREAT first: with fs.protected_regular
  // (systemd's default) an O_CREAT open of another user's file in the sticky
  // lock directory fails, even when nothing is to be created, and a card is
  // shared by the service's user and local users. Create it only when it is
  // not there (O_EXCL; another process creating it first is retried).
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 3; ++attempt) {
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 || errno != ENOENT) break;
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) throw Error(ErrorKind::device, device.name + ": cannot open its lock " + path + ": " + std::strerror(errno), errno);
  ::fchmod(fd, 0666);  // so that every user's jobs share it (best effort)
  while (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return nullptr;
    throw Error(ErrorKind::device, device.name + ": cannot lock " + path + ": " + std::strerror(err), err);
  }
  auto l = std::make_unique<DeviceLock>();
  l->fd_ = fd;
  l->path_ = path;
  return l;
}

// ---- choosing between cards and the CPU ----

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
    r.cpu_threads = threads ? threads : std::max(1u, d.slots);
    return;
  }
  if (d.kind == DeviceKind::xrt) r.locks.push_back(DeviceLock::acquire(d, true));
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
  // the CPU's threads, unless a GNU parallel job slot chose it (the other
  // jobs have the cores then).
  bool from_slot = !env("PARALLEL_JOBSLOT").empty();
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
    if (!from_slot) r.cpu_threads = threads ? threads : std::max(1u, cpu_device().slots);
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

bool xrt_runtime_loaded() { return g_xrt_loaded; }

}  // namespace fpgaio
