// The XRT backend: Alveo cards as devices "xrt:N". It loads the XRT plugin,
// libfpgaio_xrt.so, with dlopen() when XILINX_XRT is set (so programs run,
// and list no cards, where XRT is not installed), chooses the xclbin, and
// turns what the plugin gives into devices, deflate units and FINN ports.
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <mutex>

#include "backends.hpp"
#include "fpgaio/deflate_units.hpp"
#include "fpgaio/device.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/finn.hpp"
#include "xrt_plugin.hpp"

#include "../util.hpp"

namespace fpgaio {

namespace {

using util::env;

std::mutex g_xrt_mu;
std::string g_xclbin;  // set_xclbin()
std::string g_kernel = "deflate";  // set_xclbin_kernel()

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
    std::lock_guard<std::mutex> lk(g_xrt_mu);
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

// A request to open card `device` (OpenRequest, FinnOpenRequest), with what
// every request carries, and the plugin to send it to: Error(device) naming
// the card when there is none.
template <class Request>
xrt_plugin::Plugin& request_for(const Device& device, Request& r) {
  const auto& st = plugin_state();
  if (!st.plugin) throw Error(ErrorKind::device, device.name + ": " + st.reason);
  r.index = xrt_index(device);
  r.name = device.name;
  r.xclbin = xclbin_choice();
  r.timeout_ms = timeout_ms();
  return *st.plugin;
}

// A PCIe address as XRT prints it (0000:a1:00.1: domain, bus, device,
// function, lower case), from one with or without the domain, in any case;
// "" for what is no address.
std::string normal_bdf(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s.size() == 7) s = "0000:" + s;
  static const char shape[] = "xxxx:xx:xx.x";
  if (s.size() != sizeof shape - 1) return "";
  for (std::size_t i = 0; i < s.size(); ++i)
    if (shape[i] == 'x' ? !std::isxdigit(static_cast<unsigned char>(s[i])) : s[i] != shape[i]) return "";
  return s;
}

// The lock's key: the address as XRT prints it, in one spelling.
std::string normal_bdf_or(const std::string& bdf) {
  std::string n = normal_bdf(bdf);
  return n.empty() ? bdf : n;
}

class XrtBackend final : public DeviceBackend {
 public:
  const char* name() const override { return "xrt"; }
  // xrt:BDF (xrt:0000:a1:00.1, xrt:a1:00.1): the listed card at that PCIe
  // address, whatever its index is today (indices shift after a card
  // reset). Its lock is keyed by the address either way.
  std::optional<Device> find_unlisted(const std::string& spec) const override {
    if (spec.rfind("xrt:", 0) != 0) return std::nullopt;
    std::string want = normal_bdf(spec.substr(4));
    if (want.empty()) return std::nullopt;
    discover();
    std::lock_guard<std::mutex> lk(mu_);
    for (std::size_t i = 0; i < devices_.size(); ++i)
      if (normal_bdf(bdfs_[i]) == want) return devices_[i];
    return std::nullopt;
  }
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
            d.lock_key = c.bdf.empty() ? "xrt-index-" + std::to_string(c.index) : "xrt-" + normal_bdf_or(c.bdf);
            devices_.push_back(std::move(d));
            bdfs_.push_back(c.bdf);
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
  std::string why_none() const override {
    std::string n = note();
    return n.empty() ? "" : "XRT: " + n;
  }
  // The plugin loads the xclbin and gives two units (buffer sets, runs in
  // flight) per compute unit.
  std::vector<std::unique_ptr<DeflateUnit>> open_deflate_units(const Device& device, unsigned) const override {
    xrt_plugin::OpenRequest r;
    auto& plugin = request_for(device, r);
    std::vector<std::unique_ptr<GzipKernelPort>> ports;
    try {
      ports = plugin.open_gzip(r);
    } catch (const std::exception& e) {
      throw Error(ErrorKind::device, device.name + ": " + e.what());
    }
    std::vector<std::unique_ptr<DeflateUnit>> units;
    for (auto& p : ports) units.push_back(make_gzip_kernel_unit(std::make_unique<CheckedPort>(std::move(p))));
    return units;
  }

 private:
  mutable std::mutex mu_;
  mutable bool done_ = false;
  mutable std::vector<Device> devices_;
  mutable std::vector<std::string> bdfs_;  // each card's PCIe address, "" when unknown
  mutable std::string note_;
};

XrtBackend& the_backend() {
  static XrtBackend b;
  return b;
}

}  // namespace

namespace detail {

const DeviceBackend& xrt_backend() { return the_backend(); }

}  // namespace detail

std::string xrt_unavailable_reason() { return the_backend().note(); }

bool xrt_runtime_loaded() { return g_xrt_loaded; }

void set_xclbin(const std::string& path) {
  std::lock_guard<std::mutex> lk(g_xrt_mu);
  g_xclbin = path;
}

void set_xclbin_kernel(const std::string& kernel) {
  std::lock_guard<std::mutex> lk(g_xrt_mu);
  g_kernel = kernel;
}

namespace bnn {

std::vector<std::unique_ptr<FinnPort>> open_xrt_finn_ports(const Device& device, const FinnPairing& pairing,
                                                           std::size_t image_bytes, std::size_t max_images,
                                                           unsigned ports, std::string& uuid) {
  xrt_plugin::FinnOpenRequest r;
  auto& plugin = request_for(device, r);
  r.xclbin.kernel = "bnn";
  for (const auto& b : pairing.builds) r.uuids.push_back(b.uuid);
  r.pairing = pairing.path;
  r.ports = ports;
  r.image_bytes = image_bytes;
  r.max_images = max_images;
  try {
    auto opened = plugin.open_finn(r);
    uuid = opened.uuid;
    return std::move(opened.ports);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::device, device.name + ": " + e.what());
  }
}

}  // namespace bnn

}  // namespace fpgaio
