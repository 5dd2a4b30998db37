// Decompression: indexed members (FT, BGZF) in parallel, others streamed with
// ISA-L while a writer thread overlaps the output.
#include <algorithm>
#include <cstring>

#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/pipeline.hpp"
#include "le.hpp"

namespace fpgaio::gzip {

namespace {
constexpr std::size_t kReadChunk = 256 << 10;
constexpr std::size_t kOutChunk = 1 << 20;
// Members larger than this are streamed rather than held whole in memory.
constexpr std::uint64_t kMaxParallelMember = (64u << 20) + (1u << 20);
constexpr std::uint32_t kMaxParallelIsize = 64u << 20;

using detail::le32;

Error& locate(Error& e, std::uint64_t member, std::uint64_t offset) {
  if (member == 0) return e;  // before the first member: "not in gzip format"
  if (!e.member) e.in_member(member);
  if (!e.offset) e.at(offset);
  return e;
}

// Inflates one whole indexed member and checks its trailer.
Bytes decode_member(const Bytes& m, const Header& h, bool list_only) {
  std::uint32_t want_crc = le32(m.data() + m.size() - 8);
  std::uint32_t isize = le32(m.data() + m.size() - 4);
  if (h.index == Index::ft && h.isize != isize) throw_corrupt("uncompressed size in header and trailer differ");
  if (list_only) return Bytes();
  Bytes out(isize);
  std::size_t body = m.size() - h.length - 8;
  std::size_t used = inflate_whole(m.data() + h.length, body, out.data(), isize);
  if (used != body) throw_corrupt("member size in header does not match its deflate data");
  if (crc32(0, out.data(), out.size()) != want_crc) throw_corrupt("CRC-32 mismatch");
  return out;
}
}  // namespace

struct Decoder::Impl {
  Input& in;
  DecompressOptions opt;
  Bytes buf = Bytes(kReadChunk);
  std::size_t pos = 0, end = 0;
  std::uint64_t base = 0;  // input offset of buf[0]
  bool eof = false;
  std::optional<Header> first;

  Impl(Input& i, DecompressOptions o) : in(i), opt(std::move(o)) {}

  const std::uint8_t* data() const { return buf.data() + pos; }
  std::size_t avail() const { return end - pos; }
  std::uint64_t offset() const { return base + pos; }
  void consume(std::size_t n) { pos += n; }

  // Makes at least n bytes available unless the input ends first.
  std::size_t fill(std::size_t n) {
    if (avail() >= n || eof) return avail();
    if (pos > 0) {
      std::memmove(buf.data(), buf.data() + pos, avail());
      base += pos;
      end -= pos;
      pos = 0;
    }
    if (buf.size() < n) buf.resize(std::max(n, kReadChunk));
    while (end < n && !eof) {
      std::size_t r = in.read_some(buf.data() + end, buf.size() - end);
      if (r == 0) eof = true;
      end += r;
    }
    return avail();
  }

  // Parses the header at the current position, reading more as needed.
  Header read_header() {
    std::size_t want = 10;
    for (;;) {
      std::size_t a = fill(want);
      if (auto h = parse_header(data(), a)) return *h;
      if (eof) throw_corrupt("unexpected end of file in a gzip header");
      want = a + 1;
    }
  }

  bool rest_is_zero() {
    for (;;) {
      if (!std::all_of(data(), data() + avail(), [](std::uint8_t b) { return b == 0; })) return false;
      consume(avail());
      if (fill(1) == 0) return true;
    }
  }

