// CRC-32 (gzip's, reflected polynomial 0xEDB88320) and Adler-32 over the kernel's input,
// one 64-bit memory word at a time. The CRC uses eight 256-entry tables, one per byte lane
// of the word (eight small ROMs in hardware: the reader partitions them); the register is
// kept uninverted, as the interface passes it. The whole-word functions are what the
// reader's II=1 loop calls; the partial-word ones (a fixed 8-trip loop with a guard) run
// once a call, after that loop, for the last word.
#pragma once

#include <ap_int.h>

#include <cstdint>

namespace gzk {

struct CrcTables {
  uint32_t t[8][256];
};

constexpr CrcTables make_crc_tables() {
  CrcTables c{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t r = i;
    for (int k = 0; k < 8; ++k) r = (r >> 1) ^ (0xEDB88320u & (0u - (r & 1)));
    c.t[0][i] = r;
  }
  for (int lane = 1; lane < 8; ++lane)
    for (int i = 0; i < 256; ++i) c.t[lane][i] = (c.t[lane - 1][i] >> 8) ^ c.t[0][c.t[lane - 1][i] & 0xFF];
  return c;
}

constexpr CrcTables kCrcTables = make_crc_tables();

// Advances the CRC register over a whole little-endian word: one read of each lane's
// table (t[8][256] partitioned on its first dimension: eight ROMs, one read each a cycle).
inline uint32_t crc32_word8(uint32_t reg, ap_uint<64> word, const uint32_t (&t)[8][256]) {
#pragma HLS INLINE
  const uint64_t w = word.to_uint64();
  const uint32_t lo = reg ^ uint32_t(w);
  const uint32_t hi = uint32_t(w >> 32);
  return t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^ t[3][hi & 0xFF] ^
         t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
}

// The first `bytes` bytes (1-8) of a word, a byte a step: eight fixed steps with a guard.
inline uint32_t crc32_partial(uint32_t reg, ap_uint<64> word, uint32_t bytes, const uint32_t (&t)[8][256]) {
  const uint64_t w = word.to_uint64();
  for (uint32_t i = 0; i < 8; ++i) {
    if (i < bytes) reg = (reg >> 8) ^ t[0][(reg ^ uint32_t(w >> (8 * i))) & 0xFF];
  }
  return reg;
}

constexpr uint32_t kAdlerMod = 65521;

// x mod 65521 for x below 2^24 (65536 = 15 mod 65521): a fold and two conditional
// subtractions, no divider.
inline uint32_t adler_reduce(uint32_t x) {
  x = (x >> 16) * 15 + (x & 0xFFFF);  // below 65536 + 255 * 15
  if (x >= kAdlerMod) x -= kAdlerMod;
  if (x >= kAdlerMod) x -= kAdlerMod;
  return x;
}

// Advances Adler-32 over a whole word in closed form: s1 += sum b_i, s2 += 8 s1 +
// sum (8 - i) b_i; the loop-carried path is one add and one reduction per register.
inline uint32_t adler32_word8(uint32_t adler, ap_uint<64> word) {
#pragma HLS INLINE
  const uint64_t w = word.to_uint64();
  uint32_t sum = 0, weighted = 0;
  for (int i = 0; i < 8; ++i) {
#pragma HLS UNROLL
    const uint32_t b = uint32_t(w >> (8 * i)) & 0xFF;
    sum += b;
    weighted += uint32_t(8 - i) * b;
  }
  const uint32_t s1 = adler & 0xFFFF, s2 = adler >> 16;
  const uint32_t n1 = adler_reduce(s1 + sum);
  const uint32_t n2 = adler_reduce(s2 + 8 * s1 + weighted);
  return (n2 << 16) | n1;
}

// The first `bytes` bytes (1-8) of a word: eight fixed steps with a guard.
inline uint32_t adler32_partial(uint32_t adler, ap_uint<64> word, uint32_t bytes) {
  const uint64_t w = word.to_uint64();
  uint32_t s1 = adler & 0xFFFF, s2 = adler >> 16;
  for (uint32_t i = 0; i < 8; ++i) {
    if (i < bytes) {
      s1 += uint32_t(w >> (8 * i)) & 0xFF;
      if (s1 >= kAdlerMod) s1 -= kAdlerMod;
      s2 += s1;
      if (s2 >= kAdlerMod) s2 -= kAdlerMod;
    }
  }
  return (s2 << 16) | s1;
}

}  // namespace gzk
