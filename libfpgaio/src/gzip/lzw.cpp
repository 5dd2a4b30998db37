// compress(1) data (.Z): LZW with 9- to 16-bit codes, block mode or not.
//
// The format, as compress and ncompress write it: magic 1f 9d, a flags byte
// (low 5 bits the largest code width, 0x80 block mode, 0x60 reserved), then
// codes packed LSB first, starting at 9 bits. Codes are written in groups of
// eight (a group of n-bit codes is n bytes); when the width grows, or on a
// CLEAR code (256, block mode only), the rest of the current group is
// padding. There is no end code and no check value: the data ends with the
// input, and bits too few for a code are ignored.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "fpgaio/error.hpp"
#include "fpgaio/formats.hpp"

namespace fpgaio::gzip {

namespace {
constexpr std::size_t kOut = 1 << 20;
constexpr unsigned kClear = 256;

// Reads codes LSB first and counts them within their group of eight.
class CodeReader {
 public:
  explicit CodeReader(ByteReader& in) : in_(in) {}
  // The next n-bit code, or -1 when fewer than n bits are left.
  long next(unsigned n) {
    while (nacc_ < n) {
      if (in_.avail() == 0 && in_.fill(1 << 16) == 0) return -1;
      // Take as many whole bytes as fit the accumulator at once.
      std::size_t k = std::min<std::size_t>(in_.avail(), (64 - nacc_) / 8);
      const std::uint8_t* p = in_.data();
      for (std::size_t i = 0; i < k; ++i) {
        acc_ |= static_cast<std::uint64_t>(p[i]) << nacc_;
        nacc_ += 8;
      }
      in_.consume(k);
    }
    long code = static_cast<long>(acc_ & ((1u << n) - 1));
    acc_ >>= n;
    nacc_ -= n;
    in_group_ = (in_group_ + 1) & 7;
    return code;
  }
  // Skips the padding to the end of the current group of n-bit codes.
  // Returns false when the input ends inside it.
  bool end_group(unsigned n) {
    if (in_group_ == 0) return true;
    std::uint64_t skip = static_cast<std::uint64_t>(8 - in_group_) * n;
    in_group_ = 0;
    while (skip > 0) {
      if (nacc_ == 0) {
        if (in_.avail() == 0 && in_.fill(1 << 16) == 0) return false;
        acc_ = in_.data()[0];
        in_.consume(1);
        nacc_ = 8;
      }
      unsigned k = static_cast<unsigned>(std::min<std::uint64_t>(skip, nacc_));
      acc_ = k == 64 ? 0 : acc_ >> k;
      nacc_ -= k;
      skip -= k;
    }
    return true;
  }

 private:
  ByteReader& in_;
  std::uint64_t acc_ = 0;
  unsigned nacc_ = 0;
  unsigned in_group_ = 0;
};
}  // namespace

ForeignResult decode_lzw(ByteReader& in, Sink& out) {
  ForeignResult res;
  if (in.fill(3) < 3) throw_corrupt("unexpected end of file in a compress (.Z) header", Damage::truncated);
  const std::uint8_t* h = in.data();
  if (h[0] != 0x1f || h[1] != 0x9d) throw_corrupt("not compress (.Z) data");
  unsigned flags = h[2];
  in.consume(3);
  unsigned maxbits = flags & 0x1f;
  bool block_mode = (flags & 0x80) != 0;
  if (flags & 0x60) {
    char w[64];
    std::snprintf(w, sizeof w, "warning, unknown flags 0x%x", flags & 0x60);
    res.warnings.emplace_back(w);
  }
  if (maxbits > 16)
    throw_corrupt("compressed with " + std::to_string(maxbits) + " bits, can only handle 16 bits");
  // Fewer than 9 bits (compress never writes it): 9-bit codes and a table
  // that never grows, as gzip reads it.

  const std::uint32_t maxmaxcode = 1u << maxbits;
  std::vector<std::uint16_t> prefix(1u << 16);
  std::vector<std::uint8_t> suffix(1u << 16);
  for (unsigned i = 0; i < 256; ++i) suffix[i] = static_cast<std::uint8_t>(i);
  std::vector<std::uint8_t> stack(1u << 17);
  Bytes obuf(kOut);
  std::size_t olen = 0;
  auto flush = [&] {
    if (olen) res.emit(out, obuf.data(), olen);
    olen = 0;
  };

  CodeReader codes(in);
  unsigned n_bits = 9;
  // The width grows when the next entry would not fit: past maxcode. At the
  // largest width maxcode is maxmaxcode, which the table never passes. (As
  // in gzip and compress, the first width is 9 bits whatever maxbits says,
  // so 9-bit data grows to 10 bits once its table is full.)
  auto maxcode_for = [&](unsigned bits) { return bits == maxbits && bits > 9 ? maxmaxcode : (1u << bits) - 1; };
  std::uint32_t maxcode = maxcode_for(n_bits);
  std::uint32_t free_ent = block_mode ? 257 : 256;
  long prev = -1;
  unsigned finchar = 0;
  try {
    for (;;) {
      if (free_ent > maxcode) {
        if (!codes.end_group(n_bits)) break;
        ++n_bits;
        maxcode = n_bits == maxbits ? maxmaxcode : (1u << n_bits) - 1;
        if (n_bits > 16) throw_corrupt("corrupt compress (.Z) data: code width over 16 bits");
      }
      long code = codes.next(n_bits);
      if (code < 0) break;
      if (block_mode && code == kClear) {
        // The table starts over; the next code's entry lands on 256 (never
        // looked up, it is CLEAR), so new strings start at 257 again.
        if (!codes.end_group(n_bits)) break;
        n_bits = 9;
        maxcode = maxcode_for(n_bits);
        free_ent = 256;
        continue;
      }
      long incode = code;
      std::size_t sp = 0;
      if (static_cast<std::uint32_t>(code) >= free_ent) {
        if (static_cast<std::uint32_t>(code) > free_ent || prev < 0)
          throw_corrupt("corrupt compress (.Z) data: code " + std::to_string(code) + " is not in the table yet");
        stack[sp++] = static_cast<std::uint8_t>(finchar);  // KwKwK: the string being defined
        code = prev;
      }
      while (code >= 256) {
        stack[sp++] = suffix[static_cast<std::size_t>(code)];
        code = prefix[static_cast<std::size_t>(code)];
      }
      finchar = static_cast<unsigned>(code);
      stack[sp++] = static_cast<std::uint8_t>(finchar);
      if (olen + sp > kOut) flush();
      while (sp > 0) obuf[olen++] = stack[--sp];
      if (prev >= 0 && free_ent < maxmaxcode) {
        prefix[free_ent] = static_cast<std::uint16_t>(prev);
        suffix[free_ent] = static_cast<std::uint8_t>(finchar);
        ++free_ent;
      }
      prev = incode;
    }
  } catch (...) {
    flush();
    throw;
  }
  flush();
  return res;
}

}  // namespace fpgaio::gzip
