// Chunk planning for files and streams, IDX headers, chunk and part names,
// and the manifest.
#include "fpgaio/split.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <sstream>

#include "fpgaio/error.hpp"

#include "../util.hpp"

namespace fpgaio::split {

namespace {

using util::all_digits;

// floor(a * b / c) without overflow, for a result that fits 64 bits.
#ifdef __SIZEOF_INT128__
std::uint64_t muldiv(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  return static_cast<std::uint64_t>(static_cast<unsigned __int128>(a) * b / c);
}
#else
// 32-bit targets (armhf) have no 128-bit integer: the product in two
// 64-bit halves, then long division a bit at a time.
std::uint64_t muldiv(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  const std::uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
  const std::uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  const std::uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
  std::uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
  std::uint64_t lo = (mid << 32) | (ll & 0xffffffffu);
  std::uint64_t q = 0, r = 0;
  for (int i = 127; i >= 0; --i) {
    const bool top = r >> 63;
    r = r << 1 | ((i >= 64 ? hi >> (i - 64) : lo >> i) & 1);
    q <<= 1;
    if (top || r >= c) {
      r -= c;
      q |= 1;
    }
  }
  return q;
}
#endif

// Position of the first separator at or after `pos` (relative to `base`).
std::optional<std::uint64_t> find_sep(int fd, const std::string& path, std::uint64_t base, std::uint64_t size,
                                      std::uint64_t pos, char sep) {
  std::uint8_t buf[1 << 16];
  while (pos < size) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buf, size - pos));
    pread_exact(fd, buf, n, base + pos, path);
    if (const void* nl = std::memchr(buf, sep, n))
      return pos + static_cast<std::uint64_t>(static_cast<const std::uint8_t*>(nl) - buf);
    pos += n;
  }
  return std::nullopt;
}

void check_options(const CutOptions& opt) {
  int modes = opt.count.has_value() + opt.size.has_value() + opt.line_count.has_value();
  if (modes != 1) throw Error(ErrorKind::usage, "give exactly one of -n, -b, -C and -l");
  if (opt.count && *opt.count == 0) throw Error(ErrorKind::usage, "the number of chunks must be at least 1");
  if (opt.size && *opt.size == 0) throw Error(ErrorKind::usage, "the chunk size must be at least 1 byte");
  if (opt.line_count && *opt.line_count == 0) throw Error(ErrorKind::usage, "the number of lines must be at least 1");
  if ((opt.lines || opt.line_count) && opt.record_size)
    throw Error(ErrorKind::usage, "lines and --record-size exclude each other");
}

std::uint64_t record_chunk_size(const CutOptions& opt) {
  std::uint64_t s = *opt.size;
  if (opt.record_size) {
    s -= s % opt.record_size;
    if (s == 0)
      throw Error(ErrorKind::usage, "chunk size " + std::to_string(*opt.size) + " is smaller than one record (" +
                                        std::to_string(opt.record_size) + " bytes)");
  }
  return s;
}

// -n l/N as GNU split 9.1 cuts: chunk k (from 1) nominally ends at byte
// k*(size/N)-1 (the last at the end) and really ends with the record that
// holds that byte; a record over several nominal ends leaves empty chunks.
// With more chunks than bytes the step is 1 byte, not 0 (chunk k ends at
// byte k-1), as GNU's chunks show.
std::vector<std::uint64_t> record_count_starts(int fd, const std::string& path, std::uint64_t base,
                                               std::uint64_t size, std::uint64_t n, char sep) {
  using i64 = std::int64_t;
  const auto cs = static_cast<i64>(std::max<std::uint64_t>(size / n, 1));
  std::vector<std::uint64_t> starts{0};
  std::uint64_t written = 0, chunk_no = 1;
  i64 chunk_end = cs - 1;
  while (written < size) {
    i64 from = std::max(static_cast<i64>(written), chunk_end);
    auto hit = from < static_cast<i64>(size) ? find_sep(fd, path, base, size, static_cast<std::uint64_t>(from), sep)
                                             : std::nullopt;
    bool next = hit.has_value();
    written = hit ? *hit + 1 : size;
    while (next || chunk_end <= static_cast<i64>(written) - 1) {
      if (!next && written == size) break;
      if (++chunk_no > n) break;
      starts.push_back(written);
      chunk_end = chunk_no == n ? static_cast<i64>(size) - 1 : chunk_end + cs;
      if (chunk_end > static_cast<i64>(written) - 1) next = false;
    }
  }
  while (starts.size() < n) starts.push_back(size);
  starts.resize(n);
  return starts;
}

}  // namespace

