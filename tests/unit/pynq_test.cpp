// The BNN-PYNQ overlay driver (pynq:0): the fit check, the model folded into
// the overlay's parameter words (against BNN-PYNQ's own files), the input
// conversion, and the driver against a fake board: a thread that maps the
// emulation file and follows docs/PYNQ-EMULATION.md's handshake, with faults.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "fpgaio/bnn.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/finn.hpp"
#include "fpgaio/pynq_driver.hpp"
#include "helpers.hpp"
#include "tempdir.hpp"

using namespace fpgaio;
using namespace fpgaio::pynq;

namespace {

const std::string kData = "/work/shared/data";

bnn::Model fashion() { return bnn::Model::load(std::string(FPGA_SOURCE_DIR) + "/models/fashion-cnv.fbnn"); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::vector<std::uint8_t> read_all(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::uint64_t le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{p[i]} << (8 * i);
  return v;
}

// Sets an environment variable for one scope.
struct Env {
  std::string name;
  std::optional<std::string> old;
  Env(const std::string& n, const std::string& v) : name(n) {
    if (const char* o = std::getenv(n.c_str())) old = o;
    ::setenv(n.c_str(), v.c_str(), 1);
  }
  ~Env() {
    if (old) ::setenv(name.c_str(), old->c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};

// ---- a fake board: the emulation file served by a thread ----

enum class Fault { none, lost_done, short_output, out_of_range, stop, refuse, done_twice };

// The fake's scores: a function of the image's overlay input bytes, so a
// wrong conversion, order or offset shows; at most 511 (fan-in 512).
std::uint16_t fake_score(const std::uint8_t* in, std::size_t bytes, std::size_t j) {
  std::uint32_t s = 0;
  for (std::size_t i = 0; i < bytes; i += 7) s += in[i] * (1 + (i % 5));
  return static_cast<std::uint16_t>((s + 37 * j) % 512);
}

class FakeBoard {
 public:
  FakeBoard(const std::string& path, Fault fault, const char* overlay = "cnvW1A1", std::uint64_t pool = 1 << 20)
      : path_(path), fault_(fault) {
    const std::uint64_t size = kEmuPoolOffset + pool;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(::ftruncate(fd_, static_cast<off_t>(size)), 0);
    map_ = static_cast<std::uint8_t*>(::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0));
    size_ = size;
    h_ = reinterpret_cast<EmuHeader*>(map_);
    std::memcpy(h_->magic, kEmuMagic, sizeof h_->magic);
    h_->version = kEmuVersion;
    h_->regs_offset = kEmuRegsOffset;
    h_->regs_size = kRegisterWindow;
    h_->regs_phys = kDefaultBase;
    h_->pool_offset = kEmuPoolOffset;
    h_->pool_size = pool;
    h_->pool_phys = kEmuPoolPhys;
    std::strncpy(h_->overlay, overlay, sizeof h_->overlay - 1);
    h_->emulator_pid = static_cast<std::uint32_t>(::getpid());
    regs_ = reinterpret_cast<std::uint32_t*>(map_ + kEmuRegsOffset);
    __atomic_store_n(&h_->state, static_cast<std::uint32_t>(EmuState::serving), __ATOMIC_RELEASE);
    th_ = std::thread([this] { serve(); });
  }
  ~FakeBoard() {
    quit_ = true;
    th_.join();
    ::munmap(map_, size_);
    ::close(fd_);
  }
  std::vector<ParamWord> words;  // in the order received
  std::vector<std::uint32_t> batches;  // numReps of each compute run
  std::set<std::uint64_t> inputs;       // the input buffers' physical addresses used
  std::uint32_t runs() const { return __atomic_load_n(&h_->runs, __ATOMIC_ACQUIRE); }
  std::uint32_t reg(std::uint32_t r) const { return __atomic_load_n(regs_ + r / 4, __ATOMIC_ACQUIRE); }
  // What a new emulator on the same file looks like to a driver that has
  // it mapped: another pid (its memories would be empty).
  void set_pid(std::uint32_t pid) { __atomic_store_n(&h_->emulator_pid, pid, __ATOMIC_RELEASE); }

 private:
  std::uint32_t r(std::uint32_t off) const { return __atomic_load_n(regs_ + off / 4, __ATOMIC_RELAXED); }
  void done() {
    __atomic_add_fetch(&h_->runs, 1, __ATOMIC_RELEASE);
    __atomic_store_n(regs_ + reg::control / 4, kApDone | kApIdle, __ATOMIC_RELEASE);
    ::syscall(SYS_futex, regs_ + reg::control / 4, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
  }
  void serve() {
    std::uint32_t* c = regs_ + reg::control / 4;
    unsigned idle = 0;
    while (!quit_) {
      std::uint32_t v = __atomic_load_n(c, __ATOMIC_ACQUIRE);
      if (!(v & kApStart)) {
        if (++idle > 2000) {
          timespec ts{0, 1000000};
          ::syscall(SYS_futex, c, FUTEX_WAIT, v, &ts, nullptr, 0);
        }
        continue;
      }
      idle = 0;
      __atomic_store_n(c, 0u, __ATOMIC_RELEASE);
      if (r(reg::do_init) & 1) {
        words.push_back(ParamWord{r(reg::target_layer), r(reg::target_mem), r(reg::target_ind),
                                  r(reg::val_lo) | std::uint64_t{r(reg::val_hi)} << 32});
        done();
        continue;
      }
      const std::uint32_t n = r(reg::num_reps);
      batches.push_back(n);
      const std::uint64_t in = r(reg::in_lo) | std::uint64_t{r(reg::in_hi)} << 32;
      inputs.insert(in);
      const std::uint64_t out = r(reg::out_lo) | std::uint64_t{r(reg::out_hi)} << 32;
      const std::uint64_t pool = h_->pool_size, phys = h_->pool_phys;
      if (in < phys || out < phys || in - phys + std::uint64_t{n} * 3072 > pool || out - phys + std::uint64_t{n} * 128 > pool) {
        std::strcpy(h_->fault_text, "buffers outside the pool");
        __atomic_store_n(&h_->fault, 1u, __ATOMIC_RELEASE);
        continue;
      }
      if (fault_ == Fault::refuse) {
        std::strcpy(h_->fault_text, "injected refusal");
        __atomic_store_n(&h_->fault, 1u, __ATOMIC_RELEASE);
        continue;
      }
      if (fault_ == Fault::stop) {
        __atomic_store_n(&h_->state, static_cast<std::uint32_t>(EmuState::stopped), __ATOMIC_RELEASE);
        return;
      }
      if (fault_ == Fault::lost_done) continue;
      std::uint8_t* pool_p = map_ + h_->pool_offset;
      const std::uint32_t written = fault_ == Fault::short_output ? n - 1 : n;
      for (std::uint32_t i = 0; i < written; ++i)
        for (std::size_t j = 0; j < 64; ++j) {
          std::uint16_t s = fake_score(pool_p + (in - phys) + i * 3072, 3072, j);
          if (fault_ == Fault::out_of_range && i == n - 1 && j == 3) s = 600;
          pool_p[(out - phys) + i * 128 + 2 * j] = static_cast<std::uint8_t>(s);
          pool_p[(out - phys) + i * 128 + 2 * j + 1] = static_cast<std::uint8_t>(s >> 8);
        }
      if (fault_ == Fault::done_twice) __atomic_add_fetch(&h_->runs, 1, __ATOMIC_RELEASE);
      done();
    }
  }

  std::string path_;
  Fault fault_;
  int fd_ = -1;
  std::uint8_t* map_ = nullptr;
  std::uint64_t size_ = 0;
  EmuHeader* h_ = nullptr;
  std::uint32_t* regs_ = nullptr;
  std::atomic<bool> quit_{false};
  std::thread th_;
};

// What the fake gives for `n` images: the scores of each overlay input.
void expected(const bnn::Model& m, const Bytes& px, std::size_t n, std::vector<std::uint16_t>& cls,
              std::vector<std::int32_t>& scores) {
  std::vector<std::uint8_t> in(3072);
  const std::size_t per = m.input.values(), k = m.classes.size();
  cls.assign(n, 0);
  scores.assign(n * k, 0);
  for (std::size_t i = 0; i < n; ++i) {
    convert_input(m.input, cnv_w1a1(), px.data() + i * per, in.data());
    for (std::size_t j = 0; j < k; ++j) scores[i * k + j] = fake_score(in.data(), 3072, j);
    for (std::size_t j = 1; j < k; ++j)
      if (scores[i * k + j] > scores[i * k + cls[i]]) cls[i] = static_cast<std::uint16_t>(j);
  }
}

}  // namespace

// ---- the model against the overlay ----

TEST(PynqFit, TheDefaultFashionModelFitsCnvW1A1AsChannelZero) {
  bnn::Model m = fashion();
  EXPECT_EQ(m.input.channels, 1u);
  EXPECT_EQ(why_not_fit(m, cnv_w1a1()), "");
  auto w = parameter_words(m, cnv_w1a1());
  EXPECT_EQ(w.size(), 136512u);
  EXPECT_EQ(w.size(), pynq::parameter_words(cnv_w1a1()));
  // Layer 0's words: bit 0 is the model's synapse (channel 0), bits 1 and 2
  // (channels 1 and 2, fed 0) are 0.
  for (const auto& x : w)
    if (x.layer == 0) {
      EXPECT_EQ(x.val & ~std::uint64_t{1}, 0u);
    }
  // Layer 8's padding rows (neurons 10..63: nf >= 3 of PE 0, 1; nf >= 2 of PE 2, 3) are 0 words.
  for (const auto& x : w)
    if (x.layer == 16 && (x.ind / 512) * 4 + x.mem >= 10) {
      EXPECT_EQ(x.val, 0u);
    }
}

TEST(PynqFit, OtherModelsAreRefusedNamingTheLayerThatDiffers) {
  bnn::Model m = fashion();
  EXPECT_NE(why_not_fit(m, lfc_w1a1()).find("lfcW1A1 overlay thresholds its last layer in hardware"), std::string::npos);
  bnn::Model a = m;
  a.layers[3].out = 96;  // conv 64 -> 96 where the overlay has 128
  EXPECT_EQ(why_not_fit(a, cnv_w1a1()),
            "the model's layer 3 (conv 64 -> 96) differs from the cnvW1A1 overlay's layer 2 (conv 64 -> 128)");
  bnn::Model b = m;
  b.layers.erase(b.layers.begin() + 2);  // the first pool
  EXPECT_NE(why_not_fit(b, cnv_w1a1()).find("the model's layer 1 (conv 64 -> 64) differs"), std::string::npos);
  bnn::Model c = m;
  c.mode = bnn::InputMode::binary;
  EXPECT_EQ(why_not_fit(c, cnv_w1a1()), "the model's input is binary; the cnvW1A1 overlay's is 8-bit (Q1.7)");
  bnn::Model d = m;
  d.input.height = d.input.width = 28;
  EXPECT_NE(why_not_fit(d, cnv_w1a1()).find("input is 28x28x1"), std::string::npos);
  bnn::Model e = m;
  e.layers.back().out = 11;
  EXPECT_NE(why_not_fit(e, cnv_w1a1()).find("at most 10 classes"), std::string::npos);
  EXPECT_THROW(parameter_words(e, cnv_w1a1()), Error);
}

TEST(PynqFit, ThresholdsOutsideTheAccumulatorAreClampedToEquivalentValues) {
  bnn::Model m = fashion();
  m.layers[0].thresholds[0] = 100000;   // above 128 * 9: the bit is never set
  m.layers[1].thresholds[0] = -5000;    // below 0: always set
  m.layers[1].thresholds[1] = 70000;    // above K = 576: never set
  auto w = parameter_words(m, cnv_w1a1());
  auto find = [&](std::uint32_t layer, std::uint32_t mem, std::uint32_t ind) {
    for (const auto& x : w)
      if (x.layer == layer && x.mem == mem && x.ind == ind) return static_cast<std::int64_t>(x.val);
    return std::int64_t{-999999};
  };
  EXPECT_EQ(find(1, 0, 0), 2 * 128 * 9);
  EXPECT_EQ(find(3, 0, 0), -1);
  EXPECT_EQ(find(3, 1, 0), 576);
}

// The decisive check of the folding: BNN-PYNQ's own CNV-W1A1 files,
// imported, folded back into the words BNN-PYNQ loads.
TEST(PynqFit, FoldingReproducesBnnPynqsOwnParameterFiles) {
  const std::string dir = kData + "/bnn-pynq/cifar10/cnvW1A1";
  if (!exists(dir + "/8-0-weights.bin")) GTEST_SKIP() << "no " << dir;
  bnn::Model m = bnn::import_bnn_pynq(dir);
  ASSERT_EQ(why_not_fit(m, cnv_w1a1()), "");
  auto w = parameter_words(m, cnv_w1a1());
  ASSERT_EQ(w.size(), 136512u);
  std::size_t i = 0, weights = 0, thresholds = 0;
  const Overlay& o = cnv_w1a1();
  for (std::uint32_t L = 0; L < o.count; ++L) {
    const OverlayLayer& l = o.layers[L];
    for (std::uint32_t pe = 0; pe < l.pe; ++pe) {
      const std::string base = dir + "/" + std::to_string(L) + "-" + std::to_string(pe);
      auto wf = read_all(base + "-weights.bin");
      ASSERT_EQ(wf.size(), std::size_t{l.lines()} * 8) << base;
      const std::uint64_t mask = l.simd == 64 ? ~0ull : (std::uint64_t{1} << l.simd) - 1;
      const std::uint32_t groups = l.fan_in() / l.simd;
      for (std::uint32_t line = 0; line < l.lines(); ++line, ++i) {
        ASSERT_EQ(w[i].layer, 2 * L);
        ASSERT_EQ(w[i].mem, pe);
        ASSERT_EQ(w[i].ind, line);
        const std::uint32_t neuron = (line / groups) * l.pe + pe;
        // The importer keeps 10 classes: padding rows of layer 8 are 0 words.
        const std::uint64_t want = L == 8 && neuron >= 10 ? 0 : le64(wf.data() + 8 * line) & mask;
        ASSERT_EQ(w[i].val, want) << "layer " << L << " PE " << pe << " line " << line;
        ++weights;
      }
      if (!l.thresholds) continue;
      auto tf = read_all(base + "-thres.bin");
      ASSERT_EQ(tf.size(), std::size_t{l.out / l.pe} * 8) << base;
      for (std::uint32_t nf = 0; nf < l.out / l.pe; ++nf, ++i) {
        ASSERT_EQ(w[i].layer, 2 * L + 1);
        ASSERT_EQ(w[i].mem, pe);
        ASSERT_EQ(w[i].ind, nf);
        const auto orig = static_cast<std::int64_t>(le64(tf.data() + 8 * nf));
        const auto mine = static_cast<std::int64_t>(w[i].val);
        // Layer 0: T < 2*acc compares an even number with T, so T and T - 1
        // (T odd) decide alike; the model keeps floor(T/2) and we write
        // twice that. Layers 1-7: exactly the file's threshold.
        if (L == 0) EXPECT_EQ(mine, orig & ~std::int64_t{1}) << base << " line " << nf;
        else EXPECT_EQ(mine, orig) << base << " line " << nf;
        ++thresholds;
      }
    }
  }
  EXPECT_EQ(i, w.size());
  EXPECT_EQ(weights, 134592u);
  EXPECT_EQ(thresholds, 1920u);
}

TEST(PynqInput, DeerBinsFirstWordAndTheOneChannelEmbedding) {
  const std::string deer = kData + "/images/deer.bin";
  std::vector<std::uint8_t> out(3072);
  if (exists(deer)) {
    auto rec = read_all(deer);
    ASSERT_EQ(rec.size(), 3073u);
    std::vector<std::uint8_t> hwc(3072);
    for (std::size_t p = 0; p < 1024; ++p)
      for (std::size_t c = 0; c < 3; ++c) hwc[p * 3 + c] = rec[1 + c * 1024 + p];
    convert_input(bnn::Shape{32, 32, 3}, cnv_w1a1(), hwc.data(), out.data());
    EXPECT_EQ(le64(out.data()), 0x2730808080808080ull);
  }
  // Q1.7: 0 -> 0x80, 175 -> 0x30, 255 -> 0x7F; one channel is channel 0.
  std::vector<std::uint8_t> px(1024, 0);
  px[0] = 175;
  px[1] = 255;
  std::fill(out.begin(), out.end(), 0xAA);
  convert_input(bnn::Shape{32, 32, 1}, cnv_w1a1(), px.data(), out.data());
  EXPECT_EQ(out[0], 0x30);
  EXPECT_EQ(out[1], 0x00);
  EXPECT_EQ(out[2], 0x00);
  EXPECT_EQ(out[3], 0x7F);
  EXPECT_EQ(out[6], 0x80);
  EXPECT_EQ(out[3071], 0x00);
}

// ---- the driver against the fake board ----

namespace {

struct Rig {
  testutil::TempDir dir;
  std::unique_ptr<Env> emu, lock;
  std::unique_ptr<FakeBoard> board;
  Device device;
  explicit Rig(Fault f, const char* overlay = "cnvW1A1") {
    emu = std::make_unique<Env>("FPGAIO_PYNQ_EMU", dir.path + "/board");
    lock = std::make_unique<Env>("FPGA_LOCK_DIR", dir.path);
    board = std::make_unique<FakeBoard>(dir.path + "/board", f, overlay);
    device = select_device("pynq:0", "bnn");
  }
};

}  // namespace

TEST(PynqDriver, ListedWithTheEmulationFileAndLoadsTheParametersOncePerProcess) {
  Rig rig(Fault::none);
  EXPECT_EQ(rig.device.kind, DeviceKind::pynq);
  EXPECT_NE(rig.device.description.find("emulated by the file " + rig.dir.path + "/board"), std::string::npos);
  bnn::Model m = fashion();
  bnn::Engine engine(m, bnn::Isa::portable);
  auto dev = bnn::open_finn_device(rig.device, m, engine, std::nullopt, 64, 0, true);
  ASSERT_TRUE(dev.driver);
  EXPECT_TRUE(dev.driver->gives_scores());
  EXPECT_EQ(dev.driver->ports(), 2u);
  EXPECT_EQ(dev.parameter_words, 136512u);
  // Every word the board received is the model's, in order.
  auto want = parameter_words(m, cnv_w1a1());
  ASSERT_EQ(rig.board->words.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(rig.board->words[i].layer, want[i].layer) << i;
    ASSERT_EQ(rig.board->words[i].mem, want[i].mem) << i;
    ASSERT_EQ(rig.board->words[i].ind, want[i].ind) << i;
    ASSERT_EQ(rig.board->words[i].val, want[i].val) << i;
  }
  // 300 images in batches of at most 64: scores and classes in order.
  const std::size_t n = 300;
  auto px = testutil::random_data(n * m.input.values(), 5);
  std::vector<std::uint16_t> cls(n), want_cls;
  std::vector<std::int32_t> scores(n * 10), want_scores;
  dev.driver->classify(px.data(), n, 1000, cls.data(), scores.data());
  expected(m, px, n, want_cls, want_scores);
  EXPECT_EQ(cls, want_cls);
  EXPECT_EQ(scores, want_scores);
  EXPECT_EQ(rig.board->batches, (std::vector<std::uint32_t>{64, 64, 64, 64, 44}));
  // A second driver for the same model in this process writes nothing.
  auto again = bnn::open_finn_device(rig.device, m, engine, std::nullopt, 64, 0, true, false);
  EXPECT_EQ(again.parameter_words, 0u);
  EXPECT_EQ(rig.board->words.size(), want.size());
  EXPECT_EQ(rig.board->runs(), want.size() + 5);
}

TEST(PynqDriver, AModelThatDoesNotFitIsRefusedBeforeAnythingIsWritten) {
  Rig rig(Fault::none);
  bnn::Model m = fashion();
  m.layers[3].out = 96;
  bnn::Engine engine(fashion(), bnn::Isa::portable);
  std::string e = error_of([&] { bnn::open_finn_device(rig.device, m, engine, std::nullopt, 64, 0, true); });
  EXPECT_EQ(e, "pynq:0: the model's layer 3 (conv 64 -> 96) differs from the cnvW1A1 overlay's layer 2 (conv 64 -> 128)");
  EXPECT_EQ(rig.board->runs(), 0u);
  EXPECT_EQ(rig.board->reg(reg::num_reps), 0u);
}

TEST(PynqDriver, TheLfcOverlayIsRefusedWithItsReason) {
  Rig rig(Fault::none, "lfcW1A1");
  bnn::Model m = fashion();
  bnn::Engine engine(m, bnn::Isa::portable);
  std::string e = error_of([&] { bnn::open_finn_device(rig.device, m, engine, std::nullopt, 64, 0, true); });
  EXPECT_NE(e.find("pynq:0: the lfcW1A1 overlay thresholds its last layer in hardware"), std::string::npos) << e;
  EXPECT_EQ(rig.board->runs(), 0u);
}

namespace {

// Each fault: the error of a 20-image classify in batches of 16 (images
// 100-115, then 116-119). After a fault of the board itself (not done, or
// done wrongly) nothing more runs on it.
void check_faults(const std::map<Fault, std::string>& want) {
  Env timeout("FPGAIO_PYNQ_TIMEOUT_MS", "300");
  bnn::Model m = fashion();
  bnn::Engine engine(m, bnn::Isa::portable);
  const std::size_t n = 20;
  auto px = testutil::random_data(n * m.input.values(), 9);
  for (const auto& [fault, text] : want) {
    Rig rig(fault);
    auto dev = bnn::open_finn_device(rig.device, m, engine, std::nullopt, 16, 0, true);
    ASSERT_TRUE(dev.driver);
    std::vector<std::uint16_t> cls(n);
    std::string e = error_of([&] { dev.driver->classify(px.data(), n, 100, cls.data()); });
    EXPECT_NE(e.find(text), std::string::npos) << e;
    EXPECT_EQ(e.rfind("pynq:0/b1: batch 1 (images 100-115): ", 0), 0u) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    if (fault == Fault::short_output || fault == Fault::out_of_range) continue;
    std::string again = error_of([&] { dev.driver->classify(px.data(), 1, 0, cls.data()); });
    EXPECT_NE(again.find("not run: the accelerator failed before ("), std::string::npos) << again;
  }
}

}  // namespace

TEST(PynqDriver, ABoardThatDoesNotFinishIsAnErrorWithinTheBoundNeverAHang) {
  check_faults({
      {Fault::lost_done, "a batch of 16 images not done within 0.3 s: the emulator of "},
      {Fault::stop, "has stopped"},
      {Fault::refuse, "a batch of 16 images: the emulator refused the run: injected refusal"},
  });
}

TEST(PynqDriver, OutputsAreNotTrustedUnwrittenImpossibleOrUncounted) {
  check_faults({
      {Fault::short_output, "no output for image 115 (score 0 of 64 not written)"},
      {Fault::out_of_range, "score 3 of image 115 is 600, beyond the last layer's fan-in 512"},
      {Fault::done_twice, "ap_done, but the emulator's count of runs went from"},
  });
}

TEST(PynqDriver, AnEmulatorRestartedUnderTheDriverIsAnErrorNotScoresOfEmptyMemories) {
  Rig rig(Fault::none);
  bnn::Model m = fashion();
  bnn::Engine engine(m, bnn::Isa::portable);
  auto dev = bnn::open_finn_device(rig.device, m, engine, std::nullopt, 16, 0, true);
  ASSERT_TRUE(dev.driver);
  auto px = testutil::random_data(4 * m.input.values(), 3);
  std::vector<std::uint16_t> cls(4);
  dev.driver->classify(px.data(), 4, 0, cls.data());
  rig.board->set_pid(static_cast<std::uint32_t>(::getpid()) + 1);
  std::string e = error_of([&] { dev.driver->classify(px.data(), 4, 0, cls.data()); });
  EXPECT_NE(e.find("was restarted"), std::string::npos) << e;
  EXPECT_NE(e.find("the parameters written into it are lost"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(PynqDriver, AMissingEmulationFileIsNoDeviceAndTheErrorSaysWhy) {
  testutil::TempDir dir;
  Env emu("FPGAIO_PYNQ_EMU", dir.path + "/none");
  std::string e = error_of([] { select_device("pynq:0", "bnn"); });
  EXPECT_NE(e.find("FPGAIO_PYNQ_EMU: " + dir.path + "/none: No such file or directory"), std::string::npos) << e;
}

TEST(PynqDriver, TwoBufferPairsServeBatchesFromTwoThreadsInOrderEach) {
  Rig rig(Fault::none);
  bnn::Model m = fashion();
  bnn::Engine engine(m, bnn::Isa::portable);
  auto dev = bnn::open_finn_device(rig.device, m, engine, std::nullopt, 8, 0, true);
  ASSERT_TRUE(dev.driver);
  const std::size_t n = 64;
  std::vector<Bytes> px;
  for (unsigned t = 0; t < 2; ++t) px.push_back(testutil::random_data(n * m.input.values(), 20 + t));
  std::vector<std::vector<std::uint16_t>> cls(2, std::vector<std::uint16_t>(n));
  std::vector<std::vector<std::int32_t>> sc(2, std::vector<std::int32_t>(n * 10));
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < 2; ++t)
    ts.emplace_back([&, t] {
      for (std::size_t i = 0; i < n; i += 8) dev.driver->classify(px[t].data() + i * m.input.values(), 8, i, cls[t].data() + i, sc[t].data() + i * 10);
    });
  for (auto& t : ts) t.join();
  for (unsigned t = 0; t < 2; ++t) {
    std::vector<std::uint16_t> want_cls;
    std::vector<std::int32_t> want_scores;
    expected(m, px[t], n, want_cls, want_scores);
    EXPECT_EQ(cls[t], want_cls) << "thread " << t;
    EXPECT_EQ(sc[t], want_scores) << "thread " << t;
  }
  EXPECT_EQ(rig.board->batches.size(), 16u);
}

TEST(PynqDriver, TheTwoPortsAreTwoBufferPairsInTheHalvesOfThePool) {
  Rig rig(Fault::none);
  bnn::Model m = fashion();
  auto opened = open_pynq_ports(rig.device, m, 8);
  ASSERT_EQ(opened.ports.size(), 2u);
  auto px = testutil::random_data(3 * m.input.values(), 31);
  std::vector<std::uint16_t> want_cls;
  std::vector<std::int32_t> want_scores;
  expected(m, px, 3, want_cls, want_scores);
  for (auto& port : opened.ports) {
    EXPECT_EQ(port->max_images(), 8u);
    EXPECT_EQ(port->scores_per_image(), 64u);
    EXPECT_EQ(port->max_score(), 512u);
    std::vector<std::uint16_t> out(3 * 64, 0);
    port->run_scores(px.data(), 3, out.data());
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t j = 0; j < 10; ++j) EXPECT_EQ(out[i * 64 + j], want_scores[i * 10 + j]);
  }
  // 1 MiB pool: port 1's input at its start, port 2's at the second half.
  EXPECT_EQ(rig.board->inputs, (std::set<std::uint64_t>{kEmuPoolPhys, kEmuPoolPhys + (1 << 19)}));
}

TEST(PynqDriver, AnEmulationHeaderThatPointsOutsideItsFileIsRefused) {
  testutil::TempDir dir;
  Env emu("FPGAIO_PYNQ_EMU", dir.path + "/board");
  Env lock("FPGA_LOCK_DIR", dir.path);
  {
    FakeBoard b(dir.path + "/board", Fault::none);
    Device d = select_device("pynq:0", "bnn");
    // The pool said to be 1 GiB: beyond the file.
    int fd = ::open((dir.path + "/board").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    std::uint64_t big = std::uint64_t{1} << 30;
    ASSERT_EQ(::pwrite(fd, &big, 8, offsetof(EmuHeader, pool_size)), 8);
    ::close(fd);
    bnn::Model m = fashion();
    bnn::Engine engine(m, bnn::Isa::portable);
    std::string e = error_of([&] { bnn::open_finn_device(d, m, engine, std::nullopt, 8, 0, true); });
    EXPECT_NE(e.find("pynq:0: " + dir.path + "/board: its header places the registers or the pool outside the "), std::string::npos) << e;
    EXPECT_EQ(b.runs(), 0u);
  }
}
