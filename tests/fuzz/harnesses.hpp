// The fuzz harnesses, one function per libFuzzer target. Each takes any bytes
// and checks what must hold for them: the library accepts or refuses them
// with an fpgaio::Error (never a crash, a hang or another exception), and what
// it accepts is read the same way by every path that can read it (file and
// stream, whole file and byte range, every BNN code path, a model's parse and
// its load). A broken rule throws fuzzh::Violation.
//
// Header-only so that the same code runs in two places: the fuzzers
// (fuzz_<target>.cpp, built by `make fuzz` with the sanitizers) and the unit
// test that replays tests/fuzz/regressions/<target>-* and tests/fuzz/seeds/
// <target>/ in `make test` (tests/unit/regression_test.cpp).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fpgaio/bnn.hpp"
#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/formats.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/images.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/split.hpp"
#include "../unit/files.hpp"  // zlib_gzip

namespace fuzzh {

using testutil::zlib_gzip;

using fpgaio::Bytes;
using fpgaio::Error;

struct Violation : std::logic_error {
  using std::logic_error::logic_error;
};

inline void check(bool ok, const std::string& rule) {
  if (!ok) throw Violation(rule);
}

// Reads the fuzz input front to back; past the end everything is 0.
class Take {
 public:
  Take(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  std::uint8_t byte() { return pos_ < n_ ? d_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(byte() | byte() << 8); }
  Bytes bytes(std::size_t k) {
    k = std::min(k, n_ - pos_);
    Bytes b(d_ + pos_, d_ + pos_ + k);
    pos_ += k;
    return b;
  }
  Bytes rest() { return bytes(n_ - pos_); }
  std::size_t left() const { return n_ - pos_; }

 private:
  const std::uint8_t* d_;
  std::size_t n_, pos_ = 0;
};

// `data` in a memfd: a regular file with a path.
struct MemFile {
  int fd;
  explicit MemFile(const Bytes& data) : fd(::memfd_create("fuzz", 0)) {
    if (fd < 0) std::abort();
    fpgaio::full_write(fd, data.data(), data.size(), "memfd");
    ::lseek(fd, 0, SEEK_SET);
  }
  ~MemFile() { ::close(fd); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd); }
};

// `data` in a pipe whose writer is closed: a stream with a path. `ok` is
// false when the data does not fit in the pipe (then there is no stream).
struct Pipe {
  int fds[2] = {-1, -1};
  bool ok = false;
  explicit Pipe(const Bytes& data) {
    if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
    ::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fds[1], data.data() + off, data.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ok = off == data.size();
    ::close(fds[1]);
  }
  ~Pipe() { ::close(fds[0]); }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fds[0]); }
};

struct VecSink : fpgaio::Sink {
  Bytes v;
  void write(const std::uint8_t* d, std::size_t n) override { v.insert(v.end(), d, d + n); }
};

// --- fuzz_decompress: the gzip header parser and the decoder -----------------

inline void decompress(const std::uint8_t* data, std::size_t size) {
  // The header parser on its own, at every prefix length.
  for (std::size_t n = 0; n <= size && n < 64; ++n) {
    try {
      fpgaio::gzip::parse_header(data, n);
    } catch (const Error&) {
    }
  }
  MemFile f(Bytes(data, data + size));
  try {
    fpgaio::Input in(f.path());
    fpgaio::gzip::DecompressOptions o;
    o.threads = 2;
    fpgaio::gzip::Decoder dec(in, o);
    fpgaio::NullSink sink;
    dec.run(sink);
  } catch (const Error&) {
  }
}

// --- fuzz_formats: the compress, pack, zip and zlib decoders -----------------

