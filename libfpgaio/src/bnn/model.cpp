// The .fbnn model format, its checks, and the BNN-PYNQ importer.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <iterator>

#include "fpgaio/bnn.hpp"
#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"

namespace fpgaio::bnn {

namespace {

constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kMaxDim = 1u << 16;
constexpr std::size_t kMaxNameBytes = 1 << 20;  // all class names together
constexpr const char* kNamesTooLong = "class names longer than 1 MiB in all";

void put32(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

class Reader {
 public:
  Reader(const std::uint8_t* d, std::size_t n, const std::string& path) : d_(d), n_(n), path_(path) {}
  Error bad(const std::string& why) const {
    return Error(ErrorKind::corrupt, "model: " + why).at(pos_).with_path(path_);
  }
  void need(std::size_t k, const char* what) const {
    if (n_ - pos_ < k) throw bad(std::string("file ends inside the ") + what + " (truncated?)");
  }
  std::uint32_t u32(const char* what) {
    need(4, what);
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{d_[pos_ + i]} << (8 * i);
    pos_ += 4;
    return v;
  }
  std::uint16_t u16(const char* what) {
    need(2, what);
    std::uint16_t v = static_cast<std::uint16_t>(d_[pos_] | d_[pos_ + 1] << 8);
    pos_ += 2;
    return v;
  }
  const std::uint8_t* bytes(std::size_t k, const char* what) {
    need(k, what);
    const std::uint8_t* p = d_ + pos_;
    pos_ += k;
    return p;
  }
  std::size_t pos() const { return pos_; }
  std::size_t left() const { return n_ - pos_; }

 private:
  const std::uint8_t* d_;
  std::size_t n_, pos_ = 0;
  std::string path_;
};

std::uint32_t le32(const Bytes& b, std::uint64_t pos) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{b[pos + static_cast<unsigned>(i)]} << (8 * i);
  return v;
}

// Reads a model from a file or a stream in the order its parts declare their
// sizes: the header, then each class name and layer only as long as what was
// read before says, so that a file that is not a model is refused after 32
// bytes and nothing beyond kMaxModelBytes is ever read. The bytes then go
// through Model::parse, which checks everything (CRC-32 first) as for a
// buffer: a model file or stream gives the same errors as its bytes.
class Loader {
 public:
  explicit Loader(Input& in) : in_(in) {}

  Model load() {
    if (!fill(32)) return parse();  // too short: parse says which part is missing
    if (std::memcmp(b_.data(), "FBNN", 4) != 0 || le32(b_, 4) != kVersion) return parse();
    const std::uint32_t classes = le32(b_, 24), layers = le32(b_, 28);
    if (classes == 0 || classes > kMaxDim) throw bad(24, "bad number of classes");
    if (layers == 0 || layers > 1024) throw bad(28, "bad number of layers");
    std::uint64_t pos = 32, names = 0;
    for (std::uint32_t i = 0; i < classes; ++i) {
      if (!fill(pos + 2)) return parse();
      const std::uint32_t len = b_[pos] | std::uint32_t{b_[pos + 1]} << 8;
      if ((names += len) > kMaxNameBytes) throw bad(pos, kNamesTooLong);
      pos += 2 + len;
    }
    for (std::uint32_t i = 0; i < layers; ++i) {
      if (!fill(pos + 16)) return parse();
      Layer l;
      l.kind = static_cast<LayerKind>(le32(b_, pos));
      l.in = le32(b_, pos + 4);
      l.out = le32(b_, pos + 8);
      const std::uint32_t flags = le32(b_, pos + 12);
      if (l.kind != LayerKind::conv3x3 && l.kind != LayerKind::fc && l.kind != LayerKind::maxpool2x2)
        throw bad(pos, "layer " + std::to_string(i) + ": unknown kind " + std::to_string(static_cast<std::uint32_t>(l.kind)));
      if (l.in > kMaxDim * 4 || l.out > kMaxDim * 4 || flags > 1)
        throw bad(pos, "layer " + std::to_string(i) + ": bad size or flags");
      pos += 16;
      if (l.kind != LayerKind::maxpool2x2) pos += std::uint64_t{l.out} * l.row_words() * 8 + (flags & 1 ? 4ull * l.out : 0);
    }
    if (!fill(pos + 4)) return parse();  // the CRC-32
    // The model ends here; so must the input.
    std::uint8_t probe;
    if (in_.read(&probe, 1) == 0) return parse();
    parse();  // damage that moved the end is a CRC-32 mismatch, as for the whole file
    if (in_.is_regular())
      throw bad(pos + 4, std::to_string(static_cast<std::uint64_t>(in_.stat().st_size) - pos - 4) +
                             " bytes after the last layer");
    throw bad(pos + 4, "data after the last layer");
  }

