// Checking gzip parts and joining them into one stream (fpga-cat).
#include <algorithm>
#include <cerrno>

#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "le.hpp"

namespace fpgaio::gzip {

namespace {

using detail::le32;

Error corrupt_at(const std::string& why, std::uint64_t member, std::uint64_t offset, const std::string& shown) {
  Error e(ErrorKind::corrupt, why);
  e.in_member(member).at(offset).with_path(shown);
  return e;
}

// Walks indexed members from headers and trailers alone. Returns false at the
// first member that has no index (the caller inflates the part instead).
bool walk_indexed(int fd, std::uint64_t base, std::uint64_t size, const std::string& shown,
                  PartInfo& info) {
  Bytes buf;
  std::uint64_t pos = 0;
  bool any_ft = false;
  while (pos < size) {
    std::uint64_t member = info.members.size() + 1;
    // The header in pieces (HeaderParser): bounded memory and linear time
    // whatever the length of its name or comment.
    HeaderParser hp;
    std::uint64_t at = pos;
    bool magic = false;
    while (!hp.done()) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(std::uint64_t{1} << 16, size - at));
      if (n == 0) throw corrupt_at("part ends inside a gzip header (truncated?)", member, pos, shown);
      buf.resize(n);
      pread_exact(fd, buf.data(), n, base + at, shown);
      if (at == pos) magic = has_gzip_magic(buf.data(), n);
      try {
        at += hp.feed(buf.data(), n);
      } catch (Error& e) {
        if (member == 1 || magic) throw corrupt_at(e.what(), member, pos, shown);
        throw corrupt_at("bytes after the last member are not gzip data", member, pos, shown);
      }
    }
    const Header* h = &hp.header();
    if (member == 1) {
      info.part = h->part;
      info.first_name = h->name;
    }
    if (h->index == Index::none) return false;
    if (h->member_size < h->length + 8) throw corrupt_at("member size in its header is too small", member, pos, shown);
    if (h->member_size > size - pos)
      throw corrupt_at("member needs " + std::to_string(h->member_size) + " bytes but the part has " +
                           std::to_string(size - pos) + " left (truncated?)",
                       member, pos, shown);
    std::uint8_t trailer[8];
    pread_exact(fd, trailer, 8, base + pos + h->member_size - 8, shown);
    std::uint32_t crc = le32(trailer), isize = le32(trailer + 4);
    if (h->index == Index::ft && h->isize != isize)
      throw corrupt_at("uncompressed size in header and trailer differ", member, pos, shown);
    if (h->index == Index::ft) {
      any_ft = true;
      info.has_end_marker = h->end_of_stream;
      // The join drops end markers: one that holds data would lose it. (A
      // member of version 2 is data that ends its stream: kept.)
      if (h->end_of_stream && h->ft_version == kSubfieldVersion && !empty_end_marker(*h, crc, isize))
        throw corrupt_at("end-of-stream member is not empty", member, pos, shown);
    }
    info.crc = crc32_combine(info.crc, crc, isize);
    info.data_bytes += isize;
    info.members.push_back(MemberSpan{pos, h->member_size, *h});
    pos += h->member_size;
  }
  if (info.members.empty()) throw corrupt_at("empty part (not gzip data)", 1, 0, shown);
  if (any_ft && !info.has_end_marker)
    throw corrupt_at("the end-of-stream member is missing (truncated?)", info.members.size() + 1, pos, shown);
  info.indexed = true;
  return true;
}

// The CRC-32 and length of the data a stream holds, built up member by member.
struct Content {
  std::uint32_t crc = 0;
  std::uint64_t bytes = 0;
  void add(std::uint32_t c, std::uint64_t n) {
    crc = crc32_combine(crc, c, n);
    bytes += n;
  }
  bool operator!=(const Content& o) const { return crc != o.crc || bytes != o.bytes; }
};

