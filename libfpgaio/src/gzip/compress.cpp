// Compression into independent, indexed gzip members on N threads.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <ctime>
#include <tuple>
#include <vector>

#include <zlib.h>

#include "fpgaio/deflate_units.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/pipeline.hpp"
#include "le.hpp"

namespace fpgaio::gzip {

namespace {

using detail::store_le32;

// One deflater per thread and engine setting: engines keep large state.
Deflater& thread_deflater(const LevelPlan& plan) {
  thread_local std::map<std::tuple<int, int, int>, std::unique_ptr<Deflater>> cache;
  auto& d = cache[{static_cast<int>(plan.engine), plan.engine_level, static_cast<int>(plan.strategy)}];
  if (!d) d = make_deflater(plan);
  return *d;
}

// Block and member buffers, given back after use and handed out again. Fresh
// ones cost more than the fastest engine: each MiB faults its pages in, and
// the allocator gives freed ones back to the kernel (fpga-gzip -1 -p 2 spent
// 0.38 s of system time on 256 MiB, igzip 0.06 s). At most `keep` are kept.
class Recycler {
 public:
  void keep(std::size_t n) { keep_ = n; }
  // An empty buffer with room for at least `cap` bytes.
  Bytes get(std::size_t cap) {
    Bytes b;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!free_.empty()) {
        b = std::move(free_.back());
        free_.pop_back();
      }
    }
    fpgaio::detail::reserve_huge(b, cap);
    return b;
  }
  void put(Bytes&& b) {
    if (b.capacity() == 0) return;
    b.clear();
    std::lock_guard<std::mutex> lk(mu_);
    if (free_.size() < keep_) free_.push_back(std::move(b));
  }

 private:
  std::mutex mu_;
  std::vector<Bytes> free_;
  std::size_t keep_ = 0;
};

struct MemberParams {
  LevelPlan plan;
  std::uint8_t xfl;
};

// One member: our header, the block's deflate (from this thread's engine, or
// from a compute unit of the pool, whichever is free), CRC-32 and ISIZE.
Bytes make_member(const std::uint8_t* data, std::size_t n, const MemberParams& p,
                  const std::optional<std::string>& name, const std::optional<std::string>& comment,
                  std::uint32_t mtime, UnitPool* units, bool mixed,
                  const std::function<void(const std::string&)>* on_failure, const std::optional<PartOf>& part,
                  std::uint8_t ft_flags, Recycler& buffers, std::optional<std::uint32_t> data_crc) {
  // FC on data members of streams of several members, which joins check
  // without inflating; not on a stream of one member (flagged: version 2),
  // whose few bytes of header matter for tiny files and which a join
  // inflates in a moment (it holds one block).
  const bool check = !(ft_flags & kFlagEndOfStream);
  std::size_t hl = header_size(name, comment, part, check);
  std::size_t c = 0;
  std::uint32_t crc = 0;
  Bytes out = buffers.get(hl + Deflater::bound(n) + 8);
  bool done = false;
  // Mixed with CPU threads: a free unit, else this thread's engine.
  DeflateUnit* unit = nullptr;
  if (units && !(on_failure && units->failed())) unit = mixed ? units->try_acquire() : &units->acquire();
  if (unit) {
    DeflateUnit& u = *unit;
    struct Release {
      UnitPool* pool;
      DeflateUnit& unit;
      ~Release() { pool->release(unit); }
    } release{units, u};
    out.resize(hl + u.bound(n) + 8);
    try {
      auto r = u.deflate(data, n, out.data() + hl, out.size() - hl - 8);
      c = r.size;
      crc = r.crc;
      done = true;
    } catch (const Error& e) {
      if (!on_failure || e.kind() != ErrorKind::device) throw;
      if (units->mark_failed()) (*on_failure)(e.what());
    }
  }
  if (!done) {
    out.resize(hl + Deflater::bound(n) + 8);
    c = thread_deflater(p.plan).compress(data, n, out.data() + hl, out.size() - hl - 8);
    crc = data_crc ? *data_crc : crc32(0, data, n);
  }
  std::size_t total = hl + c + 8;
  store_le32(out.data() + hl + c, crc);
  store_le32(out.data() + hl + c + 4, static_cast<std::uint32_t>(n));
  Bytes hdr;
  hdr.reserve(hl);
  write_header(hdr, mtime, p.xfl, name, total, static_cast<std::uint32_t>(n), ft_flags, comment, part,
               check ? std::optional<std::uint32_t>(crc32(0, out.data() + hl, c + 8)) : std::nullopt);
  std::memcpy(out.data(), hdr.data(), hl);
  out.resize(total);
  return out;
}

}  // namespace

