// The stand-in headers kernels/sim/ap_int.h and hls_stream.h against what Xilinx's own
// headers do (kernels/sim/README.md): every case here states a result of the real header,
// and the same file compiles against it (cmake -DFPGA_XILINX_AP_INT=DIR builds it as
// sim_headers_test_xilinx), so a case that passes with both shows the stand-in agrees.
// Cases that only the stand-in runs (its refusals) are under KERNELS_SIM_STAND_IN.
#include <ap_int.h>
#include <hls_stream.h>

#include <cstdint>
#include <type_traits>
#include <utility>

#include <gtest/gtest.h>

namespace {

// Whether `s << a << b` compiles (it must not: the real operator<< returns void).
template <class S, class = void>
struct chains : std::false_type {};
template <class S>
struct chains<S, decltype(void(std::declval<S&>() << 1 << 2))> : std::true_type {};

// Whether empty() can be called on a const stream (the real one is not const).
template <class S, class = void>
struct const_empty : std::false_type {};
template <class S>
struct const_empty<S, decltype(void(std::declval<const S&>().empty()))> : std::true_type {};

}  // namespace

TEST(SimHeaders, AssignmentWrapsToTheWidth) {
  ap_uint<8> a = 300;
  EXPECT_EQ(a.to_uint64(), 44u);
  ap_uint<4> b = a;
  EXPECT_EQ(b.to_uint(), 12u);
  ap_uint<64> c = ~uint64_t(0);
  EXPECT_EQ(c.to_uint64(), ~uint64_t(0));
}

TEST(SimHeaders, NotUsableInConstantExpressions) {
  // The real ap_uint has no constexpr constructor: `constexpr ap_uint<8> x = 1;` and an
  // ap_uint inside a constexpr table builder do not compile there, so not here either.
  static_assert(!std::is_literal_type<ap_uint<8>>::value, "ap_uint is not a literal type");
  static_assert(ap_uint<13>::width == 13, "width is a constant");
}

TEST(SimHeaders, ShiftsKeepTheLeftOperandsWidth) {
  const ap_uint<8> a = 0x81;
  // The real header: the result of a << n is an ap_uint<8>; C++ promotion would give 0x10200.
  EXPECT_EQ(uint64_t(ap_uint<16>(a << 9)), 0u);
  EXPECT_EQ((a << 1).to_uint64(), 0x02u);
  EXPECT_EQ((a >> 7).to_uint64(), 1u);
  EXPECT_EQ((a << ap_uint<3>(4)).to_uint64(), 0x10u);
  // A negative shift by a signed int shifts the other way.
  EXPECT_EQ((a << -7).to_uint64(), 1u);
  EXPECT_EQ((a >> -1).to_uint64(), 0x02u);
  ap_uint<32> w = 0x80000001u;
  w <<= 1;
  EXPECT_EQ(w.to_uint64(), 2u);
  const ap_uint<64> big = 0x8000000000000001ull;
  EXPECT_EQ((big << 1).to_uint64(), 2u);
  EXPECT_EQ((big >> 63).to_uint64(), 1u);
}

TEST(SimHeaders, ComplementKeepsTheWidth) {
  const ap_uint<8> a = 0x0F;
  EXPECT_EQ(uint64_t(ap_uint<32>(~a)), 0xF0u);
}

TEST(SimHeaders, RangesReadAndWrite) {
  ap_uint<32> x = 0x12345678;
  EXPECT_EQ(uint64_t(x.range(15, 8)), 0x56u);
  EXPECT_EQ(x.range(31, 0).to_uint64(), 0x12345678u);
  EXPECT_EQ(x.range(7, 0).to_uint(), 0x78u);
  EXPECT_EQ(uint64_t(x(31, 28)), 0x1u);
  x.range(15, 8) = 0xAB;
  EXPECT_EQ(x.to_uint64(), 0x1234AB78u);
  x.range(3, 0) = 0x1F;  // only 4 bits go in
  EXPECT_EQ(x.to_uint64(), 0x1234AB7Fu);
  ap_uint<64> y = 0;
  y.range(63, 56) = x.range(15, 8);
  EXPECT_EQ(y.to_uint64(), 0xAB00000000000000ull);
  const ap_uint<16> c = 0xBEEF;
  EXPECT_EQ(uint64_t(c.range(11, 4)), 0xEEu);
  // A range read is a 64-bit unsigned value in expressions (the real operator ap_ulong).
  EXPECT_EQ(uint64_t(x.range(7, 0)) << 60, 0xF000000000000000ull);
}

