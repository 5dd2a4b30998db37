// Unit tests of the BNN engine: every code path against a slow, obviously
// correct scalar reference on random models and images; the model format
// (round trip, every truncation, damage); the BNN-PYNQ importer against the
// published deer scores (skipped where ../shared/data is absent).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include <zlib.h>

#include "sweep.hpp"
#include "files.hpp"
#include "fpgaio/bnn.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/images.hpp"

using namespace fpgaio;
using namespace fpgaio::bnn;

namespace {

// The reference: values as +-1 ints and plain loops, straight from the notes.
std::vector<std::int32_t> reference(const Model& m, const std::vector<std::uint8_t>& px) {
  // Activations as HWC int vectors: first the input values.
  std::vector<int> a(px.size());
  for (std::size_t i = 0; i < px.size(); ++i) {
    if (m.mode == InputMode::fixed8) {
      double x = (-1.0 + 2.0 * px[i] / 255.0) * 128.0;
      a[i] = std::max(-128, std::min(127, static_cast<int>(std::lround(x))));
    } else {
      a[i] = px[i] >= 128 ? 1 : -1;
    }
  }
  Shape s = m.input;
  for (std::size_t li = 0; li < m.layers.size(); ++li) {
    const Layer& l = m.layers[li];
    bool last = li + 1 == m.layers.size();
    bool fixed = li == 0 && m.mode == InputMode::fixed8;
    auto act = [&](std::uint32_t o, long long dot) {
      // fixed: acc = dot (units of 1/128); binary: matches = (dot + K) / 2.
      long long acc = fixed ? dot : (dot + l.fan_in()) / 2;
      return acc > l.thresholds[o] ? 1 : -1;
    };
    std::vector<int> out;
    if (l.kind == LayerKind::maxpool2x2) {
      Shape o{s.height / 2, s.width / 2, s.channels};
      out.assign(o.values(), -1);
      for (std::uint32_t y = 0; y < o.height; ++y)
        for (std::uint32_t x = 0; x < o.width; ++x)
          for (std::uint32_t c = 0; c < s.channels; ++c) {
            int v = -1;
            for (int dy = 0; dy < 2; ++dy)
              for (int dx = 0; dx < 2; ++dx) v = std::max(v, a[((2 * y + dy) * s.width + 2 * x + dx) * s.channels + c]);
            out[(y * o.width + x) * s.channels + c] = v;
          }
      s = o;
    } else if (l.kind == LayerKind::conv3x3) {
      Shape o{s.height - 2, s.width - 2, l.out};
      out.assign(o.values(), 0);
      for (std::uint32_t y = 0; y < o.height; ++y)
        for (std::uint32_t x = 0; x < o.width; ++x)
          for (std::uint32_t oc = 0; oc < l.out; ++oc) {
            long long dot = 0;
            for (std::uint32_t ky = 0; ky < 3; ++ky)
              for (std::uint32_t kx = 0; kx < 3; ++kx)
                for (std::uint32_t ic = 0; ic < l.in; ++ic) {
                  int w = l.weight(oc, (ky * 3 + kx) * l.in + ic) ? 1 : -1;
                  dot += w * a[((y + ky) * s.width + x + kx) * l.in + ic];
                }
            out[(y * o.width + x) * l.out + oc] = act(oc, dot);
          }
      s = o;
    } else {
      std::vector<int> in = a;
      in.resize(l.in, fixed ? 0 : -1);  // padding inputs: 0 bits, i.e. -1
      std::vector<int> o(l.out);
      for (std::uint32_t oc = 0; oc < l.out; ++oc) {
        long long dot = 0;
        for (std::uint32_t k = 0; k < l.in; ++k) dot += (l.weight(oc, k) ? 1 : -1) * in[k];
        if (last) o[oc] = static_cast<int>(fixed ? dot : (dot + l.in) / 2);
        else o[oc] = act(oc, dot);
      }
      if (last) return std::vector<std::int32_t>(o.begin(), o.end());
      out = o;
      s = Shape{1, 1, l.out};
    }
    a = std::move(out);
  }
  return {};
}

Layer random_layer(std::mt19937& rng, LayerKind kind, std::uint32_t in, std::uint32_t out, bool thresholds,
                   bool fixed) {
  Layer l;
  l.kind = kind;
  l.in = in;
  l.out = out;
  if (kind == LayerKind::maxpool2x2) return l;
  l.weights.assign(std::size_t{out} * l.row_words(), 0);
  for (std::uint32_t o = 0; o < out; ++o)
    for (std::uint32_t k = 0; k < l.fan_in(); ++k)
      if (rng() & 1) l.weights[o * l.row_words() + k / 64] |= std::uint64_t{1} << (k % 64);
  if (thresholds) {
    // Around the middle of the accumulator's range, so that bits vary.
    int k = static_cast<int>(l.fan_in());
    for (std::uint32_t o = 0; o < out; ++o) {
      int t = fixed ? static_cast<int>(rng() % 601) - 300 : k / 2 + static_cast<int>(rng() % 9) - 4;
      l.thresholds.push_back(t);
    }
  }
  return l;
}

// CNV-shaped (smaller maps and channel counts that are not multiples of 64).
Model random_cnv(std::mt19937& rng, std::uint32_t size, std::uint32_t channels, std::uint32_t c1, std::uint32_t c2,
                 InputMode mode) {
  Model m;
  m.input = Shape{size, size, channels};
  m.mode = mode;
  bool fx = mode == InputMode::fixed8;
  m.layers.push_back(random_layer(rng, LayerKind::conv3x3, channels, c1, true, fx));
  m.layers.push_back(random_layer(rng, LayerKind::conv3x3, c1, c1, true, false));
  m.layers.push_back(random_layer(rng, LayerKind::maxpool2x2, c1, c1, false, false));
  m.layers.push_back(random_layer(rng, LayerKind::conv3x3, c1, c2, true, false));
  Shape s = m.shapes().back();
  m.layers.push_back(random_layer(rng, LayerKind::fc, static_cast<std::uint32_t>(s.values()), 70, true, false));
  m.layers.push_back(random_layer(rng, LayerKind::fc, 70, 10, false, false));
  for (int i = 0; i < 10; ++i) m.classes.push_back("c" + std::to_string(i));
  m.validate();
  return m;
}

Model random_lfc(std::mt19937& rng) {
  Model m;
  m.input = Shape{28, 28, 1};
  m.mode = InputMode::binary;
  m.layers.push_back(random_layer(rng, LayerKind::fc, 832, 256, true, false));
  m.layers.push_back(random_layer(rng, LayerKind::fc, 256, 100, true, false));
  m.layers.push_back(random_layer(rng, LayerKind::fc, 100, 10, false, false));
  for (int i = 0; i < 10; ++i) m.classes.push_back(std::to_string(i));
  m.validate();
  return m;
}

std::vector<std::uint8_t> random_image(std::mt19937& rng, const Shape& s) {
  std::vector<std::uint8_t> v(s.values());
  for (auto& p : v) p = static_cast<std::uint8_t>(rng());
  return v;
}

void expect_all_paths_match(const Model& m, std::mt19937& rng, int images) {
  std::vector<std::unique_ptr<Engine>> engines;
  for (Isa isa : supported_isas()) engines.push_back(std::make_unique<Engine>(m, isa));
  std::vector<std::int32_t> got(m.classes.size());
  for (int i = 0; i < images; ++i) {
    auto px = random_image(rng, m.input);
    auto want = reference(m, px);
    for (const auto& e : engines) {
      e->classify(px.data(), got.data());
      ASSERT_EQ(got, want) << "image " << i << " path " << isa_name(e->isa()) << " model " << m.describe();
    }
  }
}

std::string shared_data() {
  std::string p = std::string(FPGA_SOURCE_DIR) + "/../shared/data";
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? p : "";
}

}  // namespace

