// The FINN driver (idma0/odma0 batches over ports), the csim stand-in, the
// host-side layout (CIFAR-10 planar RGB to NHWC, as FINN takes it), the
// model/xclbin pairing and the xclbin header reader.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "fpgaio/error.hpp"
#include "fpgaio/finn.hpp"
#include "fpgaio/images.hpp"
#include "helpers.hpp"

using namespace fpgaio;
using namespace fpgaio::bnn;

namespace {

// A port that records what it was given and answers with a function of the
// first pixel of each image (so a wrong image order or offset shows).
struct Recorded {
  std::mutex mu;
  std::vector<std::vector<std::uint8_t>> inputs;  // each run's input buffer
  std::vector<std::uint32_t> counts;
  std::atomic<int> in_flight{0}, most_in_flight{0};
};

class FakePort final : public FinnPort {
 public:
  enum class Mode { good, out_of_range, unwritten, throws, error };
  FakePort(Recorded& rec, std::string name, std::size_t max, std::size_t bytes, Mode mode = Mode::good)
      : rec_(rec), name_(std::move(name)), max_(max), bytes_(bytes), mode_(mode) {}
  const std::string& name() const override { return name_; }
  std::size_t max_images() const override { return max_; }
  void run(const std::uint8_t* in, std::uint32_t n, std::uint8_t* out) override {
    int now = ++rec_.in_flight;
    for (int m = rec_.most_in_flight; now > m && !rec_.most_in_flight.compare_exchange_weak(m, now);) {
    }
    EXPECT_LE(n, max_);
    for (std::uint32_t i = 0; i < n; ++i) EXPECT_EQ(out[i], kFinnNoClass) << "output not prefilled";
    {
      std::lock_guard<std::mutex> lk(rec_.mu);
      rec_.inputs.emplace_back(in, in + std::size_t{n} * bytes_);
      rec_.counts.push_back(n);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (std::uint32_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(in[i * bytes_] % 10);
    if (mode_ == Mode::out_of_range && n > 1) out[1] = 10;
    if (mode_ == Mode::unwritten) out[n - 1] = kFinnNoClass;
    --rec_.in_flight;
    if (mode_ == Mode::throws) throw std::runtime_error("odma0 timed out after 5 ms");
    if (mode_ == Mode::error) throw Error(ErrorKind::device, "run ended in state ERROR");
  }

 private:
  Recorded& rec_;
  std::string name_;
  std::size_t max_, bytes_;
  Mode mode_;
};

std::vector<std::unique_ptr<FinnPort>> fake_ports(Recorded& rec, unsigned n, std::size_t max, std::size_t bytes,
                                                  FakePort::Mode mode = FakePort::Mode::good) {
  std::vector<std::unique_ptr<FinnPort>> v;
  for (unsigned i = 0; i < n; ++i)
    v.push_back(std::make_unique<FakePort>(rec, "fake/b" + std::to_string(i + 1), max, bytes, mode));
  return v;
}

Model fashion_model() { return Model::load(std::string(FPGA_SOURCE_DIR) + "/models/fashion-cnv.fbnn"); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string temp_dir() {
  char t[] = "/tmp/finn_test.XXXXXX";
  EXPECT_NE(::mkdtemp(t), nullptr);
  return t;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

}  // namespace

TEST(FinnDriver, SplitsBatchesToThePortsCapacityAndKeepsImageOrder) {
  const Shape s{2, 2, 3};
  for (std::size_t n : {1u, 6u, 7u, 8u, 13u, 100u}) {
    Recorded rec;
    FinnDriver d(fake_ports(rec, 1, 7, s.values()), s, 10);
    auto px = testutil::random_data(n * s.values(), static_cast<unsigned>(n));
    std::vector<std::uint16_t> cls(n, 999);
    d.classify(px.data(), n, 1000, cls.data());
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(cls[i], px[i * s.values()] % 10) << "image " << i;
    // Whole batches of 7, then the rest: the partial last batch is numReps = n mod 7.
    std::size_t full = n / 7;
    ASSERT_EQ(rec.counts.size(), full + (n % 7 ? 1 : 0));
    for (std::size_t b = 0; b < rec.counts.size(); ++b) EXPECT_EQ(rec.counts[b], b < full ? 7u : n % 7);
    // The buffers hold the images exactly, in order.
    std::vector<std::uint8_t> all;
    for (auto& in : rec.inputs) all.insert(all.end(), in.begin(), in.end());
    EXPECT_TRUE(std::equal(all.begin(), all.end(), px.begin(), px.end()));
  }
}

TEST(FinnDriver, SeveralBatchesInFlightFromManyThreadsEachGetsItsOwnClasses) {
  const Shape s{4, 4, 1};
  Recorded rec;
  FinnDriver d(fake_ports(rec, 3, 5, s.values()), s, 10);
  EXPECT_EQ(d.ports(), 3u);
  std::vector<std::thread> ts;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 6; ++t)
    ts.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k) {
        std::size_t n = 1 + static_cast<std::size_t>((t * 7 + k) % 12);
        auto px = testutil::random_data(n * s.values(), static_cast<unsigned>(t * 100 + k));
        std::vector<std::uint16_t> cls(n);
        d.classify(px.data(), n, 0, cls.data());
        for (std::size_t i = 0; i < n; ++i)
          if (cls[i] != px[i * s.values()] % 10) ++wrong;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_GE(rec.most_in_flight, 2) << "ports were never used at once";
  EXPECT_LE(rec.most_in_flight, 3);
}

TEST(FinnDriver, TrustsNothingAPortReturns) {
  const Shape s{1, 1, 1};
  std::vector<std::uint8_t> px(8, 3);
  std::vector<std::uint16_t> cls(8);
  Recorded rec;
  {
    FinnDriver d(fake_ports(rec, 1, 4, 1, FakePort::Mode::out_of_range), s, 10);
    EXPECT_EQ(error_of([&] { d.classify(px.data(), 8, 500, cls.data()); }),
              "fake/b1: batch 1 (images 500-503): returned class 10 for image 501, the model has 10 classes");
  }
  {
    FinnDriver d(fake_ports(rec, 1, 4, 1, FakePort::Mode::unwritten), s, 10);
    EXPECT_EQ(error_of([&] { d.classify(px.data(), 6, 0, cls.data()); }),
              "fake/b1: batch 1 (images 0-3): no class returned for image 3 (odma0 did not write it)");
  }
  {
    FinnDriver d(fake_ports(rec, 1, 4, 1, FakePort::Mode::throws), s, 10);
    try {
      d.classify(px.data(), 2, 7, cls.data());
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::device);
      EXPECT_STREQ(e.what(), "fake/b1: batch 1 (images 7-8): odma0 timed out after 5 ms");
    }
  }
  {
    FinnDriver d(fake_ports(rec, 1, 4, 1, FakePort::Mode::error), s, 10);
    EXPECT_EQ(error_of([&] { d.classify(px.data(), 1, 0, cls.data()); }),
              "fake/b1: batch 1 (images 0-0): run ended in state ERROR");
  }
  // One byte a class: models of 256 classes or more cannot run.
  EXPECT_THROW(FinnDriver(fake_ports(rec, 1, 4, 1), s, 256), Error);
  EXPECT_THROW(FinnDriver(fake_ports(rec, 1, 4, 1), s, 0), Error);
  EXPECT_THROW(FinnDriver({}, s, 10), Error);
}

// CIFAR-10 records are planar (1,024 red, 1,024 green, 1,024 blue bytes);
// FINN's CNV takes NHWC. What reaches the accelerator's buffer is checked
// byte for byte against the record.
TEST(FinnLayout, CifarRecordsReachTheBufferAsNhwc) {
  const std::size_t images = 5;
  auto recs = testutil::random_data(images * 3073, 11);
  testutil::MemFile f(recs);
  Input in(f.path());
  Shape model{32, 32, 3};
  images::Reader r(in, images::Format::cifar, model, std::nullopt, std::nullopt);
  images::Batch b;
  ASSERT_EQ(r.next(images, b), images);
  Recorded rec;
  FinnDriver d(fake_ports(rec, 1, 2, model.values()), model, 10);
  std::vector<std::uint16_t> cls(images);
  d.classify(b.pixels.data(), images, b.first, cls.data());
  std::vector<std::uint8_t> sent;
  for (auto& x : rec.inputs) sent.insert(sent.end(), x.begin(), x.end());
  ASSERT_EQ(sent.size(), images * 3072);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < images; ++i)
    for (std::size_t y = 0; y < 32; ++y)
      for (std::size_t x = 0; x < 32; ++x)
        for (std::size_t c = 0; c < 3; ++c)
          bad += sent[i * 3072 + (y * 32 + x) * 3 + c] != recs[i * 3073 + 1 + c * 1024 + y * 32 + x];
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(b.labels[2], recs[2 * 3073]);
}

TEST(FinnCsim, TheStandInGivesTheEnginesClassForEveryImage) {
  Model m = fashion_model();
  bnn::Engine e(m, best_isa());
  auto px = testutil::random_data(37 * m.input.values(), 5);
  // Some real-looking images too: zeros and saturated.
  std::fill(px.begin(), px.begin() + static_cast<long>(m.input.values()), 0);
  std::vector<std::unique_ptr<FinnPort>> ports;
  ports.push_back(make_csim_finn_port(e, m.input, "csim:0/b1", 8));
  ports.push_back(make_csim_finn_port(e, m.input, "csim:0/b2", 8));
  FinnDriver d(std::move(ports), m.input, m.classes.size());
  std::vector<std::uint16_t> cls(37);
  d.classify(px.data(), 37, 0, cls.data());
  std::vector<std::int32_t> scores(m.classes.size());
  for (std::size_t i = 0; i < 37; ++i) {
    e.classify(px.data() + i * m.input.values(), scores.data());
    EXPECT_EQ(cls[i], argmax(scores.data(), scores.size())) << "image " << i;
  }
  // The stand-in refuses more images than its buffers hold, as a card's would.
  auto p = make_csim_finn_port(e, m.input, "csim:0/b9", 2);
  std::vector<std::uint8_t> out(3, kFinnNoClass);
  EXPECT_THROW(p->run(px.data(), 3, out.data()), Error);
}

TEST(FinnPairing, RoundTripsAndRefusesDamage) {
  Model m = fashion_model();
  std::string dir = temp_dir();
  std::string model = dir + "/m.fbnn";
  EXPECT_EQ(pairing_path(model), model + ".finn");
  EXPECT_FALSE(read_pairing(model, m).has_value());  // none: nullopt, not an error

  FinnPairing p;
  p.model_crc = model_crc(m);
  p.builds.push_back({"0123456789abcdef0123456789abcdef", "u250/cnv.xclbin"});
  p.builds.push_back({"fedcba9876543210fedcba9876543210", ""});
  std::string text = format_pairing(p);
  write_file(pairing_path(model), text);
  auto q = read_pairing(model, m);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->model_crc, p.model_crc);
  ASSERT_EQ(q->builds.size(), 2u);
  EXPECT_EQ(q->builds[0].file, dir + "/u250/cnv.xclbin");  // relative to the sidecar
  EXPECT_EQ(q->builds[1].file, "");
  EXPECT_TRUE(q->has_uuid("01234567-89AB-CDEF-0123-456789ABCDEF"));
  EXPECT_FALSE(q->has_uuid("00000000000000000000000000000000"));

