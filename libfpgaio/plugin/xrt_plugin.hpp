// The interface between libfpgaio and its XRT plugin (libfpgaio_xrt.so, built
// from libfpgaio/xrt/), which libfpgaio loads with dlopen() at run time so that
// the same binaries run on hosts without XRT (src/device/xrt_backend.cpp).
// Private to the two: libfpgaio/plugin/ is an include directory of both
// targets and of no tool. Both are built from one tree with one compiler, so
// C++ types cross the boundary.
// The plugin throws std::runtime_error with a one-line message and never
// fpgaio::Error: libfpgaio turns what it throws into Error(device).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fpgaio/deflate_units.hpp"
#include "fpgaio/finn.hpp"

namespace fpgaio::xrt_plugin {

constexpr int kAbiVersion = 2;
// The entry point the plugin exports (extern "C").
constexpr const char* kEntryPoint = "fpgaio_xrt_plugin";

// Where xclbin files come from: an explicit file (--xclbin, FPGA_XCLBIN),
// else the first *.xclbin (by name) holding the gzip kernel in DIR/PLATFORM/
// for each DIR of the search path.
// `kernel` says what the tool runs: "deflate" (xilGzipCompBlock, found on
// the search path too) or "bnn" (a FINN accelerator: idma0 and odma0, from
// an explicit file only, since each is built for one model).
struct XclbinChoice {
  std::string file;
  std::vector<std::string> search_dirs;
  std::string kernel = "deflate";
};

struct Card {
  unsigned index = 0;          // XRT's device index
  std::string bdf;             // PCIe address, or "" when the driver does not say
  std::string platform;        // the shell's VBNV, or "" when unknown
  std::string xclbin;          // the file that would be loaded, or ""
  std::vector<std::string> cus;  // compute units of the kernel in it
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

struct FinnOpenRequest {
  unsigned index = 0;
  std::string name;                // "xrt:0"
  XclbinChoice xclbin;             // kernel "bnn"
  std::vector<std::string> uuids;  // the model's pairing: the xclbin must be one of these
  std::string pairing;             // its file, for messages
  unsigned ports = 3;              // buffer sets (batches in flight) on the card
  std::size_t image_bytes = 0;     // NHWC uint8 bytes an image
  std::size_t max_images = 0;      // a buffer set's capacity
  unsigned timeout_ms = 10000;
};

struct FinnOpened {
  std::vector<std::unique_ptr<bnn::FinnPort>> ports;
  std::string file, uuid;  // the xclbin loaded
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
  // Loads a FINN xclbin (idma0, odma0) whose UUID is one of request.uuids,
  // checks the card then holds it, and returns request.ports buffer sets.
  virtual FinnOpened open_finn(const FinnOpenRequest& request) = 0;
};

using EntryPoint = Plugin* (*)();

}  // namespace fpgaio::xrt_plugin