std::vector<Chunk> plan(int fd, const std::string& path, std::uint64_t base, std::uint64_t size,
                        const CutOptions& opt) {
  check_options(opt);
  const std::uint64_t r = opt.record_size;
  if (r && size % r)
    throw Error(ErrorKind::corrupt, "size " + std::to_string(size) + " is not a whole number of " +
                                        std::to_string(r) + "-byte records (" + std::to_string(size % r) +
                                        " bytes left over)")
        .with_path(path);
  std::vector<std::uint64_t> starts;
  if (opt.count && opt.lines) {
    starts = record_count_starts(fd, path, base, size, *opt.count, opt.separator);
  } else if (opt.count) {
    const std::uint64_t n = *opt.count;
    const std::uint64_t blocks = opt.align > 1 ? (size + opt.align - 1) / opt.align : 0;
    const std::uint64_t cs = size / n;
    for (std::uint64_t k = 0; k < n; ++k) {
      std::uint64_t s;
      if (r) s = muldiv(k, size / r, n) * r;
      else if (opt.align > 1 && blocks >= n) s = std::min(size, muldiv(k, blocks, n) * opt.align);
      else s = cs ? k * cs : std::min(k, size);  // GNU split: size/N each, the last takes the rest
      starts.push_back(s);
    }
  } else if (opt.size && !opt.lines) {
    const std::uint64_t step = record_chunk_size(opt);
    for (std::uint64_t s = 0; s < size; s = size - s > step ? s + step : size) starts.push_back(s);
  } else {
    // -C and -l: the stream rules over the file's bytes.
    StreamCutter cutter(opt);
    std::uint8_t buf[1 << 16];
    std::uint64_t pos = 0;
    if (size) starts.push_back(0);
    while (pos < size) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buf, size - pos));
      pread_exact(fd, buf, n, base + pos, path);
      for (std::size_t at = 0; at < n;) {
        bool ends = false;
        std::uint64_t carry = 0;
        at += cutter.take(buf + at, n - at, ends, carry);
        if (ends && pos + at - carry < size) starts.push_back(pos + at - carry);
      }
      pos += n;
    }
  }
  std::vector<Chunk> out;
  for (std::size_t k = 0; k < starts.size(); ++k) {
    std::uint64_t end = k + 1 < starts.size() ? starts[k + 1] : size;
    out.push_back(Chunk{k, starts[k], end - starts[k]});
  }
  return out;
}

StreamCutter::StreamCutter(const CutOptions& opt)
    : lines_(opt.lines), by_count_(opt.line_count.has_value()), sep_(opt.separator) {
  check_options(opt);
  if (opt.count) throw Error(ErrorKind::usage, "-n needs a file of known size; for a stream use -b, -C or -l");
  target_ = by_count_ ? *opt.line_count : record_chunk_size(opt);
}

std::size_t StreamCutter::take(const std::uint8_t* data, std::size_t n, bool& ends, std::uint64_t& carry) {
  ends = false;
  carry = 0;
  if (by_count_) {  // -l: count separators
    for (std::size_t i = 0; i < n;) {
      const void* hit = std::memchr(data + i, sep_, n - i);
      if (!hit) return n;
      i = static_cast<std::size_t>(static_cast<const std::uint8_t*>(hit) - data) + 1;
      if (++have_ == target_) {
        have_ = 0;
        ends = true;
        return i;
      }
    }
    return n;
  }
  std::size_t t = static_cast<std::size_t>(std::min<std::uint64_t>(n, target_ - have_));
  if (lines_ && t) {
    // The last separator seen in this chunk's window.
    for (std::size_t i = t; i-- > 0;)
      if (static_cast<char>(data[i]) == sep_) {
        last_sep_ = have_ + i + 1;
        break;
      }
  }
  have_ += t;
  if (have_ < target_) return t;
  ends = true;
  // -C: a full window ends after its last separator; what follows it starts
  // the next chunk (a window without one is cut where it is full).
  if (lines_ && last_sep_ && last_sep_ < have_) carry = have_ - last_sep_;
  have_ = carry;
  last_sep_ = 0;
  return t;
}

RoundRobinCutter::RoundRobinCutter(std::uint64_t count, char separator) : count_(count), sep_(separator) {
  if (count == 0) throw Error(ErrorKind::usage, "the number of chunks must be at least 1");
}

