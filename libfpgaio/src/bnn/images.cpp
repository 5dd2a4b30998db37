// Image readers: CIFAR-10 binary, IDX, PNM, raw; files, ranges, streams,
// gzip; and IDX labels.
#include "fpgaio/images.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/split.hpp"

namespace fpgaio::images {

const char* format_name(Format f) {
  switch (f) {
    case Format::cifar: return "cifar";
    case Format::idx: return "idx";
    case Format::pnm: return "pnm";
    case Format::raw: return "raw";
  }
  return "?";
}

std::optional<Format> parse_format(const std::string& s) {
  for (Format f : {Format::cifar, Format::idx, Format::pnm, Format::raw})
    if (s == format_name(f)) return f;
  return std::nullopt;
}

std::optional<Format> format_from_name(const std::string& path) {
  std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  auto ends = [&](const char* s) {
    std::size_t n = std::strlen(s);
    return base.size() >= n && base.compare(base.size() - n, n, s) == 0;
  };
  if (ends(".gz")) return format_from_name(path.substr(0, path.size() - 3));
  if (base.find("idx") != std::string::npos && base.find("ubyte") != std::string::npos) return Format::idx;
  if (ends(".pgm") || ends(".ppm") || ends(".pnm")) return Format::pnm;
  if (ends(".bin")) return Format::cifar;
  // A chunk of such a file: name.bin.007 and so on.
  if (auto p = split::parse_part_name(path); p && p->suffix.empty()) return format_from_name(p->stem);
  return std::nullopt;
}

std::optional<Format> format_from_magic(const std::uint8_t* d, std::size_t n) {
  if (n >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 0x08 && d[3] >= 1 && d[3] <= 4) return Format::idx;
  if (n >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '6')) return Format::pnm;
  return std::nullopt;
}

namespace {
// How far an IDX stream is read past the data its header describes, to say
// how long it is (beyond that: "more than").
constexpr std::uint64_t kPastTheEnd = std::uint64_t{1} << 20;

std::string shape_text(const bnn::Shape& s) {
  return std::to_string(s.height) + "x" + std::to_string(s.width) + "x" + std::to_string(s.channels);
}
}  // namespace

// --- Content ------------------------------------------------------------------
//
// The thread decodes into `queue` (at most kContentAhead bytes) and waits
// while it is full; the reader takes from its front. Everything shared is
// under `mu`.

namespace {
struct StopReading {};  // thrown by a sink to end a decode early
}  // namespace

struct Content::Pump {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<std::uint8_t>> queue;
  std::size_t front_used = 0;  // bytes of queue.front() already taken
  std::size_t queued = 0;      // bytes in the queue, not yet taken
  bool done = false, stop = false;
  std::exception_ptr error;
  std::unique_ptr<gzip::Decoder> dec;
  std::thread thread;

  struct QueueSink : Sink {
    Pump& p;
    explicit QueueSink(Pump& pump) : p(pump) {}
    void write(const std::uint8_t* d, std::size_t n) override {
      std::unique_lock<std::mutex> lk(p.mu);
      while (n) {
        p.cv.wait(lk, [&] { return p.stop || p.queued < kContentAhead; });
        if (p.stop) throw StopReading{};
        const std::size_t k = std::min<std::size_t>(n, 1 << 20);
        p.queue.emplace_back(d, d + k);
        p.queued += k, d += k, n -= k;
        p.cv.notify_all();
      }
    }
  };

  void run(bool gzip, const std::string& name) {
    std::exception_ptr err;
    try {
      QueueSink sink(*this);
      if (!gzip) {
        dec->copy_through(sink);
      } else if (dec->run(sink).trailing_garbage) {
        throw Error(ErrorKind::corrupt, "data after the gzip members (trailing garbage)");
      }
    } catch (const StopReading&) {
    } catch (Error& e) {
      e.with_path(name);
      err = std::current_exception();
    } catch (...) {
      err = std::current_exception();
    }
    std::lock_guard<std::mutex> lk(mu);
    error = err;
    done = true;
    cv.notify_all();
  }

  std::size_t take(std::uint8_t* p, std::size_t n) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return queued > 0 || done; });
    if (queued == 0) {
      if (error) std::rethrow_exception(error);
      return 0;
    }
    std::size_t got = 0;
    while (got < n && !queue.empty()) {
      auto& f = queue.front();
      const std::size_t k = std::min(n - got, f.size() - front_used);
      std::memcpy(p + got, f.data() + front_used, k);
      got += k, front_used += k, queued -= k;
      if (front_used == f.size()) queue.pop_front(), front_used = 0;
    }
    cv.notify_all();
    return got;
  }

  ~Pump() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
    }
    cv.notify_all();
    if (thread.joinable()) thread.join();
  }
};

