// A minimal ap_uint<N> (N <= 64) for compiling our HLS kernels with g++: only what the
// kernels in kernels/ use. Vitis HLS brings its own ap_int.h; this file stands in for it
// where Vitis is not installed, with the same spelling for the operations we use.
#pragma once

#include <cstdint>
#include <type_traits>

namespace ap_sim {

template <int N>
using storage_t = std::conditional_t<
    (N <= 8), uint8_t,
    std::conditional_t<(N <= 16), uint16_t, std::conditional_t<(N <= 32), uint32_t, uint64_t>>>;

constexpr uint64_t low_mask(int bits) { return bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1; }

}  // namespace ap_sim

// Unsigned integer of N bits. Values wrap modulo 2^N on assignment, as in Vitis; in
// expressions it converts to the smallest C++ unsigned type that holds it, so arithmetic
// follows C++ rules (code that must agree with Vitis never relies on N-bit wrap-around
// inside an expression, only on assignment).
template <int N>
class ap_uint {
  static_assert(N >= 1 && N <= 64, "kernels/sim ap_uint supports 1 to 64 bits");
  using storage = ap_sim::storage_t<N>;
  static constexpr uint64_t mask = ap_sim::low_mask(N);
  storage v_;

 public:
  // Reference to bits hi..lo of an ap_uint: readable as a number, assignable.
  class range_ref {
    ap_uint& x_;
    int hi_, lo_;

   public:
    constexpr range_ref(ap_uint& x, int hi, int lo) : x_(x), hi_(hi), lo_(lo) {}
    constexpr range_ref(const range_ref&) = default;
    constexpr operator uint64_t() const { return (uint64_t(x_.v_) >> lo_) & ap_sim::low_mask(hi_ - lo_ + 1); }
    constexpr uint64_t to_uint64() const { return uint64_t(*this); }
    constexpr uint32_t to_uint() const { return uint32_t(uint64_t(*this)); }
    constexpr range_ref& operator=(uint64_t value) {
      const uint64_t m = ap_sim::low_mask(hi_ - lo_ + 1) << lo_;
      x_.v_ = storage(((uint64_t(x_.v_) & ~m) | ((value << lo_) & m)) & mask);
      return *this;
    }
    constexpr range_ref& operator=(const range_ref& other) { return *this = uint64_t(other); }
  };

  // One bit of an ap_uint: readable as bool, assignable.
  class bit_ref {
    ap_uint& x_;
    int i_;

   public:
    constexpr bit_ref(ap_uint& x, int i) : x_(x), i_(i) {}
    constexpr bit_ref(const bit_ref&) = default;
    constexpr operator bool() const { return (uint64_t(x_.v_) >> i_) & 1; }
    constexpr bit_ref& operator=(bool b) {
      const uint64_t m = uint64_t(1) << i_;
      x_.v_ = storage(b ? (uint64_t(x_.v_) | m) : (uint64_t(x_.v_) & ~m));
      return *this;
    }
    constexpr bit_ref& operator=(const bit_ref& other) { return *this = bool(other); }
  };

  constexpr ap_uint() : v_(0) {}
  template <class T, std::enable_if_t<std::is_integral<T>::value, int> = 0>
  constexpr ap_uint(T x) : v_(storage(uint64_t(x) & mask)) {}
  template <int M>
  constexpr ap_uint(const ap_uint<M>& x) : v_(storage(x.to_uint64() & mask)) {}
  constexpr ap_uint(const range_ref& r) : v_(storage(uint64_t(r) & mask)) {}

  constexpr operator storage() const { return v_; }
  constexpr uint32_t to_uint() const { return uint32_t(v_); }
  constexpr uint64_t to_uint64() const { return uint64_t(v_); }
  constexpr unsigned long to_ulong() const { return static_cast<unsigned long>(v_); }
  static constexpr int width = N;

  constexpr range_ref range(int hi, int lo) { return range_ref(*this, hi, lo); }
  constexpr uint64_t range(int hi, int lo) const { return (uint64_t(v_) >> lo) & ap_sim::low_mask(hi - lo + 1); }
  constexpr range_ref operator()(int hi, int lo) { return range(hi, lo); }
  constexpr uint64_t operator()(int hi, int lo) const { return range(hi, lo); }
  constexpr bit_ref operator[](int i) { return bit_ref(*this, i); }
  constexpr bool operator[](int i) const { return (uint64_t(v_) >> i) & 1; }

  template <class T>
  constexpr ap_uint& operator=(T x) {
    v_ = storage(uint64_t(x) & mask);
    return *this;
  }
  constexpr ap_uint& operator+=(uint64_t x) { return *this = uint64_t(v_) + x; }
  constexpr ap_uint& operator-=(uint64_t x) { return *this = uint64_t(v_) - x; }
  constexpr ap_uint& operator&=(uint64_t x) { return *this = uint64_t(v_) & x; }
  constexpr ap_uint& operator|=(uint64_t x) { return *this = uint64_t(v_) | x; }
  constexpr ap_uint& operator^=(uint64_t x) { return *this = uint64_t(v_) ^ x; }
  constexpr ap_uint& operator<<=(int s) { return *this = s >= 64 ? 0 : uint64_t(v_) << s; }
  constexpr ap_uint& operator>>=(int s) { return *this = s >= 64 ? 0 : uint64_t(v_) >> s; }
  constexpr ap_uint& operator++() { return *this += 1; }
  constexpr ap_uint& operator--() { return *this -= 1; }
  constexpr ap_uint operator++(int) {
    ap_uint old = *this;
    *this += 1;
    return old;
  }
  constexpr ap_uint operator--(int) {
    ap_uint old = *this;
    *this -= 1;
    return old;
  }
};