// A foreign member's header (gzip, pigz) with FNAME replaced: the raw header
// bytes are kept but for the name, and FHCRC is computed again.
Bytes renamed_header(const Bytes& raw, const Header& h, const std::string& name) {
  std::size_t pos = 10;
  if (h.flags & FEXTRA) pos += 2 + detail::le16(raw.data() + 10);
  std::size_t name_end = pos;
  while (name_end < raw.size() && raw[name_end] != 0) ++name_end;
  Bytes out(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(pos));
  out.insert(out.end(), name.begin(), name.end());
  out.push_back(0);
  std::size_t rest_end = raw.size() - ((h.flags & FHCRC) ? 2 : 0);
  out.insert(out.end(), raw.begin() + static_cast<std::ptrdiff_t>(name_end + 1),
             raw.begin() + static_cast<std::ptrdiff_t>(rest_end));
  if (h.flags & FHCRC) {
    std::uint32_t c = crc32(0, out.data(), out.size());
    out.push_back(static_cast<std::uint8_t>(c));
    out.push_back(static_cast<std::uint8_t>(c >> 8));
  }
  return out;
}

// An end marker (FT version 1, flagged): dropped by the join.
bool end_marker(const Header& h) {
  return h.index == Index::ft && h.end_of_stream && h.ft_version == kSubfieldVersion;
}

// A member that holds data and ends its stream (FT version 2, flagged).
bool ends_with_data(const Header& h) {
  return h.index == Index::ft && h.end_of_stream && h.ft_version == kSubfieldVersionEnds;
}

bool rewritable(const Header& h) { return h.index == Index::ft && !end_marker(h) && (h.flags & ~(FEXTRA | FNAME)) == 0; }

// Writes the member at `offset` of fd with its end-of-stream flag cleared
// (FT version 1 again), everything else as it is: the header's FT field is
// patched and FHCRC, if any, computed again.
void write_unflagged(int fd, std::uint64_t offset, const MemberSpan& m, Sink& sink, const std::string& shown) {
  const Header& h = m.header;
  std::uint8_t fixed[12];
  pread_exact(fd, fixed, sizeof fixed, offset, shown);
  std::size_t xlen = detail::le16(fixed + 10);
  Bytes extra(xlen);
  pread_exact(fd, extra.data(), xlen, offset + 12, shown);
  for (std::size_t i = 0; i + 4 <= xlen;) {
    std::size_t len = detail::le16(extra.data() + i + 2);
    if (i + 4 + len > xlen) break;
    if (extra[i] == kSubfieldId1 && extra[i + 1] == kSubfieldId2 && len == kSubfieldLen) {
      extra[i + 4] = kSubfieldVersion;
      extra[i + 5] = static_cast<std::uint8_t>(extra[i + 5] & ~kFlagEndOfStream);
      break;
    }
    i += 4 + len;
  }
  sink.write(fixed, sizeof fixed);
  sink.write(extra.data(), extra.size());
  std::uint64_t at = offset + 12 + xlen;
  if (!(h.flags & FHCRC)) {
    copy_bytes(fd, at, m.size - 12 - xlen, sink, shown);
    return;
  }
  std::uint32_t crc = crc32(crc32(0, fixed, sizeof fixed), extra.data(), extra.size());
  std::uint64_t strings = h.length - 12 - xlen - 2;  // name and comment
  Bytes buf(static_cast<std::size_t>(std::min<std::uint64_t>(strings, 1 << 20)));
  for (std::uint64_t left = strings; left > 0;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    pread_exact(fd, buf.data(), n, at, shown);
    crc = crc32(crc, buf.data(), n);
    sink.write(buf.data(), n);
    at += n;
    left -= n;
  }
  std::uint8_t hcrc[2] = {static_cast<std::uint8_t>(crc), static_cast<std::uint8_t>(crc >> 8)};
  sink.write(hcrc, 2);
  copy_bytes(fd, offset + h.length, m.size - h.length, sink, shown);
}

// The CRC-32 of a member's bytes after its header (what FC holds), read
// through `buf`.
std::uint32_t crc_after_header(int fd, std::uint64_t offset, const MemberSpan& m, Bytes& buf,
                               const std::string& shown) {
  std::uint64_t at = offset + m.header.length;
  std::uint64_t left = m.size - m.header.length;  // the data and the trailer
  std::uint32_t crc = 0;
  while (left > 0) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    pread_exact(fd, buf.data(), n, at, shown);
    crc = crc32(crc, buf.data(), n);
    at += n;
    left -= n;
  }
  return crc;
}

