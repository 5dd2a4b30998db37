// The interface between libfpgaio and its XRT plugin (libfpgaio_xrt.so, built
// from libfpgaio/xrt/), which libfpgaio loads with dlopen() at run time so that
// the same binaries run on hosts without XRT. Private to the two; both are
// built from one tree with one compiler, so C++ types cross the boundary.
// The plugin throws std::runtime_error with a one-line message and never
// fpgaio::Error: libfpgaio turns what it throws into Error(device).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fpgaio/accel.hpp"

namespace fpgaio::xrt_plugin {

constexpr int kAbiVersion = 1;
// The entry point the plugin exports (extern "C").
constexpr const char* kEntryPoint = "fpgaio_xrt_plugin";

// Where xclbin files come from: an explicit file (--xclbin, FPGA_XCLBIN),
// else the first *.xclbin (by name) holding the gzip kernel in DIR/PLATFORM/
// for each DIR of the search path.
struct XclbinChoice {
  std::string file;
  std::vector<std::string> search_dirs;
};

struct Card {
  unsigned index = 0;          // XRT's device index
  std::string bdf;             // PCIe address, or "" when the driver does not say
  std::string platform;        // the shell's VBNV, or "" when unknown
  std::string xclbin;          // the file that would be loaded, or ""
  std::vector<std::string> cus;  // compute units of the gzip kernel in it
  bool loaded = false;         // that xclbin is the one on the card now
  std::string problem;         // why the card cannot compress ("" when it can)
};

struct OpenRequest {
  unsigned index = 0;
  std::string name;            // "xrt:0": the prefix of every unit's name
  XclbinChoice xclbin;
  unsigned runs_per_cu = 2;    // buffer sets (runs in flight) per compute unit
  unsigned timeout_ms = 10000; // a run that takes longer is an error
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual int abi_version() const = 0;
  // The cards XRT sees, or throws when XRT itself cannot be used.
  virtual std::vector<Card> discover(const XclbinChoice& xclbin) = 0;
  // Loads the xclbin on card `index` and returns one port per compute unit
  // and buffer set. Throws with a one-line reason.
  virtual std::vector<std::unique_ptr<GzipKernelPort>> open_gzip(const OpenRequest& request) = 0;
};

using EntryPoint = Plugin* (*)();

}  // namespace fpgaio::xrt_plugin