 private:
  Model parse() const { return Model::parse(b_.data(), b_.size(), in_.name()); }
  Error bad(std::uint64_t pos, const std::string& why) const {
    return Error(ErrorKind::corrupt, "model: " + why).at(pos).with_path(in_.name());
  }
  // Makes the buffer hold the first `total` bytes; false when the input
  // ends first (the buffer then holds all of it).
  bool fill(std::uint64_t total) {
    if (total > kMaxModelBytes)
      throw Error(ErrorKind::corrupt, "model: larger than " + std::to_string(kMaxModelBytes >> 20) +
                                          " MiB, the most a model may have (not a model?)")
          .with_path(in_.name());
    if (total > b_.capacity()) b_.reserve(static_cast<std::size_t>(std::max<std::uint64_t>(total, 2 * b_.capacity())));
    while (b_.size() < total) {
      // In steps, so that memory follows what the input really holds (the
      // reserved bytes are not touched until then).
      const std::size_t old = b_.size(), n = static_cast<std::size_t>(std::min<std::uint64_t>(total - old, 1 << 20));
      b_.resize(old + n);
      const std::size_t got = in_.read(b_.data() + old, n);
      b_.resize(old + got);
      if (got < n) return false;
    }
    return true;
  }
  Input& in_;
  Bytes b_;
};

// A BNN-PYNQ file that must hold exactly `want` bytes; never reads more than
// one byte beyond them.
Bytes read_exactly(const std::string& path, std::uint64_t want) {
  Input in(path);
  Bytes b(want + 1);
  const std::size_t got = in.read(b.data(), b.size());
  if (got != want) {
    const std::string found = in.is_regular() ? std::to_string(in.stat().st_size)
                              : got > want    ? "more"
                                              : std::to_string(got);
    throw Error(ErrorKind::corrupt, "expected " + std::to_string(want) + " bytes, found " + found).with_path(path);
  }
  b.resize(want);
  return b;
}

}  // namespace

std::vector<Shape> Model::shapes() const {
  std::vector<Shape> out;
  Shape s = input;
  for (const auto& l : layers) {
    switch (l.kind) {
      case LayerKind::conv3x3: s = Shape{s.height - 2, s.width - 2, l.out}; break;
      case LayerKind::maxpool2x2: s = Shape{s.height / 2, s.width / 2, s.channels}; break;
      case LayerKind::fc: s = Shape{1, 1, l.out}; break;
    }
    out.push_back(s);
  }
  return out;
}

void Model::validate() const {
  auto bad = [](const std::string& why) { return Error(ErrorKind::corrupt, "model: " + why); };
  if (!input.height || !input.width || !input.channels || input.height > 4096 || input.width > 4096 ||
      input.channels > 4096 || input.values() > (1u << 24))
    throw bad("bad input shape (at most 4096x4096, 2^24 values)");
  if (mode != InputMode::fixed8 && mode != InputMode::binary) throw bad("unknown input mode");
  if (layers.empty()) throw bad("no layers");
  if (classes.empty()) throw bad("no classes");
  if (classes.size() > kMaxDim) throw bad("bad number of classes");
  std::size_t names = 0;
  for (const auto& c : classes) {
    if (c.size() > 0xffff) throw bad("a class name longer than 65535 bytes");
    names += c.size();
  }
  if (names > kMaxNameBytes) throw bad(kNamesTooLong);
  Shape s = input;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    std::string at = "layer " + std::to_string(i) + ": ";
    bool last = i + 1 == layers.size();
    switch (l.kind) {
      case LayerKind::conv3x3:
        // Scores are one a class: a convolution gives a map (the engine and
        // the ONNX export compute the last layer as a fully connected one).
        if (last) throw bad(at + "the last layer must be fully connected (a convolution gives a map, not class scores)");
        if (l.in != s.channels) throw bad(at + "takes " + std::to_string(l.in) + " channels, gets " + std::to_string(s.channels));
        if (s.height < 3 || s.width < 3) throw bad(at + "map smaller than 3x3");
        s = Shape{s.height - 2, s.width - 2, l.out};
        break;
      case LayerKind::maxpool2x2:
        if (i == 0) throw bad(at + "the first layer must compute");
        if (l.in != s.channels || l.out != s.channels) throw bad(at + "pooling keeps the channels");
        if (s.height < 2 || s.width < 2) throw bad(at + "map smaller than 2x2");
        s = Shape{s.height / 2, s.width / 2, s.channels};
        break;
      case LayerKind::fc:
        if (i == 0 ? l.in < s.values() : l.in != s.values())
          throw bad(at + "takes " + std::to_string(l.in) + " inputs, gets " + std::to_string(s.values()));
        s = Shape{1, 1, l.out};
        break;
      default: throw bad(at + "unknown kind");
    }
    if (l.kind == LayerKind::maxpool2x2) continue;
    if (!l.out || l.out > kMaxDim * 4 || !l.in || l.in > kMaxDim * 4) throw bad(at + "bad size");
    if (l.weights.size() != std::size_t{l.out} * l.row_words()) throw bad(at + "weights do not match its size");
    if (last != l.thresholds.empty()) throw bad(at + (last ? "the last layer gives scores, not bits" : "no thresholds"));
    if (!last && l.thresholds.size() != l.out) throw bad(at + "thresholds do not match its outputs");
    if (last && l.out != classes.size()) throw bad(at + "has " + std::to_string(l.out) + " outputs for " + std::to_string(classes.size()) + " classes");
    std::uint32_t used = l.fan_in() % 64;
    if (used)
      for (std::uint32_t o = 0; o < l.out; ++o)
        if (l.weights[o * l.row_words() + l.row_words() - 1] >> used) throw bad(at + "weight bits beyond the fan-in");
  }
  if (layers.back().kind == LayerKind::maxpool2x2) throw bad("the last layer must compute scores");
}