// Check::checksums: every member's bytes after its header (data, trailer)
// read and checked against its FC CRC-32. False, having read nothing, when a member has no FC (the
// caller inflates the part instead).
bool check_data_crcs(int fd, std::uint64_t base, const PartInfo& info, const std::string& shown) {
  // End markers have none: the join drops them (walk_indexed checked that
  // they are empty).
  for (const MemberSpan& m : info.members)
    if (!m.header.data_crc && !end_marker(m.header)) return false;
  Bytes buf(std::size_t{1} << 20);
  for (std::size_t k = 0; k < info.members.size(); ++k) {
    const MemberSpan& m = info.members[k];
    if (!m.header.data_crc) continue;
    if (crc_after_header(fd, base + m.offset, m, buf, shown) != *m.header.data_crc)
      throw corrupt_at("compressed data or trailer does not match the CRC-32 in its header (damaged?)", k + 1, m.offset,
                       shown);
  }
  return true;
}

}  // namespace

PartInfo scan_part(const std::string& path, std::uint64_t base, std::uint64_t size, const std::string& shown,
                   Check check, unsigned threads) {
  ReadFile f(path, shown);
  return scan_part(f.fd(), base, size, shown, check, threads);
}

PartInfo scan_part(int fd, std::uint64_t base, std::uint64_t size, const std::string& shown, Check check,
                   unsigned threads) {
  PartInfo info;
  info.size = size;
  bool walked = walk_indexed(fd, base, size, shown, info);
  if (walked && check == Check::framing) return info;
  if (walked && check == Check::checksums && check_data_crcs(fd, base, info, shown)) return info;
  // Inflate: members without an index, parts with members without FC, or
  // Check::inflate.
  Input in(fd, base, size, shown);
  DecompressOptions opt;
  opt.threads = threads;
  Decoder dec(in, opt);
  CrcSink sink;
  DecompressResult r;
  try {
    r = dec.run(sink);
  } catch (Error& e) {
    e.path = shown;
    throw;
  }
  if (r.trailing_garbage)
    throw corrupt_at("bytes after the last member are not gzip data", r.stats.members + 1, r.stats.in_bytes, shown);
  if (walked && (sink.crc != info.crc || sink.bytes != info.data_bytes))
    throw corrupt_at("data does not match the CRC-32 and sizes in the trailers", 1, 0, shown);
  info.crc = sink.crc;
  info.data_bytes = sink.bytes;
  // Zero padding after the last member (which gzip ignores in a file) would
  // end the joined stream there: the join copies the members only.
  if (!walked) info.size = r.members_end;
  return info;
}

