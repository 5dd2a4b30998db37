// RFC 1952 member headers and the FT subfield of the indexed block format.
#include <algorithm>
#include <cstring>
#include <utility>

#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "le.hpp"

namespace fpgaio::gzip {

namespace {
using detail::le16;
using detail::le32;
std::uint64_t le64(const std::uint8_t* p) { return le32(p) | std::uint64_t{le32(p + 4)} << 32; }
void put64(Bytes& v, std::uint64_t x) {
  for (int i = 0; i < 8; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}
void put32(Bytes& v, std::uint32_t x) {
  for (int i = 0; i < 4; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}
void put16(Bytes& v, std::uint16_t x) {
  v.push_back(static_cast<std::uint8_t>(x));
  v.push_back(static_cast<std::uint8_t>(x >> 8));
}

void parse_extra(Header& h, const std::uint8_t* p, std::size_t xlen) {
  // Foreign subfields are skipped; a malformed list just means "no index".
  std::size_t i = 0;
  while (i + 4 <= xlen) {
    std::uint8_t si1 = p[i], si2 = p[i + 1];
    std::size_t len = le16(p + i + 2);
    if (i + 4 + len > xlen) return;
    const std::uint8_t* d = p + i + 4;
    if (si1 == kSubfieldId1 && si2 == kSubfieldId2 && len == kSubfieldLen &&
        (d[0] == kSubfieldVersion || d[0] == kSubfieldVersionEnds)) {
      h.index = Index::ft;
      h.ft_version = d[0];
      h.end_of_stream = (d[1] & kFlagEndOfStream) != 0;
      h.member_size = le32(d + 2);
      h.isize = le32(d + 6);
    } else if (si1 == kPartId1 && si2 == kPartId2 && len == kPartLen && d[0] == kPartVersion) {
      PartOf part{le64(d + 1), le64(d + 9), le64(d + 17)};
      if (!part.count || part.index < part.count) h.part = part;  // count 0: a stream chunk that is not the last
    } else if (si1 == kCheckId1 && si2 == kCheckId2 && len == kCheckLen && d[0] == kCheckVersion) {
      h.data_crc = le32(d + 1);
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

// Gathers a fixed-size field into part_; true once it has `want` bytes.
bool HeaderParser::gather(const std::uint8_t*& p, std::size_t& n, std::size_t want) {
  std::size_t k = std::min(n, want - part_.size());
  part_.insert(part_.end(), p, p + k);
  p += k;
  n -= k;
  return part_.size() == want;
}

// Reads a NUL-terminated string; true once its NUL has been read.
bool HeaderParser::string(const std::uint8_t*& p, std::size_t& n, std::optional<std::string>& s) {
  if (!s) s.emplace();
  auto* nul = static_cast<const std::uint8_t*>(std::memchr(p, 0, n));
  std::size_t len = nul ? static_cast<std::size_t>(nul - p) : n;
  std::size_t keep = std::min(len, kMaxHeaderString - s->size());
  s->append(reinterpret_cast<const char*>(p), keep);
  if (keep < len) h_.strings_cut = true;
  std::size_t used = nul ? len + 1 : len;
  p += used;
  n -= used;
  return nul != nullptr;
}

// The field just gathered is complete: check it and move to the next one.
void HeaderParser::complete_field() {
  const std::uint8_t* d = part_.data();
  switch (stage_) {
    case Stage::fixed:
      if (d[2] != 8) throw_corrupt("unknown method " + std::to_string(d[2]) + " -- not supported", Damage::method);
      h_.flags = d[3];
      if (h_.flags & 0xe0) throw_corrupt("reserved header flags set", Damage::format);
      h_.mtime = le32(d + 4);
      h_.xfl = d[8];
      h_.os = d[9];
      break;
    case Stage::xlen:
      xlen_ = le16(d);
      part_.clear();
      stage_ = Stage::extra;
      if (xlen_ == 0) complete_field();
      return;
    case Stage::extra:
      parse_extra(h_, d, xlen_);
      // (Version 2 is a data member that ends its stream.)
      if (h_.index == Index::ft && h_.ft_version == kSubfieldVersion && h_.end_of_stream && h_.isize != 0)
        throw_corrupt("end-of-stream member declares " + std::to_string(h_.isize) +
                      " bytes of data (an end marker is empty)", Damage::format);
      break;
    case Stage::hcrc:
      if ((crc_ & 0xffff) != le16(d)) throw_corrupt("header CRC mismatch", Damage::format);
      break;
    default:
      break;
  }
  part_.clear();
  // The next field the flags say is there.
  static constexpr std::pair<Stage, std::uint8_t> fields[] = {
      {Stage::xlen, FEXTRA}, {Stage::name, FNAME}, {Stage::comment, FCOMMENT}, {Stage::hcrc, FHCRC}};
  for (auto [stage, flag] : fields) {
    if (stage > stage_ && (h_.flags & flag)) {
      stage_ = stage;
      return;
    }
  }
  stage_ = Stage::done;
  if (h_.index != Index::none && h_.member_size < h_.length + 2 + 8)
    throw_corrupt("member size in header (" + std::to_string(h_.member_size) + ") smaller than the header", Damage::format);
}

std::size_t HeaderParser::feed(const std::uint8_t* data, std::size_t n) {
  const std::uint8_t* p = data;
  while (n > 0 && stage_ != Stage::done) {
    const std::uint8_t* start = p;
    bool complete = false;
    switch (stage_) {
      case Stage::fixed:
        complete = gather(p, n, 10);
        if (part_[0] != 0x1f || (part_.size() >= 2 && part_[1] != 0x8b)) throw_corrupt("not in gzip format", Damage::not_gzip);
        break;
      case Stage::xlen: complete = gather(p, n, 2); break;
      case Stage::extra: complete = gather(p, n, xlen_); break;
      case Stage::name: complete = string(p, n, h_.name); break;
      case Stage::comment: complete = string(p, n, h_.comment); break;
      case Stage::hcrc: complete = gather(p, n, 2); break;
      case Stage::done: break;
    }
    auto used = static_cast<std::size_t>(p - start);
    h_.length += used;
    if (stage_ != Stage::hcrc) crc_ = crc32(crc_, start, used);
    if (complete) complete_field();
  }
  return static_cast<std::size_t>(p - data);
}

std::optional<Header> parse_header(const std::uint8_t* data, std::size_t n) {
  HeaderParser p;
  p.feed(data, n);
  if (!p.done()) return std::nullopt;
  return std::move(p.header());
}

std::size_t header_size(const std::optional<std::string>& name, const std::optional<std::string>& comment,
                        const std::optional<PartOf>& part, bool check) {
  return 10 + 2 + 4 + kSubfieldLen + (part ? 4 + kPartLen : 0) + (check ? 4 + kCheckLen : 0) +
         (name ? name->size() + 1 : 0) +
         (comment ? comment->size() + 1 : 0);
}

void write_header(Bytes& out, std::uint32_t mtime, std::uint8_t xfl,
                  const std::optional<std::string>& name, std::uint64_t member_size, std::uint32_t isize,
                  std::uint8_t ft_flags, const std::optional<std::string>& comment,
                  const std::optional<PartOf>& part, std::optional<std::uint32_t> data_crc) {
  out.push_back(0x1f);
  out.push_back(0x8b);
  out.push_back(8);
  out.push_back(static_cast<std::uint8_t>(FEXTRA | (name ? FNAME : 0) | (comment ? FCOMMENT : 0)));
  put32(out, mtime);
  out.push_back(xfl);
  out.push_back(3);  // Unix
  put16(out, static_cast<std::uint16_t>(4 + kSubfieldLen + (part ? 4 + kPartLen : 0) +
                                        (data_crc ? 4 + kCheckLen : 0)));
  out.push_back(kSubfieldId1);
  out.push_back(kSubfieldId2);
  put16(out, kSubfieldLen);
  out.push_back((ft_flags & kFlagEndOfStream) && isize ? kSubfieldVersionEnds : kSubfieldVersion);
  out.push_back(ft_flags);
  put32(out, static_cast<std::uint32_t>(member_size));
  put32(out, isize);
  if (part) {
    out.push_back(kPartId1);
    out.push_back(kPartId2);
    put16(out, kPartLen);
    out.push_back(kPartVersion);
    put64(out, part->index);
    put64(out, part->count);
    put64(out, part->offset);
  }
  if (data_crc) {
    out.push_back(kCheckId1);
    out.push_back(kCheckId2);
    put16(out, kCheckLen);
    out.push_back(kCheckVersion);
    put32(out, *data_crc);
  }
  if (name) {
    out.insert(out.end(), name->begin(), name->end());
    out.push_back(0);
  }
  if (comment) {
    out.insert(out.end(), comment->begin(), comment->end());
    out.push_back(0);
  }
}

}  // namespace fpgaio::gzip