Content::Content(Input& in, std::vector<std::uint8_t> consumed) : in_(in), pending_(std::move(consumed)) {
  if (!pending_.empty()) return;  // taken as it is
  std::uint8_t magic[2];
  if (const auto& range = in.range()) {
    // The file's start says whether it is gzip, whatever the range's does.
    ReadFile f(range->path, in.name());
    ssize_t got = ::pread(f.fd(), magic, 2, 0);
    if (got == 2 && gzip::has_gzip_magic(magic, 2))
      throw Error(ErrorKind::usage, "a byte range of a gzip file cannot be read: its offsets count compressed "
                                    "bytes (give the whole file, or ranges of the decompressed one)")
          .with_path(in.name());
    return;
  }
  if (in.is_regular()) {
    // A file: two bytes, and back to where they were (standard input may
    // be a file read from its middle).
    const std::size_t got = in.read(magic, 2);
    if (got && ::lseek(in.fd(), -static_cast<off_t>(got), SEEK_CUR) < 0)
      throw Error(ErrorKind::io, "cannot seek", errno).with_path(in.name());
    if (got < 2 || !gzip::has_gzip_magic(magic, 2)) return;
  }
  // Gzip, or a stream (read through the decoder, which tells).
  pump_ = std::make_unique<Pump>();
  pump_->dec = std::make_unique<gzip::Decoder>(in, gzip::DecompressOptions{});
  try {
    gzip_ = pump_->dec->is_gzip();
    if (gzip_) part_ = pump_->dec->first_header().part;
  } catch (Error& e) {
    throw e.with_path(in.name());
  }
  Pump* p = pump_.get();
  const bool gz = gzip_;
  const std::string name = in.name();
  p->thread = std::thread([p, gz, name] { p->run(gz, name); });
}

Content::~Content() = default;

std::optional<std::uint64_t> Content::size() const {
  if (pump_ || !(in_.is_regular() || in_.range())) return std::nullopt;
  return static_cast<std::uint64_t>(in_.stat().st_size);
}

std::size_t Content::pull(std::uint8_t* p, std::size_t n) {
  return pump_ ? pump_->take(p, n) : in_.read_some(p, n);
}

const std::vector<std::uint8_t>& Content::peek(std::size_t n) {
  while (pending_.size() < n) {
    std::uint8_t b[64];
    const std::size_t got = pull(b, std::min(sizeof b, n - pending_.size()));
    if (!got) break;
    pending_.insert(pending_.end(), b, b + got);
  }
  return pending_;
}

std::size_t Content::read_some(std::uint8_t* p, std::size_t n) {
  if (n == 0) return 0;
  if (!pending_.empty()) {
    const std::size_t k = std::min(n, pending_.size());
    std::memcpy(p, pending_.data(), k);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(k));
    return k;
  }
  return pull(p, n);
}

std::size_t Content::read(std::uint8_t* p, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const std::size_t k = read_some(p + got, n - got);
    if (!k) break;
    got += k;
  }
  return got;
}

// --- Reader ---------------------------------------------------------------------

Reader::Reader(Content& src, Format format, const bnn::Shape& model, std::optional<bnn::Shape> raw_shape,
               std::optional<std::uint64_t> start)
    : src_(&src), in_(src.input()), format_(format), model_(model) {
  init(model, raw_shape, start);
}

Reader::Reader(Input& in, Format format, const bnn::Shape& model, std::optional<bnn::Shape> raw_shape,
               std::optional<std::uint64_t> start, std::vector<std::uint8_t> consumed)
    : own_(std::make_unique<Content>(in, std::move(consumed))), src_(own_.get()), in_(in), format_(format),
      model_(model) {
  init(model, raw_shape, start);
}