Bytes Model::serialize() const {
  Bytes b = {'F', 'B', 'N', 'N'};
  put32(b, kVersion);
  put32(b, input.height);
  put32(b, input.width);
  put32(b, input.channels);
  put32(b, static_cast<std::uint32_t>(mode));
  put32(b, static_cast<std::uint32_t>(classes.size()));
  put32(b, static_cast<std::uint32_t>(layers.size()));
  for (const auto& c : classes) {
    b.push_back(static_cast<std::uint8_t>(c.size()));
    b.push_back(static_cast<std::uint8_t>(c.size() >> 8));
    for (char ch : c) b.push_back(static_cast<std::uint8_t>(ch));
  }
  for (const auto& l : layers) {
    put32(b, static_cast<std::uint32_t>(l.kind));
    put32(b, l.in);
    put32(b, l.out);
    put32(b, l.thresholds.empty() ? 0 : 1);
    for (auto w : l.weights)
      for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(w >> (8 * i)));
    for (auto t : l.thresholds) put32(b, static_cast<std::uint32_t>(t));
  }
  put32(b, crc32(0, b.data(), b.size()));
  return b;
}

Model Model::parse(const std::uint8_t* data, std::size_t n, const std::string& path) {
  Reader r(data, n, path);
  const std::uint8_t* magic = r.bytes(4, "header");
  if (std::memcmp(magic, "FBNN", 4) != 0) throw r.bad("not an fpga-tools model (no FBNN magic)");
  std::uint32_t version = r.u32("header");
  if (version != kVersion)
    throw r.bad("format version " + std::to_string(version) + " is not supported (this reads version 1)");
  if (n < 8 || crc32(0, data, n - 4) != (std::uint32_t{data[n - 4]} | std::uint32_t{data[n - 3]} << 8 |
                                          std::uint32_t{data[n - 2]} << 16 | std::uint32_t{data[n - 1]} << 24))
    throw Error(ErrorKind::corrupt, "model: CRC-32 mismatch (damaged or truncated file)").with_path(path);
  Model m;
  m.input.height = r.u32("header");
  m.input.width = r.u32("header");
  m.input.channels = r.u32("header");
  m.mode = static_cast<InputMode>(r.u32("header"));
  std::uint32_t classes = r.u32("header"), layers = r.u32("header");
  if (classes == 0 || classes > kMaxDim) throw r.bad("bad number of classes");
  if (layers == 0 || layers > 1024) throw r.bad("bad number of layers");
  std::size_t names = 0;
  for (std::uint32_t i = 0; i < classes; ++i) {
    std::uint16_t len = r.u16("class names");
    if ((names += len) > kMaxNameBytes) throw r.bad(kNamesTooLong);
    const std::uint8_t* p = r.bytes(len, "class names");
    m.classes.emplace_back(reinterpret_cast<const char*>(p), len);
  }
  for (std::uint32_t i = 0; i < layers; ++i) {
    Layer l;
    l.kind = static_cast<LayerKind>(r.u32("layer header"));
    l.in = r.u32("layer header");
    l.out = r.u32("layer header");
    std::uint32_t flags = r.u32("layer header");
    if (l.kind != LayerKind::conv3x3 && l.kind != LayerKind::fc && l.kind != LayerKind::maxpool2x2)
      throw r.bad("layer " + std::to_string(i) + ": unknown kind " + std::to_string(static_cast<std::uint32_t>(l.kind)));
    if (l.in > kMaxDim * 4 || l.out > kMaxDim * 4 || flags > 1 || (l.kind == LayerKind::maxpool2x2 && flags))
      throw r.bad("layer " + std::to_string(i) + ": bad size or flags");
    if (l.kind != LayerKind::maxpool2x2) {
      std::size_t words = std::size_t{l.out} * l.row_words();
      if (words > r.left() / 8) throw r.bad("layer " + std::to_string(i) + ": weights beyond the end (truncated?)");
      const std::uint8_t* p = r.bytes(words * 8, "weights");
      l.weights.resize(words);
      for (std::size_t w = 0; w < words; ++w) {
        std::uint64_t v = 0;
        for (int k = 0; k < 8; ++k) v |= std::uint64_t{p[8 * w + k]} << (8 * k);
        l.weights[w] = v;
      }
      if (flags & 1) {
        if (std::size_t{l.out} > r.left() / 4) throw r.bad("layer " + std::to_string(i) + ": thresholds beyond the end");
        for (std::uint32_t o = 0; o < l.out; ++o) l.thresholds.push_back(static_cast<std::int32_t>(r.u32("thresholds")));
      }
    }
    m.layers.push_back(std::move(l));
  }
  if (r.left() != 4) throw r.bad(std::to_string(r.left() - 4) + " bytes after the last layer");
  try {
    m.validate();
  } catch (Error& e) {
    throw e.with_path(path);
  }
  return m;
}

