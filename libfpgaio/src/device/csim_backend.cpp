// The csim backend: devices csim:N, chosen by name only, which run the
// kernel of kernels/gzip compiled for the host on host threads through the
// same driver (GzipKernelUnit) that runs a card, so the driver's whole byte
// path runs with real results in tests.
#include <algorithm>
#include <cstring>
#include <optional>

#include "backends.hpp"
#include "fpgaio/deflate_units.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/pipeline.hpp"
#include "gzip_kernel.hpp"

#include "../util.hpp"

namespace fpgaio {

namespace {

using util::all_digits;

class CsimPort final : public GzipKernelPort {
 public:
  explicit CsimPort(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  std::size_t input_padding() const override { return gzip_kernel::kernel_input_padding; }
  std::size_t output_capacity(std::size_t n) const override {
    return static_cast<std::size_t>(gzip_kernel::kernel_output_bound(n));
  }
  void run(const std::uint8_t* in, std::uint32_t n, std::uint8_t* out, std::size_t out_cap,
           std::uint32_t& compressed_size, std::uint32_t& checksum) override {
    // The kernel sees 64-bit words, as on the card's AXI ports: copy into
    // word buffers (the driver's buffers are bytes; alignment is not promised).
    std::size_t in_words = static_cast<std::size_t>(gzip_kernel::kernel_input_buffer_size(n)) / 8 + 1;
    in_.resize(in_words);
    std::memset(static_cast<void*>(in_.data()), 0, in_words * 8);
    std::memcpy(static_cast<void*>(in_.data()), in, n);
    out_.resize(out_cap / 8 + 1);
    std::uint32_t size = 0, sum = checksum;
    xilGzipCompBlock(in_.data(), out_.data(), &size, &sum, n, true);
    compressed_size = size;
    checksum = sum;
    std::memcpy(out, static_cast<const void*>(out_.data()), std::min<std::size_t>(size, out_cap));
  }

 private:
  std::string name_;
  std::vector<ap_uint<64>> in_, out_;
};

static_assert(sizeof(ap_uint<64>) == 8, "ap_uint<64> must be one 64-bit word, as on the AXI port");

class CsimBackend final : public DeviceBackend {
 public:
  const char* name() const override { return "csim"; }
  // Never listed: a test device, not an accelerator.
  std::vector<Device> discover() const override { return {}; }
  // "csim:N" for N a small number.
  std::optional<Device> find_unlisted(const std::string& spec) const override {
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
  std::vector<Device> unlisted() const override { return {*find_unlisted("csim:0")}; }
  // One unit a host thread.
  std::vector<std::unique_ptr<DeflateUnit>> open_deflate_units(const Device& device, unsigned threads) const override {
    std::vector<std::unique_ptr<DeflateUnit>> units;
    unsigned n = threads ? threads : default_threads();
    for (unsigned i = 0; i < n; ++i)
      units.push_back(make_gzip_kernel_unit(std::make_unique<CsimPort>(device.name + "/cu" + std::to_string(i))));
    return units;
  }
};

}  // namespace

namespace detail {

const DeviceBackend& csim_backend() {
  static const CsimBackend b;
  return b;
}

}  // namespace detail

}  // namespace fpgaio