void Reader::init(const bnn::Shape& model, std::optional<bnn::Shape> raw_shape, std::optional<std::uint64_t> start) {
  Input& in = in_;
  const Format format = format_;
  const auto& range = in.range();
  switch (format) {
    case Format::cifar: image_ = bnn::Shape{32, 32, 3}; record_ = 3073; break;
    case Format::raw:
      if (!raw_shape) throw Error(ErrorKind::usage, "raw images need --shape HxWxC");
      image_ = *raw_shape;
      record_ = image_.values();
      if (!record_) throw Error(ErrorKind::usage, "raw images need a shape of at least 1x1x1");
      break;
    case Format::idx: read_header(); break;
    case Format::pnm:
      if (range) throw Error(ErrorKind::usage, "PNM pictures cannot be read from a byte range").with_path(in.name());
      break;
  }
  if (format != Format::pnm) {
    if (image_.channels != model.channels || image_.height > model.height || image_.width > model.width)
      throw Error(ErrorKind::usage, "images are " + shape_text(image_) + " but the model takes " + shape_text(model))
          .with_path(in.name());
    if (range) {
      if (range->offset < header_ || (range->offset - header_) % record_ || range->length % record_)
        throw Error(ErrorKind::usage, "range does not hold whole images of " + std::to_string(record_) + " bytes")
            .with_path(in.name());
      index_ = (range->offset - header_) / record_;
      total_ = range->length / record_;
    } else if (auto known = src_->size()) {
      const std::uint64_t size = *known;
      if ((size - header_) % record_)
        throw Error(ErrorKind::corrupt, std::to_string((size - header_) % record_) + " bytes at the end are not a whole image of " +
                                            std::to_string(record_) + " bytes (truncated?)")
            .with_path(in.name());
      if (!total_) total_ = (size - header_) / record_;
    }
  }
  if (start) index_ = *start;
}

void Reader::read_header() {
  std::uint8_t h[4 + 16];
  const auto& range = in_.range();
  std::unique_ptr<ReadFile> file;
  auto get = [&](std::uint8_t* p, std::size_t n, std::size_t off) {
    if (range) {
      if (!file) file = std::make_unique<ReadFile>(range->path, in_.name());
      file->pread(p, n, off);
    } else if (read_exact(p, n) < n) {
      throw Error(ErrorKind::corrupt, "not an IDX file: header cut short").with_path(in_.name());
    }
  };
  get(h, 4, 0);
  if (h[0] != 0 || h[1] != 0 || h[3] == 0 || h[3] > 4)
    throw Error(ErrorKind::corrupt, "not an IDX file (bad magic)").with_path(in_.name());
  if (h[2] != 0x08) throw Error(ErrorKind::corrupt, "IDX elements are not unsigned bytes").with_path(in_.name());
  get(h + 4, 4u * h[3], 4);
  std::optional<std::uint64_t> size;
  if (!range) size = src_->size();
  auto idx = split::parse_idx(h, 4 + 4u * h[3], in_.name(), size);
  header_ = idx.header_bytes();
  const auto& d = idx.dims;
  if (d.size() == 3) image_ = bnn::Shape{d[1], d[2], 1};
  else if (d.size() == 4) image_ = bnn::Shape{d[1], d[2], d[3]};
  else throw Error(ErrorKind::corrupt, "IDX images need 3 or 4 dimensions").with_path(in_.name());
  record_ = idx.item_bytes();  // not 0: parse_idx refuses empty items
  if (!range) {
    // A whole file or stream holds exactly the images its header counts: a
    // file's size was checked above, a stream is checked as it is read.
    total_ = d[0];
    idx_ = idx;
  }
}

std::uint64_t Reader::count_rest(std::uint64_t limit) {
  std::uint64_t n = 0;
  std::uint8_t buf[1 << 16];
  for (std::size_t got; (got = src_->read_some(buf, sizeof buf)) > 0;)
    if ((n += got) > limit) return limit + 1;
  return n;
}

std::size_t Reader::read_exact(std::uint8_t* p, std::size_t n) { return src_->read(p, n); }

