// Decompression: indexed members (FT, BGZF) in parallel, others streamed with
// ISA-L while a writer thread overlaps the output.
//
// Memory is bounded whatever the input and the thread count: the members in
// the pool and the free pages kept for reuse hold at most kWindowBytes
// (compressed and inflated bytes counted together), the writer thread one
// queued buffer of at most kHeapMax (bigger outputs are handed over
// in pieces), and the writer and Pages at most kMaxSpares spare ones each,
// the read buffer kReadChunk, a header kMaxHeaderString per string.
//
// On an error, everything before the damage still reaches the sink, in
// order: the members already read are delivered, then what inflates of the
// damaged member (as gzip writes what it inflated before it noticed), and
// only then is the error thrown.
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/pipeline.hpp"
#include "le.hpp"

namespace fpgaio::gzip {

namespace {
constexpr std::size_t kReadChunk = 256 << 10;
constexpr std::size_t kOutChunk = 1 << 20;
// A streamed member is inflated this much at a time: ISA-L checks the CRC-32
// of each piece while it is still in the core's L2 cache, and the writer's
// few buffers fault in fewer pages (1 MiB pieces cost 8% more CPU time than
// igzip -d; these, within the noise of it: bench/RESULTS.md, issue 26).
constexpr std::size_t kStreamChunk = 256 << 10;
// Streamed output goes to the writer thread this much at a time: every
// hand-off is a write(2) and a futex wake and wait (per 256 KiB they cost
// more than igzip -d, which writes a MiB at a time); every buffer the
// writer queues is more pages to fault in (1 MiB ones did; issue 26).
constexpr std::size_t kGather = 512 << 10;
// Members larger than this are streamed rather than held whole in memory.
constexpr std::uint64_t kMaxParallelMember = (64u << 20) + (1u << 20);
constexpr std::uint32_t kMaxParallelIsize = 64u << 20;
// The most bytes that members in the pool hold at once (their compressed
// body and their output). Two 64 MiB members fit; a hundred 1 MiB ones do.
constexpr std::uint64_t kWindowBytes = 160u << 20;

using detail::le32;

Error& locate(Error& e, std::uint64_t member, std::uint64_t offset) {
  if (member == 0) return e;  // before the first member: "not in gzip format"
  if (!e.member) e.in_member(member);
  if (!e.offset) e.at(offset);
  return e;
}

// Buffers larger than this come from Pages rather than the heap. Members of
// fpga-gzip's default 2 MiB block are under it, so their output goes to the
// writer whole: copied in 1 MiB pieces out of Pages, -dc -p 2 of them took
// 15-20% more CPU time than of 1 MiB members (issue 26).
constexpr std::size_t kHeapMax = (2u << 20) + (64 << 10);
// The most heap buffers kept for reuse, by the writer and by Pages each.
constexpr std::size_t kMaxSpares = 16;

// Page-aligned buffers for big members, straight from mmap. The allocator
// would keep freed memory mapped (in its per-thread arenas, and through
// fragmentation: members of mixed sizes from 1 to 64 MiB took 254 MiB at
// -p 64 with a 160 MiB window), so these are kept here instead, where they
// are counted: free ones are reused (faulting fresh pages in costs as much
// as inflating), and unmapped when the window needs the room.
class Pages {
 public:
  // keep_heap: how many heap buffers (of at most kHeapMax) are kept for reuse.
  explicit Pages(std::size_t keep_heap) : keep_heap_(keep_heap) {}
  Pages(const Pages&) = delete;
  Pages& operator=(const Pages&) = delete;
  ~Pages() { trim(0); }