  // Another model's pairing is refused, naming both CRCs.
  Model other = m;
  other.layers[0].thresholds[0] += 1;  // one threshold differs
  std::string err = error_of([&] { read_pairing(model, other); });
  EXPECT_NE(err.find("written for another model (model-crc32 "), std::string::npos) << err;

  // Damage: each a one-line error naming the line.
  struct Case {
    std::string text, want;
  } cases[] = {
      {"", "empty FINN pairing"},
      {"fpga-tools-finn 2\n", "line 1: not an fpga-tools FINN pairing (no 'fpga-tools-finn 1')"},
      {"hello\n", "line 1: not an fpga-tools FINN pairing (no 'fpga-tools-finn 1')"},
      {"fpga-tools-finn 1\nmodel-crc32 12345\n", "line 2: model-crc32 needs 8 lowercase hex digits"},
      {"fpga-tools-finn 1\nmodel-crc32 1234567g\n", "line 2: model-crc32 needs 8 lowercase hex digits"},
      {"fpga-tools-finn 1\nxclbin 0123\n", "line 2: '0123' is not a UUID (32 hex digits)"},
      {"fpga-tools-finn 1\nxclbin\n", "line 2: xclbin needs a UUID"},
      {"fpga-tools-finn 1\nbitstream x\n", "line 2: unknown key 'bitstream'"},
      {"fpga-tools-finn 1\nxclbin 0123456789abcdef0123456789abcdef\n", "no model-crc32 line"},
      {"fpga-tools-finn 1\nmodel-crc32 00000000\n", "no xclbin line"},
  };
  for (const auto& c : cases) {
    write_file(pairing_path(model), c.text);
    try {
      read_pairing(model, m);
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const Error& e) {
      EXPECT_EQ(e.what(), c.want) << c.text;
      EXPECT_EQ(e.path, pairing_path(model));
    }
  }
  // Every truncation of a valid file is refused or reads as a prefix of it.
  for (std::size_t n = 0; n < text.size(); ++n) {
    write_file(pairing_path(model), text.substr(0, n));
    try {
      auto r = read_pairing(model, m);
      ASSERT_TRUE(r.has_value());
      EXPECT_LE(r->builds.size(), 2u);
      for (const auto& b : r->builds) EXPECT_TRUE(p.has_uuid(b.uuid)) << n;
    } catch (const Error&) {
    }
  }
  // /dev/zero as the pairing: refused after 64 KiB, not read without end.
  ::unlink(pairing_path(model).c_str());
  ASSERT_EQ(::symlink("/dev/zero", pairing_path(model).c_str()), 0);
  EXPECT_EQ(error_of([&] { read_pairing(model, m); }), "larger than 64 KiB (not a FINN pairing?)");
  ::unlink(pairing_path(model).c_str());
  ::rmdir(dir.c_str());
}