RsyncCutter::RsyncCutter(std::size_t block) : min_(block / 4), max_(block) {
  int bits = 0;
  while ((std::size_t{1} << (bits + 1)) <= block / 2) ++bits;
  shift_ = 32 - bits;
  pow_ = 1;
  for (int i = 0; i < kWindow; ++i) pow_ *= kMul;
}

// A rolling hash over the last 64 bytes picks cut points, so an edit changes
// only the blocks around it and the members after it come out identical again.
std::size_t RsyncCutter::cut(const std::uint8_t* d, std::size_t n, bool at_eof) const {
  std::uint32_t h = 0;
  std::size_t limit = n < max_ ? n : max_;
  for (std::size_t i = 0; i < limit; ++i) {
    h = h * kMul + d[i] + 1;
    if (i >= kWindow) h -= pow_ * (d[i - kWindow] + 1u);
    if (i + 1 >= min_ && ((h * 0x9E3779B1u) >> shift_) == 0) return i + 1;
  }
  return (limit == max_ || at_eof) ? limit : 0;
}

RsyncBlocks::RsyncBlocks(Input& in, std::size_t block) : in_(in), cutter_(block), block_(block) {}

std::size_t RsyncBlocks::next(Bytes& out) {
  std::size_t have = pending_.size();
  if (have < block_ && !eof_) {
    pending_.resize(block_);
    std::size_t n = in_.read(pending_.data() + have, block_ - have);
    pending_.resize(have + n);
    eof_ = have + n < block_;
  }
  if (pending_.empty()) return 0;
  std::size_t len = cutter_.cut(pending_.data(), pending_.size(), eof_);
  out.insert(out.end(), pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(len));
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(len));
  return len;
}

// The empty member that ends every stream of several members we write, so
// that a file cut at a member boundary is told from a complete one.
Bytes end_marker_member(const std::optional<std::string>& name, std::uint32_t mtime, std::uint8_t xfl,
                        const std::optional<std::string>& comment, const std::optional<PartOf>& part) {
  static const std::uint8_t empty_deflate[2] = {0x03, 0x00};  // final fixed block, end-of-block only
  std::size_t total = header_size(name, comment, part, false) + 2 + 8;
  Bytes out;
  out.reserve(total);
  write_header(out, mtime, xfl, name, total, 0, kFlagEndOfStream, comment, part);
  out.insert(out.end(), empty_deflate, empty_deflate + 2);
  out.resize(total, 0);  // CRC-32 and ISIZE of nothing are 0
  return out;
}

std::size_t max_block_size() { return std::size_t{64} << 20; }

bool fold_end_marker(Bytes& stream) {
  std::optional<Header> data, end;
  try {
    data = parse_header(stream.data(), stream.size());
    if (!data || data->index != Index::ft || data->end_of_stream || data->isize == 0 ||
        data->member_size >= stream.size() || (data->flags & FHCRC))
      return false;
    const std::uint8_t* e = stream.data() + data->member_size;
    std::size_t left = stream.size() - data->member_size;
    end = parse_header(e, left);
    if (!end || end->index != Index::ft || !end->end_of_stream || end->member_size != left ||
        !empty_end_marker(*end, detail::le32(e + left - 8), detail::le32(e + left - 4)))
      return false;
  } catch (const Error&) {
    return false;
  }
  // FT sits at offset 12 in our members: version and flags follow its ID and length.
  if (stream[12] != kSubfieldId1 || stream[13] != kSubfieldId2 || stream[16] != kSubfieldVersion) return false;
  if (data->data_crc) {
    // A local run writes a stream of one member without FC: the header is
    // written again without it (the same fields otherwise), the data kept.
    if (data->strings_cut || (data->flags & ~(FEXTRA | FNAME | FCOMMENT))) return false;
    Bytes out;
    std::size_t hl = header_size(data->name, data->comment, data->part, false);
    std::uint64_t total = data->member_size - data->length + hl;
    write_header(out, data->mtime, data->xfl, data->name, total, data->isize, kFlagEndOfStream, data->comment,
                 data->part);
    if (out.size() != hl) return false;
    out.insert(out.end(), stream.begin() + static_cast<std::ptrdiff_t>(data->length),
               stream.begin() + static_cast<std::ptrdiff_t>(data->member_size));
    stream = std::move(out);
    return true;
  }
  stream[16] = kSubfieldVersionEnds;
  stream[17] = kFlagEndOfStream;
  stream.resize(data->member_size);
  return true;
}

