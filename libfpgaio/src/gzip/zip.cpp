// zip (first entry) and zlib streams: reading them as gzip and pigz do, and
// the framing pigz writes with -K and -z. Also which format data starts with.
#include <zlib.h>

#include <algorithm>
#include <ctime>

#include "fpgaio/error.hpp"
#include "fpgaio/formats.hpp"
#include "fpgaio/gzip.hpp"
#include "le.hpp"

namespace fpgaio::gzip {

using detail::le16;
using detail::le32;
using detail::store_le32;

namespace {
constexpr std::size_t kZipOut = 1 << 20;
constexpr std::uint32_t kLocalSig = 0x04034b50, kDescriptorSig = 0x08074b50;
constexpr std::uint32_t kCentralSig = 0x02014b50, kEndSig = 0x06054b50;

void store_le16(Bytes& b, unsigned x) {
  b.push_back(static_cast<std::uint8_t>(x));
  b.push_back(static_cast<std::uint8_t>(x >> 8));
}
void put_le32(Bytes& b, std::uint32_t x) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}

bool zlib_header_ok(std::uint8_t cmf, std::uint8_t flg) {
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256u + flg) % 31 == 0;
}

// Streams one deflate stream from `in` to `out` with `inf`, keeping the
// output's CRC-32 and length. Returns when the stream (and, in zlib mode,
// its trailer) has ended; the bytes after it stay in `in`.
void inflate_stream(ByteReader& in, Sink& out, StreamInflater& inf, ForeignResult& res, const char* what) {
  Bytes ob(kZipOut);
  for (;;) {
    if (in.avail() == 0 && in.fill(1 << 16) == 0)
      throw_corrupt(std::string("unexpected end of file in ") + what, Damage::truncated);
    std::size_t used = 0;
    const std::uint8_t* p = in.data();
    std::size_t n = in.avail();
    bool finished = false;
    for (;;) {
      auto s = inf.step(p + used, n - used, ob.data(), ob.size());
      if (s.consumed < 0 && static_cast<std::size_t>(-s.consumed) > used)
        throw_corrupt("inflater handed back bytes it was not given");
      used = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(used) + s.consumed);
      if (s.produced) res.emit(out, ob.data(), s.produced);
      finished = s.finished;
      if (finished || (s.consumed == 0 && s.produced == 0)) break;
    }
    in.consume(used);
    if (finished) return;
    if (in.avail() > 0) {  // needs more than is buffered
      std::size_t have = in.avail();
      if (in.fill(have + 1) == have) throw_corrupt(std::string("unexpected end of file in ") + what, Damage::truncated);
    }
  }
}

// Zip64 extra field (ID 1): the 64-bit sizes that replace 0xffffffff fields.
std::optional<std::pair<std::uint64_t, std::uint64_t>> zip64_sizes(const std::uint8_t* extra, std::size_t n) {
  std::size_t i = 0;
  while (i + 4 <= n) {
    unsigned id = le16(extra + i), len = le16(extra + i + 2);
    if (i + 4 + len > n) break;
    if (id == 1 && len >= 16) {
      const std::uint8_t* p = extra + i + 4;
      std::uint64_t usize = le32(p) | static_cast<std::uint64_t>(le32(p + 4)) << 32;
      std::uint64_t csize = le32(p + 8) | static_cast<std::uint64_t>(le32(p + 12)) << 32;
      return std::make_pair(usize, csize);
    }
    i += 4 + len;
  }
  return std::nullopt;
}
}  // namespace

const char* format_name(Format f) {
  switch (f) {
    case Format::gzip: return "gzip";
    case Format::zlib: return "zlib";
    case Format::zip: return "zip";
    case Format::lzw: return "compress";
    case Format::pack: return "pack";
  }
  return "?";
}

std::optional<Format> detect_format(const std::uint8_t* d, std::size_t n, bool at_start, bool zlib) {
  if (n < 2) return std::nullopt;
  if (d[0] == 0x1f) {
    if (d[1] == 0x8b) return Format::gzip;
    if (d[1] == 0x9d) return Format::lzw;
    if (d[1] == 0x1e) return Format::pack;
  }
  if (at_start && n >= 4 && le32(d) == kLocalSig) return Format::zip;
  if (at_start && zlib && zlib_header_ok(d[0], d[1]) && !(d[1] & 0x20)) return Format::zlib;
  return std::nullopt;
}