// The input is a whole file. The decoder its magic names runs on the bytes
// in memory, and the Decoder on the same bytes in a file: they must agree
// (refused by both, or the same output), what a decoder writes before
// refusing is the same from both, and pass-through (-cdf) never refuses
// data that starts with no magic and copies it unchanged.
inline void formats(const std::uint8_t* data, std::size_t size) {
  namespace gz = fpgaio::gzip;
  auto f = gz::detect_format(data, size, true, true);
  VecSink direct;
  bool direct_ok = false;
  std::size_t used = 0;
  if (f && *f != gz::Format::gzip) {
    gz::BufferReader r(data, size);
    try {
      switch (*f) {
        case gz::Format::lzw: gz::decode_lzw(r, direct); break;
        case gz::Format::pack: gz::decode_pack(r, direct); break;
        case gz::Format::zip: gz::decode_zip(r, direct); break;
        case gz::Format::zlib: gz::decode_zlib(r, direct); break;
        case gz::Format::gzip: break;
      }
      direct_ok = true;
    } catch (const Error& e) {
      check(e.kind() == fpgaio::ErrorKind::corrupt, "a decoder refuses data with an error that is not corrupt data");
    }
    used = r.position();
  }
  MemFile file(Bytes(data, data + size));
  for (bool pass : {false, true}) {
    VecSink out;
    bool ok = false;
    try {
      fpgaio::Input in(file.path());
      gz::DecompressOptions o;
      o.threads = 2;
      o.pass_through = pass;
      gz::Decoder dec(in, o);
      dec.run(out);
      ok = true;
    } catch (const Error&) {
    }
    if (!f && pass) {
      check(ok && out.v == Bytes(data, data + size), "pass-through changes data in no known format");
      continue;
    }
    if (!f || *f == gz::Format::gzip) continue;
    // The Decoder goes on after a pack member; the others end the input
    // (LZW) or what the Decoder reads of it (zip).
    bool whole = *f != gz::Format::pack && *f != gz::Format::zlib;
    if (!direct_ok) {
      check(!ok, "the Decoder accepts what the format's decoder refuses");
      check(out.v == direct.v, "the Decoder writes other bytes before an error than the format's decoder");
    } else if (whole || used == size) {
      check(ok, "the Decoder refuses what the format's decoder accepts");
      if (ok) check(out.v == direct.v, "the Decoder and the format's decoder give different output");
    } else {
      check(out.v.size() >= direct.v.size() && std::equal(direct.v.begin(), direct.v.end(), out.v.begin()),
            "the Decoder's output does not start with the first member's");
    }
  }
}

// --- fuzz_model: the model parser and loader, and the engine -----------------

// Rough work of one classification, to keep slow models out of the run.
inline double model_cost(const fpgaio::bnn::Model& m) {
  using fpgaio::bnn::LayerKind;
  double c = static_cast<double>(m.input.values());
  auto shapes = m.shapes();
  fpgaio::bnn::Shape s = m.input;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const auto& l = m.layers[i];
    const auto& o = shapes[i];
    double per_out = l.kind == LayerKind::maxpool2x2 ? s.channels / 64.0 + 1
                     : i == 0 && m.mode == fpgaio::bnn::InputMode::fixed8 ? static_cast<double>(l.fan_in()) * (l.out + 31)
                                                                          : (l.fan_in() / 64.0 + 9) * (l.out + 31);
    c += static_cast<double>(o.height) * o.width * per_out;
    s = o;
  }
  return c;
}