TEST(BnnEngine, EveryCodePathMatchesTheReferenceOnRandomCnvModels) {
  std::mt19937 rng(42);
  std::printf("code paths here:");
  for (Isa i : supported_isas()) std::printf(" %s", isa_name(i));
  std::printf("\n");
  // The reference is naive: 100 images a model in make test, 300 in make test-long.
  const int n = testutil::long_or(100, 300);
  expect_all_paths_match(random_cnv(rng, 12, 3, 64, 128, InputMode::fixed8), rng, n);
  expect_all_paths_match(random_cnv(rng, 10, 1, 40, 72, InputMode::fixed8), rng, n);
  expect_all_paths_match(random_cnv(rng, 11, 3, 16, 130, InputMode::binary), rng, n);
}

// The whole-layer kernels (AVX-512: two pixels at a time, 64 outputs a
// block and a block of 32 at the end; the first layer's four-byte words
// with VNNI) on what CNV-W1A1 has (64, 128 and 256 channels: one, two and
// four words a pixel) at odd widths, and on first layers whose patch rows
// do not fill their last word (5 channels: 15 bytes).
TEST(BnnEngine, WholeLayerKernelsMatchTheReferenceAtCnvChannelCounts) {
  std::mt19937 rng(7);
  const int n = testutil::long_or(10, 40);
  expect_all_paths_match(random_cnv(rng, 11, 3, 128, 256, InputMode::fixed8), rng, n);
  expect_all_paths_match(random_cnv(rng, 11, 5, 64, 96, InputMode::fixed8), rng, 4 * n);
  expect_all_paths_match(random_cnv(rng, 12, 2, 32, 64, InputMode::fixed8), rng, 4 * n);
}