  // A buffer of at least n bytes: a free one that fits, else a new mapping
  // of n rounded up to a whole MiB.
  std::pair<std::uint8_t*, std::size_t> get(std::size_t n) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      auto best = free_.end();
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if (it->second >= n && (best == free_.end() || it->second < best->second)) best = it;
      if (best != free_.end()) {
        auto r = *best;
        free_.erase(best);
        free_bytes_ -= r.second;
        return r;
      }
    }
    std::size_t cap = (n + kOutChunk - 1) / kOutChunk * kOutChunk;
    void* p = ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw Error(ErrorKind::io, "out of memory", errno);
    // Huge pages for the 2 MiB-aligned stretches, where the kernel has them
    // (io.hpp, huge_mapping: a fault a 2 MiB page, not 512).
    if (fpgaio::detail::huge_mapping(cap)) ::madvise(p, cap, MADV_HUGEPAGE);
    return {static_cast<std::uint8_t*>(p), cap};
  }
  void put(std::uint8_t* p, std::size_t cap) {
    std::lock_guard<std::mutex> lk(mu_);
    free_.emplace_back(p, cap);
    free_bytes_ += cap;
  }
  // Heap buffers of members are reused as well: a fresh MiB faults its
  // pages in, which cost fpga-gzip -d -p 2 a third of its CPU time (12,000
  // page faults for 256 MiB; issue 26).
  Bytes get_heap() {
    std::lock_guard<std::mutex> lk(mu_);
    if (heap_.empty()) return {};
    Bytes b = std::move(heap_.back());
    heap_.pop_back();
    return b;
  }
  void put_heap(Bytes&& b) {
    if (b.capacity() == 0) return;
    std::lock_guard<std::mutex> lk(mu_);
    if (heap_.size() < keep_heap_) heap_.push_back(std::move(b));
  }
  // Unmaps free buffers, oldest first, until at most `keep` bytes are free.
  void trim(std::uint64_t keep) {
    std::lock_guard<std::mutex> lk(mu_);
    while (free_bytes_ > keep && !free_.empty()) {
      ::munmap(free_.front().first, free_.front().second);
      free_bytes_ -= free_.front().second;
      free_.pop_front();
    }
  }

 private:
  std::mutex mu_;
  std::deque<std::pair<std::uint8_t*, std::size_t>> free_;
  std::uint64_t free_bytes_ = 0;
  std::vector<Bytes> heap_;
  std::size_t keep_heap_;
};

// A member's body or output: from the heap up to kHeapMax (so that an
// output can go to the writer thread without a copy), else from Pages.
class Buffer {
 public:
  Buffer() = default;
  // `reuse`: an empty heap buffer to take before asking `pages` for one.
  Buffer(Pages& pages, std::size_t n, Bytes reuse = {}) : pages_(&pages), size_(n) {
    if (n <= kHeapMax) {
      heap_ = reuse.capacity() ? std::move(reuse) : pages.get_heap();
      fpgaio::detail::reserve_huge(heap_, n);
      heap_.resize(n);
    } else {
      std::tie(map_, cap_) = pages.get(n);
    }
  }
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      release();
      heap_ = std::move(o.heap_);
      pages_ = o.pages_;
      map_ = o.map_;
      size_ = o.size_;
      cap_ = o.cap_;
      o.pages_ = nullptr;
      o.map_ = nullptr;
      o.size_ = o.cap_ = 0;
    }
    return *this;
  }
  ~Buffer() { release(); }

  std::uint8_t* data() { return map_ ? map_ : heap_.data(); }
  const std::uint8_t* data() const { return map_ ? map_ : heap_.data(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::size_t footprint() const { return map_ ? cap_ : size_; }  // bytes it holds
  void shrink(std::size_t n) {
    size_ = std::min(size_, n);
    if (!map_) heap_.resize(size_);
  }
  // Hands the bytes to the writer: heap buffers whole, mapped ones copied
  // in pieces of kOutChunk (the writer keeps one queued and a few spare
  // buffers, so it never holds more than a few MiB).
  void write_to(AsyncSink& out) {
    if (!map_) {
      if (!heap_.empty()) out.write(std::move(heap_));
    } else {
      for (std::size_t i = 0; i < size_; i += kOutChunk) out.write(map_ + i, std::min(kOutChunk, size_ - i));
    }
    release();
  }
  void release() {
    if (map_) pages_->put(map_, cap_);
    if (pages_ && heap_.capacity()) pages_->put_heap(std::move(heap_));
    Bytes().swap(heap_);
    map_ = nullptr;
    size_ = cap_ = 0;
  }

 private:
  Bytes heap_;
  Pages* pages_ = nullptr;
  std::uint8_t* map_ = nullptr;
  std::size_t size_ = 0, cap_ = 0;
};

#ifdef FPGAIO_WITH_ISAL
// Inflates a whole member body (deflate data and trailer) with ISA-L, whose
// inflate took 27% less CPU time than libdeflate's on our own -6 members
// here, kStreamChunk at a time into `out`, so that it checks the CRC-32 of
// each piece while the piece is in this core's cache (not in a second pass
// over the MiB). True when the body is exactly a member of `isize` bytes
// with a matching trailer; on anything else the caller decodes it again
// with libdeflate, which words the error as before.
bool inflate_checked(const Buffer& m, std::uint32_t isize, Buffer& out) {
  if (isize == 0) return false;
  thread_local StreamInflater inf(StreamInflater::Mode::gzip_member);
  inf.reset();
  std::size_t used = 0, got = 0;
  try {
    for (;;) {
      auto s = inf.step(m.data() + used, m.size() - used, out.data() + got, std::min<std::size_t>(kStreamChunk, isize - got));
      if (s.consumed < 0 && static_cast<std::size_t>(-s.consumed) > used) return false;
      used = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(used) + s.consumed);
      got += s.produced;
      if (s.finished) return used == m.size() && got == isize;
      if (s.consumed == 0 && s.produced == 0) return false;
    }
  } catch (const Error&) {
    return false;
  }
}
#endif