inline void model(const std::uint8_t* data, std::size_t size) {
  // The CRC-32 is fixed up so that the fuzzer reaches the checks behind it
  // (a mismatch is the first thing parse checks, and is tested elsewhere).
  Bytes b(data, data + size);
  if (b.size() >= 8) {
    std::uint32_t crc = fpgaio::crc32(0, b.data(), b.size() - 4);
    for (int i = 0; i < 4; ++i) b[b.size() - 4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (8 * i));
  }
  std::optional<fpgaio::bnn::Model> m;
  try {
    m = fpgaio::bnn::Model::parse(b.data(), b.size(), "fuzz");
  } catch (const Error&) {
  }
  if (m) {
    check(m->serialize() == b, "a model parse accepts serializes to the same bytes");
    m->describe();
  }
  // The loader reads the same bytes from a file and from a stream, and must
  // agree with parse.
  auto load_agrees = [&](const std::string& path) {
    try {
      auto l = fpgaio::bnn::Model::load(path);
      check(m.has_value(), "load accepts what parse refuses");
      check(l.serialize() == b, "load and parse read different models");
    } catch (const Error&) {
      check(!m, "load refuses what parse accepts");
    }
  };
  {
    MemFile f(b);
    load_agrees(f.path());
  }
  Pipe p(b);
  if (p.ok) load_agrees(p.path());
  if (!m) return;

  // Every model the validator accepts goes to the engine (under ASan in the
  // fuzzer): the engine refuses only one too large for its limits; one
  // cheap enough to run here runs on every code path, which give the same
  // scores, each a sum the last layer can make (matching bits in
  // [0, fan-in]; for an 8-bit single layer, +-128 a synapse). A model of a
  // fuzz input's size (max_len 300000) prepares in well under 256 MiB.
  const bool run = m->input.values() <= (1u << 18) && model_cost(*m) <= 4e6;
  const fpgaio::bnn::Layer& last = m->layers.back();
  check(last.kind == fpgaio::bnn::LayerKind::fc, "the validator accepts a model whose last layer is not fully connected");
  const bool fixed = m->layers.size() == 1 && m->mode == fpgaio::bnn::InputMode::fixed8;
  const std::int64_t hi = fixed ? 128 * std::int64_t{last.fan_in()} : last.fan_in(), lo = fixed ? -hi : 0;
  std::vector<std::uint8_t> px;
  if (run) {
    px.resize(m->input.values());
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 151 + size);
  }
  std::vector<std::int32_t> first;
  for (auto isa : fpgaio::bnn::supported_isas()) {
    std::optional<fpgaio::bnn::Engine> e;
    try {
      e.emplace(*m, isa);
    } catch (const Error& err) {
      // Too large for the engine: refused before allocating, and only so.
      check(err.kind() == fpgaio::ErrorKind::device &&
                std::string(err.what()).find("more than the CPU engine's") != std::string::npos,
            std::string("the engine refuses a model the validator accepts: ") + err.what());
      return;
    }
    if (!run) return;
    std::vector<std::int32_t> scores(m->classes.size());
    e->classify(px.data(), scores.data());
    for (auto v : scores) check(v >= lo && v <= hi, "a score outside the last layer's range");
    if (first.empty()) first = scores;
    check(scores == first, std::string("code path ") + fpgaio::bnn::isa_name(isa) + " gives other scores");
  }
}

// --- fuzz_images: the IDX, PGM/PPM, CIFAR-10 and raw readers ----------------

struct ImageRun {
  bool ok = false;
  std::string error;
  std::vector<std::uint8_t> pixels;
  std::vector<int> labels;
  std::vector<std::uint64_t> numbers;
  std::optional<std::uint64_t> total;
  std::uint64_t record = 0;
};

// Reads through `content` when given (fpga-infer's way), else from `in`
// with the bytes `consumed` read again first.
inline ImageRun read_images(fpgaio::Input& in, fpgaio::images::Format f, const fpgaio::bnn::Shape& model,
                            std::optional<fpgaio::bnn::Shape> raw, std::vector<std::uint8_t> consumed,
                            std::size_t batch, fpgaio::images::Content* content = nullptr) {
  ImageRun r;
  try {
    std::unique_ptr<fpgaio::images::Reader> own;
    if (content) own = std::make_unique<fpgaio::images::Reader>(*content, f, model, raw, std::nullopt);
    else own = std::make_unique<fpgaio::images::Reader>(in, f, model, raw, std::nullopt, std::move(consumed));
    fpgaio::images::Reader& rd = *own;
    r.total = rd.total();
    r.record = rd.record_bytes();
    fpgaio::images::Batch b;
    for (std::size_t got; (got = rd.next(batch, b)) > 0;) {
      check(got == b.count && got <= batch, "next() returns the batch's count, at most n");
      check(r.numbers.empty() || b.first == r.numbers.back() + 1, "images are numbered without gaps");
      for (std::size_t i = 0; i < got; ++i) r.numbers.push_back(b.first + i);
      r.pixels.insert(r.pixels.end(), b.pixels.begin(), b.pixels.begin() + static_cast<std::ptrdiff_t>(got * model.values()));
      r.labels.insert(r.labels.end(), b.labels.begin(), b.labels.begin() + static_cast<std::ptrdiff_t>(got));
    }
    r.ok = true;
  } catch (const Error& e) {
    r.error = e.what();
  }
  return r;
}

