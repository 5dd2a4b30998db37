// The .fbnn model format, its checks, and the BNN-PYNQ importer.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "fpgaio/bnn.hpp"
#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"

namespace fpgaio::bnn {

namespace {

constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kMaxDim = 1u << 16;

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

Bytes read_all(const std::string& path) {
  Input in(path);
  Bytes out;
  std::uint8_t buf[1 << 16];
  for (std::size_t n; (n = in.read(buf, sizeof buf)) > 0;) {
    std::size_t old = out.size();
    out.resize(old + n);
    std::memcpy(out.data() + old, buf, n);
  }
  return out;
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
  Shape s = input;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    std::string at = "layer " + std::to_string(i) + ": ";
    bool last = i + 1 == layers.size();
    switch (l.kind) {
      case LayerKind::conv3x3:
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
  for (std::uint32_t i = 0; i < classes; ++i) {
    std::uint16_t len = r.u16("class names");
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
    if (l.in > kMaxDim * 4 || l.out > kMaxDim * 4 || flags > 1)
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
  Bytes b = read_all(path);
  return parse(b.data(), b.size(), path);
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
      Bytes w = read_all(base + "-weights.bin");
      if (w.size() != std::size_t{per_pe} * groups * 8)
        throw Error(ErrorKind::corrupt, "expected " + std::to_string(std::size_t{per_pe} * groups * 8) + " bytes, found " +
                                            std::to_string(w.size()))
            .with_path(base + "-weights.bin");
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
      Bytes t = read_all(base + "-thres.bin");
      if (t.size() != std::size_t{per_pe} * 8)
        throw Error(ErrorKind::corrupt, "expected " + std::to_string(per_pe * 8) + " bytes, found " + std::to_string(t.size()))
            .with_path(base + "-thres.bin");
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
  std::ifstream cls(dir + "classes.txt");
  for (std::string line; std::getline(cls, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) m.classes.push_back(line);
  }
  if (m.classes.size() != m.layers.back().out) {
    m.classes.clear();
    for (std::uint32_t i = 0; i < m.layers.back().out; ++i) m.classes.push_back(std::to_string(i));
  }
  m.validate();
  return m;
}

}  // namespace fpgaio::bnn