// Inflates one whole indexed member body (deflate data and trailer) into
// `out`, which has the size the trailer gives, and checks the trailer.
// `ft_isize` is the FT subfield's size, if any.
void decode_body(const Buffer& m, std::optional<std::uint32_t> ft_isize, bool list_only, Buffer& out) {
  std::uint32_t want_crc = le32(m.data() + m.size() - 8);
  std::uint32_t isize = le32(m.data() + m.size() - 4);
  if (ft_isize && *ft_isize != isize) throw_corrupt("uncompressed size in header and trailer differ", Damage::length);
  if (list_only) return;
#ifdef FPGAIO_WITH_ISAL
  // (Not for members smaller than kStreamChunk, BGZF's 64 KiB ones: there
  // ISA-L's stream set-up costs more than it saves; 256 MiB of the Linux tar
  // as bgzip's members, -d: 0.39-0.43 s of CPU with libdeflate, 0.47-0.48 s
  // with ISA-L.)
  if (isize >= kStreamChunk && inflate_checked(m, isize, out)) return;
#endif
  // (Damaged members, and builds without ISA-L: the error is worded here.)
  std::size_t body = m.size() - 8;
  std::size_t used = inflate_whole(m.data(), body, out.data(), isize);
  if (used != body) throw_corrupt("member size in header does not match its deflate data", Damage::format);
  if (crc32(0, out.data(), out.size()) != want_crc) throw_corrupt("CRC-32 mismatch", Damage::crc);
}

// What a pool job gives back: the member's output, or its error and its body
// (to write what of it inflates before the error).
struct Decoded {
  Buffer out;
  std::uint64_t cost = 0;  // bytes it was counted for in the window
  std::exception_ptr error;
  Buffer body;
  std::optional<std::uint32_t> limit;
};

// A member for the pool.
// (Not its Header: names of a MiB in every member would add up uncounted.)
struct Job {
  Buffer body;
  std::uint64_t member = 0, offset = 0;
  bool list_only = false;
  std::optional<std::uint32_t> limit;  // the FT subfield's size
  Decoded r;
};

// The output of one streamed member: counted, and for FT members never more
// than the header declares.
struct Streamed {
  std::optional<std::uint64_t> limit;
  std::uint64_t produced = 0;
};
}  // namespace

struct Decoder::Impl {
  Input& in;
  DecompressOptions opt;
  Bytes buf = Bytes(kReadChunk);
  std::size_t pos = 0, end = 0;
  std::uint64_t base = 0;  // input offset of buf[0]
  bool eof = false;
  std::optional<Header> first;
  std::uint64_t first_offset = 0;

  Impl(Input& i, DecompressOptions o) : in(i), opt(std::move(o)) {}