std::size_t RoundRobinCutter::take(const std::uint8_t* data, std::size_t n) {
  const void* hit = std::memchr(data, sep_, n);
  if (!hit) return n;
  if (++chunk_ == count_) chunk_ = 0;
  return static_cast<std::size_t>(static_cast<const std::uint8_t*>(hit) - data) + 1;
}

std::uint64_t IdxHeader::element_bytes() const {
  return type == 0x0B ? 2 : (type == 0x0C || type == 0x0D) ? 4 : type == 0x0E ? 8 : 1;
}

std::uint64_t IdxHeader::item_bytes() const {
  std::uint64_t e = element_bytes();
  for (std::size_t i = 1; i < dims.size(); ++i) e *= dims[i];
  return e;
}

Bytes IdxHeader::encode(std::uint32_t items) const {
  Bytes b = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::size_t i = 0; i < dims.size(); ++i) {
    std::uint32_t d = i == 0 ? items : dims[i];
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
  }
  return b;
}

IdxHeader parse_idx(const std::uint8_t* d, std::size_t n, const std::string& path,
                    std::optional<std::uint64_t> file_size) {
  auto bad = [&](const std::string& why) { return Error(ErrorKind::corrupt, "not an IDX file: " + why).with_path(path); };
  // The datasets ship gzipped (t10k-images-idx3-ubyte.gz): say so.
  if (n >= 2 && d[0] == 0x1f && d[1] == 0x8b) throw bad("it is gzip-compressed (decompress it first: fpga-gzip -dk)");
  if (n < 4 || d[0] != 0 || d[1] != 0) throw bad("no IDX magic");
  static const std::uint8_t types[] = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E};
  if (std::find(std::begin(types), std::end(types), d[2]) == std::end(types)) throw bad("unknown element type");
  if (d[3] == 0 || d[3] > 8) throw bad("bad number of dimensions");
  IdxHeader h;
  h.type = d[2];
  if (n < 4 + 4u * d[3]) throw bad("header cut short");
  for (unsigned i = 0; i < d[3]; ++i) {
    const std::uint8_t* p = d + 4 + 4 * i;
    h.dims.push_back(std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3]);
  }
  // Items of no bytes would make every item count a division by zero (and
  // mean nothing); sizes are kept below 2^63 so that no product overflows.
  // The first dimension, the item count, may be 0: an empty set.
  std::uint64_t item = h.element_bytes(), all = 0;
  for (std::size_t i = 1; i < h.dims.size(); ++i) {
    if (h.dims[i] == 0)
      throw Error(ErrorKind::corrupt, "IDX dimension " + std::to_string(i + 1) + " of " +
                                          std::to_string(h.dims.size()) + " is 0 (items of no bytes)")
          .with_path(path);
    if (__builtin_mul_overflow(item, std::uint64_t{h.dims[i]}, &item) || item >> 63)
      throw bad("items larger than 2^63 bytes");
  }
  if (__builtin_mul_overflow(item, std::uint64_t{h.dims[0]}, &all) ||
      __builtin_add_overflow(all, std::uint64_t{h.header_bytes()}, &all) || all >> 63)
    throw bad("data larger than 2^63 bytes");
  if (file_size) check_idx_size(h, *file_size, path);
  return h;
}

void check_idx_size(const IdxHeader& h, std::uint64_t size, const std::string& path) {
  std::uint64_t want = h.data_bytes() + h.header_bytes();
  if (want != size)
    throw Error(ErrorKind::corrupt, "IDX header describes " + std::to_string(want) + " bytes but the file has " +
                                        std::to_string(size))
        .with_path(path);
}

unsigned index_width(std::uint64_t count, bool hex) {
  const std::uint64_t base = hex ? 16 : 10;
  unsigned w = 1;
  for (std::uint64_t v = count > 1 ? count - 1 : 0; v >= base; v /= base) ++w;
  return std::max(3u, w);
}

bool index_fits(std::uint64_t last, unsigned width, bool hex) {
  const std::uint64_t base = hex ? 16 : 10;
  unsigned w = 1;
  for (std::uint64_t v = last; v >= base; v /= base) ++w;
  return w <= width;
}

std::string chunk_name(const std::string& prefix, std::uint64_t index, unsigned width, bool hex) {
  char hexbuf[24];
  std::snprintf(hexbuf, sizeof hexbuf, "%" PRIx64, index);
  std::string digits = hex ? std::string(hexbuf) : std::to_string(index);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return prefix + "." + digits;
}