// An ARM build has the NEON path, and the CPU the tests run on (a
// Cortex-A9, or qemu-arm) reports NEON: the tests above then compare it with
// the reference. FPGA_BNN_ISA picks it, and refuses a path the build lacks.
TEST(BnnEngine, ArmBuildsRunTheNeonPath) {
#if defined(__arm__)
  auto v = supported_isas();
  EXPECT_NE(std::find(v.begin(), v.end(), Isa::neon), v.end());
  EXPECT_EQ(v.back(), Isa::neon);
  ::setenv("FPGA_BNN_ISA", "neon", 1);
  EXPECT_EQ(best_isa(), Isa::neon);
  ::setenv("FPGA_BNN_ISA", "avx2", 1);
  EXPECT_THROW(best_isa(), Error);
  ::unsetenv("FPGA_BNN_ISA");
#else
  auto v = supported_isas();
  EXPECT_EQ(std::find(v.begin(), v.end(), Isa::neon), v.end());
  ::setenv("FPGA_BNN_ISA", "neon", 1);
  EXPECT_THROW(best_isa(), Error);
  ::unsetenv("FPGA_BNN_ISA");
#endif
}

TEST(BnnEngine, EveryCodePathMatchesTheReferenceOnRandomLfcModels) {
  std::mt19937 rng(7);
  expect_all_paths_match(random_lfc(rng), rng, testutil::long_or(300, 1000));
}

// classify_batch (four images at a time through LFC's layers on AVX-512)
// gives every image the reference's scores, on every code path, for
// counts that leave 1 to 3 images over, and on a CNV model too.
TEST(BnnEngine, ClassifyBatchMatchesTheReference) {
  std::mt19937 rng(11);
  Model lfc = random_lfc(rng), cnv = random_cnv(rng, 10, 3, 40, 72, InputMode::fixed8);
  for (const Model* m : {&lfc, &cnv})
    for (Isa isa : supported_isas()) {
      Engine e(*m, isa);
      for (std::size_t count : {1, 4, 7, 10}) {
        std::vector<std::uint8_t> px;
        for (std::size_t i = 0; i < count; ++i) {
          auto one = random_image(rng, m->input);
          px.insert(px.end(), one.begin(), one.end());
        }
        std::vector<std::int32_t> got(count * 10);
        e.classify_batch(px.data(), count, got.data());
        for (std::size_t i = 0; i < count; ++i) {
          std::vector<std::uint8_t> one(px.begin() + static_cast<std::ptrdiff_t>(i * m->input.values()),
                                        px.begin() + static_cast<std::ptrdiff_t>((i + 1) * m->input.values()));
          ASSERT_EQ(std::vector<std::int32_t>(got.begin() + static_cast<std::ptrdiff_t>(i * 10),
                                              got.begin() + static_cast<std::ptrdiff_t>(i * 10 + 10)),
                    reference(*m, one))
              << "image " << i << " of " << count << " path " << isa_name(isa) << " model " << m->describe();
        }
      }
    }
}

