// BNN inner loops. Built once per instruction set of the target with
// different -m flags; KERNEL_NAME names the entry point (kernels_portable,
// kernels_avx2, kernels_avx512 on x86-64; kernels_portable, kernels_neon on
// ARM). The generic loops are written so that compilers vectorize them
// across outputs; with AVX-512 (VPOPCNTDQ, BW) and with NEON the fused loops
// use intrinsics, so that sums stay in registers.
#include "kernels.hpp"

#include <cstring>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VPOPCNTDQ__)
#include <immintrin.h>
#define FPGAIO_AVX512 1
#elif defined(__ARM_NEON) && defined(__arm__)
#include <arm_neon.h>
#define FPGAIO_NEON 1
#endif

#ifndef KERNEL_NAME
#error "KERNEL_NAME must be defined"
#endif

namespace fpgaio::bnn::detail {

namespace {

// kBlock outputs starting at w (row stride `stride`).
[[maybe_unused]] void block_mismatch(const std::uint64_t* p, std::size_t n, const std::uint64_t* w, std::size_t stride,
                                     std::uint64_t* acc) {
  for (std::size_t k = 0; k < kBlock; ++k) acc[k] = 0;
  for (std::size_t j = 0; j < n; ++j, w += stride) {
    const std::uint64_t pj = p[j];
    for (std::size_t k = 0; k < kBlock; ++k) acc[k] += static_cast<std::uint64_t>(__builtin_popcountll(w[k] ^ pj));
  }
}

// Puts the kBlock (32) output bits of the block at o0 into its half of out's
// 64-bit word.
[[maybe_unused]] inline void put_block_bits(std::uint64_t* out, std::size_t o0, std::uint64_t bits) {
  if (o0 % 64 == 0) out[o0 / 64] = bits;
  else out[o0 / 64] |= bits << 32;
}

// Bit k set where mismatch count d[k] is below limit[k]: a binary layer's
// threshold, kBlock outputs.
template <typename Count>
[[maybe_unused]] inline std::uint64_t below_limit(const Count* d, const std::int64_t* limit) {
  std::uint64_t bits = 0;
  for (std::size_t k = 0; k < kBlock; ++k)
    bits |= static_cast<std::uint64_t>(static_cast<std::int64_t>(d[k]) < limit[k]) << k;
  return bits;
}

#ifdef FPGAIO_NEON
// d[k] = mismatches of kBlock outputs starting at w over `rows` runs of `len`
// words (row stride `stride`): per byte, vcnt counts the bits of the XOR;
// pairwise widening adds (vpadal) sum the byte counts into 16-bit lanes,
// which go into 32-bit lanes before they could overflow (a 16-bit lane
// gains at most 16 a word). Eight outputs (four q registers) at a time: the
// A9 has sixteen.
void neon_block(const std::uint64_t* const* rows, std::size_t nrows, std::size_t len, const std::uint64_t* w0,
                std::size_t stride, std::uint32_t* d) {
  constexpr unsigned kFlush = 65535 / 16;
  for (std::size_t s = 0; s < kBlock; s += 8) {
    uint32x4_t t0 = vdupq_n_u32(0), t1 = t0, t2 = t0, t3 = t0;
    uint16x8_t a0 = vdupq_n_u16(0), a1 = a0, a2 = a0, a3 = a0;
    unsigned pending = 0;
    const std::uint64_t* w = w0 + s;
    for (std::size_t r = 0; r < nrows; ++r) {
      const std::uint64_t* p = rows[r];
      for (std::size_t j = 0; j < len; ++j, w += stride) {
        const uint8x16_t pj = vreinterpretq_u8_u64(vdupq_n_u64(p[j]));
        const std::uint8_t* wb = reinterpret_cast<const std::uint8_t*>(w);
        a0 = vpadalq_u8(a0, vcntq_u8(veorq_u8(vld1q_u8(wb), pj)));
        a1 = vpadalq_u8(a1, vcntq_u8(veorq_u8(vld1q_u8(wb + 16), pj)));
        a2 = vpadalq_u8(a2, vcntq_u8(veorq_u8(vld1q_u8(wb + 32), pj)));
        a3 = vpadalq_u8(a3, vcntq_u8(veorq_u8(vld1q_u8(wb + 48), pj)));
        if (++pending == kFlush) {
          t0 = vpadalq_u16(t0, a0), t1 = vpadalq_u16(t1, a1), t2 = vpadalq_u16(t2, a2), t3 = vpadalq_u16(t3, a3);
          a0 = a1 = a2 = a3 = vdupq_n_u16(0);
          pending = 0;
        }
      }
    }
    t0 = vpadalq_u16(t0, a0), t1 = vpadalq_u16(t1, a1), t2 = vpadalq_u16(t2, a2), t3 = vpadalq_u16(t3, a3);
    // Lanes 2k and 2k+1 hold the two halves of word k's count.
    std::uint32_t h[16];
    vst1q_u32(h, t0), vst1q_u32(h + 4, t1), vst1q_u32(h + 8, t2), vst1q_u32(h + 12, t3);
    for (std::size_t k = 0; k < 8; ++k) d[s + k] = h[2 * k] + h[2 * k + 1];
  }
}

void mismatch(const std::uint64_t* p, std::size_t n, const std::uint64_t* wt, std::size_t opad, std::uint32_t* d) {
  for (std::size_t o0 = 0; o0 < opad; o0 += kBlock) neon_block(&p, 1, n, wt + o0, opad, d + o0);
}
#else
void mismatch(const std::uint64_t* p, std::size_t n, const std::uint64_t* wt, std::size_t opad, std::uint32_t* d) {
  std::uint64_t acc[kBlock];
  for (std::size_t o0 = 0; o0 < opad; o0 += kBlock) {
    block_mismatch(p, n, wt + o0, opad, acc);
    for (std::size_t k = 0; k < kBlock; ++k) d[o0 + k] = static_cast<std::uint32_t>(acc[k]);
  }
}
#endif

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

#ifdef FPGAIO_AVX512
void binary_pack(const std::uint64_t* const* rows, std::size_t nrows, std::size_t len, const std::uint64_t* wt,
                 std::size_t opad, const std::int64_t* limit, std::uint64_t* out) {
  for (std::size_t o0 = 0; o0 < opad; o0 += 32) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    const std::uint64_t* w = wt + o0;
    for (std::size_t r = 0; r < nrows; ++r) {
      const std::uint64_t* p = rows[r];
      for (std::size_t j = 0; j < len; ++j, w += opad) {
        const __m512i pj = _mm512_set1_epi64(static_cast<long long>(p[j]));
        a0 = _mm512_add_epi64(a0, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(w), pj)));
        a1 = _mm512_add_epi64(a1, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(w + 8), pj)));
        a2 = _mm512_add_epi64(a2, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(w + 16), pj)));
        a3 = _mm512_add_epi64(a3, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(w + 24), pj)));
      }
    }
    std::uint64_t m = _mm512_cmplt_epi64_mask(a0, _mm512_loadu_si512(limit + o0));
    m |= std::uint64_t{_mm512_cmplt_epi64_mask(a1, _mm512_loadu_si512(limit + o0 + 8))} << 8;
    m |= std::uint64_t{_mm512_cmplt_epi64_mask(a2, _mm512_loadu_si512(limit + o0 + 16))} << 16;
    m |= std::uint64_t{_mm512_cmplt_epi64_mask(a3, _mm512_loadu_si512(limit + o0 + 24))} << 24;
    put_block_bits(out, o0, m);
  }
}