ForeignResult decode_zip(ByteReader& in, Sink& out) {
  ForeignResult res;
  if (in.fill(30) < 30) throw_corrupt("unexpected end of file in a zip local header", Damage::truncated);
  const std::uint8_t* h = in.data();
  if (le32(h) != kLocalSig) throw_corrupt("not a valid zip file");
  unsigned flags = le16(h + 6), method = le16(h + 8);
  std::uint32_t want_crc = le32(h + 14);
  std::uint64_t csize = le32(h + 18), usize = le32(h + 22);
  std::size_t name_len = le16(h + 26), extra_len = le16(h + 28);
  if (flags & 1) throw_corrupt("encrypted file -- use unzip");
  if (method != 0 && method != 8) throw_corrupt("first entry not deflated or stored -- use unzip");
  std::size_t hl = 30 + name_len + extra_len;
  if (in.fill(hl) < hl) throw_corrupt("unexpected end of file in a zip local header", Damage::truncated);
  h = in.data();
  bool zip64 = false;
  if (auto z = zip64_sizes(h + 30 + name_len, extra_len)) {
    zip64 = true;
    if (usize == 0xffffffffu) usize = z->first;
    if (csize == 0xffffffffu) csize = z->second;
  }
  in.consume(hl);
  bool descriptor = (flags & 8) != 0;
  if (method == 8) {
    StreamInflater inf(StreamInflater::Mode::raw);
    inflate_stream(in, out, inf, res, "zip data");
  } else {
    if (descriptor) throw_corrupt("stored zip entry with its sizes after the data -- use unzip");
    if (csize != usize) throw_corrupt("invalid compressed data--length mismatch");
    std::uint64_t left = usize;
    while (left > 0) {
      if (in.avail() == 0 && in.fill(1 << 16) == 0) throw_corrupt("unexpected end of file in zip data", Damage::truncated);
      std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(left, in.avail()));
      res.emit(out, in.data(), k);
      in.consume(k);
      left -= k;
    }
  }
  if (descriptor) {
    // Signature optional; sizes are 64-bit when the entry is Zip64.
    std::size_t len = zip64 ? 20 : 12;
    if (in.fill(4) >= 4 && le32(in.data()) == kDescriptorSig) in.consume(4);
    if (in.fill(len) < len) throw_corrupt("unexpected end of file in a zip data descriptor", Damage::truncated);
    const std::uint8_t* d = in.data();
    want_crc = le32(d);
    usize = zip64 ? (le32(d + 12) | static_cast<std::uint64_t>(le32(d + 16)) << 32) : le32(d + 8);
    in.consume(len);
  }
  if (res.crc != want_crc) throw_corrupt("CRC-32 mismatch", Damage::crc);
  if (res.out_bytes != usize) throw_corrupt("length mismatch", Damage::length);
  if (in.fill(4) >= 4 && le32(in.data()) == kLocalSig) res.more_entries = true;
  return res;
}

ForeignResult decode_zlib(ByteReader& in, Sink& out) {
  ForeignResult res;
  if (in.fill(2) < 2) throw_corrupt("unexpected end of file in a zlib header", Damage::truncated);
  const std::uint8_t* h = in.data();
  if (!zlib_header_ok(h[0], h[1])) throw_corrupt("not zlib data");
  if (h[1] & 0x20) throw_corrupt("zlib data with a preset dictionary is not supported");
  in.consume(2);
  // Raw inflate, and the Adler-32 trailer read here: ISA-L's zlib mode
  // takes up to 3 bytes after the trailer with it (they vanished, with no
  // trailing-garbage warning) and fails on 4 (unexpected end of file).
  struct AdlerSink : Sink {
    Sink& out;
    std::uint32_t adler = 1;
    explicit AdlerSink(Sink& o) : out(o) {}
    void write(const std::uint8_t* d, std::size_t n) override {
      adler = static_cast<std::uint32_t>(::adler32(adler, d, static_cast<uInt>(n)));
      out.write(d, n);
    }
  } sink(out);
  StreamInflater inf(StreamInflater::Mode::raw);
  inflate_stream(in, sink, inf, res, "zlib data");
  if (in.fill(4) < 4) throw_corrupt("unexpected end of file in a zlib trailer", Damage::truncated);
  const std::uint8_t* t = in.data();
  std::uint32_t want = static_cast<std::uint32_t>(t[0]) << 24 | static_cast<std::uint32_t>(t[1]) << 16 |
                       static_cast<std::uint32_t>(t[2]) << 8 | t[3];
  in.consume(4);
  if (want != sink.adler) throw_corrupt("Adler-32 mismatch", Damage::crc);
  return res;
}

// --- Writing -------------------------------------------------------------------