TEST(BnnEngine, FullSizeCnvMatchesTheReference) {
  std::mt19937 rng(9);
  Model m;
  m.input = Shape{32, 32, 3};
  const std::uint32_t ch[] = {64, 64, 128, 128, 256, 256};
  std::uint32_t in = 3;
  for (int i = 0; i < 6; ++i) {
    m.layers.push_back(random_layer(rng, LayerKind::conv3x3, in, ch[i], true, i == 0));
    in = ch[i];
    if (i == 1 || i == 3) m.layers.push_back(random_layer(rng, LayerKind::maxpool2x2, in, in, false, false));
  }
  m.layers.push_back(random_layer(rng, LayerKind::fc, 256, 512, true, false));
  m.layers.push_back(random_layer(rng, LayerKind::fc, 512, 512, true, false));
  m.layers.push_back(random_layer(rng, LayerKind::fc, 512, 10, false, false));
  for (int i = 0; i < 10; ++i) m.classes.push_back(std::to_string(i));
  expect_all_paths_match(m, rng, testutil::long_or(6, 20));
}

TEST(BnnModel, RoundTripsAndRejectsEveryTruncationAndDamage) {
  std::mt19937 rng(3);
  Model m = random_cnv(rng, 10, 1, 40, 72, InputMode::fixed8);
  Bytes b = m.serialize();
  Model back = Model::parse(b.data(), b.size(), "m");
  EXPECT_EQ(back.serialize(), b);
  EXPECT_EQ(back.describe(), m.describe());
  for (std::size_t n = 0; n < b.size(); n += (n < 200 ? 1 : 97)) {
    try {
      Model::parse(b.data(), n, "m.fbnn");
      FAIL() << "truncated to " << n;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::corrupt);
      EXPECT_EQ(e.path, "m.fbnn");
    }
  }
  for (std::size_t i = 0; i < b.size(); i += 13) {
    Bytes d = b;
    d[i] ^= 0x20;
    EXPECT_THROW(Model::parse(d.data(), d.size(), "m"), Error) << "byte " << i;
  }
}

TEST(BnnModel, ValidateRejectsMismatchedLayers) {
  std::mt19937 rng(5);
  Model m = random_lfc(rng);
  m.layers[1].in = 255;
  EXPECT_THROW(m.validate(), Error);
  m = random_lfc(rng);
  m.classes.pop_back();
  EXPECT_THROW(m.validate(), Error);
  m = random_lfc(rng);
  m.layers.back().thresholds.assign(10, 0);
  EXPECT_THROW(m.validate(), Error);
}

TEST(BnnPynq, DeerComesOutAsClass4WithThePublishedScores) {
  std::string data = shared_data();
  if (data.empty()) GTEST_SKIP() << "../shared/data is absent";
  Model m = import_bnn_pynq(data + "/bnn-pynq/cifar10/cnvW1A1");
  EXPECT_EQ(m.classes.at(4), "Deer");
  std::ifstream f(data + "/images/deer.bin", std::ios::binary);
  std::vector<std::uint8_t> rec(3073);
  ASSERT_TRUE(f.read(reinterpret_cast<char*>(rec.data()), 3073));
  std::vector<std::uint8_t> hwc(3072);
  for (int p = 0; p < 1024; ++p)
    for (int c = 0; c < 3; ++c) hwc[p * 3 + c] = rec[1 + c * 1024 + p];
  const std::vector<std::int32_t> want = {228, 229, 251, 250, 412, 253, 230, 262, 222, 239};
  for (Isa isa : supported_isas()) {
    Engine e(m, isa);
    std::vector<std::int32_t> s(10);
    e.classify(hwc.data(), s.data());
    EXPECT_EQ(s, want) << isa_name(isa);
    EXPECT_EQ(argmax(s.data(), s.size()), 4u);
  }
  std::vector<std::int32_t> ref = reference(m, hwc);
  EXPECT_EQ(ref, want);
  // The model survives its own format.
  Bytes b = m.serialize();
  EXPECT_EQ(Model::parse(b.data(), b.size(), "x").serialize(), b);
}