std::optional<PartName> parse_part_name(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::vector<std::string> parts;
  std::stringstream ss(base);
  for (std::string c; std::getline(ss, c, '.');) parts.push_back(c);
  if (!base.empty() && base.back() == '.') parts.emplace_back();
  for (std::size_t j = parts.size(); j-- > 1;) {
    if (!all_digits(parts[j]) || parts[j].size() > 18) continue;
    PartName p;
    p.index_text = parts[j];
    p.index = std::stoull(parts[j]);
    p.stem = dir;
    for (std::size_t i = 0; i < j; ++i) p.stem += (i ? "." : "") + parts[i];
    for (std::size_t i = j + 1; i < parts.size(); ++i) p.suffix += "." + parts[i];
    return p;
  }
  return std::nullopt;
}

std::string format_manifest(const Manifest& m) {
  std::string s = "fpga-split-manifest\t1\ninput\t" + std::to_string(m.input_size) + "\t" + m.input + "\n";
  char crc[16];
  for (const auto& c : m.chunks) {
    std::snprintf(crc, sizeof crc, "%08" PRIx32, c.crc);
    s += "chunk\t" + std::to_string(c.index) + "\t" + std::to_string(c.offset) + "\t" + std::to_string(c.length) +
         "\t" + std::to_string(c.bytes) + "\t" + crc + "\t" + c.name + "\n";
  }
  return s;
}

Manifest parse_manifest(const std::string& text, const std::string& path) {
  Manifest m;
  std::size_t line_no = 0, pos = 0;
  auto bad = [&](const std::string& why) {
    return Error(ErrorKind::corrupt, "manifest line " + std::to_string(line_no) + ": " + why).with_path(path);
  };
  auto number = [&](const std::string& f) {
    if (!all_digits(f) || f.size() > 19) throw bad("'" + f + "' is not a number");
    return static_cast<std::uint64_t>(std::stoull(f));
  };
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      ++line_no;
      throw bad("no newline at the end (truncated?)");
    }
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    std::vector<std::string> f;
    std::size_t b = 0;
    for (;;) {
      auto tab = line.find('\t', b);
      // The name is the last field and may itself contain tabs.
      if (tab == std::string::npos || (f.size() == 6 && f[0] == "chunk")) {
        f.push_back(line.substr(b));
        break;
      }
      f.push_back(line.substr(b, tab - b));
      b = tab + 1;
    }
    if (line_no == 1) {
      if (f.size() != 2 || f[0] != "fpga-split-manifest") throw bad("not an fpga-split manifest");
      if (f[1] != "1") throw bad("manifest version " + f[1] + " is not supported (this is version 1)");
    } else if (line_no == 2) {
      if (f.size() < 3 || f[0] != "input") throw bad("expected the input line");
      m.input_size = number(f[1]);
      m.input = line.substr(f[0].size() + f[1].size() + 2);
    } else {
      if (f.size() != 7 || f[0] != "chunk") throw bad("expected a chunk line");
      ManifestChunk c;
      c.index = number(f[1]);
      c.offset = number(f[2]);
      c.length = number(f[3]);
      c.bytes = number(f[4]);
      if (f[5].size() != 8 || f[5].find_first_not_of("0123456789abcdef") != std::string::npos)
        throw bad("'" + f[5] + "' is not a CRC-32");
      c.crc = static_cast<std::uint32_t>(std::stoul(f[5], nullptr, 16));
      c.name = f[6];
      if (c.index != m.chunks.size())
        throw bad("chunk " + std::to_string(c.index) + " where chunk " + std::to_string(m.chunks.size()) +
                  " belongs");
      if (c.offset > m.input_size || c.length > m.input_size - c.offset) throw bad("chunk beyond the input's end");
      // A chunk as read is its data, after a header of its own (IDX).
      if (c.bytes < c.length)
        throw bad("chunk of " + std::to_string(c.length) + " bytes of data cannot have " + std::to_string(c.bytes));
      m.chunks.push_back(std::move(c));
    }
  }
  if (line_no < 2) {
    line_no = std::max<std::size_t>(line_no, 1);
    throw bad("manifest is incomplete");
  }
  return m;
}

Manifest read_manifest(const std::string& path) {
  Input in(path);
  std::string text;
  char buf[1 << 16];
  for (std::size_t n; (n = in.read(buf, sizeof buf)) > 0;) text.append(buf, n);
  return parse_manifest(text, path);
}

}  // namespace fpgaio::split