  // The writer, while run() has one: it sleeps until a MiB is queued, so
  // it is woken before every read (which may wait on a slow pipe): what is
  // decoded does not sit in its queue while the input is waited for.
  AsyncSink* writer = nullptr;
  std::size_t read_some(std::uint8_t* p, std::size_t n) {
    if (writer) writer->wake();
    return in.read_some(p, n);
  }

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
      std::size_t r = read_some(buf.data() + end, buf.size() - end);
      if (r == 0) eof = true;
      end += r;
    }
    return avail();
  }

  // The next n input bytes (fewer when the input ends first). What the read
  // buffer does not hold is read straight into the result, so the buffer
  // never grows to a member's size.
  Buffer take(Pages& pages, std::size_t n) {
    if (n <= buf.size()) fill(n);
    Buffer m(pages, n);
    std::size_t k = std::min(n, avail());
    std::memcpy(m.data(), data(), k);
    consume(k);
    if (k < n) {
      base += end;
      pos = end = 0;
      while (k < n && !eof) {
        std::size_t r = read_some(m.data() + k, n - k);
        if (r == 0) eof = true;
        k += r;
        base += r;
      }
      m.shrink(k);
    }
    return m;
  }

  // Parses and consumes the header at the current position, one buffer at a
  // time (so a long name costs linear time and no memory beyond what the
  // Header keeps).
  Header read_header() {
    HeaderParser p;
    for (;;) {
      if (avail() == 0 && fill(1) == 0) throw_corrupt("unexpected end of file in a gzip header", Damage::truncated);
      consume(p.feed(data(), avail()));
      if (p.done()) return std::move(p.header());
    }
  }

  // The input as the foreign decoders (formats.hpp) read it.
  struct Reader : ByteReader {
    Impl& d;
    explicit Reader(Impl& i) : d(i) {}
    std::size_t fill(std::size_t n) override { return d.fill(n); }
    const std::uint8_t* data() const override { return d.data(); }
    std::size_t avail() const override { return d.avail(); }
    void consume(std::size_t n) override { d.consume(n); }
  };

  // Copies the rest of the input to `out`; returns the bytes copied.
  std::uint64_t copy_rest(Sink& out) {
    std::uint64_t n = 0;
    for (;;) {
      if (avail() == 0) {
        base += end;
        pos = end = 0;
        if (eof) break;
        end = read_some(buf.data(), buf.size());
        if (end == 0) {
          eof = true;
          break;
        }
      }
      out.write(data(), avail());
      n += avail();
      consume(avail());
    }
    return n;
  }

  bool rest_is_zero() {
    for (;;) {
      if (!std::all_of(data(), data() + avail(), [](std::uint8_t b) { return b == 0; })) return false;
      consume(avail());
      if (fill(1) == 0) return true;
    }
  }

  // Streamed output gathers here, kStreamChunk per inflate step, and goes
  // to the writer kGather at a time (pend_n bytes of pend are filled).
  Bytes pend;
  std::size_t pend_n = 0;

  // Hands what is gathered to the writer. Called before anything else is
  // written and when a streamed member ends or fails.
  void flush_pending(AsyncSink& out) {
    if (pend_n == 0) return;
    pend.resize(pend_n);
    pend_n = 0;
    out.write(std::move(pend));
    pend = Bytes();
  }

  // Inflates from p[0, n) until the member ends or the inflater needs more
  // input, gathering the output (handed to the writer when kGather is full,
  // when the member ends and on an error; a caller that stops early calls
  // flush_pending). Returns the bytes used; `finished` when the trailer was
  // read and checked.
  std::size_t inflate_span(StreamInflater& inf, const std::uint8_t* p, std::size_t n, AsyncSink& out,
                           DecompressResult& res, Streamed& st, bool& finished) {
    std::size_t used = 0;
    try {
      for (;;) {
        if (pend_n == 0) {
          if (pend.capacity() < kGather) pend = out.acquire();
          pend.resize(kGather);
        }
        auto s = inf.step(p + used, n - used, pend.data() + pend_n, std::min(kStreamChunk, kGather - pend_n));
        // Read-ahead handed back at the member's end lies in this span.
        if (s.consumed < 0 && static_cast<std::size_t>(-s.consumed) > used)
          throw_corrupt("inflater handed back bytes it was not given", Damage::format);
        used = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(used) + s.consumed);
        if (s.produced) {
          std::size_t keep = s.produced;
          bool over = st.limit && st.produced + keep > *st.limit;
          if (over) keep = static_cast<std::size_t>(*st.limit - st.produced);
          pend_n += keep;
          st.produced += keep;
          res.stats.out_bytes += keep;
          if (over) throw_corrupt("more data than the declared size " + std::to_string(*st.limit), Damage::length);
          if (pend_n == kGather) flush_pending(out);
          if (opt.progress) opt.progress(offset(), res.stats.out_bytes);
        }
        finished = s.finished;
        if (finished) flush_pending(out);
        if (s.finished || (s.consumed == 0 && s.produced == 0)) return used;
      }
    } catch (...) {
      flush_pending(out);  // what inflated before the error goes out first
      throw;
    }
  }

  // Streams the member body at the current position; returns the bytes used.
  std::uint64_t stream_member(StreamInflater& inf, AsyncSink& out, DecompressResult& res, Streamed& st) {
    inf.reset();
    std::uint64_t used = 0;
    try {
      for (;;) {
        if (avail() == 0 && fill(1) == 0) throw_corrupt("unexpected end of file", Damage::truncated);
        bool finished = false;
        std::size_t c = inflate_span(inf, data(), avail(), out, res, st, finished);
        consume(c);
        used += c;
        if (finished) break;
        if (avail() > 0) {  // the inflater needs more than the buffer holds
          if (eof) throw_corrupt("unexpected end of file", Damage::truncated);
          fill(avail() + 1);
        }
      }
    } catch (...) {
      flush_pending(out);  // what inflated before the input ended goes out first
      throw;
    }
    res.last_crc = inf.crc();
    return used;
  }

  // Writes what inflates of a damaged member's body (cut short, or failing
  // a check), as gzip does before it reports the damage. Stops quietly at
  // invalid data; write errors are thrown.
  void salvage(StreamInflater& inf, const Buffer& body, std::optional<std::uint32_t> limit, AsyncSink& out,
               DecompressResult& res) {
    if (body.empty() || opt.list_only) return;
    inf.reset();
    Streamed st;
    st.limit = limit;
    bool finished = false;
    try {
      inflate_span(inf, body.data(), body.size(), out, res, st, finished);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::corrupt) throw;
    }
    flush_pending(out);
  }
};

