// pack(1) data (.z): one static Huffman code per member.
//
// The format: magic 1f 1e; the original size (32 bits, big-endian); the
// longest code length L (1 to 24, gzip takes up to 25); for each length 1..L
// the number of leaves of that length, the count for L stored less 2; the
// leaves' byte values in order of length (one fewer than the leaves: the
// last leaf of length L is the end-of-data code and has no byte); then the
// codes, most significant bit first. At each length the leaves take the
// highest code values and the lower ones are the prefixes of longer codes.
// The data ends with the end code; the member ends at the next byte.
#include <algorithm>
#include <array>

#include "fpgaio/error.hpp"
#include "fpgaio/formats.hpp"

namespace fpgaio::gzip {

namespace {
constexpr std::size_t kPackOut = 1 << 20;
constexpr unsigned kMaxLen = 25;

std::uint8_t byte(ByteReader& in, const char* where) {
  if (in.avail() == 0 && in.fill(1) == 0)
    throw_corrupt(std::string("unexpected end of file in pack (.z) data (") + where + ")", Damage::truncated);
  std::uint8_t b = in.data()[0];
  in.consume(1);
  return b;
}
}  // namespace

ForeignResult decode_pack(ByteReader& in, Sink& out) {
  ForeignResult res;
  if (byte(in, "magic") != 0x1f || byte(in, "magic") != 0x1e) throw_corrupt("not pack (.z) data");
  std::uint32_t orig_len = 0;
  for (int i = 0; i < 4; ++i) orig_len = (orig_len << 8) | byte(in, "header");
  unsigned max_len = byte(in, "header");
  if (max_len < 1 || max_len > kMaxLen)
    throw_corrupt("invalid pack (.z) data: Huffman code length " + std::to_string(max_len) + " out of range");
  std::array<unsigned, kMaxLen + 1> leaves{}, parents{}, base{};
  unsigned total = 0;
  for (unsigned len = 1; len <= max_len; ++len) {
    leaves[len] = byte(in, "tree");
    total += leaves[len];
  }
  leaves[max_len] += 2;  // stored less 2; the end code is the last of them
  total += 2;
  if (total > 257) throw_corrupt("invalid pack (.z) data: too many leaves in the Huffman tree");
  // The tree must be complete: from the longest codes up, the nodes at
  // each length pair up into the parents one length shorter.
  unsigned nodes = 0;
  for (unsigned len = max_len; len >= 1; --len) {
    if (nodes % 2) throw_corrupt("invalid pack (.z) data: the Huffman tree is not complete");
    parents[len] = nodes / 2;
    nodes = parents[len] + leaves[len];
  }
  if (nodes != 2) throw_corrupt("invalid pack (.z) data: the Huffman tree is not complete");
  std::array<std::uint8_t, 257> literal{};
  unsigned k = 0;
  for (unsigned len = 1; len <= max_len; ++len) {
    base[len] = k;
    unsigned bytes = len == max_len ? leaves[len] - 1 : leaves[len];
    for (unsigned i = 0; i < bytes; ++i) literal[k++] = byte(in, "tree");
  }
  const unsigned eob = base[max_len] + leaves[max_len] - 1;

  Bytes obuf(kPackOut);
  std::size_t olen = 0;
  auto flush = [&] {
    if (olen) res.emit(out, obuf.data(), olen);
    olen = 0;
  };
  try {
    unsigned code = 0, len = 0;
    for (;;) {
      if (in.avail() == 0 && in.fill(1 << 16) == 0) throw_corrupt("unexpected end of file in pack (.z) data", Damage::truncated);
      const std::uint8_t* p = in.data();
      std::size_t n = in.avail(), used = 0;
      bool done = false;
      while (used < n && !done) {
        unsigned b = p[used++];
        for (int bit = 7; bit >= 0; --bit) {
          code = (code << 1) | ((b >> bit) & 1);
          ++len;
          if (code < parents[len]) continue;
          unsigned idx = base[len] + (code - parents[len]);
          if (idx == eob) {
            done = true;
            break;
          }
          obuf[olen++] = literal[idx];
          if (olen == kPackOut) flush();
          code = len = 0;
        }
      }
      in.consume(used);
      if (done) break;
    }
  } catch (...) {
    flush();
    throw;
  }
  flush();
  if (static_cast<std::uint32_t>(res.out_bytes) != orig_len)
    throw_corrupt("the pack header says " + std::to_string(orig_len) + " bytes, the data gives " +
                      std::to_string(res.out_bytes),
                  Damage::length);
  return res;
}

}  // namespace fpgaio::gzip
