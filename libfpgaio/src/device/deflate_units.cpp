// Deflate units: the host driver of the xilGzipCompBlock kernel interface
// shared by cards and the C simulation, stored blocks, and the UnitPool.
#include "fpgaio/deflate_units.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/io.hpp"

namespace fpgaio {

namespace {

constexpr std::size_t kStoredMax = 65535;
// The final empty stored block the kernel leaves to the host.
constexpr std::uint8_t kFinalEmptyStored[5] = {0x01, 0x00, 0x00, 0xFF, 0xFF};

std::string hex32(std::uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

class GzipKernelUnit final : public DeflateUnit {
 public:
  explicit GzipKernelUnit(std::unique_ptr<GzipKernelPort> port) : port_(std::move(port)) {}
  const std::string& name() const override { return port_->name(); }
  std::size_t bound(std::size_t n) const override { return stored_deflate_size(n); }

  DeflateBlock deflate(const std::uint8_t* data, std::size_t n, std::uint8_t* out, std::size_t cap) override {
    if (n > 0xFFFFFFFFu) fail(n, "block of " + std::to_string(n) + " bytes is over the kernel's 32-bit size");
    if (cap < bound(n)) throw Error(ErrorKind::usage, "deflate output buffer below the unit's bound");
    std::size_t pad = port_->input_padding();
    in_.resize(n + pad);
    if (n) std::memcpy(in_.data(), data, n);
    std::memset(in_.data() + n, 0, pad);
    std::size_t out_cap = port_->output_capacity(n);
    out_.resize(out_cap);
    std::uint32_t size = 0, checksum = ~0u;
    port_->run(in_.data(), static_cast<std::uint32_t>(n), out_.data(), out_cap, size, checksum);
    if (size > out_cap)
      fail(n, "returned " + std::to_string(size) + " bytes of deflate for a buffer of " + std::to_string(out_cap));
    std::uint32_t host = crc32(0, data, n);
    if (checksum != host) fail(n, "returned CRC-32 " + hex32(checksum) + ", the host computed " + hex32(host));
    DeflateBlock r{0, host};
    if (size + sizeof kFinalEmptyStored > stored_deflate_size(n)) {
      r.size = write_stored_deflate(data, n, out);  // incompressible: stored costs less
    } else {
      std::memcpy(out, out_.data(), size);
      std::memcpy(out + size, kFinalEmptyStored, sizeof kFinalEmptyStored);
      r.size = size + sizeof kFinalEmptyStored;
    }
    ++blocks_;
    return r;
  }

 private:
  [[noreturn]] void fail(std::size_t n, const std::string& what) const {
    throw Error(ErrorKind::device, port_->name() + ": block " + std::to_string(blocks_ + 1) + " (" +
                                       std::to_string(n) + " bytes): " + what);
  }
  std::unique_ptr<GzipKernelPort> port_;
  Bytes in_, out_;
  std::uint64_t blocks_ = 0;
};

}  // namespace

std::size_t stored_deflate_size(std::size_t n) {
  std::size_t blocks = n == 0 ? 1 : (n + kStoredMax - 1) / kStoredMax;
  return n + 5 * blocks;
}

std::size_t write_stored_deflate(const std::uint8_t* data, std::size_t n, std::uint8_t* out) {
  std::size_t o = 0, i = 0;
  do {
    std::size_t len = std::min(kStoredMax, n - i);
    bool last = i + len == n;
    out[o++] = last ? 1 : 0;
    out[o++] = static_cast<std::uint8_t>(len);
    out[o++] = static_cast<std::uint8_t>(len >> 8);
    out[o++] = static_cast<std::uint8_t>(~len);
    out[o++] = static_cast<std::uint8_t>(~len >> 8);
    if (len) std::memcpy(out + o, data + i, len);
    o += len;
    i += len;
  } while (i < n);
  return o;
}

std::unique_ptr<DeflateUnit> make_gzip_kernel_unit(std::unique_ptr<GzipKernelPort> port) {
  return std::make_unique<GzipKernelUnit>(std::move(port));
}

struct UnitPool::State {
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<DeflateUnit*> all, free;
};

UnitPool::UnitPool(std::vector<DeflateUnit*> units) : st_(std::make_unique<State>()) {
  st_->all = units;
  st_->free = std::move(units);
}
UnitPool::~UnitPool() = default;
std::size_t UnitPool::size() const { return st_->all.size(); }
bool UnitPool::mark_failed() { return !st_->failed.exchange(true); }
bool UnitPool::failed() const { return st_->failed.load(); }

DeflateUnit& UnitPool::acquire() {
  std::unique_lock<std::mutex> lk(st_->mu);
  st_->cv.wait(lk, [&] { return !st_->free.empty(); });
  DeflateUnit* u = st_->free.back();
  st_->free.pop_back();
  return *u;
}

DeflateUnit* UnitPool::try_acquire() {
  std::lock_guard<std::mutex> lk(st_->mu);
  if (st_->free.empty()) return nullptr;
  DeflateUnit* u = st_->free.back();
  st_->free.pop_back();
  return u;
}

void UnitPool::release(DeflateUnit& u) {
  {
    std::lock_guard<std::mutex> lk(st_->mu);
    st_->free.push_back(&u);
  }
  st_->cv.notify_one();
}

}  // namespace fpgaio