Decoder::Decoder(Input& in, DecompressOptions opt) : impl_(std::make_unique<Impl>(in, std::move(opt))) {}
Decoder::~Decoder() = default;

bool Decoder::is_gzip() {
  std::size_t a = impl_->fill(2);
  return has_gzip_magic(impl_->data(), a);
}

std::optional<Format> Decoder::format() {
  std::size_t a = impl_->fill(4);
  return detect_format(impl_->data(), a, true, impl_->opt.detect_zlib);
}

bool Decoder::shorter_than_magic() { return impl_->fill(2) < 2; }

const Header& Decoder::first_header() {
  if (!impl_->first) {
    impl_->first_offset = impl_->offset();
    try {
      impl_->first = impl_->read_header();
    } catch (Error& e) {
      throw locate(e, 1, impl_->first_offset);
    }
  }
  return *impl_->first;
}

DecompressResult Decoder::run(Sink& sink) {
  Impl& d = *impl_;
  DecompressResult res;
  unsigned threads = d.opt.threads ? d.opt.threads : 1;
  // Written outputs come back for the next members' (a window's worth).
  const std::size_t spares = std::min<std::size_t>(2 * threads + 8, kMaxSpares);
  // A MiB of queued output keeps the writer busy (it writes a MiB in a fraction
  // of the time a MiB takes to inflate); each further one, and each job in
  // the pool's window beyond one queued per worker, is a MiB more to fault
  // in. Own -6 members of 256 MiB of the access log, -p 2: 4,000 page
  // faults and 0.37 s of CPU with a queue of 4 and a window of 2t + 2,
  // 2,960 and 0.29-0.31 s with 2 and t + 2, 2,070-2,700 and 0.27 s with 1
  // and t + 2 (two igzip -d on the halves: 1,640 and 0.26 s; issue 26).
  // The bound is in bytes (a MiB, up to 16 buffers), not one buffer: BGZF's
  // 64 KiB members queued one at a time cost a futex hand-off each, and
  // bgzip -d's files went from 0.95 to 1.32 ns/B of CPU (bench/gzip.sh
  // QUICK=1 BENCH_MB=512, quiet machine); with the byte bound, equal to
  // before again, and own -6 members keep their 2,160 page faults.
  // The writer is woken once a MiB is queued, not for every buffer (half
  // the futex wake-ups on streamed members, a sixteenth on BGZF's).
  AsyncSink out(sink, 16, spares, kOutChunk, kOutChunk);
  struct Unhook {
    Impl& d;
    ~Unhook() { d.writer = nullptr; }
  } unhook{d};
  d.writer = &out;
  StreamInflater inf;
  const bool list_only = d.opt.list_only;
  std::uint64_t in_pool = 0;  // bytes held by members in the pool
  bool pool_failed = false;   // the pool delivered an error: deliver nothing after it
  Pages pages(spares);  // (declared before the pool: jobs give their buffers back)
  OrderedPool<Decoded> pool(threads, threads + 2, [&](Decoded& r) {
    in_pool -= r.cost;
    if (r.error) {
      pool_failed = true;
      d.salvage(inf, r.body, r.limit, out, res);
      std::rethrow_exception(r.error);
    }
    res.stats.out_bytes += r.out.size();
    r.out.write_to(out);
    if (d.opt.progress) d.opt.progress(d.offset(), res.stats.out_bytes);
  });
  // Waits until the pool has room for `bytes` more, and unmaps free pages
  // beyond what is left, so that the pool's and the free pages' bytes
  // together stay within the window.
  auto reserve = [&](std::uint64_t bytes) {
    while (in_pool > 0 && in_pool + bytes > kWindowBytes) pool.deliver_next();
    pages.trim(kWindowBytes > in_pool + bytes ? kWindowBytes - in_pool - bytes : 0);
  };
  std::uint64_t member = 0;
  bool open_ft_stream = false;  // an FT data member was seen and no end marker after it
  bool all_indexed = true;
  std::uint64_t moff = 0;
  std::exception_ptr failed;
  Buffer cut_body;  // a member cut short by the end of the input
  std::optional<std::uint32_t> cut_limit;
  try {
    for (;;) {
      if (member > 0 || !d.first) {  // (the first header may have been read already)
        std::size_t a = d.fill(4);
        res.members_end = d.offset();
        if (a == 0) break;
        auto f = detect_format(d.data(), a, member == 0, d.opt.detect_zlib);
        if (!f) {
          // What follows is no member: gzip's rules (measured on gzip 1.12).
          if (d.opt.pass_through) {  // -cdf: copied as it is
            pool.drain();
            res.stats.out_bytes += d.copy_rest(out);
            break;
          }
          if (member == 0) throw_corrupt("not in gzip format", Damage::not_gzip);
          if (d.data()[0] == 0) {  // zeros to the end are ignored silently
            if (!d.rest_is_zero()) res.trailing_garbage = true;
            break;
          }
          // One more byte that is not zero: gzip reads a magic number of
          // two bytes and finds the input cut short.
          if (a == 1) throw_corrupt("unexpected end of file", Damage::truncated);
          res.trailing_garbage = true;
          break;
        }
        if (*f != Format::gzip) {
          ++member;
          moff = d.offset();
          all_indexed = false;
          pool.drain();
          if (member == 1) res.format = *f;
          Impl::Reader r(d);
          ForeignResult fr;
          switch (*f) {
            case Format::lzw: fr = decode_lzw(r, out); break;
            case Format::pack: fr = decode_pack(r, out); break;
            case Format::zip: fr = decode_zip(r, out); break;
            case Format::zlib: fr = decode_zlib(r, out); break;
            case Format::gzip: break;
          }
          res.stats.out_bytes += fr.out_bytes;
          res.last_crc = fr.crc;
          res.crc = crc32_combine(res.crc, fr.crc, fr.out_bytes);
          res.warnings.insert(res.warnings.end(), fr.warnings.begin(), fr.warnings.end());
          if (fr.more_entries) res.zip_more_entries = true;
          // gzip reads nothing after compress data (it runs to the end) or
          // after a zip entry (the rest is the zip's directory).
          if (*f == Format::lzw || *f == Format::zip) {
            res.members_end = d.offset();
            break;
          }
          continue;
        }
      }
      ++member;
      Header h;
      if (member == 1) {
        h = first_header();
        moff = d.first_offset;
        res.first = h;
      } else {
        moff = d.offset();
        h = d.read_header();
      }
      bool ft = h.index == Index::ft;
      if (ft) open_ft_stream = !h.end_of_stream;
      std::optional<std::uint32_t> limit;
      if (ft) limit = h.isize;
      // A version-2 member (a file of one block) is streamed, its FT member
      // size not trusted: a joiner that predates version 2 (fpga-cat before
      // issue 21) copies it as a foreign member, renaming FNAME, and leaves
      // that size stale; gzip reads such a file, so we do. One member needs
      // no parallel decoding; its data size, CRC-32 and trailer are checked.
      const bool v2 = ft && h.ft_version == kSubfieldVersionEnds;
      bool whole = h.index != Index::none && !v2 && h.member_size <= kMaxParallelMember &&
                   (!ft || h.isize <= kMaxParallelIsize);
      if (whole) {
        auto body_size = static_cast<std::size_t>(h.member_size - h.length);
        // FT members are counted before they are read (their header gives
        // both sizes); BGZF members (at most 64 KiB) once their trailer is in.
        if (ft) reserve(body_size + (list_only ? 0 : h.isize));
        Buffer m = d.take(pages, body_size);
        if (m.size() < body_size) {
          cut_body = std::move(m);
          cut_limit = limit;
          throw_corrupt("unexpected end of file (truncated member)", Damage::truncated);
        }
        std::uint32_t isize = le32(m.data() + m.size() - 4);
        if (!ft && isize > kMaxParallelIsize) {
          // A BGZF header with more output than we hold whole: stream it.
          all_indexed = false;
          pool.drain();
          inf.reset();
          Streamed st;
          bool finished = false;
          std::size_t used = d.inflate_span(inf, m.data(), m.size(), out, res, st, finished);
          d.flush_pending(out);
          if (!finished || used != m.size()) throw_corrupt("member size in header does not match its deflate data", Damage::format);
          res.last_crc = inf.crc();
          res.crc = crc32_combine(res.crc, res.last_crc, st.produced);
          continue;
        }
        if (!ft) reserve(m.size() + (list_only ? 0 : isize));
        res.last_crc = le32(m.data() + m.size() - 8);
        res.crc = crc32_combine(res.crc, res.last_crc, isize);  // (checked by the job unless list_only)
        if (list_only) res.stats.out_bytes += isize;
        auto job = std::make_shared<Job>();
        // The output buffer is allocated here, in one thread, not by the
        // workers: the allocator keeps memory freed to its per-thread arenas
        // (64 workers held over 500 MiB for 16 MiB members).
        if (!list_only) job->r.out = Buffer(pages, isize, out.acquire());
        job->r.cost = m.footprint() + job->r.out.footprint();
        in_pool += job->r.cost;
        job->body = std::move(m);
        job->member = member;
        job->offset = moff;
        job->list_only = list_only;
        job->limit = limit;
        pool.submit([job] {
          Decoded& r = job->r;
          try {
            decode_body(job->body, job->limit, job->list_only, r.out);
          } catch (Error& e) {
            locate(e, job->member, job->offset);
            r.error = std::current_exception();
            r.body = std::move(job->body);
            r.limit = job->limit;
            r.out.release();
          } catch (...) {
            r.error = std::current_exception();
          }
          job->body.release();
          return std::move(r);
        });
      } else {
        all_indexed = false;
        pool.drain();
        Streamed st;
        st.limit = limit;
        std::uint64_t used = d.stream_member(inf, out, res, st);
        if (h.index != Index::none && !v2 && h.length + used != h.member_size)
          throw_corrupt("member size in header does not match its deflate data", Damage::format);
        if (ft && st.produced != h.isize) throw_corrupt("uncompressed size in header and trailer differ", Damage::length);
        res.crc = crc32_combine(res.crc, res.last_crc, st.produced);
      }
    }
    pool.drain();
  } catch (Error& e) {
    locate(e, member, moff);
    failed = std::current_exception();
  }
  if (failed) {
    // What came before the damage goes out first. An earlier member's error,
    // found while delivering, is the one reported.
    try {
      if (!pool_failed) pool.drain();
      d.flush_pending(out);
    } catch (...) {
      out.flush();
      throw;
    }
    d.salvage(inf, cut_body, cut_limit, out, res);
    out.flush();
    std::rethrow_exception(failed);
  }
  out.flush();
  if (open_ft_stream) {
    Error e(ErrorKind::corrupt, "unexpected end of file: the end-of-stream member is missing (file cut short?)");
    e.in_member(member + 1).at(d.offset());
    e.damage = Damage::truncated;
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
