// Unit tests of the deflate compute units and the xilGzipCompBlock host
// driver, with a software port that behaves as the kernel's interface says,
// and ports made to misbehave.
#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <cstring>

#include "fpgaio/accel.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "helpers.hpp"

namespace {

using fpgaio::Bytes;
using fpgaio::Error;
using fpgaio::ErrorKind;
using namespace testutil;

enum class Misbehave { none, crc, size_over_buffer, reads_past_padding };

// A kernel stand-in: raw deflate without a final block, ended on a byte
// boundary by a sync flush (an empty non-final stored block), so the
// driver's 01 00 00 FF FF completes it; the CRC register is started from
// what the host put there.
class ZlibPort final : public fpgaio::GzipKernelPort {
 public:
  ZlibPort(std::string name, Misbehave m, std::atomic<int>* calls = nullptr)
      : name_(std::move(name)), m_(m), calls_(calls) {}
  const std::string& name() const override { return name_; }
  std::size_t input_padding() const override { return 64; }
  std::size_t output_capacity(std::size_t n) const override { return n + n / 8 + 1024; }
  void run(const std::uint8_t* in, std::uint32_t n, std::uint8_t* out, std::size_t out_cap,
           std::uint32_t& compressed_size, std::uint32_t& checksum) override {
    if (calls_) ++*calls_;
    // The padding must be there and readable (a burst past the end).
    volatile std::uint8_t sink = 0;
    for (std::size_t i = 0; i < input_padding(); ++i) sink = sink + in[n + i];
    z_stream zs{};
    EXPECT_EQ(deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = const_cast<std::uint8_t*>(in);
    zs.avail_in = n;
    zs.next_out = out;
    zs.avail_out = static_cast<uInt>(out_cap);
    EXPECT_EQ(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
    compressed_size = static_cast<std::uint32_t>(zs.total_out);
    deflateEnd(&zs);
    // The register starts at ~0 and the kernel finishes the CRC itself.
    EXPECT_EQ(checksum, ~0u);
    checksum = static_cast<std::uint32_t>(crc32(0, in, n));
    if (m_ == Misbehave::crc) checksum ^= 1;
    if (m_ == Misbehave::size_over_buffer) compressed_size = static_cast<std::uint32_t>(out_cap + 1);
  }

 private:
  std::string name_;
  Misbehave m_;
  std::atomic<int>* calls_;
};

std::vector<std::unique_ptr<fpgaio::DeflateUnit>> units(int k, Misbehave m, std::atomic<int>* calls = nullptr) {
  std::vector<std::unique_ptr<fpgaio::DeflateUnit>> v;
  for (int i = 0; i < k; ++i)
    v.push_back(fpgaio::make_gzip_kernel_unit(
        std::make_unique<ZlibPort>("test:0/cu" + std::to_string(i), m, calls)));
  return v;
}

Bytes compress_on(std::vector<std::unique_ptr<fpgaio::DeflateUnit>>& us, const Bytes& d, std::size_t block = 1 << 20) {
  std::vector<fpgaio::DeflateUnit*> raw;
  for (auto& u : us) raw.push_back(u.get());
  fpgaio::UnitPool pool(raw);
  fpgaio::gzip::CompressOptions o;
  o.units = &pool;
  o.block_size = block;
  return fpgaio::gzip::compress_buffer(d.data(), d.size(), o);
}

Bytes zlib_gunzip(const Bytes& gz) {
  Bytes out;
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 31), Z_OK);
  zs.next_in = const_cast<std::uint8_t*>(gz.data());
  zs.avail_in = static_cast<uInt>(gz.size());
  std::uint8_t buf[65536];
  for (;;) {
    zs.next_out = buf;
    zs.avail_out = sizeof buf;
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.insert(out.end(), buf, buf + (sizeof buf - zs.avail_out));
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // the next member
      continue;
    }
    if (rc != Z_OK) {
      ADD_FAILURE() << "zlib: " << rc;
      break;
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace

TEST(GzipKernelDriver, BlocksFromUnitsAreMembersThatZlibAndTheDecoderRead) {
  std::atomic<int> calls{0};
  auto us = units(3, Misbehave::none, &calls);
  for (std::size_t n : {0ul, 1ul, 63ul, 64ul, 65ul, 32767ul, 32768ul, 32769ul, 3000000ul}) {
    Bytes d = text_data(n);
    Bytes gz = compress_on(us, d);
    Bytes back;
    decode(gz, back);
    EXPECT_EQ(back, d) << n;
    EXPECT_EQ(zlib_gunzip(gz), d) << n;
  }
  EXPECT_EQ(calls.load(), 7 + 3);  // one call per small input (none for empty), 3 MB in 1 MiB blocks
}

TEST(GzipKernelDriver, IncompressibleBlocksAreStored) {
  auto us = units(2, Misbehave::none);
  Bytes d = testutil::random_data(300000);
  Bytes gz = compress_on(us, d, 100000);
  EXPECT_LT(gz.size(), d.size() + 3 * (5 * 2 + 64) + 100);  // stored, not expanded
  Bytes back;
  decode(gz, back);
  EXPECT_EQ(back, d);
  EXPECT_EQ(zlib_gunzip(gz), d);
}

TEST(GzipKernelDriver, StoredDeflateIsValidAtEverySize) {
  for (std::size_t n : {0ul, 1ul, 65534ul, 65535ul, 65536ul, 200000ul}) {
    Bytes d = testutil::random_data(n);
    Bytes out(fpgaio::stored_deflate_size(n));
    ASSERT_EQ(fpgaio::write_stored_deflate(d.data(), n, out.data()), out.size());
    Bytes back(n + 1);
    EXPECT_EQ(fpgaio::inflate_whole(out.data(), out.size(), back.data(), n), out.size());
    back.resize(n);
    EXPECT_EQ(back, d);
  }
}

TEST(GzipKernelDriver, AUnitThatReturnsAWrongCrcIsAnErrorNamingItAndTheBlock) {
  auto us = units(1, Misbehave::crc);
  Bytes d = text_data(100000);
  try {
    compress_on(us, d);
    FAIL() << "a wrong CRC-32 from the unit was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::device);
    std::string w = e.what();
    EXPECT_NE(w.find("test:0/cu0: block 1 (100000 bytes): returned CRC-32"), std::string::npos) << w;
  }
}

TEST(GzipKernelDriver, ASizeBeyondTheBufferIsAnError) {
  auto us = units(1, Misbehave::size_over_buffer);
  Bytes d = text_data(5000);
  try {
    compress_on(us, d);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::device);
    EXPECT_NE(std::string(e.what()).find("bytes of deflate for a buffer of"), std::string::npos) << e.what();
  }
}

TEST(GzipKernelDriver, OutputDoesNotDependOnHowManyUnits) {
  Bytes d = text_data(5000000);
  auto one = units(1, Misbehave::none);
  auto four = units(4, Misbehave::none);
  EXPECT_EQ(compress_on(one, d), compress_on(four, d));
}