bool Reader::read_pnm_header(bnn::Shape& s) {
  std::uint8_t c;
  if (read_exact(&c, 1) == 0) return false;  // end of the stream
  std::uint8_t kind;
  if (c != 'P' || read_exact(&kind, 1) != 1 || (kind != '5' && kind != '6'))
    throw Error(ErrorKind::corrupt, "not a binary PGM or PPM picture (P5/P6)").with_path(in_.name());
  unsigned v[3];
  for (int i = 0; i < 3; ++i) {
    // Skip white space and comments, then read a decimal number.
    for (;;) {
      if (read_exact(&c, 1) != 1) throw Error(ErrorKind::corrupt, "PNM header cut short").with_path(in_.name());
      if (c == '#') {
        while (read_exact(&c, 1) == 1 && c != '\n') {
        }
        continue;
      }
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    }
    if (c < '0' || c > '9') throw Error(ErrorKind::corrupt, "bad PNM header").with_path(in_.name());
    unsigned long x = 0;
    while (c >= '0' && c <= '9') {
      x = x * 10 + static_cast<unsigned>(c - '0');
      if (x > 1u << 16) throw Error(ErrorKind::corrupt, "PNM picture too large").with_path(in_.name());
      if (read_exact(&c, 1) != 1) throw Error(ErrorKind::corrupt, "PNM header cut short").with_path(in_.name());
    }
    v[i] = static_cast<unsigned>(x);
  }
  if (v[2] != 255) throw Error(ErrorKind::corrupt, "PNM maxval must be 255").with_path(in_.name());
  s = bnn::Shape{v[1], v[0], kind == '5' ? 1u : 3u};
  if (s.channels != model_.channels || s.height > model_.height || s.width > model_.width || !s.height || !s.width)
    throw Error(ErrorKind::usage, "picture is " + shape_text(s) + " but the model takes " + shape_text(model_))
        .with_path(in_.name());
  return true;
}

void Reader::fit(const std::uint8_t* src, const bnn::Shape& s, bool chw, std::uint8_t* dst) const {
  const std::size_t H = model_.height, W = model_.width, C = model_.channels;
  const std::size_t top = (H - s.height) / 2, left = (W - s.width) / 2;
  if (s.height == H && s.width == W) {
    // The model's size (every CIFAR-10 record): a copy, or planes
    // interleaved, in plain loops the compiler keeps tight.
    const std::size_t n = H * W;
    if (!chw) std::memcpy(dst, src, n * C);
    else if (C == 3)
      for (std::size_t i = 0; i < n; ++i) dst[3 * i] = src[i], dst[3 * i + 1] = src[n + i], dst[3 * i + 2] = src[2 * n + i];
    else
      for (std::size_t c = 0; c < C; ++c)
        for (std::size_t i = 0; i < n; ++i) dst[i * C + c] = src[c * n + i];
    return;
  }
  std::memset(dst, 0, H * W * C);
  for (std::size_t y = 0; y < s.height; ++y)
    for (std::size_t x = 0; x < s.width; ++x)
      for (std::size_t c = 0; c < C; ++c)
        dst[((y + top) * W + x + left) * C + c] =
            chw ? src[c * s.height * s.width + y * s.width + x] : src[(y * s.width + x) * C + c];
}

std::size_t Reader::next(std::size_t n, Batch& b) {
  const std::size_t per = model_.values();
  b.pixels.resize(n * per);
  b.labels.assign(n, -1);
  b.first = index_;
  b.count = 0;
  if (format_ == Format::pnm) {
    bnn::Shape s;
    while (b.count < n && read_pnm_header(s)) {
      rec_.resize(s.values());
      if (read_exact(rec_.data(), rec_.size()) < rec_.size())
        throw Error(ErrorKind::corrupt, "picture " + std::to_string(index_) + " is cut short").with_path(in_.name());
      fit(rec_.data(), s, false, b.pixels.data() + b.count * per);
      ++b.count;
      ++index_;
    }
    return b.count;
  }
  if (idx_) {
    // No more images than the header counts, then the end of the input.
    const std::uint64_t left = idx_->dims[0] - read_;
    if (left == 0) {
      std::uint8_t probe;
      if (read_exact(&probe, 1) == 1) {
        // More than the header says: how much more, up to a bound (a
        // stream, a gzip bomb, may go on for ever).
        const std::uint64_t have = header_ + read_ * record_ + 1, more = count_rest(kPastTheEnd);
        if (more > kPastTheEnd)
          throw Error(ErrorKind::corrupt, "IDX header describes " + std::to_string(have - 1) +
                                              " bytes but the file has more than " +
                                              std::to_string(have + kPastTheEnd))
              .with_path(in_.name());
        split::check_idx_size(*idx_, have + more, in_.name());
      }
      return 0;
    }
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, left));
  }
  rec_.resize(n * record_);
  std::size_t got = read_exact(rec_.data(), rec_.size());
  if (idx_ && got < rec_.size()) split::check_idx_size(*idx_, header_ + read_ * record_ + got, in_.name());
  read_ += got / record_;
  if (got % record_)
    throw Error(ErrorKind::corrupt, "ends inside image " + std::to_string(index_ + got / record_) + " (truncated?)")
        .with_path(in_.name());
  b.count = got / record_;
  for (std::size_t i = 0; i < b.count; ++i) {
    const std::uint8_t* r = rec_.data() + i * record_;
    if (format_ == Format::cifar) {
      b.labels[i] = r[0];
      fit(r + 1, image_, true, b.pixels.data() + i * per);
    } else {
      fit(r, image_, false, b.pixels.data() + i * per);
    }
  }
  index_ += b.count;
  return b.count;
}