Model Model::load(const std::string& path) {
  Input in(path);
  return Loader(in).load();
}

std::string Model::describe() const {
  std::string s = std::to_string(input.height) + "x" + std::to_string(input.width) + "x" +
                  std::to_string(input.channels) + (mode == InputMode::fixed8 ? " (8-bit)" : " (1-bit)") + " ->";
  for (const auto& l : layers) {
    if (l.kind == LayerKind::conv3x3) s += " conv" + std::to_string(l.out);
    else if (l.kind == LayerKind::maxpool2x2) s += " pool";
    else s += " fc" + std::to_string(l.out);
  }
  return s + " -> " + std::to_string(classes.size()) + " classes";
}

// --- BNN-PYNQ ----------------------------------------------------------------

namespace {

struct PynqLayer {
  LayerKind kind;
  std::uint32_t in, out;     // channels for conv
  std::uint32_t fan_in;      // padded fan-in K in the files
  std::uint32_t stored_out;  // rows in the files (last layer padded to 64)
  std::uint32_t pe, simd;
  bool pool_after;
};


bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

}  // namespace

Model import_bnn_pynq(const std::string& dir_in) {
  std::string dir = dir_in.empty() || dir_in.back() == '/' ? dir_in : dir_in + "/";
  Model m;
  static const PynqLayer kCnv[] = {{LayerKind::conv3x3, 3, 64, 27, 64, 16, 3, false},     {LayerKind::conv3x3, 64, 64, 576, 64, 32, 32, true},
          {LayerKind::conv3x3, 64, 128, 576, 128, 16, 32, false}, {LayerKind::conv3x3, 128, 128, 1152, 128, 16, 32, true},
          {LayerKind::conv3x3, 128, 256, 1152, 256, 4, 32, false}, {LayerKind::conv3x3, 256, 256, 2304, 256, 1, 32, false},
          {LayerKind::fc, 256, 512, 256, 512, 1, 4, false},       {LayerKind::fc, 512, 512, 512, 512, 1, 8, false},
          {LayerKind::fc, 512, 10, 512, 64, 4, 1, false}};
  static const PynqLayer kLfc[] = {{LayerKind::fc, 832, 1024, 832, 1024, 32, 64, false}, {LayerKind::fc, 1024, 1024, 1024, 1024, 64, 32, false},
          {LayerKind::fc, 1024, 1024, 1024, 1024, 32, 64, false}, {LayerKind::fc, 1024, 10, 1024, 64, 16, 8, false}};
  const PynqLayer* pl = nullptr;
  std::size_t count = 0;
  if (exists(dir + "8-0-weights.bin")) {  // cnvW1A1
    m.input = Shape{32, 32, 3};
    m.mode = InputMode::fixed8;
    pl = kCnv;
    count = std::size(kCnv);
  } else if (exists(dir + "3-0-weights.bin")) {  // lfcW1A1
    m.input = Shape{28, 28, 1};
    m.mode = InputMode::binary;
    pl = kLfc;
    count = std::size(kLfc);
  } else {
    throw Error(ErrorKind::usage, "not a BNN-PYNQ cnvW1A1 or lfcW1A1 parameter folder (no 8-0-weights.bin or 3-0-weights.bin)")
        .with_path(dir_in);
  }
  for (std::size_t li = 0; li < count; ++li) {
    const PynqLayer& p = pl[li];
    bool last = li + 1 == count;
    Layer l;
    l.kind = p.kind;
    l.in = p.in;
    l.out = p.out;
    l.weights.assign(std::size_t{l.out} * l.row_words(), 0);
    std::uint32_t groups = p.fan_in / p.simd, per_pe = p.stored_out / p.pe;
    for (std::uint32_t pe = 0; pe < p.pe; ++pe) {
      std::string base = dir + std::to_string(li) + "-" + std::to_string(pe);
      Bytes w = read_exactly(base + "-weights.bin", std::uint64_t{per_pe} * groups * 8);
      for (std::uint32_t nf = 0; nf < per_pe; ++nf) {
        std::uint32_t neuron = nf * p.pe + pe;
        if (neuron >= l.out) continue;  // padding rows of the last layer
        for (std::uint32_t sf = 0; sf < groups; ++sf) {
          std::uint64_t word = 0;
          for (int k = 0; k < 8; ++k) word |= std::uint64_t{w[8 * (std::size_t{nf} * groups + sf) + k]} << (8 * k);
          for (std::uint32_t j = 0; j < p.simd; ++j) {
            std::uint32_t syn = sf * p.simd + j;
            if ((word >> j) & 1) l.weights[neuron * l.row_words() + syn / 64] |= std::uint64_t{1} << (syn % 64);
          }
        }
      }
      if (last) continue;
      Bytes t = read_exactly(base + "-thres.bin", std::uint64_t{per_pe} * 8);
      if (l.thresholds.empty()) l.thresholds.assign(l.out, 0);
      for (std::uint32_t nf = 0; nf < per_pe; ++nf) {
        std::int64_t v = 0;
        for (int k = 0; k < 8; ++k) v |= static_cast<std::int64_t>(std::uint64_t{t[8 * nf + k]} << (8 * k));
        // Layer 0 compares T < 2*acc (T in 1/256, acc in 1/128): acc > floor(T/2).
        if (li == 0 && m.mode == InputMode::fixed8) v = v >= 0 ? v / 2 : -((-v + 1) / 2);
        v = std::clamp<std::int64_t>(v, INT32_MIN, INT32_MAX);
        l.thresholds[nf * p.pe + pe] = static_cast<std::int32_t>(v);
      }
    }
    m.layers.push_back(std::move(l));
    if (p.pool_after) {
      Layer pool;
      pool.kind = LayerKind::maxpool2x2;
      pool.in = pool.out = p.out;
      m.layers.push_back(std::move(pool));
    }
  }
  if (exists(dir + "classes.txt")) {
    // One name a line; a few hundred bytes in practice, at most 1 MiB read.
    Input in(dir + "classes.txt");
    std::string text(std::size_t{1} << 20, '\0');
    text.resize(in.read(text.data(), text.size()));
    if (text.size() == std::size_t{1} << 20)
      throw Error(ErrorKind::corrupt, "class names larger than 1 MiB").with_path(dir + "classes.txt");
    std::istringstream cls(text);
    for (std::string line; std::getline(cls, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) m.classes.push_back(line);
    }
  }
  if (m.classes.size() != m.layers.back().out) {
    m.classes.clear();
    for (std::uint32_t i = 0; i < m.layers.back().out; ++i) m.classes.push_back(std::to_string(i));
  }
  m.validate();
  return m;
}

}  // namespace fpgaio::bnn