void fixed_pack(const std::int16_t* const* rows, std::size_t nrows, std::size_t len, const std::int16_t*,
                const std::uint32_t* plus, std::size_t opad, const std::int16_t* thr, std::uint64_t* out) {
  // acc = 2 * (sum of q where w = +1) - (sum of all q): one masked add per
  // input value and 32 outputs.
  const std::size_t blocks = opad / 32;
  for (std::size_t b0 = 0; b0 < blocks; b0 += 2) {
    const bool two = b0 + 1 < blocks;
    __m512i s0 = _mm512_setzero_si512(), s1 = s0;
    int total = 0;
    const std::uint32_t* m = plus + b0;
    for (std::size_t r = 0; r < nrows; ++r) {
      const std::int16_t* q = rows[r];
      for (std::size_t j = 0; j < len; ++j, m += blocks) {
        const __m512i qj = _mm512_set1_epi16(q[j]);
        total += q[j];
        s0 = _mm512_mask_add_epi16(s0, m[0], s0, qj);
        if (two) s1 = _mm512_mask_add_epi16(s1, m[1], s1, qj);
      }
    }
    const __m512i t = _mm512_set1_epi16(static_cast<short>(total));
    std::uint64_t bits = _mm512_cmpgt_epi16_mask(_mm512_sub_epi16(_mm512_slli_epi16(s0, 1), t),
                                                 _mm512_loadu_si512(thr + 32 * b0));
    if (two)
      bits |= std::uint64_t{_mm512_cmpgt_epi16_mask(_mm512_sub_epi16(_mm512_slli_epi16(s1, 1), t),
                                                    _mm512_loadu_si512(thr + 32 * b0 + 32))} << 32;
    out[b0 / 2] = bits;
  }
}