// --- Labels ------------------------------------------------------------------
//
// A thread decodes the file (gzip or plain) into a Sink that keeps the labels
// of the window [lo, lo + buf.size()) and waits whenever it has passed what
// the reader wants (the label asked for and kReadAhead more); the reader
// moves `want` on and waits for the label. Everything shared is under `mu`.

namespace {
constexpr std::uint64_t kReadAhead = std::uint64_t{1} << 16;
}  // namespace

struct Labels::Impl {
  std::string path;
  std::mutex mu;
  std::condition_variable cv;
  bool can_reread = false;  // a regular file: read again when asked for a label behind the window
  std::uint8_t head[8] = {};
  std::optional<split::IdxHeader> idx;  // once the header has arrived and was checked
  std::optional<std::uint64_t> plain_size;  // a plain regular file's size, checked against the header
  std::uint64_t lo = 0;               // buf holds the labels [lo, lo + buf.size()) (seen >= lo)
  std::vector<std::uint8_t> buf;
  std::uint64_t seen = 0;             // labels decoded so far, kept or skipped
  std::uint64_t want = 0;             // the thread decodes until seen >= want
  std::uint64_t bytes = 0;            // bytes decoded so far
  bool done = false, stop = false;
  std::exception_ptr error;
  std::thread thread;

  ~Impl() { finish(); }
  std::uint64_t count() const { return idx ? idx->dims[0] : 0; }
  void start() {
    done = stop = false;
    error = nullptr;
    seen = bytes = 0;
    buf.clear();
    thread = std::thread([this] { produce(); });
  }
  void finish() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
    }
    cv.notify_all();
    if (thread.joinable()) thread.join();
  }

  // In the thread: the file's bytes, from its start.
  struct LabelSink : Sink {
    Impl& s;
    explicit LabelSink(Impl& impl) : s(impl) {}
    void write(const std::uint8_t* d, std::size_t n) override {
      std::unique_lock<std::mutex> lk(s.mu);
      while (n) {
        if (s.stop) throw StopReading{};
        if (s.bytes < 8) {
          std::size_t k = std::min<std::size_t>(n, static_cast<std::size_t>(8 - s.bytes));
          std::memcpy(s.head + s.bytes, d, k);
          s.bytes += k, d += k, n -= k;
          if (s.bytes >= 4 && s.head[0] == 0 && s.head[1] == 0 && s.head[3] != 1 && s.head[3] != 0) {
            // IDX, but not of one dimension: say so before its header
            // (16 bytes for images) is taken for a short labels header.
            const unsigned dims = s.head[3];
            throw Error(ErrorKind::corrupt, "not an IDX labels file: it has " + std::to_string(dims) +
                                                " dimensions, labels have 1" +
                                                (dims >= 3 ? " (an IDX images file?)" : ""))
                .with_path(s.path);
          }
          if (s.bytes == 8) {
            split::IdxHeader h = split::parse_idx(s.head, 8, s.path, s.plain_size);
            if (h.dims.size() != 1 || h.type != 0x08)
              throw Error(ErrorKind::corrupt, "not an IDX labels file (IDX1 of bytes)").with_path(s.path);
            if (s.idx && s.idx->dims != h.dims)
              throw Error(ErrorKind::corrupt, "the labels file changed while it was read").with_path(s.path);
            s.idx = h;
            s.cv.notify_all();
          }
          continue;
        }
        const std::uint64_t count = s.count();
        if (s.seen >= count) {
          // Past the labels: the rest is counted, never kept, and read only
          // once the last label was asked for (to the end of the file).
          if (s.want < count) throw StopReading{};
          s.bytes += n;
          if (s.bytes - 8 - count > kReadAhead)
            throw Error(ErrorKind::corrupt, "IDX header describes " + std::to_string(8 + count) +
                                                " bytes but the file has more than " + std::to_string(s.bytes))
                .with_path(s.path);
          return;
        }
        while (s.seen >= s.want && !s.stop) s.cv.wait(lk);
        if (s.stop) throw StopReading{};
        std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>({n, s.want - s.seen, count - s.seen}));
        // Labels before the window are skipped; the reader keeps `want`
        // within kLabelWindow of lo, so the window stays that small.
        std::size_t skip = s.seen < s.lo ? static_cast<std::size_t>(std::min<std::uint64_t>(k, s.lo - s.seen)) : 0;
        s.buf.insert(s.buf.end(), d + skip, d + k);
        s.seen += k, s.bytes += k, d += k, n -= k;
        s.cv.notify_all();
      }
    }
  };

  void produce() {
    std::exception_ptr err;
    try {
      Input in(path);
      // A file whose stat lies about its size (/proc, /sys) is read to
      // learn it, as the images are: a plain file's size is held to its header.
      in.learn_size();
      gzip::Decoder dec(in, {});
      LabelSink sink(*this);
      if (dec.is_gzip()) {
        try {
          if (dec.run(sink).trailing_garbage)
            throw Error(ErrorKind::corrupt, "data after the gzip members (trailing garbage)");
        } catch (Error& e) {
          throw e.with_path(path);
        }
      } else {
        {
          std::lock_guard<std::mutex> lk(mu);
          if (in.is_regular()) plain_size = static_cast<std::uint64_t>(in.stat().st_size);
        }
        dec.copy_through(sink);
      }
      std::lock_guard<std::mutex> lk(mu);
      // The whole file was read: its size against its header.
      if (bytes < 8) split::parse_idx(head, static_cast<std::size_t>(bytes), path, bytes);
      split::check_idx_size(*idx, bytes, path);
    } catch (const StopReading&) {
    } catch (...) {
      err = std::current_exception();
    }
    std::lock_guard<std::mutex> lk(mu);
    error = err;
    done = true;
    cv.notify_all();
  }
};

