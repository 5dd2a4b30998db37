// Unit tests of the codec module: every engine and level round-trips.
#include <gtest/gtest.h>
#include <zlib.h>

#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"
#include "helpers.hpp"

using namespace fpgaio;

namespace {
Bytes zlib_inflate_raw(const Bytes& c, std::size_t n) {
  Bytes out(n);
  z_stream z{};
  inflateInit2(&z, -15);
  z.next_in = const_cast<Bytef*>(c.data());
  z.avail_in = static_cast<uInt>(c.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  int r = inflate(&z, Z_FINISH);
  inflateEnd(&z);
  EXPECT_EQ(r, Z_STREAM_END);
  out.resize(z.total_out);
  return out;
}
}  // namespace

TEST(Levels, EveryLevelHasAnEngineAndOutOfRangeIsUsageError) {
  for (int l = kMinLevel; l <= kMaxLevel; ++l) EXPECT_NO_THROW(plan_for_level(l));
#ifdef FPGAIO_WITH_ISAL
  EXPECT_EQ(plan_for_level(1).engine, Engine::isal);
#else
  // Without ISA-L (armhf): libdeflate's fastest levels, and --engine isal
  // is a usage error naming what is missing.
  EXPECT_EQ(plan_for_level(1).engine, Engine::libdeflate);
  EXPECT_EQ(plan_for_level(2).engine, Engine::libdeflate);
  try {
    make_deflater(Engine::isal, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("not in this build"), std::string::npos) << e.what();
  }
#endif
  EXPECT_EQ(plan_for_level(12).engine, Engine::libdeflate);
  try {
    plan_for_level(13);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
  }
  EXPECT_THROW(plan_for_level(-1), Error);
  EXPECT_EQ(plan_for_level(0).engine_level, 0);  // stored blocks (-0)
}

TEST(Engines, RoundTripThroughZlibAndOurInflater) {
  Bytes text = testutil::text_data(300000);
  Bytes rnd = testutil::random_data(70000);
  struct Case {
    Engine e;
    int level;
  } cases[] = {
#ifdef FPGAIO_WITH_ISAL
      {Engine::isal, 0}, {Engine::isal, 1}, {Engine::isal, 2}, {Engine::isal, 3},
#endif
               {Engine::libdeflate, 1}, {Engine::libdeflate, 6}, {Engine::libdeflate, 12},
               {Engine::zlib, 1}, {Engine::zlib, 9}};
  for (const auto& c : cases) {
    auto d = make_deflater(c.e, c.level);
    for (const Bytes* in : {&text, &rnd}) {
      Bytes out(Deflater::bound(in->size()));
      out.resize(d->compress(in->data(), in->size(), out.data(), out.size()));
      EXPECT_EQ(zlib_inflate_raw(out, in->size()), *in) << engine_name(c.e) << c.level;
      Bytes back(in->size());
      EXPECT_EQ(inflate_whole(out.data(), out.size(), back.data(), back.size()), out.size());
      EXPECT_EQ(back, *in);
    }
  }
}

TEST(Engines, InvalidEngineLevelsAreRejected) {
  EXPECT_THROW(make_deflater(Engine::isal, 4), Error);
  EXPECT_THROW(make_deflater(Engine::zlib, 10), Error);
  EXPECT_THROW(make_deflater(Engine::libdeflate, 13), Error);
  EXPECT_THROW(parse_engine("bzip2"), Error);
  EXPECT_EQ(parse_engine("zlib"), Engine::zlib);
}

TEST(Crc32, MatchesZlib) {
  Bytes d = testutil::random_data(100003);
  EXPECT_EQ(fpgaio::crc32(0, d.data(), d.size()), ::crc32(0, d.data(), static_cast<uInt>(d.size())));
  EXPECT_EQ(fpgaio::crc32(fpgaio::crc32(0, d.data(), 10), d.data() + 10, d.size() - 10),
            fpgaio::crc32(0, d.data(), d.size()));
  EXPECT_EQ(fpgaio::crc32(0, d.data(), 0), 0u);
}

TEST(InflateWhole, RejectsWrongSizesAndGarbage) {
  Bytes in = testutil::text_data(5000);
  auto d = make_deflater(Engine::libdeflate, 6);
  Bytes c(Deflater::bound(in.size()));
  c.resize(d->compress(in.data(), in.size(), c.data(), c.size()));
  Bytes small(in.size() - 1), big(in.size() + 1);
  EXPECT_THROW(inflate_whole(c.data(), c.size(), small.data(), small.size()), Error);
  EXPECT_THROW(inflate_whole(c.data(), c.size(), big.data(), big.size()), Error);
  Bytes garbage = testutil::random_data(100, 9);
  garbage[0] = 0xff;  // reserved block type 3
  Bytes out(1000);
  try {
    inflate_whole(garbage.data(), garbage.size(), out.data(), out.size());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  }
}