// P output pixels (p0, p0 + words, ...: neighbours in a row) and V * 8
// outputs from w (row stride opad): the weight vectors of a patch word are
// loaded once for all P pixels. Mismatch counts stay in registers (P * V +
// V of the 32); bit o of the result = count < limit[o].
template <int V, int P>
inline __attribute__((always_inline)) void conv_pixels(const std::uint64_t* p0, std::size_t rstride,
                                                       std::size_t words, const std::uint64_t* w, std::size_t opad,
                                                       const std::int64_t* limit, std::uint64_t* m) {
  __m512i a[P][V];
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < V; ++v) a[p][v] = _mm512_setzero_si512();
  const std::size_t len = 3 * words;
  for (int r = 0; r < 3; ++r) {
    const std::uint64_t* row = p0 + r * rstride;
    for (std::size_t j = 0; j < len; ++j, w += opad) {
      __m512i wv[V];
      for (int v = 0; v < V; ++v) wv[v] = _mm512_loadu_si512(w + 8 * v);
      for (int p = 0; p < P; ++p) {
        const __m512i b = _mm512_set1_epi64(static_cast<long long>(row[j + p * words]));
        for (int v = 0; v < V; ++v) a[p][v] = _mm512_add_epi64(a[p][v], _mm512_popcnt_epi64(_mm512_xor_si512(wv[v], b)));
      }
    }
  }
  for (int p = 0; p < P; ++p) {
    std::uint64_t bits = 0;
    for (int v = 0; v < V; ++v)
      bits |= std::uint64_t{_mm512_cmplt_epi64_mask(a[p][v], _mm512_loadu_si512(limit + 8 * v))} << (8 * v);
    m[p] = bits;
  }
}

// Blocks of 32 outputs for four pixels at a time (16 sums and 4 weight
// vectors in registers; 64 outputs for two pixels spill on GCC 12 and run
// slower), then pairs and single pixels at the end of a row.
void conv_binary(const std::uint64_t* in, std::size_t ih, std::size_t iw, std::size_t words, const std::uint64_t* wt,
                 std::size_t opad, const std::int64_t* limit, std::uint64_t* out) {
  const std::size_t oh = ih - 2, ow = iw - 2, ow_words = (opad + 63) / 64, rstride = iw * words;
  for (std::size_t y = 0; y < oh; ++y)
    for (std::size_t o0 = 0; o0 < opad; o0 += 32) {
      const std::uint64_t* w = wt + o0;
      const std::int64_t* lim = limit + o0;
      const bool high = o0 % 64 != 0;  // the upper half of a word whose lower half is written
      std::uint64_t* o = out + y * ow * ow_words + o0 / 64;
      const std::uint64_t* p = in + y * rstride;
      std::uint64_t m[4];
      auto put = [&](int n) {
        for (int i = 0; i < n; ++i, o += ow_words) *o = high ? *o | m[i] << 32 : m[i];
        p += n * words;
      };
      std::size_t x = 0;
      for (; x + 4 <= ow; x += 4) conv_pixels<4, 4>(p, rstride, words, w, opad, lim, m), put(4);
      if (x + 2 <= ow) conv_pixels<4, 2>(p, rstride, words, w, opad, lim, m), put(2), x += 2;
      if (x < ow) conv_pixels<4, 1>(p, rstride, words, w, opad, lim, m), put(1);
    }
}

void fc_pack4(const std::uint64_t* in, std::size_t n, const std::uint64_t* wt, std::size_t opad,
              const std::int64_t* limit, std::uint64_t* out, std::size_t ostride) {
  for (std::size_t o0 = 0; o0 < opad; o0 += 32) {
    __m512i a[4][4];
    for (int p = 0; p < 4; ++p)
      for (int v = 0; v < 4; ++v) a[p][v] = _mm512_setzero_si512();
    const std::uint64_t* w = wt + o0;
    for (std::size_t j = 0; j < n; ++j, w += opad) {
      __m512i wv[4];
      for (int v = 0; v < 4; ++v) wv[v] = _mm512_loadu_si512(w + 8 * v);
      for (int p = 0; p < 4; ++p) {
        const __m512i b = _mm512_set1_epi64(static_cast<long long>(in[p * n + j]));
        for (int v = 0; v < 4; ++v) a[p][v] = _mm512_add_epi64(a[p][v], _mm512_popcnt_epi64(_mm512_xor_si512(wv[v], b)));
      }
    }
    for (int p = 0; p < 4; ++p) {
      std::uint64_t bits = 0;
      for (int v = 0; v < 4; ++v)
        bits |= std::uint64_t{_mm512_cmplt_epi64_mask(a[p][v], _mm512_loadu_si512(limit + o0 + 8 * v))} << (8 * v);
      std::uint64_t& o = out[p * ostride + o0 / 64];
      o = o0 % 64 ? o | bits << 32 : bits;
    }
  }
}
#define FPGAIO_FC_PACK4 fc_pack4

