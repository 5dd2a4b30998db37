// A minimal ap_uint<N> (N <= 64) for compiling our HLS kernels with g++. Vitis HLS brings
// its own ap_int.h; this file stands in for it where Vitis is not installed. It offers a
// subset of what Xilinx's ap_int.h offers (kernels/sim/README.md lists it), with the same
// results for what it offers, and refuses or stops on what the real header does
// differently, so that code which passes C-simulation here is code the real header takes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace ap_sim {

template <int N>
using storage_t = typename std::conditional<
    (N <= 8), uint8_t,
    typename std::conditional<(N <= 16), uint16_t,
                              typename std::conditional<(N <= 32), uint32_t, uint64_t>::type>::type>::type;

constexpr uint64_t low_mask(int bits) { return bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1; }

[[noreturn]] inline void out_of_range(const char* what, int hi, int lo, int width) {
  std::fprintf(stderr, "ap_uint<%d>: %s(%d, %d) out of bounds\n", width, what, hi, lo);
  std::abort();
}

}  // namespace ap_sim

// Unsigned integer of N bits. Values wrap modulo 2^N on assignment, as in Vitis. Shifts
// and ~ keep N bits, as there. Other arithmetic converts to the smallest C++ unsigned
// type that holds the value and follows C++ rules, where the real header widens the
// result (a + b has max(N, M) + 1 bits, a - b is signed, a * b has N + M bits): the same
// values for N < 32, but not for 32 bits and more (kernels/sim/README.md): there, convert
// with to_uint64() first, or check against the real header (FPGA_XILINX_AP_INT).
template <int N>
class ap_uint {
  static_assert(N >= 1 && N <= 64, "kernels/sim ap_uint supports 1 to 64 bits");
  using storage = ap_sim::storage_t<N>;
  static constexpr uint64_t mask = ap_sim::low_mask(N);
  storage v_;

 public:
  // Reference to bits hi..lo of an ap_uint: readable as a number (uint64_t, as the real
  // ap_range_ref's operator ap_ulong), assignable. As in the real header, hi < lo selects
  // bits hi..lo in reverse order: the result's bit k is bit lo - k.
  class range_ref {
    ap_uint& x_;
    int hi_, lo_;

   public:
    range_ref(ap_uint& x, int hi, int lo) : x_(x), hi_(hi), lo_(lo) { ap_uint::check_range(hi, lo); }
    range_ref(const range_ref&) = default;
    operator uint64_t() const {
      if (hi_ >= lo_) return (uint64_t(x_.v_) >> lo_) & ap_sim::low_mask(hi_ - lo_ + 1);
      uint64_t r = 0;
      for (int k = 0; k <= lo_ - hi_; ++k) r |= ((uint64_t(x_.v_) >> (lo_ - k)) & 1) << k;
      return r;
    }
    uint64_t to_uint64() const { return uint64_t(*this); }
    uint32_t to_uint() const { return uint32_t(uint64_t(*this)); }
    int length() const { return hi_ >= lo_ ? hi_ - lo_ + 1 : lo_ - hi_ + 1; }
    range_ref& operator=(uint64_t value) {
      if (hi_ < lo_) {
        for (int k = 0; k <= lo_ - hi_; ++k) x_[lo_ - k] = bool((value >> k) & 1);
        return *this;
      }
      const uint64_t m = ap_sim::low_mask(hi_ - lo_ + 1) << lo_;
      x_.v_ = storage(((uint64_t(x_.v_) & ~m) | ((value << lo_) & m)) & mask);
      return *this;
    }
    template <int M>
    range_ref& operator=(const ap_uint<M>& value) { return *this = value.to_uint64(); }
    range_ref& operator=(const range_ref& other) { return *this = uint64_t(other); }
  };

  // One bit of an ap_uint: readable as bool, assignable.
  class bit_ref {
    ap_uint& x_;
    int i_;

   public:
    bit_ref(ap_uint& x, int i) : x_(x), i_(i) { ap_uint::check_bit(i); }
    bit_ref(const bit_ref&) = default;
    operator bool() const { return (uint64_t(x_.v_) >> i_) & 1; }
    bit_ref& operator=(bool b) {
      const uint64_t m = uint64_t(1) << i_;
      x_.v_ = storage(b ? (uint64_t(x_.v_) | m) : (uint64_t(x_.v_) & ~m));
      return *this;
    }
    bit_ref& operator=(const bit_ref& other) { return *this = bool(other); }
  };