TEST(BnnPynq, LfcImportsAndRuns) {
  std::string data = shared_data();
  if (data.empty()) GTEST_SKIP() << "../shared/data is absent";
  Model m = import_bnn_pynq(data + "/bnn-pynq/mnist/lfcW1A1");
  EXPECT_EQ(m.layers.front().in, 832u);
  std::ifstream f(data + "/images/mnist-3.idx3-ubyte", std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_EQ(raw.size(), 16u + 784u);
  std::vector<std::uint8_t> px(raw.begin() + 16, raw.end());
  Engine e(m, best_isa());
  std::vector<std::int32_t> s(10);
  e.classify(px.data(), s.data());
  EXPECT_EQ(s, reference(m, px));
  EXPECT_EQ(argmax(s.data(), s.size()), 3u);
}

// --- Issue 8: hostile sizes in images and models -----------------------------

namespace {

using testutil::error_of;
using testutil::idx3;
using testutil::MemFile;
using testutil::Pipe;

// Reads every image; returns how many, or the error's text.
std::string read_all_images(const std::string& path) {
  Input in(path);
  images::Reader r(in, images::Format::idx, Shape{32, 32, 1}, std::nullopt, std::nullopt);
  images::Batch b;
  std::size_t n = 0;
  for (std::size_t got; (got = r.next(4, b)) > 0;) n += got;
  return std::to_string(n) + " images";
}


}  // namespace

TEST(ImageReader, IdxWithAZeroDimensionIsAnErrorNotADivisionByZero) {
  Bytes z = idx3(5, 0, 28, 0);
  MemFile f(z);
  EXPECT_EQ(error_of([&] { read_all_images(f.path()); }),
            f.path() + ": corrupt data: IDX dimension 2 of 3 is 0 (items of no bytes)");
  Pipe p(z);
  EXPECT_EQ(error_of([&] { read_all_images(p.path()); }),
            p.path() + ": corrupt data: IDX dimension 2 of 3 is 0 (items of no bytes)");
  // Raw images of no bytes, from the API (the tool's --shape refuses them).
  Input in(f.path());
  EXPECT_THROW(images::Reader(in, images::Format::raw, Shape{32, 32, 1}, Shape{0, 28, 1}, std::nullopt), Error);
}

TEST(ImageReader, IdxStreamIsHeldToItsHeaderCountWithTheFilesMessage) {
  for (std::size_t have : {0, 3, 5, 6, 9}) {
    Bytes d = idx3(5, 28, 28, have);
    if (have == 3) d.resize(d.size() - 100);  // and a partial image
    MemFile f(d);
    Pipe p(d);
    std::string file = error_of([&] { read_all_images(f.path()); });
    std::string stream = error_of([&] { read_all_images(p.path()); });
    if (have == 5) {
      EXPECT_EQ(file, "no error");
      EXPECT_EQ(stream, "no error");
      continue;
    }
    EXPECT_EQ(file, f.path() + ": corrupt data: IDX header describes 3936 bytes but the file has " +
                        std::to_string(d.size()));
    EXPECT_EQ(stream, p.path() + ": corrupt data: IDX header describes 3936 bytes but the file has " +
                          std::to_string(d.size()))
        << have << " images";
  }
  Pipe p(idx3(5, 28, 28, 5));
  EXPECT_EQ(read_all_images(p.path()), "5 images");
}

TEST(BnnModel, LoadChecksTheMagicFirstAndReadsOnlyTheDeclaredBytes) {
  // A 5 GiB sparse file and /dev/zero: refused after the header.
  int fd = ::memfd_create("sparse", 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, off_t{5} << 30), 0);
  std::string sparse = "/proc/self/fd/" + std::to_string(fd);
  EXPECT_EQ(error_of([&] { Model::load(sparse); }),
            sparse + ": corrupt data at offset 4: model: not an fpga-tools model (no FBNN magic)");
  ::close(fd);
  EXPECT_EQ(error_of([] { Model::load("/dev/zero"); }),
            "/dev/zero: corrupt data at offset 4: model: not an fpga-tools model (no FBNN magic)");

  // A model loads from a file and from a pipe; data after it is refused.
  std::mt19937 rng(11);
  Bytes b = random_cnv(rng, 10, 1, 40, 72, InputMode::binary).serialize();
  {
    MemFile f(b);
    EXPECT_EQ(Model::load(f.path()).serialize(), b);
    Pipe p(b);
    EXPECT_EQ(Model::load(p.path()).serialize(), b);
  }
  Bytes more = b;
  more.insert(more.end(), 1000000, 0);
  {
    MemFile f(more);
    EXPECT_EQ(error_of([&] { Model::load(f.path()); }),
              f.path() + ": corrupt data at offset " + std::to_string(b.size()) +
                  ": model: 1000000 bytes after the last layer");
    Pipe p(more);
    EXPECT_EQ(error_of([&] { Model::load(p.path()); }),
              p.path() + ": corrupt data at offset " + std::to_string(b.size()) + ": model: data after the last layer");
  }
  // Truncated: the CRC-32 message, as from a buffer.
  {
    Bytes cut(b.begin(), b.begin() + 500);
    Pipe p(cut);
    EXPECT_EQ(error_of([&] { Model::load(p.path()); }),
              p.path() + ": corrupt data: model: CRC-32 mismatch (damaged or truncated file)");
  }
  // A layer that declares more than kMaxModelBytes: refused before it is read.
  Bytes big(b.begin(), b.begin() + 32);
  for (int i = 0; i < 10; ++i) big.insert(big.end(), {1, 0, 'x'});
  for (std::uint32_t v : {3u, 262144u, 262144u, 0u})
    for (int k = 0; k < 4; ++k) big.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
  big[28] = 1;  // one layer
  big.insert(big.end(), 1 << 20, 0);
  {
    MemFile f(big);
    EXPECT_EQ(error_of([&] { Model::load(f.path()); }),
              f.path() + ": corrupt data: model: larger than 256 MiB, the most a model may have (not a model?)");
  }
}