// V * 16 outputs of one pixel: per four-byte word of the patch, one
// broadcast and V dot products of four bytes (vpdpbusd: unsigned input
// bytes times signed weights, summed into 32-bit lanes). AVX512-VNNI for
// these two functions only (the engine calls them where the CPU has it).
#define FPGAIO_VNNI __attribute__((target("avx512vnni")))
// acc += four-byte dot products of u (unsigned) and w (signed). In asm:
// GCC 12 copies the accumulators around each _mm512_dpbusd_epi32 (two
// register moves a product; the layer ran 1.6 times as long).
FPGAIO_VNNI inline __attribute__((always_inline)) void dpbusd(__m512i& acc, __m512i u, __m512i w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(w));
}

template <int V, int P>
FPGAIO_VNNI inline __attribute__((always_inline)) void conv_u8_pixels(const std::uint8_t* p0, std::size_t rstride,
                                                                     std::size_t c, std::size_t groups,
                                                                     const std::int8_t* w, std::size_t opad,
                                                                     const std::int32_t* thr, std::uint64_t* m) {
  __m512i a[P][V];
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < V; ++v) a[p][v] = _mm512_setzero_si512();
  for (int r = 0; r < 3; ++r) {
    const std::uint8_t* row = p0 + r * rstride;
    for (std::size_t g = 0; g < groups; ++g, w += 4 * opad) {
      __m512i wv[V];
      for (int v = 0; v < V; ++v) wv[v] = _mm512_loadu_si512(w + 64 * v);
      for (int p = 0; p < P; ++p) {
        int word;
        std::memcpy(&word, row + p * c + 4 * g, 4);
        const __m512i b = _mm512_set1_epi32(word);
        for (int v = 0; v < V; ++v) dpbusd(a[p][v], b, wv[v]);
      }
    }
  }
  for (int p = 0; p < P; ++p) {
    std::uint64_t bits = 0;
    for (int v = 0; v < V; ++v)
      bits |= std::uint64_t{_mm512_cmpgt_epi32_mask(a[p][v], _mm512_loadu_si512(thr + 16 * v))} << (16 * v);
    m[p] = bits;
  }
}

FPGAIO_VNNI void conv_u8(const std::uint8_t* in, std::size_t ih, std::size_t iw, std::size_t c, const std::int8_t* wg,
                         std::size_t opad, const std::int32_t* thr, std::uint64_t* out) {
  const std::size_t oh = ih - 2, ow = iw - 2, ow_words = (opad + 63) / 64, groups = (3 * c + 3) / 4;
  for (std::size_t y = 0; y < oh; ++y)
    for (std::size_t o0 = 0; o0 < opad; o0 += 32) {
      const bool high = o0 % 64 != 0;
      const std::uint8_t* p = in + y * iw * c;
      std::uint64_t* o = out + y * ow * ow_words + o0 / 64;
      const std::int8_t* w = wg + 4 * o0;
      std::uint64_t m[4];
      auto put = [&](int n) {
        for (int i = 0; i < n; ++i, o += ow_words) *o = high ? *o | m[i] << 32 : m[i];
        p += n * c;
      };
      std::size_t x = 0;
      for (; x + 4 <= ow; x += 4) conv_u8_pixels<2, 4>(p, iw * c, c, groups, w, opad, thr + o0, m), put(4);
      for (; x < ow; ++x) conv_u8_pixels<2, 1>(p, iw * c, c, groups, w, opad, thr + o0, m), put(1);
    }
}
#define FPGAIO_CONV_U8 conv_u8
#define FPGAIO_CONV_BINARY conv_binary
#elif defined(FPGAIO_NEON)
void binary_pack(const std::uint64_t* const* rows, std::size_t nrows, std::size_t len, const std::uint64_t* wt,
                 std::size_t opad, const std::int64_t* limit, std::uint64_t* out) {
  std::uint32_t d[kBlock];
  for (std::size_t o0 = 0; o0 < opad; o0 += kBlock) {
    neon_block(rows, nrows, len, wt + o0, opad, d);
    put_block_bits(out, o0, below_limit(d, limit + o0));
  }
}

