// BNN inner loops. Built three times with different -m flags; KERNEL_NAME
// names the entry point (kernels_portable, kernels_avx2, kernels_avx512).
// The loops are written so that the compiler vectorizes them across outputs
// (with AVX-512 VPOPCNTDQ, popcount of eight words is one instruction).
#include "kernels.hpp"

#ifndef KERNEL_NAME
#error "KERNEL_NAME must be defined"
#endif

namespace fpgaio::bnn::detail {

namespace {

void mismatch(const std::uint64_t* p, std::size_t n, const std::uint64_t* wt, std::size_t opad, std::uint32_t* d) {
  for (std::size_t o0 = 0; o0 < opad; o0 += kBlock) {
    std::uint64_t acc[kBlock] = {};
    for (std::size_t j = 0; j < n; ++j) {
      const std::uint64_t pj = p[j];
      const std::uint64_t* w = wt + j * opad + o0;
      for (std::size_t k = 0; k < kBlock; ++k) acc[k] += static_cast<std::uint64_t>(__builtin_popcountll(w[k] ^ pj));
    }
    for (std::size_t k = 0; k < kBlock; ++k) d[o0 + k] = static_cast<std::uint32_t>(acc[k]);
  }
}

void fixed(const std::int16_t* q, std::size_t n, const std::int16_t* w, std::size_t opad, std::int32_t* out) {
  for (std::size_t o0 = 0; o0 < opad; o0 += kBlock) {
    std::int32_t acc[kBlock] = {};
    for (std::size_t j = 0; j < n; ++j) {
      const std::int32_t qj = q[j];
      const std::int16_t* wj = w + j * opad + o0;
      for (std::size_t k = 0; k < kBlock; ++k) acc[k] += qj * wj[k];
    }
    for (std::size_t k = 0; k < kBlock; ++k) out[o0 + k] = acc[k];
  }
}

void pack_below(const std::uint32_t* v, const std::int64_t* limit, std::size_t count, std::uint64_t* out) {
  for (std::size_t w0 = 0; w0 < count; w0 += 64) {
    std::uint64_t bits = 0;
    std::size_t end = count - w0 < 64 ? count - w0 : 64;
    for (std::size_t k = 0; k < end; ++k)
      bits |= static_cast<std::uint64_t>(static_cast<std::int64_t>(v[w0 + k]) < limit[w0 + k]) << k;
    out[w0 / 64] = bits;
  }
}

const Kernels table{mismatch, fixed, pack_below};

}  // namespace

const Kernels& KERNEL_NAME() { return table; }

}  // namespace fpgaio::bnn::detail