TEST(FinnPairing, XclbinHeaderGivesUuidAndPlatformAndRefusesOtherFiles) {
  std::string dir = temp_dir();
  std::string head(432, '\0');
  head.replace(0, 8, std::string("xclbin2\0", 8));
  head.replace(352, 10, "xilinx_u50");
  for (int i = 0; i < 16; ++i) head[416 + i] = static_cast<char>(0xa0 + i);
  write_file(dir + "/a.xclbin", head + "rest of the file");
  auto id = read_xclbin_id(dir + "/a.xclbin");
  EXPECT_EQ(id.uuid, "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  EXPECT_EQ(id.platform, "xilinx_u50");
  // Cut short at every point of the header; another magic.
  for (std::size_t n : {0u, 7u, 8u, 100u, 431u}) {
    write_file(dir + "/b.xclbin", head.substr(0, n));
    EXPECT_THROW(read_xclbin_id(dir + "/b.xclbin"), Error) << n;
  }
  std::string other = head;
  other[6] = '1';
  write_file(dir + "/b.xclbin", other);
  EXPECT_EQ(error_of([&] { read_xclbin_id(dir + "/b.xclbin"); }), "not an xclbin file (no xclbin2 magic)");
  EXPECT_THROW(read_xclbin_id(dir + "/none.xclbin"), Error);
  ::unlink((dir + "/a.xclbin").c_str());
  ::unlink((dir + "/b.xclbin").c_str());
  ::rmdir(dir.c_str());
}

TEST(FinnDevice, CsimOpensWithOnePortAThreadAndNeedsNoPairing) {
  Model m = fashion_model();
  bnn::Engine e(m, best_isa());
  Device d = select_device("csim:0", "bnn");
  EXPECT_EQ(d.kind, DeviceKind::csim);
  auto f = open_finn_device(d, m, e, std::nullopt, 16, 3, true);
  ASSERT_TRUE(f.driver);
  EXPECT_EQ(f.driver->ports(), 3u);
  EXPECT_EQ(f.xclbin_uuid, "");
  // The CPU is not a FINN device.
  EXPECT_THROW(open_finn_device(select_device("cpu", "bnn"), m, e, std::nullopt, 16, 1, true), Error);
}
