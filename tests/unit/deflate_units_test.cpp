// Unit tests of the deflate compute units and the xilGzipCompBlock host
// driver, with a software port that behaves as the kernel's interface says,
// and ports made to misbehave.
#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "fpgaio/deflate_units.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "helpers.hpp"

namespace {

using fpgaio::Bytes;
using fpgaio::Error;
using fpgaio::ErrorKind;
using namespace testutil;

enum class Misbehave { none, crc, size_over_buffer, reads_past_padding, slow };

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
    if (m_ == Misbehave::slow) std::this_thread::sleep_for(std::chrono::milliseconds(40));
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

Bytes compress_on(std::vector<std::unique_ptr<fpgaio::DeflateUnit>>& us, const Bytes& d, std::size_t block = 1 << 20,
                  unsigned cpu_threads = 0) {
  std::vector<fpgaio::DeflateUnit*> raw;
  for (auto& u : us) raw.push_back(u.get());
  fpgaio::UnitPool pool(raw);
  fpgaio::gzip::CompressOptions o;
  o.units = &pool;
  o.cpu_threads = cpu_threads;
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

namespace {

// What stays fixed whoever compresses a block: each member's header fields
// but its size, and its trailer (CRC-32, ISIZE).
struct MemberLayout {
  std::optional<std::string> name;
  std::uint32_t mtime, isize, crc, trailer_isize;
  bool end;
  bool operator==(const MemberLayout& o) const {
    return name == o.name && mtime == o.mtime && isize == o.isize && crc == o.crc &&
           trailer_isize == o.trailer_isize && end == o.end;
  }
};

std::vector<MemberLayout> layout_of(const Bytes& gz) {
  std::vector<MemberLayout> v;
  std::size_t at = 0;
  while (at < gz.size()) {
    auto h = fpgaio::gzip::parse_header(gz.data() + at, gz.size() - at);
    if (!h || h->index != fpgaio::gzip::Index::ft || h->member_size < h->length + 8 ||
        h->member_size > gz.size() - at) {
      ADD_FAILURE() << "not an FT member at " << at;
      break;
    }
    const std::uint8_t* t = gz.data() + at + h->member_size - 8;
    auto le = [](const std::uint8_t* p) {
      return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
    };
    v.push_back({h->name, h->mtime, h->isize, le(t), le(t + 4), h->end_of_stream});
    at += h->member_size;
  }
  return v;
}

}  // namespace

// One queue feeds the units and the CPU threads: a block goes to a free unit,
// else to the CPU. Which engine took a block depends on timing, so the bytes
// may differ from run to run; the member layout (blocks, names, CRC-32s,
// sizes) and the content may not.
TEST(GzipKernelDriver, UnitsAndCpuThreadsShareOneQueueWithTheSameMemberLayout) {
  Bytes d = text_data(3000000);
  fpgaio::gzip::CompressOptions cpu;
  cpu.block_size = 100000;
  cpu.threads = 2;
  Bytes on_cpu = fpgaio::gzip::compress_buffer(d.data(), d.size(), cpu);
  std::atomic<int> calls{0};
  auto one = units(1, Misbehave::slow, &calls);  // a unit that takes 40 ms a block
  Bytes mixed = compress_on(one, d, 100000, 1);
  Bytes back;
  decode(mixed, back);
  EXPECT_EQ(back, d);
  EXPECT_EQ(zlib_gunzip(mixed), d);
  EXPECT_EQ(layout_of(mixed), layout_of(on_cpu));
  EXPECT_EQ(layout_of(mixed).size(), 31u);  // 30 blocks and the end marker
  // The first block always finds the unit free; while it sleeps on a block,
  // the CPU thread cannot find it free and takes blocks itself.
  EXPECT_GE(calls.load(), 1);
  EXPECT_LT(calls.load(), 30);
  // Without CPU threads every block waits for the unit.
  calls = 0;
  auto again = units(1, Misbehave::none, &calls);
  Bytes alone = compress_on(again, d, 100000, 0);
  EXPECT_EQ(calls.load(), 30);
  EXPECT_EQ(layout_of(alone), layout_of(on_cpu));
}

TEST(GzipKernelDriver, AUnitFailingInAMixedRunIsAnErrorUnlessFallbackIsAllowed) {
  Bytes d = text_data(1000000);
  auto bad = units(1, Misbehave::crc);
  EXPECT_THROW(compress_on(bad, d, 100000, 1), Error);
  std::vector<fpgaio::DeflateUnit*> raw{bad[0].get()};
  fpgaio::UnitPool pool(raw);
  fpgaio::gzip::CompressOptions o;
  o.units = &pool;
  o.cpu_threads = 1;
  o.block_size = 100000;
  int warned = 0;
  o.on_unit_failure = [&](const std::string& what) {
    ++warned;
    EXPECT_NE(what.find("returned CRC-32"), std::string::npos) << what;
  };
  Bytes gz = fpgaio::gzip::compress_buffer(d.data(), d.size(), o);
  Bytes back;
  decode(gz, back);
  EXPECT_EQ(back, d);
  EXPECT_EQ(warned, 1);
}