Stats join(const std::vector<JoinPart>& parts, Sink& out, const Progress& progress) {
  Stats st;
  struct Counting : Sink {
    Sink& inner;
    Stats& st;
    const Progress& progress;
    Counting(Sink& i, Stats& s, const Progress& p) : inner(i), st(s), progress(p) {}
    void write(const std::uint8_t* d, std::size_t n) override {
      inner.write(d, n);
      st.out_bytes += n;
      if (progress) progress(st.out_bytes, st.out_bytes);
    }
    std::uint64_t splice_from(int fd, std::uint64_t offset, std::uint64_t length) override {
      std::uint64_t n = inner.splice_from(fd, offset, length);
      st.out_bytes += n;
      if (n && progress) progress(st.out_bytes, st.out_bytes);
      return n;
    }
  } sink(out, st, progress);

  // What is written is checked against what the parts hold: the CRC-32 and
  // ISIZE of every member as it is copied (read from the source then, not
  // from the scan), combined, must equal the parts' content.
  // A join that is one member in all, one that ends its stream, keeps its
  // flag (as compress writes a one-member stream); otherwise inner members
  // lose theirs and one end marker ends the stream.
  std::size_t data_members = 0;
  bool all_indexed = true, single_ends = false;
  for (const JoinPart& p : parts) {
    all_indexed = all_indexed && p.info.indexed;
    for (const MemberSpan& m : p.info.members)
      if (!end_marker(m.header)) {
        ++data_members;
        single_ends = ends_with_data(m.header);
      }
  }
  const bool keep_single = all_indexed && data_members == 1 && single_ends;
  Content expected, written;
  bool wrote_data = false, any_marker = false;
  std::uint8_t marker_xfl = 0;
  std::optional<Bytes> first_marker;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const JoinPart& p = parts[i];
    const std::string& shown = p.shown.empty() ? p.path : p.shown;
    std::optional<ReadFile> opened;
    if (p.fd < 0) opened.emplace(p.path, shown);
    const int fd = p.fd >= 0 ? p.fd : opened->fd();
    st.in_bytes += p.info.size;
    expected.add(p.info.crc, p.info.data_bytes);
    if (!p.info.indexed) {
      // Copied whole and verbatim (its content is what scan_part inflated),
      // but for the chunk's name in the first member of the first part.
      std::uint64_t skip = 0;
      if (i == 0 && p.rename && p.info.first_name && *p.info.first_name == p.rename->first) {
        Bytes raw(std::min<std::uint64_t>(p.info.size, 64));
        std::optional<Header> h;
        while (raw.size() <= p.info.size) {
          pread_exact(fd, raw.data(), raw.size(), p.base, shown);
          if ((h = parse_header(raw.data(), raw.size())) || raw.size() == p.info.size) break;
          raw.resize(std::min<std::uint64_t>(p.info.size, raw.size() * 4));
        }
        if (h && !h->strings_cut) {
          raw.resize(h->length);
          Bytes hdr = renamed_header(raw, *h, p.rename->second);
          sink.write(hdr.data(), hdr.size());
          skip = h->length;
        }
      }
      copy_bytes(fd, p.base + skip, p.info.size - skip, sink, shown);
      written.add(p.info.crc, p.info.data_bytes);
      wrote_data = true;
      continue;
    }
    bool first_of_part = true;
    for (const MemberSpan& m : p.info.members) {
      const Header& h = m.header;
      std::optional<std::string> name = h.name;
      std::uint32_t mtime = h.mtime;
      if (i == 0 && p.rename && name && *name == p.rename->first) name = p.rename->second;
      if (i > 0) {
        name.reset();
        mtime = 0;
      }
      std::uint8_t trailer[8];
      pread_exact(fd, trailer, 8, p.base + m.offset + m.size - 8, shown);
      if (end_marker(h)) {
        // Not written; one that held data makes `written` differ below.
        any_marker = true;
        marker_xfl = h.xfl;
        if (!first_marker) first_marker = end_marker_member(name, mtime, h.xfl);
        continue;
      }
      ++st.members;
      const bool ends = ends_with_data(h);
      if (ends) {
        any_marker = true;
        marker_xfl = h.xfl;  // (one process writes its end marker with the members' XFL)
      }
      const bool clear_end = ends && !keep_single;
      if (first_of_part && rewritable(h) && (name != h.name || mtime != h.mtime || h.part || clear_end)) {
        // A stream of one member (no FC) that becomes an inner member gets
        // the FC that one process writes on every member of a longer stream.
        std::optional<std::uint32_t> fc = h.data_crc;
        if (clear_end && !fc) {
          Bytes buf(static_cast<std::size_t>(std::min<std::uint64_t>(m.size, std::uint64_t{1} << 20)));
          fc = crc_after_header(fd, p.base + m.offset, m, buf, shown);
        }
        Bytes hdr;
        std::uint64_t total = m.size - h.length + header_size(name, std::nullopt, std::nullopt, fc.has_value());
        write_header(hdr, mtime, h.xfl, name, total, h.isize, ends && !clear_end ? kFlagEndOfStream : 0,
                     std::nullopt, std::nullopt, fc);
        sink.write(hdr.data(), hdr.size());
        copy_bytes(fd, p.base + m.offset + h.length, m.size - h.length, sink, shown);
      } else if (clear_end) {
        write_unflagged(fd, p.base + m.offset, m, sink, shown);
      } else {
        copy_bytes(fd, p.base + m.offset, m.size, sink, shown);
      }
      written.add(le32(trailer), le32(trailer + 4));
      first_of_part = false;
      wrote_data = true;
    }
  }
  if (written != expected)
    throw Error(ErrorKind::corrupt, "the joined stream would hold " + std::to_string(written.bytes) +
                                        " bytes, the parts " + std::to_string(expected.bytes) +
                                        " (or their CRC-32s differ): nothing may be dropped");
  if (any_marker && !keep_single) {
    Bytes end = wrote_data ? end_marker_member(std::nullopt, 0, marker_xfl) : *first_marker;
    sink.write(end.data(), end.size());
    ++st.members;
  }
  out.flush();
  return st;
}

}  // namespace fpgaio::gzip