namespace {

// One block to compress: `data` points into `owned` (read from an Input) or
// into the caller's memory (compress from a buffer: no copy).
struct Block {
  Bytes owned;
  const std::uint8_t* data = nullptr;
  std::size_t n = 0;
  std::optional<std::uint32_t> crc;  // CRC-32 of the block, when the reader took it
};

// The block is read, and its CRC-32 taken, this much at a time: each piece
// is summed just after read() copied it in, while it is still in this
// core's cache (a pass over the whole MiB afterwards reads it back from
// memory; issue 26).
constexpr std::size_t kReadPiece = 256 << 10;

// Cuts the input into blocks of opt.block_size (or at --rsyncable's
// content-defined points); the same cuts whether the bytes come from an
// Input or from memory.
class BlockSource {
 public:
  BlockSource(Input* in, const std::uint8_t* mem, std::size_t mem_n, const CompressOptions& opt)
      : in_(in), mem_(mem), left_(mem_n), block_(opt.block_size), sum_(opt.container != Container::zlib) {
    if (opt.rsyncable && in) rsync_.emplace(*in, opt.block_size);
    if (opt.rsyncable && !in) cutter_.emplace(opt.block_size);
  }
  // False at the end of the input.
  bool next(Block& b) {
    b.owned.clear();
    b.n = 0;
    b.crc.reset();
    if (!in_) {
      // Memory: the rest is all there is, so a cut may use it all.
      if (!left_) return false;
      b.n = cutter_ ? cutter_->cut(mem_, left_, true) : std::min(left_, block_);
      b.data = mem_;
      mem_ += b.n;
      left_ -= b.n;
      return true;
    }
    if (rsync_) {
      rsync_->next(b.owned);
    } else {
      if (eof_) return false;
      b.owned = buffers_.get(block_);
      b.owned.resize(block_);
      std::size_t n = 0;
      std::uint32_t crc = 0;
      while (n < block_) {
        std::size_t want = std::min(kReadPiece, block_ - n);
        std::size_t got = in_->read(b.owned.data() + n, want);
        if (sum_) crc = crc32(crc, b.owned.data() + n, got);
        n += got;
        if (got < want) break;
      }
      b.owned.resize(n);
      if (sum_) b.crc = crc;
      eof_ = n < block_;
    }
    b.data = b.owned.data();
    b.n = b.owned.size();
    return b.n != 0;
  }
  bool from_memory() const { return !in_; }
  // Where blocks' buffers come from and go back to. Members have their own
  // (members_): a member's buffer touches only its compressed bytes, a
  // block's the whole block, so a shared pool faulted in a whole MiB for
  // every buffer (15 MiB resident at -p 2; issue 26).
  Recycler& buffers() { return buffers_; }
  Recycler& member_buffers() { return members_; }

