// The csim device: the kernel of kernels/gzip compiled for the host and
// called on host threads through the same driver (GzipKernelUnit) that runs a
// card, so the driver's whole byte path runs with real results in tests.
#include <cstring>

#include "fpgaio/accel.hpp"
#include "fpgaio/error.hpp"
#include "gzip_kernel.hpp"

namespace fpgaio {

namespace {

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

}  // namespace

std::unique_ptr<GzipKernelPort> make_csim_gzip_port(const std::string& name) {
  return std::make_unique<CsimPort>(name);
}

}  // namespace fpgaio