TEST(BnnEngine, RefusesAModelWhoseMapsWouldNotFitBeforeAllocating) {
  // 4096x4096 one-bit pixels into 256 channels: a 512 MiB map (a word per
  // pixel), from a model of 2 KiB of weights.
  std::mt19937 rng(13);
  Model m;
  m.input = Shape{4096, 4096, 1};
  m.mode = InputMode::binary;
  m.layers.push_back(random_layer(rng, LayerKind::conv3x3, 1, 256, true, false));
  Shape s = m.shapes().back();
  while (s.height > 1) {
    m.layers.push_back(random_layer(rng, LayerKind::maxpool2x2, 256, 256, false, false));
    s = m.shapes().back();
  }
  m.layers.push_back(random_layer(rng, LayerKind::fc, 256, 10, false, false));
  for (int i = 0; i < 10; ++i) m.classes.push_back(std::to_string(i));
  m.validate();
  try {
    Engine e(m, Isa::portable);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::device);
    EXPECT_NE(std::string(e.what()).find("layer 0 needs 511 MiB of activations"), std::string::npos) << e.what();
  }
}

namespace {
// An IDX1 labels file declaring `declared` labels and holding `n`: label i is
// i * 7 % 251.
Bytes idx1(std::uint32_t declared, std::size_t n) {
  Bytes b = {0, 0, 8, 1};
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(declared >> s));
  for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(i * 7 % 251));
  return b;
}

// `d` as one gzip member (zlib's, level 1).
}  // namespace

TEST(ImageReader, LabelsAreHeldToTheirHeaderAndNeverReadWhole) {
  EXPECT_EQ(error_of([] { images::Labels l("/dev/zero"); }),
            "/dev/zero: corrupt data: not an IDX file: unknown element type");
  Bytes l = {0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9};
  {
    MemFile f(l);
    images::Labels lab(f.path());
    EXPECT_EQ(lab.count(), 3u);
    EXPECT_EQ(lab.at(0), 7);
    EXPECT_EQ(lab.at(2), 9);
    EXPECT_EQ(lab.at(1), 8);
  }
  l.push_back(1);
  MemFile f(l);
  EXPECT_EQ(error_of([&] { images::Labels lab(f.path()); }),
            f.path() + ": corrupt data: IDX header describes 11 bytes but the file has 12");
}

