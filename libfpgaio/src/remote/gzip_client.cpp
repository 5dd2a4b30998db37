// gzip over fpga-remote: a stream cut into chunks of whole blocks (compress)
// or whole members (decompress, test), several requests in flight, answers
// checked and joined in order. Output is byte-identical to a local run.
#include <algorithm>
#include <cstring>

#include "fpgaio/codec.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/pipeline.hpp"
#include "fpgaio/remote_gzip.hpp"
#include "../gzip/le.hpp"

namespace fpgaio::remote {

using gzip::detail::le32;

// Trust nothing that comes back: the answer to a compress request must be a
// sequence of our members holding exactly the chunk's bytes, with the end
// marker only on the last chunk. Well-formed members with the right sizes
// and CRC-32s are not enough (a liar can re-deflate other data and keep the
// trailer): every member is inflated and compared with its part of the
// chunk, so what is written decompresses to the input.
void check_compress_answer(const Bytes& out, const Bytes& in, bool last, const std::string& host) {
  const std::uint64_t in_len = in.size();
  std::size_t pos = 0;
  std::uint64_t sum = 0;
  bool saw_end = false;
  auto bad = [&](const std::string& why) {
    return TransportError("answer from " + host + " is not what was asked for (" + why + ")");
  };
  // A member's data, inflated (a block: reused, no page faults a chunk).
  thread_local Bytes plain;
  while (pos < out.size()) {
    std::optional<gzip::Header> h;
    try {
      h = gzip::parse_header(out.data() + pos, out.size() - pos);
    } catch (const Error& e) {
      throw bad(e.what());
    }
    if (!h || h->index != gzip::Index::ft || h->member_size > out.size() - pos || h->member_size < h->length + 8)
      throw bad("member framing");
    if (saw_end) throw bad("data after the end marker");
    std::uint32_t isize = le32(out.data() + pos + h->member_size - 4);
    if (isize != h->isize) throw bad("sizes");
    if (isize > in_len - sum) throw bad("uncompressed size");
    // Each member's CRC-32 must be that of the chunk's bytes it stands for:
    // members of other data, however well formed, are refused.
    if (crc32(0, in.data() + sum, isize) != le32(out.data() + pos + h->member_size - 8))
      throw bad("a member's CRC-32 is not the data's");
    // And its deflate data must be those bytes, ending where the trailer
    // starts (what gzip -d reads), not other data under the right trailer.
    const std::uint8_t* deflated = out.data() + pos + h->length;
    const std::size_t deflated_len = h->member_size - h->length - 8;
    if (plain.size() < std::max<std::size_t>(isize, 1)) plain.resize(std::max<std::size_t>(isize, 1));
    std::size_t used = 0;
    try {
      used = inflate_whole(deflated, deflated_len, plain.data(), isize);
    } catch (const Error& e) {
      throw bad(std::string("a member's deflate data: ") + e.what());
    }
    if (used != deflated_len) throw bad("bytes between a member's deflate data and its trailer");
    if (isize && std::memcmp(plain.data(), in.data() + sum, isize) != 0)
      throw bad("a member does not inflate to the data sent");
    sum += isize;
    saw_end = h->end_of_stream;
    pos += h->member_size;
  }
  if (sum != in_len) throw bad("uncompressed size");
  if (saw_end != last) throw bad("end marker");
}

namespace {

Error with_host(Error e, const std::string& host, const std::string& shown, std::uint64_t member_base,
                std::uint64_t offset_base) {
  if (e.member) e.member = *e.member + member_base;
  if (e.offset) e.offset = *e.offset + offset_base;
  e.path = host + ": " + shown;
  return e;
}

}  // namespace

gzip::Stats compress(HostPool& hosts, Input& in, Sink& out, const RemoteGzipOptions& opt) {
  if (opt.block_size < 1024 || opt.block_size > gzip::max_block_size())
    throw Error(ErrorKind::usage, "block size must be between 1 KiB and 64 MiB");
  // Chunks of whole blocks: the server cuts them at the same offsets as a
  // local run would, so the members are the same bytes.
  std::size_t blocks = std::max<std::size_t>(1, opt.chunk_bytes / opt.block_size);
  std::size_t chunk = blocks * opt.block_size;
  unsigned inflight = std::max(1u, opt.in_flight);
  gzip::Stats st;
  struct Done {
    Bytes out;
    std::size_t in;
    Bytes sent;  // the request's body, for the next chunk read
  };
  // Chunk buffers go round (fresh ones cost a page fault every 4 KiB).
  std::vector<Bytes> spare;
  auto buffer = [&spare]() {
    Bytes b;
    if (!spare.empty()) {
      b = std::move(spare.back());
      spare.pop_back();
    }
    return b;
  };
  OrderedPool<Done> pool(inflight, 2 * inflight, [&](Done& d) {
    if (spare.size() < 2 * inflight + 2) spare.push_back(std::move(d.sent));
    out.write(d.out.data(), d.out.size());
    st.in_bytes += d.in;
    st.out_bytes += d.out.size();
    if (opt.progress) opt.progress(st.in_bytes, st.out_bytes);
  });
  // --rsyncable: chunks of whole blocks as a local run cuts them, so a
  // server starting at one finds the same blocks.
  std::optional<gzip::RsyncBlocks> cutter;
  if (opt.rsyncable) cutter.emplace(in, opt.block_size);
  auto next_rsync_chunk = [&]() {
    Bytes c;
    while (c.size() < chunk && cutter->next(c)) {
    }
    return c;
  };
  Bytes next;
  if (cutter) {
    next = next_rsync_chunk();
  } else {
    next = buffer();
    next.resize(chunk);
    next.resize(in.read(next.data(), chunk));
  }
  bool first = true;
  while (true) {
    Bytes cur = std::move(next);
    bool last;
    if (cutter) {
      // The next chunk is cut now: the last request carries the end marker.
      next = next_rsync_chunk();
      last = next.empty();
    } else {
      last = cur.size() < chunk;
      if (!last) {
        // Read ahead one chunk: the last request carries the end marker.
        next = buffer();
        next.resize(chunk);
        std::size_t n = in.read(next.data(), chunk);
        next.resize(n);
        last = n == 0;
      }
    }
    GzipCompressJob job = opt;
    job.end_marker = last;
    if (!first) {
      // The first member's header fields go with the first chunk alone.
      job.name.reset();
      job.mtime = 0;
      job.comment.reset();
      job.part.reset();
    }
    Request req = encode(job);
    // No answer can be larger than the data stored, a header a block, the
    // name and comment: a server sending more is cut off, memory bounded.
    req.max_answer = 2 * cur.size() + (std::size_t{1} << 20) + (opt.name ? opt.name->size() : 0) +
                     (opt.comment ? opt.comment->size() : 0);
    req.body = std::move(cur);
    const bool whole = first && last;
    first = false;
    pool.submit([&hosts, &opt, req = std::move(req), last, whole]() mutable {
      auto [r, host] = hosts.call(req);
      if (r.status != 200) throw with_host(error_from_response(r), host, opt.shown, 0, 0);
      try {
        check_compress_answer(r.body, req.body, last, host);
      } catch (const TransportError& e) {
        throw Error(ErrorKind::device, e.what()).with_path(host + ": " + opt.shown);
      }
      // The whole stream in one answer: one member alone, as a local run writes it.
      if (whole) gzip::fold_end_marker(r.body);
      std::size_t n = req.body.size();
      return Done{std::move(r.body), n, std::move(req.body)};
    });
    if (last) break;
  }
  pool.drain();
  out.flush();
  return st;
}

gzip::DecompressResult decompress(HostPool& hosts, Input& in, Sink* out, const RemoteGzipOptions& opt) {
  gzip::DecompressResult res;
  unsigned inflight = std::max(1u, opt.in_flight);
  static const Bytes marker = gzip::end_marker_member(std::nullopt, 0, 0);
  struct Done {
    Bytes data;
    std::uint64_t in = 0, out = 0;
    bool trailing = false, zip_more = false;
    std::vector<std::string> warnings;
    std::uint32_t crc = 0;
    std::optional<gzip::Format> format;
    std::optional<Error> error;  // after `data` (salvage)
  };
  bool first_chunk = true;
  OrderedPool<Done> pool(inflight, 2 * inflight, [&](Done& d) {
    if (out) out->write(d.data.data(), d.data.size());
    if (d.error) {
      if (out) out->flush();
      throw *d.error;
    }
    if (first_chunk && d.format) res.format = *d.format;
    first_chunk = false;
    res.crc = crc32_combine(res.crc, d.crc, d.out);
    res.stats.in_bytes += d.in;
    res.stats.out_bytes += d.out;
    res.trailing_garbage = res.trailing_garbage || d.trailing;
    res.zip_more_entries = res.zip_more_entries || d.zip_more;
    res.warnings.insert(res.warnings.end(), d.warnings.begin(), d.warnings.end());
    if (opt.progress) opt.progress(res.stats.in_bytes, res.stats.out_bytes);
  });
  // buf holds input read but not yet sent; `eof` once the input ended.
  Bytes buf;
  bool eof = false;
  auto fill = [&](std::size_t want) {
    while (!eof && buf.size() < want) {
      std::size_t old = buf.size(), add = std::max<std::size_t>(want - old, 1 << 16);
      buf.resize(old + add);
      std::size_t n = in.read(buf.data() + old, add);
      buf.resize(old + n);
      if (n < add) eof = true;
    }
  };
  fill(64 * 1024);
  try {
    if (auto h = gzip::parse_header(buf.data(), buf.size())) res.first = *h;
  } catch (const Error&) {
    // A damaged first header: the server reports it, with member and offset.
  }
  std::uint64_t member_base = 0, offset_base = 0;
  const std::size_t limit = opt.max_body;
  bool done = false;
  while (!done) {
    // Whole members of ours, from their FT (or BGZF) sizes, up to the chunk
    // size. A chunk ends only before another such member, so whatever is
    // not one (foreign members, other formats, garbage, zeros) goes in one
    // request with the members before it, as the local decoder sees it.
    std::size_t pos = 0, members = 0;
    std::uint64_t data = 0;  // the members' data, from FT (BGZF: at most 64 KiB a member)
    bool whole_rest = false;
    // What the chunk's members say they hold (their trailers), to check the
    // answer against when the chunk is made of our members only.
    std::uint64_t want_out = 0;
    std::uint32_t want_crc = 0;
    while (true) {
      fill(pos + 64 * 1024);
      if (pos >= buf.size()) break;
      std::optional<gzip::Header> h;
      try {
        if (gzip::has_gzip_magic(buf.data() + pos, buf.size() - pos))
          h = gzip::parse_header(buf.data() + pos, buf.size() - pos);
      } catch (const Error&) {
        // the server reports it, at the right member
      }
      if (!h || h->index == gzip::Index::none || h->member_size > limit) {
        whole_rest = true;
        break;
      }
      // Cut by data as well as by bytes, so that an answer stays near the
      // chunk size however well the data compressed (the server refuses
      // answers over its --max-answer).
      if (pos >= opt.chunk_bytes || data >= opt.chunk_bytes) break;
      fill(pos + h->member_size + 1);
      if (pos + h->member_size > buf.size()) {
        whole_rest = true;  // cut short: the server says so
        break;
      }
      want_crc = crc32_combine(want_crc, le32(buf.data() + pos + h->member_size - 8),
                               le32(buf.data() + pos + h->member_size - 4));
      want_out += le32(buf.data() + pos + h->member_size - 4);
      pos += h->member_size;
      data += h->index == gzip::Index::ft ? h->isize : 65536;
      ++members;
    }
    if (whole_rest) {
      fill(limit + 1);
      if (buf.size() > limit)
        throw Error(ErrorKind::usage, "not an fpga-gzip (indexed) stream past member " +
                                          std::to_string(member_base + members + 1) +
                                          ": it cannot be cut into requests, and the rest is over the server's "
                                          "limit of " + std::to_string(limit) + " bytes; decompress it locally")
            .with_path(opt.shown);
      pos = buf.size();
    }
    fill(pos + 1);
    bool last = eof && pos >= buf.size();
    GzipDecodeJob job = opt;
    job.test = out == nullptr;
    Request req = encode(job);
    req.body.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(pos));
    // A chunk that does not end the stream gets an end marker of its own, so
    // the server's check for a stream cut short applies only to the last.
    if (!last) req.body.insert(req.body.end(), marker.begin(), marker.end());
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(pos));
    std::uint64_t mb = member_base, ob = offset_base, sent = pos;
    bool test = out == nullptr;
    bool last_chunk = last;
    std::optional<std::pair<std::uint64_t, std::uint32_t>> want;
    if (!whole_rest) {
      want = {want_out, want_crc};
      req.max_answer = static_cast<std::size_t>(want_out) + (std::size_t{1} << 20);  // and an error's JSON
    }
    pool.submit([&hosts, &opt, req = std::move(req), mb, ob, sent, test, last_chunk, want]() {
      auto [r, host_] = hosts.call(req);
      const std::string& host = host_;  // (a structured binding cannot be captured in C++17: clang refuses)
      Done d;
      // A lying or broken server: never a silently wrong output.
      auto bad = [&](const std::string& why) {
        return Error(ErrorKind::device, "answer from " + host + " is not what was asked for (" + why + ")")
            .with_path(host + ": " + opt.shown);
      };
      if (r.status != 200) {
        auto n = salvage_size(r.content_type);
        if (!n || *n > r.body.size()) throw with_host(error_from_response(r), host, opt.shown, mb, ob);
        if (want && *n > want->first) throw bad("more salvaged data than the members hold");
        d.data.assign(r.body.end() - static_cast<std::ptrdiff_t>(*n), r.body.end());
        r.body.resize(r.body.size() - *n);
        d.error = with_host(error_from_response(r), host, opt.shown, mb, ob);
        return d;
      }
      GzipDecodeAnswer a = decode_gzip_answer(r.content_type);
      d.in = sent;
      // The bytes the decoder read (trailing zeros included), less the end
      // marker this client appended.
      if (a.in) {
        std::uint64_t extra = last_chunk ? 0 : marker.size();
        d.in = *a.in >= extra ? *a.in - extra : 0;
      }
      d.crc = a.crc.value_or(0);
      if (want && d.crc != want->second) throw bad("CRC-32");
      d.format = a.format;
      d.trailing = a.trailing_garbage;
      d.zip_more = a.zip_more_entries;
      d.warnings = std::move(a.warnings);
      for (auto& w : d.warnings) w = server_text(w);
      // Our members alone: nothing to warn about, no other format.
      if (want && (d.trailing || d.zip_more || !d.warnings.empty() || (d.format && *d.format != gzip::Format::gzip)))
        throw bad("warnings for members that have none");
      if (test) {
        auto b = read_test_answer(r.body);
        if (!b) throw bad("no size");
        d.out = *b;
        if (want && d.out != want->first) throw bad("size");
      } else {
        if (want && r.body.size() != want->first) throw bad("size");
        if (want && crc32(0, r.body.data(), r.body.size()) != want->second) throw bad("CRC-32");
        d.out = r.body.size();
        d.data = std::move(r.body);
      }
      return d;
    });
    member_base += members;
    offset_base += pos;
    done = last;
  }
  pool.drain();
  if (out) out->flush();
  return res;
}

}  // namespace fpgaio::remote