void fixed_pack(const std::int16_t* const* rows, std::size_t nrows, std::size_t len, const std::int16_t* w,
                const std::uint32_t*, std::size_t opad, const std::int16_t* thr, std::uint64_t* out) {
  // 16-bit multiply-accumulate of 32 outputs in four q registers (|acc| <
  // 2^15, as in the generic loop), compared with the thresholds there.
  for (std::size_t o0 = 0; o0 < opad; o0 += kBlock) {
    int16x8_t a0 = vdupq_n_s16(0), a1 = a0, a2 = a0, a3 = a0;
    const std::int16_t* wj = w + o0;
    for (std::size_t r = 0; r < nrows; ++r)
      for (std::size_t j = 0; j < len; ++j, wj += opad) {
        const std::int16_t qj = rows[r][j];
        a0 = vmlaq_n_s16(a0, vld1q_s16(wj), qj);
        a1 = vmlaq_n_s16(a1, vld1q_s16(wj + 8), qj);
        a2 = vmlaq_n_s16(a2, vld1q_s16(wj + 16), qj);
        a3 = vmlaq_n_s16(a3, vld1q_s16(wj + 24), qj);
      }
    const std::int16_t* t = thr + o0;
    std::uint16_t gt[kBlock];
    vst1q_u16(gt, vcgtq_s16(a0, vld1q_s16(t)));
    vst1q_u16(gt + 8, vcgtq_s16(a1, vld1q_s16(t + 8)));
    vst1q_u16(gt + 16, vcgtq_s16(a2, vld1q_s16(t + 16)));
    vst1q_u16(gt + 24, vcgtq_s16(a3, vld1q_s16(t + 24)));
    std::uint64_t bits = 0;
    for (std::size_t k = 0; k < kBlock; ++k) bits |= static_cast<std::uint64_t>(gt[k] & 1) << k;
    put_block_bits(out, o0, bits);
  }
}
#else
void binary_pack(const std::uint64_t* const* rows, std::size_t nrows, std::size_t len, const std::uint64_t* wt,
                 std::size_t opad, const std::int64_t* limit, std::uint64_t* out) {
  std::uint64_t d[kBlock], part[kBlock];
  for (std::size_t o0 = 0; o0 < opad; o0 += kBlock) {
    for (std::size_t k = 0; k < kBlock; ++k) d[k] = 0;
    for (std::size_t r = 0; r < nrows; ++r) {
      block_mismatch(rows[r], len, wt + r * len * opad + o0, opad, part);
      for (std::size_t k = 0; k < kBlock; ++k) d[k] += part[k];
    }
    put_block_bits(out, o0, below_limit(d, limit + o0));
  }
}

void fixed_pack(const std::int16_t* const* rows, std::size_t nrows, std::size_t len, const std::int16_t* w,
                const std::uint32_t*, std::size_t opad, const std::int16_t* thr, std::uint64_t* out) {
  for (std::size_t o0 = 0; o0 < opad; o0 += kBlock) {
    std::int16_t acc[kBlock] = {};
    const std::int16_t* wj = w + o0;
    for (std::size_t r = 0; r < nrows; ++r)
      for (std::size_t j = 0; j < len; ++j, wj += opad) {
        const std::int16_t qj = rows[r][j];
        for (std::size_t k = 0; k < kBlock; ++k) acc[k] = static_cast<std::int16_t>(acc[k] + qj * wj[k]);
      }
    std::uint64_t bits = 0;
    for (std::size_t k = 0; k < kBlock; ++k) bits |= static_cast<std::uint64_t>(acc[k] > thr[o0 + k]) << k;
    put_block_bits(out, o0, bits);
  }
}
#endif

#ifndef FPGAIO_CONV_BINARY
#define FPGAIO_CONV_BINARY nullptr
#endif
#ifndef FPGAIO_CONV_U8
#define FPGAIO_CONV_U8 nullptr
#endif
#ifndef FPGAIO_FC_PACK4
#define FPGAIO_FC_PACK4 nullptr
#endif
const Kernels table{mismatch, binary_pack, fixed, fixed_pack, FPGAIO_CONV_BINARY, FPGAIO_CONV_U8, FPGAIO_FC_PACK4};

}  // namespace

const Kernels& KERNEL_NAME() { return table; }

}  // namespace fpgaio::bnn::detail