TEST(ImageReader, GzipLabelsAreReadOnlyAsFarAsAsked) {
  // 2^32 - 1 labels declared, 32 MiB of them there (a bomb's start): the
  // first ones come at once; the file is never read to its end.
  Bytes l = idx1(0xffffffffu, 32u << 20);
  Bytes gz = testutil::zlib_gzip(l, 1);
  MemFile f(gz);
  images::Labels lab(f.path());
  EXPECT_EQ(lab.count(), 0xffffffffu);
  EXPECT_EQ(lab.at(0), 0);
  EXPECT_EQ(lab.at(100), 100 * 7 % 251);
  // Far on (the window moves), and back (the file is read again).
  EXPECT_EQ(lab.at(30u << 20), (std::uint64_t{30} << 20) * 7 % 251);
  EXPECT_EQ(lab.at(5), 5 * 7 % 251);
  // Past what the file holds: an error naming it, the header's size
  // against the data's.
  EXPECT_EQ(error_of([&] { lab.at(33u << 20); }),
            f.path() + ": corrupt data: IDX header describes 4294967303 bytes but the file has " +
                std::to_string(8 + (32u << 20)));
}

TEST(ImageReader, LabelsOfAStreamAreReadOnceInOrder) {
  Bytes l = idx1(20u << 20, 20u << 20);
  Pipe p(l);
  images::Labels lab(p.path());
  EXPECT_EQ(lab.at(3), 3 * 7 % 251);
  EXPECT_EQ(lab.at((20u << 20) - 1), ((20u << 20) - 1) % 251 * 7 % 251);
  EXPECT_NE(error_of([&] { lab.at(3); }).find("labels from a stream are read once"), std::string::npos);
}

TEST(ImageReader, TheLastLabelChecksTheWholeFile) {
  // A gzip file one byte longer than its header says: fine while the labels
  // asked for are not the last; the last reads to the end.
  Bytes l = idx1(3, 4);
  Bytes gz = testutil::zlib_gzip(l, 1);
  MemFile f(gz);
  images::Labels lab(f.path());
  EXPECT_EQ(lab.at(1), 7);
  EXPECT_EQ(error_of([&] { lab.at(2); }), f.path() + ": corrupt data: IDX header describes 11 bytes but the file has 12");
}

TEST(BnnModel, ValidateRefusesAConvolutionAsTheLastLayer) {
  // 4x4x1 one-bit input, one 3x3 convolution to 2 channels, 2 classes: the
  // engine computes the last layer as a fully connected one (it crashed on
  // this one, reading thresholds that are not there).
  std::mt19937 rng(9);
  Model m;
  m.input = Shape{4, 4, 1};
  m.mode = InputMode::binary;
  m.layers.push_back(random_layer(rng, LayerKind::conv3x3, 1, 2, false, false));
  m.classes = {"a", "b"};
  try {
    m.validate();
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "model: layer 0: the last layer must be fully connected (a convolution gives a map, not class scores)");
  }
  Bytes b = m.serialize();
  EXPECT_EQ(error_of([&] { Model::parse(b.data(), b.size(), "m.fbnn"); }),
            "m.fbnn: corrupt data: model: layer 0: the last layer must be fully connected (a convolution gives a "
            "map, not class scores)");
  // The same map into a fully connected layer is a model, and runs.
  m.layers[0] = random_layer(rng, LayerKind::conv3x3, 1, 2, true, false);
  m.layers.push_back(random_layer(rng, LayerKind::fc, 8, 2, false, false));
  m.validate();
  std::vector<std::uint8_t> px(16);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 37);
  for (Isa isa : supported_isas()) {
    Engine e(m, isa);
    std::int32_t s[2];
    e.classify(px.data(), s);
    EXPECT_EQ(std::vector<std::int32_t>(s, s + 2), reference(m, px)) << isa_name(isa);
  }
}