Labels::Labels(const std::string& path) : impl_(std::make_shared<Impl>()) {
  Impl& s = *impl_;
  s.path = path;
  {
    // Whether it can be read again: a regular file (after symlinks).
    struct stat st;
    s.can_reread = ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  }
  s.start();
  std::unique_lock<std::mutex> lk(s.mu);
  s.cv.wait(lk, [&] { return s.idx || s.done; });
  if (!s.idx) {
    std::exception_ptr e = s.error;
    lk.unlock();
    s.finish();
    if (e) std::rethrow_exception(e);
    throw Error(ErrorKind::corrupt, "not an IDX labels file").with_path(path);
  }
}

Labels::~Labels() = default;

const std::string& Labels::path() const { return impl_->path; }

std::uint64_t Labels::count() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->count();
}

std::uint8_t Labels::at(std::uint64_t i) {
  Impl& s = *impl_;
  std::unique_lock<std::mutex> lk(s.mu);
  const std::uint64_t count = s.count();
  if (i >= count) throw Error(ErrorKind::usage, "no label for image " + std::to_string(i)).with_path(s.path);
  if (i < s.lo) {
    // Behind the window: a file is read again from its start; a stream
    // cannot be.
    if (!s.can_reread)
      throw Error(ErrorKind::usage, "the label of image " + std::to_string(i) +
                                        " was passed: labels from a stream are read once, in order of the "
                                        "image numbers (give them as a file)")
          .with_path(s.path);
    lk.unlock();
    s.finish();
    lk.lock();
    s.lo = i;
    s.want = 0;
    s.start();
  }
  const std::uint64_t want = std::min(count, i + 1 + kReadAhead);
  if (want > s.want) {
    s.want = want;
    if (s.want - s.lo > kLabelWindow) {
      // The window moves on: the labels before it are let go.
      const std::uint64_t lo = s.want - kLabelWindow;
      const std::uint64_t drop = std::min<std::uint64_t>(s.buf.size(), lo - s.lo);
      s.buf.erase(s.buf.begin(), s.buf.begin() + static_cast<std::ptrdiff_t>(drop));
      s.lo = lo;
    }
    s.cv.notify_all();
  }
  // The last label waits for the end of the file (its size, its checks).
  const bool last = i + 1 == count;
  s.cv.wait(lk, [&] { return s.done || (i - s.lo < s.buf.size() && !last); });
  // An error past this label (within the read-ahead) is not this label's:
  // it is reported when a label at or after it is asked for.
  if (i - s.lo < s.buf.size() && !last) return s.buf[static_cast<std::size_t>(i - s.lo)];
  if (s.error) std::rethrow_exception(s.error);
  if (i - s.lo >= s.buf.size())
    throw Error(ErrorKind::corrupt, "the labels end before image " + std::to_string(i) + "'s").with_path(s.path);
  return s.buf[static_cast<std::size_t>(i - s.lo)];
}

}  // namespace fpgaio::images