inline void images(const std::uint8_t* data, std::size_t size) {
  using fpgaio::images::Format;
  using fpgaio::bnn::Shape;
  Take t(data, size);
  const std::uint8_t sel = t.byte(), shp = t.byte(), rng = t.byte();
  static const Format formats[] = {Format::cifar, Format::idx, Format::pnm, Format::raw};
  static const Shape models[] = {{32, 32, 3}, {28, 28, 1}, {32, 32, 1}, {6, 5, 3}};
  const Format f = formats[sel & 3];
  const Shape model = models[(sel >> 2) & 3];
  std::optional<Shape> raw;
  if (f == Format::raw) raw = Shape{1u + (shp & 7u), 1u + (shp >> 3 & 7u), model.channels};
  const std::size_t batch = 1 + (sel >> 4 & 7);
  const Bytes bytes = t.rest();
  fpgaio::images::format_from_magic(bytes.data(), bytes.size());

  MemFile file(bytes);
  fpgaio::Input fin(file.path());
  const ImageRun whole = read_images(fin, f, model, raw, {}, batch);
  if (whole.ok && whole.total) check(*whole.total == whole.numbers.size(), "total() is what a file holds");

  // The same bytes as a stream, its first bytes looked at to tell the
  // format (as fpga-infer does: through Content, which reads gzip too): the
  // same images, or an error as well.
  Pipe pipe(bytes);
  if (pipe.ok) {
    fpgaio::Input sin(pipe.path());
    ImageRun s;
    try {
      fpgaio::images::Content content(sin);
      content.peek(4);
      s = read_images(sin, f, model, raw, {}, batch, &content);
    } catch (const Error& e) {
      s.error = e.what();
    }
    check(s.ok == whole.ok, "file and stream disagree: file " + (whole.ok ? "ok" : whole.error) + ", stream " +
                                (s.ok ? "ok" : s.error));
    if (s.ok) {
      check(s.numbers == whole.numbers && s.pixels == whole.pixels && s.labels == whole.labels,
            "file and stream give different images");
    }
    // And with the first bytes read before the reader (not gzip then): the
    // same as a file, unless the file was gzip.
    if (!fpgaio::gzip::has_gzip_magic(bytes.data(), bytes.size())) {
      Pipe again(bytes);
      if (again.ok) {
        fpgaio::Input ain(again.path());
        std::vector<std::uint8_t> head(std::min<std::size_t>(4, bytes.size()));
        head.resize(ain.read(head.data(), head.size()));
        const ImageRun a = read_images(ain, f, model, raw, head, batch);
        check(a.ok == whole.ok && (!a.ok || (a.numbers == whole.numbers && a.pixels == whole.pixels)),
              "a stream read with its first bytes consumed gives other images");
      }
    }
  }

  // A byte range of a gzip file: refused (its offsets count compressed bytes).
  if (fpgaio::gzip::has_gzip_magic(bytes.data(), bytes.size())) {
    fpgaio::Input rin(fpgaio::ByteRange{file.path(), "001", 0, bytes.size(), std::nullopt});
    const ImageRun part = read_images(rin, f, model, raw, {}, batch);
    check(!part.ok && part.error.find("a byte range of a gzip file") != std::string::npos,
          "a range of a gzip file is read: " + (part.ok ? std::string("ok") : part.error));
    return;
  }
  // A byte range of whole records: those images, numbered as in the file.
  if (whole.ok && f != Format::pnm && !whole.numbers.empty()) {
    const std::uint64_t count = whole.numbers.size(), rec = whole.record;
    const std::uint64_t header = bytes.size() - count * rec;
    const std::uint64_t a = (rng & 15) % (count + 1), n = std::min<std::uint64_t>(rng >> 4, count - a);
    fpgaio::Input rin(fpgaio::ByteRange{file.path(), "001", header + a * rec, n * rec, std::nullopt});
    const ImageRun part = read_images(rin, f, model, raw, {}, batch);
    check(part.ok, "a range of whole images is refused: " + part.error);
    check(part.numbers.size() == n, "a range gives its images");
    const std::size_t per = model.values();
    check(std::equal(part.pixels.begin(), part.pixels.end(), whole.pixels.begin() + static_cast<std::ptrdiff_t>(a * per)),
          "a range gives other pixels");
    for (std::size_t i = 0; i < part.numbers.size(); ++i) check(part.numbers[i] == a + i, "a range numbers its images");
  }
}

