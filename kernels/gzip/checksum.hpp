// CRC-32 (gzip's, reflected polynomial 0xEDB88320) and Adler-32 over the kernel's input,
// one 64-bit memory word at a time. The CRC uses eight 256-entry tables, one per byte lane
// of the word (eight small ROMs in hardware); the register is kept uninverted, as the
// interface passes it.
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

// Advances the CRC register over the first `bytes` bytes (1-8) of a little-endian word.
inline uint32_t crc32_word(uint32_t reg, ap_uint<64> word, uint32_t bytes) {
  const uint64_t w = word.to_uint64();
  if (bytes == 8) {
    const uint32_t lo = reg ^ uint32_t(w);
    const uint32_t hi = uint32_t(w >> 32);
    return kCrcTables.t[7][lo & 0xFF] ^ kCrcTables.t[6][(lo >> 8) & 0xFF] ^ kCrcTables.t[5][(lo >> 16) & 0xFF] ^
           kCrcTables.t[4][lo >> 24] ^ kCrcTables.t[3][hi & 0xFF] ^ kCrcTables.t[2][(hi >> 8) & 0xFF] ^
           kCrcTables.t[1][(hi >> 16) & 0xFF] ^ kCrcTables.t[0][hi >> 24];
  }
  for (uint32_t i = 0; i < bytes; ++i) reg = (reg >> 8) ^ kCrcTables.t[0][(reg ^ uint32_t(w >> (8 * i))) & 0xFF];
  return reg;
}

constexpr uint32_t kAdlerMod = 65521;

// Advances an Adler-32 value over the first `bytes` bytes (1-8) of a little-endian word.
inline uint32_t adler32_word(uint32_t adler, ap_uint<64> word, uint32_t bytes) {
  const uint64_t w = word.to_uint64();
  uint32_t s1 = adler & 0xFFFF, s2 = adler >> 16;
  for (uint32_t i = 0; i < bytes; ++i) {
    s1 += uint32_t(w >> (8 * i)) & 0xFF;
    if (s1 >= kAdlerMod) s1 -= kAdlerMod;
    s2 += s1;
    if (s2 >= kAdlerMod) s2 -= kAdlerMod;
  }
  return (s2 << 16) | s1;
}

}  // namespace gzk
