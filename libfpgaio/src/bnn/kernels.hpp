// The inner loops of the BNN engine, compiled once per instruction set
// (kernels.cpp with -mavx2 or -mavx512vpopcntdq, or -mfpu=neon on ARM, or
// none) and picked at run time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fpgaio::bnn::detail {

constexpr std::size_t kBlock = 32;  // outputs per inner block; layers pad outputs to a multiple

struct Kernels {
  // d[o] = sum over j < n of popcount(p[j] ^ wt[j*opad + o]), o < opad.
  void (*mismatch)(const std::uint64_t* p, std::size_t n, const std::uint64_t* wt, std::size_t opad,
                   std::uint32_t* d);
  // The same over an input made of `rows` runs of `len` words each (a 3x3
  // patch is three runs of 3 pixels' words in the map; a vector is one run),
  // then out bit o = d[o] < limit[o], for o < opad (padding outputs have
  // limit 0, so their bits are 0). out holds opad bits.
  void (*binary_pack)(const std::uint64_t* const* rows, std::size_t nrows, std::size_t len, const std::uint64_t* wt,
                      std::size_t opad, const std::int64_t* limit, std::uint64_t* out);
  // acc[o] = sum over j < n of q[j] * w[j*opad + o], o < opad (|acc| < 2^15).
  void (*fixed)(const std::int16_t* q, std::size_t n, const std::int16_t* w, std::size_t opad, std::int32_t* acc);
  // The same over `rows` runs of `len` values, then out bit o = acc[o] >
  // thr[o] (padding outputs: thr = INT16_MAX). plus[j * opad/32 + b] has bit
  // k set where w[j*opad + 32b + k] is +1 (acc = 2 * sum of those - sum of all).
  void (*fixed_pack)(const std::int16_t* const* rows, std::size_t nrows, std::size_t len, const std::int16_t* w,
                     const std::uint32_t* plus, std::size_t opad, const std::int16_t* thr, std::uint64_t* out);
  // Whole layers, where an instruction set has them (else null, and the
  // engine goes pixel by pixel with the two above).
  // A 3x3 convolution of a binary map `in` (ih x iw pixels of `words`
  // words) into `out` ((ih-2) x (iw-2) pixels of opad/64 words, rounded
  // up): bit o = mismatches < limit[o], the weights as for binary_pack.
  void (*conv_binary)(const std::uint64_t* in, std::size_t ih, std::size_t iw, std::size_t words,
                      const std::uint64_t* wt, std::size_t opad, const std::int64_t* limit, std::uint64_t* out);
  // A 3x3 convolution of 8-bit values given as bytes u = q + 128 (HWC, c
  // channels, readable 4 bytes past the end): a row of a patch (3c bytes)
  // is read as groups = (3c + 3) / 4 four-byte words; wg[((ky * groups + g)
  // * opad + o) * 4 + b] is the weight (+1, -1, or 0 past the row) of byte
  // b of word g. Bit o = sum of w * u > thr[o] (thr has 128 * sum of w
  // folded in). Needs AVX512-VNNI (the engine checks the CPU).
  void (*conv_u8)(const std::uint8_t* in, std::size_t ih, std::size_t iw, std::size_t c, const std::int8_t* wg,
                  std::size_t opad, const std::int32_t* thr, std::uint64_t* out);
  // binary_pack of a fully connected layer for four inputs at once (input i
  // at in + i * n, its output at out + i * ostride), each weight vector
  // read once for the four.
  void (*fc_pack4)(const std::uint64_t* in, std::size_t n, const std::uint64_t* wt, std::size_t opad,
                   const std::int64_t* limit, std::uint64_t* out, std::size_t ostride);
};

// Those the build has (libfpgaio/CMakeLists.txt: FPGAIO_BNN_ISA_<NAME>).
const Kernels& kernels_portable();
const Kernels& kernels_avx2();    // x86-64
const Kernels& kernels_avx512();  // x86-64
const Kernels& kernels_neon();    // ARM

}  // namespace fpgaio::bnn::detail