Bytes deflate_open_block(const std::uint8_t* data, std::size_t n, int level) {
  thread_local struct Z {
    z_stream z{};
    int level = -1;
    ~Z() {
      if (level >= 0) deflateEnd(&z);
    }
  } zs;
  level = std::clamp(level, 0, 9);  // 0: stored blocks (pigz -0)
  if (zs.level != level) {
    if (zs.level >= 0) deflateEnd(&zs.z);
    zs.z = z_stream{};
    if (deflateInit2(&zs.z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw Error(ErrorKind::io, "zlib: deflateInit2 failed");
    zs.level = level;
  } else {
    deflateReset(&zs.z);
  }
  Bytes out(deflateBound(&zs.z, n) + 16);
  zs.z.next_in = const_cast<Bytef*>(data);
  zs.z.avail_in = static_cast<uInt>(n);
  zs.z.next_out = out.data();
  zs.z.avail_out = static_cast<uInt>(out.size());
  // A sync flush ends on a byte boundary with an empty stored block, and
  // leaves the stream open (no final block): such blocks concatenate.
  if (deflate(&zs.z, Z_SYNC_FLUSH) != Z_OK || zs.z.avail_in != 0)
    throw Error(ErrorKind::io, "zlib: deflate failed");
  out.resize(out.size() - zs.z.avail_out);
  return out;
}

std::uint32_t adler32_combine(std::uint32_t a, std::uint32_t b, std::uint64_t len_b) {
  return static_cast<std::uint32_t>(::adler32_combine64(a, b, static_cast<z_off64_t>(len_b)));
}

Bytes zlib_header(int level) {
  // CMF 0x78: deflate, 32 KiB window. FLEVEL as zlib sets it.
  unsigned flevel = level <= 1 ? 0 : level <= 5 ? 1 : level == 6 ? 2 : 3;
  unsigned hdr = (0x78u << 8) | (flevel << 6);
  hdr += 31 - hdr % 31;
  return {static_cast<std::uint8_t>(hdr >> 8), static_cast<std::uint8_t>(hdr)};
}

std::uint32_t dos_time(std::uint32_t unix_time) {
  std::time_t t = unix_time;
  std::tm tm{};
  localtime_r(&t, &tm);
  if (tm.tm_year < 80) return (1u << 21) | (1u << 16);  // 1980-01-01 00:00, the earliest
  return static_cast<std::uint32_t>((tm.tm_year - 80) << 25 | (tm.tm_mon + 1) << 21 | tm.tm_mday << 16 |
                                    tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
}

Bytes zip_local_header(const std::string& name, std::uint32_t dt) {
  Bytes b;
  put_le32(b, kLocalSig);
  store_le16(b, 20);  // version needed: deflate
  store_le16(b, 8);   // flags: CRC-32 and sizes in a data descriptor
  store_le16(b, 8);   // method: deflate
  put_le32(b, dt);
  put_le32(b, 0);  // CRC-32, sizes: in the descriptor
  put_le32(b, 0);
  put_le32(b, 0);
  store_le16(b, static_cast<unsigned>(name.size()));
  store_le16(b, 0);
  b.insert(b.end(), name.begin(), name.end());
  return b;
}

Bytes zip_trailer(const std::string& name, std::uint32_t dt, std::uint32_t crc, std::uint64_t compressed,
                  std::uint64_t uncompressed) {
  std::uint64_t local = 30 + name.size();
  if (compressed >= 0xffffffffu || uncompressed >= 0xffffffffu || local + compressed + 16 >= 0xffffffffu)
    throw Error(ErrorKind::usage, "zip output over 4 GiB is not supported (no Zip64); use gzip format");
  Bytes b;
  put_le32(b, kDescriptorSig);
  put_le32(b, crc);
  put_le32(b, static_cast<std::uint32_t>(compressed));
  put_le32(b, static_cast<std::uint32_t>(uncompressed));
  std::uint64_t central_at = local + compressed + 16;
  Bytes c;
  put_le32(c, kCentralSig);
  store_le16(c, 0x0314);  // made by: Unix, 2.0
  store_le16(c, 20);
  store_le16(c, 8);
  store_le16(c, 8);
  put_le32(c, dt);
  put_le32(c, crc);
  put_le32(c, static_cast<std::uint32_t>(compressed));
  put_le32(c, static_cast<std::uint32_t>(uncompressed));
  store_le16(c, static_cast<unsigned>(name.size()));
  store_le16(c, 0);  // extra
  store_le16(c, 0);  // comment
  store_le16(c, 0);  // disk
  store_le16(c, 0);  // internal attributes
  put_le32(c, 0100644u << 16);  // external attributes: a regular file, rw-r--r--
  put_le32(c, 0);               // the local header's offset
  c.insert(c.end(), name.begin(), name.end());
  b.insert(b.end(), c.begin(), c.end());
  put_le32(b, kEndSig);
  store_le16(b, 0);
  store_le16(b, 0);
  store_le16(b, 1);
  store_le16(b, 1);
  put_le32(b, static_cast<std::uint32_t>(c.size()));
  put_le32(b, static_cast<std::uint32_t>(central_at));
  store_le16(b, 0);
  return b;
}

}  // namespace fpgaio::gzip
