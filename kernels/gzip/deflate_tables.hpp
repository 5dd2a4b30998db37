// Deflate's constants (RFC 1951, section 3.2.5-3.2.7) and the small read-only tables the
// kernel derives from them at compile time: in hardware these are ROMs.
#pragma once

#include <cstdint>

namespace gzk {

constexpr int kLitLenSymbols = 286;  // 0-255 literals, 256 end of block, 257-285 lengths
constexpr int kDistSymbols = 30;
constexpr int kCodeLenSymbols = 19;
constexpr int kEndOfBlock = 256;
constexpr int kMaxCodeBits = 15;
constexpr int kMaxCodeLenBits = 7;
constexpr uint32_t kMinMatch = 3;
constexpr uint32_t kMaxMatch = 258;
constexpr uint32_t kMaxDistance = 32768;

constexpr uint16_t kLengthBase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr uint8_t kLengthExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr uint16_t kDistBase[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,    65,    97,    129,
                                    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                    6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
// Order in which the code length code's lengths are sent.
constexpr uint8_t kCodeLenOrder[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

struct Tables {
  uint8_t length_code[256];  // match length - 3 -> index into kLengthBase (symbol - 257)
  uint8_t dist_code_lo[256];  // distance - 1 (< 256) -> distance symbol
  uint8_t dist_code_hi[256];  // (distance - 1) >> 7 (distance > 256) -> distance symbol
  uint8_t fixed_litlen_len[288];
};

constexpr Tables make_tables() {
  Tables t{};
  for (int code = 0; code < 29; ++code) {
    const int span = code == 28 ? 1 : 1 << kLengthExtra[code];
    for (int i = 0; i < span; ++i) t.length_code[kLengthBase[code] - 3 + i] = uint8_t(code);
  }
  for (int code = 0; code < 30; ++code) {
    const int span = 1 << kDistExtra[code];
    for (int i = 0; i < span; ++i) {
      const int d = kDistBase[code] - 1 + i;
      if (d < 256) t.dist_code_lo[d] = uint8_t(code);
      if ((d & 127) == 0 && (d >> 7) < 256) t.dist_code_hi[d >> 7] = uint8_t(code);
    }
  }
  for (int s = 0; s < 288; ++s) t.fixed_litlen_len[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
  return t;
}

constexpr Tables kTables = make_tables();

inline uint32_t length_symbol_index(uint32_t length) { return kTables.length_code[length - 3]; }

inline uint32_t distance_symbol(uint32_t distance) {
  const uint32_t d = distance - 1;
  return d < 256 ? kTables.dist_code_lo[d] : kTables.dist_code_hi[d >> 7];
}

}  // namespace gzk
