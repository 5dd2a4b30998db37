// RFC 1952 member headers and the FT subfield of the indexed block format.
#include <cstring>

#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "le.hpp"

namespace fpgaio::gzip {

namespace {
constexpr std::size_t kMaxHeaderString = 1 << 20;

using detail::le16;
using detail::le32;
void put32(Bytes& v, std::uint32_t x) {
  for (int i = 0; i < 4; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}
void put16(Bytes& v, std::uint16_t x) {
  v.push_back(static_cast<std::uint8_t>(x));
  v.push_back(static_cast<std::uint8_t>(x >> 8));
}

// Reads a NUL-terminated string at data[pos, n): nullopt = need more input.
std::optional<std::string> read_cstring(const std::uint8_t* data, std::size_t n, std::size_t& pos) {
  auto* end = static_cast<const std::uint8_t*>(std::memchr(data + pos, 0, n - pos));
  if (!end) {
    if (n - pos > kMaxHeaderString) throw_corrupt("gzip header string longer than 1 MiB");
    return std::nullopt;
  }
  std::string s(reinterpret_cast<const char*>(data + pos), static_cast<std::size_t>(end - (data + pos)));
  pos = static_cast<std::size_t>(end - data) + 1;
  return s;
}

void parse_extra(Header& h, const std::uint8_t* p, std::size_t xlen) {
  // Foreign subfields are skipped; a malformed list just means "no index".
  std::size_t i = 0;
  while (i + 4 <= xlen) {
    std::uint8_t si1 = p[i], si2 = p[i + 1];
    std::size_t len = le16(p + i + 2);
    if (i + 4 + len > xlen) return;
    const std::uint8_t* d = p + i + 4;
    if (si1 == kSubfieldId1 && si2 == kSubfieldId2 && len == kSubfieldLen && d[0] == kSubfieldVersion) {
      h.index = Index::ft;
      h.end_of_stream = (d[1] & kFlagEndOfStream) != 0;
      h.member_size = le32(d + 2);
      h.isize = le32(d + 6);
    } else if (si1 == 'B' && si2 == 'C' && len == 2 && h.index == Index::none) {
      h.index = Index::bgzf;
      h.member_size = static_cast<std::uint64_t>(le16(d)) + 1;
    }
    i += 4 + len;
  }
}
}  // namespace

bool has_gzip_magic(const std::uint8_t* data, std::size_t n) {
  return n >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

bool empty_end_marker(const Header& h, std::uint32_t crc, std::uint32_t isize) {
  constexpr std::uint64_t kMaxEmptyDeflate = 64;  // ours is 2 bytes: one empty fixed block
  return h.isize == 0 && isize == 0 && crc == 0 && h.member_size >= h.length + 8 &&
         h.member_size - h.length - 8 <= kMaxEmptyDeflate;
}

std::optional<Header> parse_header(const std::uint8_t* data, std::size_t n) {
  if (n < 10) {
    if (n >= 1 && data[0] != 0x1f) throw_corrupt("not in gzip format");
    if (n >= 2 && data[1] != 0x8b) throw_corrupt("not in gzip format");
    return std::nullopt;
  }
  if (!has_gzip_magic(data, n)) throw_corrupt("not in gzip format");
  if (data[2] != 8) throw_corrupt("unknown compression method " + std::to_string(data[2]));
  Header h;
  h.flags = data[3];
  if (h.flags & 0xe0) throw_corrupt("reserved header flags set");
  h.mtime = le32(data + 4);
  h.xfl = data[8];
  h.os = data[9];
  std::size_t pos = 10;
  if (h.flags & FEXTRA) {
    if (n < pos + 2) return std::nullopt;
    std::size_t xlen = le16(data + pos);
    pos += 2;
    if (n < pos + xlen) return std::nullopt;
    parse_extra(h, data + pos, xlen);
    pos += xlen;
  }
  if (h.flags & FNAME) {
    auto s = read_cstring(data, n, pos);
    if (!s) return std::nullopt;
    h.name = std::move(*s);
  }
  if (h.flags & FCOMMENT) {
    auto s = read_cstring(data, n, pos);
    if (!s) return std::nullopt;
    h.comment = std::move(*s);
  }
  if (h.flags & FHCRC) {
    if (n < pos + 2) return std::nullopt;
    std::uint16_t want = le16(data + pos);
    if ((crc32(0, data, pos) & 0xffff) != want) throw_corrupt("header CRC mismatch");
    pos += 2;
  }
  h.length = pos;
  if (h.index != Index::none && h.member_size < h.length + 2 + 8)
    throw_corrupt("member size in header (" + std::to_string(h.member_size) + ") smaller than the header");
  return h;
}

std::size_t header_size(const std::optional<std::string>& name) {
  return 10 + 2 + 4 + kSubfieldLen + (name ? name->size() + 1 : 0);
}

void write_header(Bytes& out, std::uint32_t mtime, std::uint8_t xfl,
                  const std::optional<std::string>& name, std::uint64_t member_size, std::uint32_t isize,
                  std::uint8_t ft_flags) {
  out.push_back(0x1f);
  out.push_back(0x8b);
  out.push_back(8);
  out.push_back(static_cast<std::uint8_t>(FEXTRA | (name ? FNAME : 0)));
  put32(out, mtime);
  out.push_back(xfl);
  out.push_back(3);  // Unix
  put16(out, 4 + kSubfieldLen);
  out.push_back(kSubfieldId1);
  out.push_back(kSubfieldId2);
  put16(out, kSubfieldLen);
  out.push_back(kSubfieldVersion);
  out.push_back(ft_flags);
  put32(out, static_cast<std::uint32_t>(member_size));
  put32(out, isize);
  if (name) {
    out.insert(out.end(), name->begin(), name->end());
    out.push_back(0);
  }
}

}  // namespace fpgaio::gzip