TEST(SimHeaders, ReversedRangesReverseTheBits) {
  ap_uint<8> x = 0x01;  // bit 0 set
  // range(0, 7): bits 0..7 in reverse order; the real header's rule is that the result's
  // bit k is bit lo - k, with lo = 7 here.
  EXPECT_EQ(uint64_t(x.range(0, 7)), 0x80u);
  ap_uint<8> z = 0;
  z.range(0, 3) = 0x1;  // result bit 0 is bit 3
  EXPECT_EQ(z.to_uint64(), 0x08u);
}

TEST(SimHeaders, Bits) {
  ap_uint<4> x = 0;
  x[3] = 1;
  EXPECT_EQ(x.to_uint(), 8u);
  EXPECT_TRUE(bool(x[3]));
  EXPECT_FALSE(bool(x[0]));
  const ap_uint<4> c = 5;
  EXPECT_TRUE(c[2]);
}

TEST(SimHeaders, SmallArithmeticAgreesWithTheWidenedResult) {
  // For widths under 32 the C++ promotion the stand-in uses gives the real header's values.
  const ap_uint<8> a = 3, b = 5;
  EXPECT_EQ(int64_t(a - b), -2);
  EXPECT_EQ(uint64_t(ap_uint<16>(a * ap_uint<8>(200))), 600u);
  EXPECT_EQ(uint64_t(ap_uint<16>(ap_uint<8>(255) + 1)), 256u);
  EXPECT_TRUE(a < b);
  EXPECT_TRUE(a == 3);
}

TEST(SimHeaders, StreamsAsTheRealModel) {
  hls::stream<int> s("s");
  s.write(1);
  s << 2;
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(s.size(), 2u);
  int x = 0;
  s >> x;
  EXPECT_EQ(x, 1);
  EXPECT_TRUE(s.read_nb(x));
  EXPECT_EQ(x, 2);
  x = 7;
  EXPECT_FALSE(s.read_nb(x));
  EXPECT_EQ(x, 0);  // the real model writes T() on a failed read_nb
  EXPECT_TRUE(s.write_nb(3));
  EXPECT_FALSE(s.full());
  EXPECT_EQ(s.read(), 3);
  EXPECT_TRUE(s.empty());
  static_assert(!chains<hls::stream<int>>::value, "the real operator<< returns void");
  static_assert(!const_empty<hls::stream<int>>::value, "the real empty() is not const");
  static_assert(!std::is_copy_constructible<hls::stream<int>>::value, "streams are not copied");
}

#ifdef KERNELS_SIM_STAND_IN
// The real header aborts on these only in debug builds (its _AP_ERROR is empty under
// NDEBUG); the stand-in always does, and also on a negative index.
TEST(SimHeadersDeathTest, OutOfBoundsIndexesStop) {
  ap_uint<8> x = 0;
  EXPECT_DEATH(x.range(8, 0) = 1, "ap_uint<8>: range\\(8, 0\\) out of bounds");
  EXPECT_DEATH((void)uint64_t(x.range(3, -1)), "out of bounds");
  EXPECT_DEATH(x[8] = 1, "ap_uint<8>: bit\\(8, 8\\) out of bounds");
  const ap_uint<8> c = 0;
  EXPECT_DEATH((void)c[9], "out of bounds");
}

// The real model warns and returns T(); the stand-in stops, since it deadlocks hardware.
TEST(SimHeadersDeathTest, ReadingAnEmptyStreamStops) {
  EXPECT_DEATH(
      {
        hls::stream<int> s("e");
        (void)s.read();
      },
      "read from an empty stream");
}
#endif