  void stream_member(StreamInflater& inf, AsyncSink& out, DecompressResult& res) {
    inf.reset();
    for (;;) {
      if (avail() == 0 && fill(1) == 0) throw_corrupt("unexpected end of file");
      Bytes ob = out.acquire();
      ob.resize(kOutChunk);
      auto s = inf.step(data(), avail(), ob.data(), ob.size());
      consume(s.consumed);
      ob.resize(s.produced);
      res.stats.out_bytes += s.produced;
      if (s.produced) out.write(std::move(ob));
      if (opt.progress && s.produced) opt.progress(offset(), res.stats.out_bytes);
      if (s.finished) break;
      if (s.consumed == 0 && s.produced == 0) {
        if (eof) throw_corrupt("unexpected end of file");
        fill(avail() + 1);
      }
    }
    res.last_crc = inf.crc();
  }
};

Decoder::Decoder(Input& in, DecompressOptions opt) : impl_(std::make_unique<Impl>(in, std::move(opt))) {}
Decoder::~Decoder() = default;

bool Decoder::is_gzip() {
  std::size_t a = impl_->fill(2);
  return has_gzip_magic(impl_->data(), a);
}

const Header& Decoder::first_header() {
  if (!impl_->first) {
    try {
      impl_->first = impl_->read_header();
    } catch (Error& e) {
      throw locate(e, 1, impl_->offset());
    }
  }
  return *impl_->first;
}

DecompressResult Decoder::run(Sink& sink) {
  Impl& d = *impl_;
  DecompressResult res;
  AsyncSink out(sink, 4);
  unsigned threads = d.opt.threads ? d.opt.threads : 1;
  OrderedPool<Bytes> pool(threads, 2 * threads + 2, [&](Bytes& b) {
    res.stats.out_bytes += b.size();
    if (!b.empty()) out.write(std::move(b));
    if (d.opt.progress) d.opt.progress(d.offset(), res.stats.out_bytes);
  });
  StreamInflater inf;
  std::uint64_t member = 0;
  bool open_ft_stream = false;  // an FT data member was seen and no end marker after it
  bool all_indexed = true;
  std::uint64_t moff = 0;
  try {
    for (;;) {
      std::size_t a = d.fill(2);
      if (a == 0) break;
      if (!has_gzip_magic(d.data(), a)) {
        if (member == 0) throw_corrupt("not in gzip format");
        if (!d.rest_is_zero()) res.trailing_garbage = true;
        break;
      }
      ++member;
      moff = d.offset();
      Header h = member == 1 ? first_header() : d.read_header();
      if (member == 1) res.first = h;
      bool whole = h.index != Index::none && h.member_size <= kMaxParallelMember;
      if (whole && d.fill(h.member_size) < h.member_size) throw_corrupt("unexpected end of file (truncated member)");
      if (whole && le32(d.data() + h.member_size - 4) > kMaxParallelIsize) whole = false;
      if (h.index == Index::ft) open_ft_stream = !h.end_of_stream;
      if (whole) {
        Bytes m(d.data(), d.data() + h.member_size);
        d.consume(h.member_size);
        res.last_crc = le32(m.data() + m.size() - 8);
        bool list_only = d.opt.list_only;
        if (list_only) res.stats.out_bytes += le32(m.data() + m.size() - 4);
        pool.submit([m = std::move(m), h, member, moff, list_only]() {
          try {
            return decode_member(m, h, list_only);
          } catch (Error& e) {
            throw locate(e, member, moff);
          }
        });
      } else {
        all_indexed = false;
        pool.drain();
        d.consume(h.length);
        d.stream_member(inf, out, res);
      }
    }
    pool.drain();
    out.flush();
  } catch (Error& e) {
    throw locate(e, member, moff);
  }
  if (open_ft_stream) {
    Error e(ErrorKind::corrupt, "unexpected end of file: the end-of-stream member is missing (file cut short?)");
    e.in_member(member + 1).at(d.offset());
    throw e;
  }
  res.stats.in_bytes = d.offset();
  res.stats.members = member;
  res.indexed = all_indexed && member > 0;
  return res;
}

std::uint64_t Decoder::copy_through(Sink& out) {
  Impl& d = *impl_;
  std::uint64_t n = 0;
  for (;;) {
    if (d.avail() == 0) {
      d.pos = d.end = 0;
      d.end = d.in.read_some(d.buf.data(), d.buf.size());
      if (d.end == 0) break;
    }
    out.write(d.data(), d.avail());
    n += d.avail();
    d.consume(d.avail());
  }
  out.flush();
  return n;
}

}  // namespace fpgaio::gzip