 private:
  Input* in_;
  const std::uint8_t* mem_;
  std::size_t left_;
  std::size_t block_;
  std::optional<RsyncCutter> cutter_;  // rsyncable, from memory
  std::optional<RsyncBlocks> rsync_;   // rsyncable, from an Input
  bool eof_ = false;
  bool sum_;  // take blocks' CRC-32 as they are read (zlib streams use Adler-32)
  Recycler buffers_, members_;
};

// pigz -z and -K: the blocks deflated open-ended (so they concatenate into
// one deflate stream) on the pool, in a zlib stream or a one-entry zip.
Stats compress_container(BlockSource& src, Sink& out, const CompressOptions& opt) {
  Stats st;
  const bool zip = opt.container == Container::zip;
  const int level = std::min(opt.level, 9);
  const std::string name = opt.name.value_or("-");
  const std::uint32_t dt = dos_time(opt.mtime ? opt.mtime : static_cast<std::uint32_t>(::time(nullptr)));
  Bytes head = zip ? zip_local_header(name, dt) : zlib_header(level);
  out.write(head.data(), head.size());
  st.out_bytes += head.size();
  std::uint32_t check = zip ? 0 : 1;  // CRC-32 (zip) or Adler-32 (zlib) of the data
  std::uint64_t deflated = 0;
  unsigned threads = opt.threads ? opt.threads : 1;
  struct Done {
    Bytes deflate;
    std::uint32_t check;
    std::size_t n;
  };
  OrderedPool<Done> pool(threads, 2 * threads + 2, [&](Done& r) {
    out.write(r.deflate.data(), r.deflate.size());
    st.out_bytes += r.deflate.size();
    deflated += r.deflate.size();
    st.in_bytes += r.n;
    check = zip ? crc32_combine(check, r.check, r.n) : adler32_combine(check, r.check, r.n);
    if (opt.progress) opt.progress(st.in_bytes, st.out_bytes);
  });
  for (Block block; src.next(block);) {
    pool.submit([block = std::move(block), zip, level]() {
      std::uint32_t c = zip ? (block.crc ? *block.crc : crc32(0, block.data, block.n))
                            : static_cast<std::uint32_t>(::adler32(1, block.data, static_cast<uInt>(block.n)));
      return Done{deflate_open_block(block.data, block.n, level), c, block.n};
    });
  }
  pool.drain();
  out.write(kFinalEmptyBlock, 2);
  st.out_bytes += 2;
  deflated += 2;
  Bytes tail;
  if (zip) {
    tail = zip_trailer(name, dt, check, deflated, st.in_bytes);
  } else {
    for (int i = 3; i >= 0; --i) tail.push_back(static_cast<std::uint8_t>(check >> (8 * i)));
  }
  out.write(tail.data(), tail.size());
  st.out_bytes += tail.size();
  st.members = 1;
  out.flush();
  return st;
}


Stats compress_blocks(BlockSource& src, Sink& out, const CompressOptions& opt) {
  if (opt.block_size < 1024 || opt.block_size > max_block_size())
    throw Error(ErrorKind::usage, "block size must be between 1 KiB and 64 MiB");
  if (opt.container != Container::gzip) return compress_container(src, out, opt);
  MemberParams p{opt.engine ? LevelPlan{*opt.engine, opt.level} : plan_for_level(opt.level),
                 static_cast<std::uint8_t>(opt.level >= 9 ? 2 : opt.level == 1 ? 4 : 0)};
  if (opt.strategy != Strategy::normal) {
    // zlib's Huffman-only and RLE strategies (pigz -H, -U), at zlib's level.
    p.plan = LevelPlan{Engine::zlib, std::min(opt.level, 9), opt.strategy};
  }
  if (opt.engine || opt.strategy != Strategy::normal) make_deflater(p.plan);  // validate now, in this thread

  Stats st;
  unsigned threads = opt.threads ? opt.threads : 1;
  // Stored blocks (-0) and zlib's strategies are the CPU's: a unit has its own level.
  UnitPool* units = opt.strategy == Strategy::normal && opt.level != 0 ? opt.units : nullptr;
  bool mixed = units && opt.cpu_threads > 0;
  if (units) threads = static_cast<unsigned>(std::max<std::size_t>(1, units->size())) + opt.cpu_threads;
  // Each job in the window holds a block and a member: enough buffers are
  // kept for all of them to be reused.
  Recycler& blocks = src.buffers();
  Recycler& buffers = src.member_buffers();
  blocks.keep(2 * threads + 4);  // (the window's jobs, and the two read ahead at the start)
  buffers.keep(2 * threads + 4);
  auto consume = [&](std::pair<Bytes, std::size_t>& r) {
    out.write(r.first.data(), r.first.size());
    st.out_bytes += r.first.size();
    st.in_bytes += r.second;
    ++st.members;
    buffers.put(std::move(r.first));
    if (opt.progress) opt.progress(st.in_bytes, st.out_bytes);
  };
  auto member = [&p, units, mixed, &opt, &buffers, &blocks](Block& block, const std::optional<std::string>& name,
                                                   const std::optional<std::string>& comment, std::uint32_t mtime,
                                                   const std::optional<PartOf>& part, std::uint8_t ft_flags) {
    auto r = std::make_pair(make_member(block.data, block.n, p, name, comment, mtime, units, mixed,
                                        opt.on_unit_failure ? &opt.on_unit_failure : nullptr, part, ft_flags,
                                        buffers, block.crc),
                            block.n);
    blocks.put(std::move(block.owned));
    return r;
  };
  // From memory on one thread, there is no reading to overlap: the blocks
  // are compressed here, in this thread (its engine is kept from call to
  // call, which a server running one job a slot relies on).
  const bool inline_jobs = src.from_memory() && threads == 1 && !units;
  std::optional<OrderedPool<std::pair<Bytes, std::size_t>>> pool;
  // On the CPU, one job queued behind each running one keeps the workers
  // busy (reading a block takes a twentieth of compressing it); every
  // further job in the window is a MiB more to fault in. Units keep the
  // deeper window that covers a device's latency.
  const std::size_t window = units ? 2 * threads + 2 : threads + 2;
  if (!inline_jobs) pool.emplace(threads, window, consume);

  bool first = true;
  auto submit = [&](Block&& block, std::uint8_t ft_flags) {
    std::optional<std::string> name = first ? opt.name : std::nullopt;
    std::optional<std::string> comment = first ? opt.comment : std::nullopt;
    std::uint32_t mtime = first ? opt.mtime : 0;
    std::optional<PartOf> part = first ? opt.part : std::nullopt;
    first = false;
    if (inline_jobs) {
      auto r = member(block, name, comment, mtime, part, ft_flags);
      consume(r);
      return;
    }
    pool->submit([block = std::move(block), name, comment, mtime, part, ft_flags, &member]() mutable {
      return member(block, name, comment, mtime, part, ft_flags);
    });
  };
  // The first two blocks are read before the first is compressed: an input
  // of one block is one member that ends the stream itself (FT version 2),
  // which a tiny file is far smaller for (no end marker of 36 bytes and more).
  Block head, second;
  bool one = false;
  if (src.next(head)) {
    bool more = src.next(second);
    one = !more && opt.end_marker && opt.one_member;
    submit(std::move(head), one ? kFlagEndOfStream : 0);
    if (more) {
      submit(std::move(second), 0);
      for (Block block; src.next(block);) submit(std::move(block), 0);
    }
  }
  if (pool) pool->drain();
  if (opt.end_marker && !one) {
    Bytes end = first ? end_marker_member(opt.name, opt.mtime, p.xfl, opt.comment, opt.part)
                      : end_marker_member(std::nullopt, 0, p.xfl);
    out.write(end.data(), end.size());
    st.out_bytes += end.size();
    ++st.members;
  }
  out.flush();
  return st;
}

}  // namespace

Stats compress(Input& in, Sink& out, const CompressOptions& opt) {
  BlockSource src(&in, nullptr, 0, opt);
  return compress_blocks(src, out, opt);
}

Stats compress(const std::uint8_t* data, std::size_t n, Sink& out, const CompressOptions& opt) {
  BlockSource src(nullptr, data, n, opt);
  return compress_blocks(src, out, opt);
}

Bytes compress_buffer(const std::uint8_t* data, std::size_t n, const CompressOptions& opt) {
  struct VecSink : Sink {
    Bytes v;
    void write(const std::uint8_t* d, std::size_t k) override { v.insert(v.end(), d, d + k); }
  } sink;
  compress(data, n, sink, opt);
  return std::move(sink.v);
}

}  // namespace fpgaio::gzip