  ap_uint() : v_(0) {}
  template <class T, typename std::enable_if<std::is_integral<T>::value, int>::type = 0>
  ap_uint(T x) : v_(storage(uint64_t(x) & mask)) {}
  template <int M>
  ap_uint(const ap_uint<M>& x) : v_(storage(x.to_uint64() & mask)) {}
  ap_uint(const range_ref& r) : v_(storage(uint64_t(r) & mask)) {}

  operator storage() const { return v_; }
  uint32_t to_uint() const { return uint32_t(v_); }
  uint64_t to_uint64() const { return uint64_t(v_); }
  unsigned long to_ulong() const { return static_cast<unsigned long>(v_); }
  static const int width = N;

  // Bits hi..lo. The real header stops C-simulation (abort) on an index at or past N; so
  // does this one, and on a negative index, which the real one does not check.
  static void check_range(int hi, int lo) {
    if (hi < 0 || lo < 0 || hi >= N || lo >= N) ap_sim::out_of_range("range", hi, lo, N);
  }
  static void check_bit(int i) {
    if (i < 0 || i >= N) ap_sim::out_of_range("bit", i, i, N);
  }
  range_ref range(int hi, int lo) { return range_ref(*this, hi, lo); }
  // The real const range() is a reference too (it const_casts, so it can even write);
  // read-only here.
  uint64_t range(int hi, int lo) const {
    ap_uint copy = *this;
    return uint64_t(copy.range(hi, lo));
  }
  range_ref operator()(int hi, int lo) { return range(hi, lo); }
  uint64_t operator()(int hi, int lo) const { return range(hi, lo); }
  bit_ref operator[](int i) { return bit_ref(*this, i); }
  bool operator[](int i) const {
    check_bit(i);
    return (uint64_t(v_) >> i) & 1;
  }

  // Shifts keep the width of the left operand, as in the real header ("result constrained
  // by left operand"): bits shifted past bit N-1 are lost, not promoted to int as C++
  // would. A negative shift by a signed type shifts the other way, as there.
  template <class T, typename std::enable_if<std::is_integral<T>::value, int>::type = 0>
  friend ap_uint operator<<(const ap_uint& x, T s) {
    return std::is_signed<T>::value && s < 0 ? x.shr(-int64_t(s)) : x.shl(uint64_t(s));
  }
  template <class T, typename std::enable_if<std::is_integral<T>::value, int>::type = 0>
  friend ap_uint operator>>(const ap_uint& x, T s) {
    return std::is_signed<T>::value && s < 0 ? x.shl(-int64_t(s)) : x.shr(uint64_t(s));
  }
  template <int M>
  friend ap_uint operator<<(const ap_uint& x, const ap_uint<M>& s) { return x.shl(s.to_uint64()); }
  template <int M>
  friend ap_uint operator>>(const ap_uint& x, const ap_uint<M>& s) { return x.shr(s.to_uint64()); }
  // ~x keeps the width too (the real operator~ returns ap_uint<N>; C++ would give ~int).
  ap_uint operator~() const { return ap_uint(~uint64_t(v_)); }

  template <class T>
  ap_uint& operator=(T x) {
    v_ = storage(uint64_t(x) & mask);
    return *this;
  }
  ap_uint& operator+=(uint64_t x) { return *this = uint64_t(v_) + x; }
  ap_uint& operator-=(uint64_t x) { return *this = uint64_t(v_) - x; }
  ap_uint& operator&=(uint64_t x) { return *this = uint64_t(v_) & x; }
  ap_uint& operator|=(uint64_t x) { return *this = uint64_t(v_) | x; }
  ap_uint& operator^=(uint64_t x) { return *this = uint64_t(v_) ^ x; }
  ap_uint& operator<<=(int s) { return *this = *this << s; }
  ap_uint& operator>>=(int s) { return *this = *this >> s; }
  ap_uint& operator++() { return *this += 1; }
  ap_uint& operator--() { return *this -= 1; }
  ap_uint shl(uint64_t s) const { return s >= 64 ? ap_uint() : ap_uint(uint64_t(v_) << s); }
  ap_uint shr(uint64_t s) const { return s >= 64 ? ap_uint() : ap_uint(uint64_t(v_) >> s); }
  ap_uint operator++(int) {
    ap_uint old = *this;
    *this += 1;
    return old;
  }
  ap_uint operator--(int) {
    ap_uint old = *this;
    *this -= 1;
    return old;
  }
};