// --- fuzz_manifest: the manifest parser and part names -----------------------

inline void manifest(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto p = fpgaio::split::parse_part_name(text)) {
    check(p->stem + "." + p->index_text + p->suffix == text, "a part name is its stem, index and suffix");
    check(std::to_string(p->index) == (p->index_text.find_first_not_of('0') == std::string::npos
                                           ? "0"
                                           : p->index_text.substr(p->index_text.find_first_not_of('0'))),
          "a part's index is its digits");
  }
  fpgaio::split::Manifest m;
  try {
    m = fpgaio::split::parse_manifest(text, "fuzz");
  } catch (const Error&) {
    return;
  }
  for (std::size_t i = 0; i < m.chunks.size(); ++i) {
    const auto& c = m.chunks[i];
    check(c.index == i, "chunks are numbered 0..N-1");
    check(c.offset <= m.input_size && c.length <= m.input_size - c.offset, "a chunk lies inside the input");
    check(c.bytes >= c.length, "a chunk has at least its data's bytes");
  }
  // What the parser accepts, the formatter writes back so that it parses the same.
  const std::string again = fpgaio::split::format_manifest(m);
  fpgaio::split::Manifest m2;
  try {
    m2 = fpgaio::split::parse_manifest(again, "fuzz");
  } catch (const Error& e) {
    throw Violation(std::string("a formatted manifest does not parse: ") + e.what());
  }
  check(m2.input == m.input && m2.input_size == m.input_size && m2.chunks.size() == m.chunks.size(),
        "a manifest changes through format and parse");
  for (std::size_t i = 0; i < m.chunks.size(); ++i) {
    const auto &a = m.chunks[i], &b = m2.chunks[i];
    check(a.index == b.index && a.offset == b.offset && a.length == b.length && a.bytes == b.bytes && a.crc == b.crc &&
              a.name == b.name,
          "a chunk line changes through format and parse");
  }
  check(fpgaio::split::format_manifest(m2) == again, "format is not stable");
}

// --- fuzz_join: parts that scan_part accepts join into exactly their data ----

// A part as the fuzz input describes it: its bytes as given, or made from
// data by fpga-gzip's compressor or by zlib, then perhaps damaged or extended.
inline Bytes make_part(Take& t) {
  const std::uint8_t how = t.byte();
  if ((how & 3) == 0) return t.bytes(t.u16());
  Bytes data = t.bytes(t.u16() % 8192);
  Bytes part;
  if ((how & 3) == 1 || (how & 3) == 2) {
    fpgaio::gzip::CompressOptions o;
    o.level = 1 + (how >> 2 & 7);
    o.block_size = 1024 << (how >> 5 & 1);
    o.rsyncable = (how & 3) == 2;
    if (how & 0x40) o.name = "part.000";
    o.mtime = how & 0x80 ? 1234567 : 0;
    part = fpgaio::gzip::compress_buffer(data.data(), data.size(), o);
  } else {
    // One zlib member, or two (the first has `cut` bytes).
    const std::size_t cut = data.size() * (how >> 2 & 3) / 4;
    part = zlib_gzip(Bytes(data.begin(), cut ? data.begin() + static_cast<std::ptrdiff_t>(cut) : data.end()),
                     1 + (how >> 4 & 7));
    if (cut) {
      Bytes second = zlib_gzip(Bytes(data.begin() + static_cast<std::ptrdiff_t>(cut), data.end()), 6);
      part.insert(part.end(), second.begin(), second.end());
    }
  }
  // Damage: a changed byte, bytes cut off, or bytes added at the end.
  const std::uint8_t damage = t.byte();
  const std::uint16_t where = t.u16();
  if (!part.empty()) {
    if ((damage & 3) == 1) part[where % part.size()] ^= static_cast<std::uint8_t>(damage | 1);
    if ((damage & 3) == 2) part.resize(part.size() - std::min<std::size_t>(part.size(), 1 + (where & 63)));
  }
  if ((damage & 3) == 3) {
    Bytes more = t.bytes(damage >> 2);
    part.insert(part.end(), more.begin(), more.end());
  }
  return part;
}

