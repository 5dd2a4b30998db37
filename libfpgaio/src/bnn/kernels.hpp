// The inner loops of the BNN engine, compiled once per instruction set
// (kernels.cpp with -mavx2 or -mavx512vpopcntdq, or none) and picked at run time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fpgaio::bnn::detail {

constexpr std::size_t kBlock = 16;  // outputs per inner block; layers pad outputs to a multiple

struct Kernels {
  // d[o] = sum over j < n of popcount(p[j] ^ wt[j*opad + o]), o < opad.
  void (*mismatch)(const std::uint64_t* p, std::size_t n, const std::uint64_t* wt, std::size_t opad,
                   std::uint32_t* d);
  // acc[o] = sum over j < n of q[j] * w[j*opad + o], o < opad.
  void (*fixed)(const std::int16_t* q, std::size_t n, const std::int16_t* w, std::size_t opad, std::int32_t* acc);
  // out[o/64] bit o%64 = v[o] < limit[o] (binary layers: mismatches below K - T), o < count.
  void (*pack_below)(const std::uint32_t* v, const std::int64_t* limit, std::size_t count, std::uint64_t* out);
};

const Kernels& kernels_portable();
const Kernels& kernels_avx2();
const Kernels& kernels_avx512();

}  // namespace fpgaio::bnn::detail