// Everything the part decodes to (scan_part has accepted it).
inline Bytes inflate_range(const std::string& path, std::uint64_t base, std::uint64_t size) {
  fpgaio::Input in(fpgaio::ByteRange{path, "", base, size, std::nullopt});
  fpgaio::gzip::Decoder dec(in, {});
  VecSink s;
  dec.run(s);
  return s.v;
}

inline void join(const std::uint8_t* data, std::size_t size) {
  namespace gz = fpgaio::gzip;
  Take t(data, size);
  const std::uint8_t mode = t.byte();
  const std::size_t nparts = 1 + (mode & 3);
  const bool one_file = mode & 4, rename = mode & 8;
  const unsigned threads = 1 + (mode >> 4 & 1);
  std::vector<Bytes> parts;
  for (std::size_t i = 0; i < nparts; ++i) parts.push_back(make_part(t));

  // The parts as files of their own, or one after another in one file
  // (ranges, as fpga-split --ranges makes them).
  std::vector<std::unique_ptr<MemFile>> files;
  std::vector<gz::JoinPart> jp;
  Bytes all;
  if (one_file) {
    for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
    files.push_back(std::make_unique<MemFile>(all));
  }
  std::uint64_t base = 0;
  Bytes want;
  for (const auto& p : parts) {
    if (!one_file) files.push_back(std::make_unique<MemFile>(p));
    gz::JoinPart j;
    j.path = files.back()->path();
    j.base = one_file ? base : 0;
    // fpga-cat's default check (FC checksums) and --verify's (inflating):
    // when both accept a part they agree on what it holds.
    std::optional<gz::PartInfo> summed;
    try {
      summed = gz::scan_part(j.path, j.base, p.size(), "part", gz::Check::checksums, threads);
    } catch (const Error&) {
    }
    try {
      j.info = gz::scan_part(j.path, j.base, p.size(), "part", gz::Check::inflate, threads);
    } catch (const Error&) {
      return;  // refused: nothing to join
    }
    check(!summed || (summed->crc == j.info.crc && summed->data_bytes == j.info.data_bytes &&
                      summed->size == j.info.size && summed->members.size() == j.info.members.size()),
          "the default check and the inflating one agree on a part both accept");
    // The members' bytes: the part's size, less zero padding after them.
    check(j.info.size <= p.size() && std::all_of(p.begin() + static_cast<std::ptrdiff_t>(j.info.size), p.end(),
                                                  [](std::uint8_t b) { return b == 0; }),
          "scan_part reports the size of the part's members");
    Bytes content = inflate_range(j.path, j.base, p.size());
    check(content.size() == j.info.data_bytes && fpgaio::crc32(0, content.data(), content.size()) == j.info.crc,
          "scan_part's size and CRC-32 are the data's");
    want.insert(want.end(), content.begin(), content.end());
    jp.push_back(std::move(j));
    base += p.size();
  }
  if (rename && !jp[0].info.members.empty() && jp[0].info.members[0].header.name)
    jp[0].rename = std::make_pair(*jp[0].info.members[0].header.name, std::string("part"));

  VecSink out;
  gz::join(jp, out, {});
  MemFile joined(out.v);
  fpgaio::Input in(joined.path());
  gz::Decoder dec(in, {});
  VecSink got;
  gz::DecompressResult r;
  try {
    r = dec.run(got);
  } catch (const Error& e) {
    throw Violation(std::string("the joined stream does not decode: ") + e.describe());
  }
  check(!r.trailing_garbage, "the joined stream has bytes after its members that are not gzip data");
  check(got.v.size() == want.size(), "the joined stream holds " + std::to_string(got.v.size()) + " bytes, the parts " +
                                         std::to_string(want.size()));
  check(got.v == want, "the joined stream holds other data than the parts");
}

// Runs a harness as a fuzzer does: a broken rule is a crash.
inline int run(void (*harness)(const std::uint8_t*, std::size_t), const std::uint8_t* d, std::size_t n) {
  try {
    harness(d, n);
  } catch (const Violation& v) {
    std::fprintf(stderr, "fuzz harness: rule broken: %s\n", v.what());
    std::abort();
  }
  return 0;
}

}  // namespace fuzzh
