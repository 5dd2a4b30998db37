// The emulated BNN-PYNQ overlay (fpga-infer pynq-emu), driven through its
// file by a register writer of the test's own, written from
// docs/PYNQ-EMULATION.md alone (not the driver): the file's layout and
// states, parameter words in BNN-PYNQ's order, compute runs against the CPU
// engine on the importer's model, the published deer scores from BNN-PYNQ's
// original files (skipped where ../shared/data is absent), each fault seen at
// the file, and the refusals.
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "fpgaio/bnn.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/pynq.hpp"
#include "fpgaio/pynq_emu.hpp"
#include "tempdir.hpp"

namespace {

namespace pynq = fpgaio::pynq;
namespace bnn = fpgaio::bnn;
using testutil::TempDir;

long futex(std::uint32_t* w, int op, std::uint32_t v, const timespec* t) {
#if defined(SYS_futex_time64) && defined(__SIZEOF_LONG__) && __SIZEOF_LONG__ == 4
  if (sizeof(time_t) == 8) return ::syscall(SYS_futex_time64, w, op, v, t, nullptr, 0);  // 32-bit, 64-bit time_t
#endif
  return ::syscall(SYS_futex, w, op, v, t, nullptr, 0);
}

enum class Outcome { done, refused, timeout };

// The driver's side of the file, as the contract describes it.
class Board {
 public:
  explicit Board(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR);
    EXPECT_GE(fd_, 0) << path;
    struct stat st;
    ::fstat(fd_, &st);
    size_ = static_cast<std::size_t>(st.st_size);
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    EXPECT_NE(p, MAP_FAILED);
    base_ = static_cast<std::uint8_t*>(p);
  }
  ~Board() {
    ::munmap(base_, size_);
    ::close(fd_);
  }
  std::size_t size() const { return size_; }
  pynq::EmuHeader& h() const { return *reinterpret_cast<pynq::EmuHeader*>(base_); }
  std::uint32_t state() const { return __atomic_load_n(&h().state, __ATOMIC_ACQUIRE); }
  std::uint32_t fault() const { return __atomic_load_n(&h().fault, __ATOMIC_ACQUIRE); }
  std::string fault_text() const { return std::string(h().fault_text, strnlen(h().fault_text, 256)); }
  std::uint32_t runs() const { return __atomic_load_n(&h().runs, __ATOMIC_ACQUIRE); }
  std::uint32_t* reg(std::uint32_t off) const { return reinterpret_cast<std::uint32_t*>(base_ + h().regs_offset + off); }
  std::uint32_t control() const { return __atomic_load_n(reg(pynq::reg::control), __ATOMIC_ACQUIRE); }
  void put(std::uint32_t off, std::uint32_t v) { __atomic_store_n(reg(off), v, __ATOMIC_RELAXED); }
  std::uint8_t* pool() const { return base_ + h().pool_offset; }
  std::uint64_t phys(std::uint64_t off) const { return h().pool_phys + off; }

  // One run: control = ap_start (release) and a wake; then ap_done
  // (acquire), a short spin, then FUTEX_WAIT 1 ms at a time. Refused: the
  // emulator took the run (control 0) and set fault.
  Outcome run(int ms = 60000) {
    std::uint32_t* ctl = reg(pynq::reg::control);
    __atomic_store_n(ctl, pynq::kApStart, __ATOMIC_RELEASE);
    futex(ctl, FUTEX_WAKE, INT_MAX, nullptr);
    ++round_trips;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (unsigned i = 0;; ++i) {
      std::uint32_t c = __atomic_load_n(ctl, __ATOMIC_ACQUIRE);
      if (c & pynq::kApDone) return Outcome::done;
      if (!(c & pynq::kApStart) && fault()) return Outcome::refused;
      if (i < 2000) continue;
      if (std::chrono::steady_clock::now() > until) return Outcome::timeout;
      timespec t{0, 1000 * 1000};
      futex(ctl, FUTEX_WAIT, c, &t);
    }
  }
  Outcome word(std::uint32_t target, std::uint32_t pe, std::uint32_t line, std::uint64_t val, std::uint32_t th = 0,
               int ms = 5000) {
    put(pynq::reg::do_init, 1);
    put(pynq::reg::target_layer, target);
    put(pynq::reg::target_mem, pe);
    put(pynq::reg::target_ind, line);
    put(pynq::reg::target_thresh, th);
    put(pynq::reg::val_lo, static_cast<std::uint32_t>(val));
    put(pynq::reg::val_hi, static_cast<std::uint32_t>(val >> 32));
    Outcome o = run(ms);
    put(pynq::reg::do_init, 0);
    return o;
  }
  Outcome compute(std::uint64_t in, std::uint64_t out, std::uint32_t n, int ms = 60000) {
    put(pynq::reg::do_init, 0);
    put(pynq::reg::in_lo, static_cast<std::uint32_t>(in));
    put(pynq::reg::in_hi, static_cast<std::uint32_t>(in >> 32));
    put(pynq::reg::out_lo, static_cast<std::uint32_t>(out));
    put(pynq::reg::out_hi, static_cast<std::uint32_t>(out >> 32));
    put(pynq::reg::num_reps, n);
    return run(ms);
  }
  std::uint64_t round_trips = 0;

 private:
  int fd_ = -1;
  std::uint8_t* base_ = nullptr;
  std::size_t size_ = 0;
};

// An emulator serving in a thread of the test.
struct Served {
  pynq::Emulator emu;
  std::thread t;
  Served(const std::string& path, const pynq::EmuOptions& o) : emu(path, o), t([this] { emu.serve(); }) {}
  ~Served() { stop(); }
  void stop() {
    emu.stop();
    if (t.joinable()) t.join();
  }
};

pynq::EmuOptions options(const pynq::Overlay& ov = pynq::cnv_w1a1(), std::uint64_t pool_mib = 4) {
  pynq::EmuOptions o;
  o.overlay = &ov;
  o.pool_size = pool_mib << 20;
  o.threads = 2;
  return o;
}

std::string shared_data() {
  std::string p = std::string(FPGA_SOURCE_DIR) + "/../shared/data";
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? p : "";
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::vector<std::uint64_t> read_words(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::uint64_t> w(b.size() / 8);
  std::memcpy(w.data(), b.data(), w.size() * 8);
  return w;
}

void write_words(const std::string& path, const std::vector<std::uint64_t>& w) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(w.data()), static_cast<std::streamsize>(w.size() * 8));
}

// A BNN-PYNQ parameter folder's words, in BNN-PYNQ's order: layer by
// layer, PE by PE, that PE's weight lines, then its threshold lines.
// Returns the words written; stops at the first that is not done. With
// `garbage`, each threshold word gets random bits above the width its
// memory keeps (CNV layer 0: 24 bits, the others 16): the hardware drops
// them, so the answers must not change.
std::uint64_t load_folder(Board& b, const std::string& dir, const pynq::Overlay& ov, std::mt19937_64* garbage = nullptr) {
  std::uint64_t n = 0;
  for (std::uint32_t li = 0; li < ov.count; ++li)
    for (std::uint32_t pe = 0; pe < ov.layers[li].pe; ++pe) {
      const std::string base = dir + "/" + std::to_string(li) + "-" + std::to_string(pe);
      const auto w = read_words(base + "-weights.bin");
      EXPECT_EQ(w.size(), ov.layers[li].lines()) << base;
      for (std::uint32_t i = 0; i < w.size(); ++i, ++n)
        if (b.word(2 * li, pe, i, w[i]) != Outcome::done) return n;
      if (!exists(base + "-thres.bin")) continue;
      const auto t = read_words(base + "-thres.bin");
      EXPECT_EQ(t.size(), ov.layers[li].out / ov.layers[li].pe) << base;
      const unsigned bits = ov.fixed8_input && li == 0 ? 24 : 16;
      for (std::uint32_t i = 0; i < t.size(); ++i, ++n) {
        const std::uint64_t extra = garbage ? ((*garbage)() | 1) << bits : 0;
        if (b.word(2 * li + 1, pe, i, t[i] + extra) != Outcome::done) return n;
      }
    }
  return n;
}

// Random parameters in BNN-PYNQ's file layout (every bit of a weight word
// random, so that the bits above SIMD must be dropped), with thresholds
// near the middle of each layer's range. Raw mt19937_64 words only: the same
// folder on every standard library.
void write_random_folder(const std::string& dir, const pynq::Overlay& ov, std::mt19937_64& rng) {
  for (std::uint32_t li = 0; li < ov.count; ++li) {
    const pynq::OverlayLayer& l = ov.layers[li];
    for (std::uint32_t pe = 0; pe < l.pe; ++pe) {
      const std::string base = dir + "/" + std::to_string(li) + "-" + std::to_string(pe);
      std::vector<std::uint64_t> w(l.lines());
      for (auto& x : w) x = rng();
      write_words(base + "-weights.bin", w);
      if (!l.thresholds) continue;
      std::vector<std::uint64_t> t(l.out / l.pe);
      for (auto& x : t) {
        std::int64_t v;
        if (ov.fixed8_input && li == 0) v = static_cast<std::int64_t>(rng() % 3001) - 1500;  // 1/256ths
        else v = l.fan_in() / 2 + static_cast<std::int64_t>(rng() % (l.fan_in() / 4 + 1)) - l.fan_in() / 8;
        x = static_cast<std::uint64_t>(v);
      }
      write_words(base + "-thres.bin", t);
    }
  }
}

// Q1.7 of -1 + 2p/255, rounded, saturated (the notes' conversion, done here
// independently of the engine).
std::int8_t q17(std::uint8_t p) {
  long v = std::lround((2.0 * p - 255.0) * 128.0 / 255.0);
  return static_cast<std::int8_t>(std::min(127L, std::max(-128L, v)));
}

std::vector<std::uint8_t> random_pixels(std::mt19937_64& rng, std::size_t n) {
  std::vector<std::uint8_t> px(n);
  for (auto& p : px) p = static_cast<std::uint8_t>(rng());
  return px;
}

// HWC pixels -> the overlay's input bytes (CNV: Q1.7 a byte; LFC: one bit a
// pixel, p >= 128, 832 bits).
void put_image(const pynq::Overlay& ov, const std::vector<std::uint8_t>& px, std::uint8_t* dst) {
  std::memset(dst, 0, ov.in_bytes);
  for (std::size_t i = 0; i < px.size(); ++i) {
    if (ov.fixed8_input) dst[i] = static_cast<std::uint8_t>(q17(px[i]));
    else if (px[i] >= 128) dst[i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
  }
}

std::vector<std::int32_t> scores_at(const std::uint8_t* p, std::size_t n) {
  std::vector<std::int32_t> s(n);
  for (std::size_t k = 0; k < n; ++k) s[k] = p[2 * k] | p[2 * k + 1] << 8;
  return s;
}

std::uint64_t word_at(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int k = 0; k < 8; ++k) v |= std::uint64_t{p[k]} << (8 * k);
  return v;
}

// The LFC overlay's answer from the CPU: the engine's scores of the
// importer's model, then the last layer's thresholds of the folder.
std::uint64_t lfc_bits(const bnn::Engine& e, const std::string& dir, const std::vector<std::uint8_t>& px) {
  const pynq::OverlayLayer& l = pynq::lfc_w1a1().layers[3];
  std::vector<std::int32_t> s(10);
  e.classify(px.data(), s.data());
  std::uint64_t bits = 0;
  for (std::uint32_t c = 0; c < 10; ++c) {
    const auto t = read_words(dir + "/3-" + std::to_string(c % l.pe) + "-thres.bin");
    if (static_cast<std::int16_t>(t[c / l.pe]) < s[c]) bits |= std::uint64_t{1} << c;
  }
  return bits;
}

// N random images through one compute run; each image's answer must be
// the CPU engine's on the importer's model of `dir`. Returns how many
// classes (CNV) differ, with `expect_equal` false for a faulty emulator.
int compare_with_cpu(Board& b, const pynq::Overlay& ov, const std::string& dir, int n, std::mt19937_64& rng,
                     bool expect_equal) {
  const bnn::Model m = bnn::import_bnn_pynq(dir);
  const bnn::Engine e(m, bnn::best_isa());
  const std::size_t values = m.input.values(), out_off = 2 << 20;
  std::vector<std::vector<std::uint8_t>> images;
  for (int i = 0; i < n; ++i) {
    images.push_back(random_pixels(rng, values));
    put_image(ov, images.back(), b.pool() + i * ov.in_bytes);
  }
  EXPECT_EQ(b.compute(b.phys(0), b.phys(out_off), static_cast<std::uint32_t>(n)), Outcome::done);
  int differ = 0;
  for (int i = 0; i < n; ++i) {
    const std::uint8_t* got = b.pool() + out_off + i * ov.out_bytes;
    if (ov.fixed8_input) {
      std::vector<std::int32_t> want(10);
      e.classify(images[i].data(), want.data());
      const auto s = scores_at(got, 10);
      if (expect_equal) {
        EXPECT_EQ(s, want) << "image " << i;
      }
      differ += bnn::argmax(s.data(), 10) != bnn::argmax(want.data(), 10);
    } else {
      const std::uint64_t want = lfc_bits(e, dir, images[i]);
      if (expect_equal) {
        EXPECT_EQ(word_at(got) & 0x3ff, want) << "image " << i;
      }
      differ += (word_at(got) & 0x3ff) != want;
    }
  }
  return differ;
}

}  // namespace

// ---- the file -----------------------------------------------------------------

TEST(PynqEmu, TheFileIsLaidOutAsTheContractSays) {
  TempDir d;
  const std::string f = d.path + "/board";
  {
    Served s(f, options(pynq::cnv_w1a1(), 2));
    Board b(f);
    EXPECT_EQ(b.size(), 4096u + 65536u + (2u << 20));
    const pynq::EmuHeader& h = b.h();
    EXPECT_EQ(std::string(h.magic, 16), std::string("FPGAIO-PYNQ-EMU\0", 16));
    EXPECT_EQ(h.version, 1u);
    EXPECT_EQ(b.state(), 1u);  // serving
    EXPECT_EQ(h.regs_offset, 4096u);
    EXPECT_EQ(h.regs_size, 65536u);
    EXPECT_EQ(h.regs_phys, 0x43C00000u);
    EXPECT_EQ(h.pool_offset, 69632u);
    EXPECT_EQ(h.pool_size, 2u << 20);
    EXPECT_EQ(h.pool_phys, 0x18000000u);
    EXPECT_STREQ(h.overlay, "cnvW1A1");
    EXPECT_EQ(h.emulator_pid, static_cast<std::uint32_t>(::getpid()));
    EXPECT_EQ(b.runs(), 0u);
    EXPECT_EQ(b.fault(), 0u);
    // The header at its byte offsets, not only through the struct.
    const auto* raw = reinterpret_cast<const std::uint8_t*>(&h);
    EXPECT_EQ(word_at(raw + 56), 2u << 20);
    EXPECT_EQ(word_at(raw + 64), 0x18000000u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(raw + 72)), "cnvW1A1");
    // Registers and pool start zeroed.
    for (std::uint32_t r = 0; r < 65536; r += 4) ASSERT_EQ(*b.reg(r), 0u) << r;
    for (std::size_t i = 0; i < (2u << 20); ++i) ASSERT_EQ(b.pool()[i], 0) << i;
    // A run: runs counts it, control is done | idle.
    EXPECT_EQ(b.compute(b.phys(0), b.phys(4096), 0), Outcome::done);
    EXPECT_EQ(b.control(), pynq::kApDone | pynq::kApIdle);
    EXPECT_EQ(b.runs(), 1u);
    s.stop();
    EXPECT_EQ(b.state(), 2u);  // stopped
  }
}

TEST(PynqEmu, CreatesReplacesAndRefusesFilesAsDocumented) {
  TempDir d;
  const std::string f = d.path + "/board";
  { Served s(f, options()); }
  { Served again(f, options()); }  // an emulator's file from before: no -f needed
  // One emulator a file.
  {
    Served s(f, options());
    const std::string e = [&] {
      try {
        pynq::Emulator second(f, options());
      } catch (const fpgaio::Error& x) {
        return x.path + ": " + x.what();
      }
      return std::string("no error");
    }();
    EXPECT_NE(e.find("another emulator serves this file (process " + std::to_string(::getpid()) + ")"),
              std::string::npos)
        << e;
  }
  // Another file: kept without force, replaced with it.
  const std::string other = d.path + "/notes.txt";
  std::ofstream(other) << "keep me\n";
  try {
    pynq::Emulator e(other, options());
    FAIL() << "overwrote a file that is not an emulator's";
  } catch (const fpgaio::Error& x) {
    EXPECT_EQ(x.path, other);
    EXPECT_NE(std::string(x.what()).find("not an emulator's file; not overwritten (use -f)"), std::string::npos);
  }
  std::ifstream in(other);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "keep me");
  pynq::EmuOptions force = options();
  force.force = true;
  { pynq::Emulator e(other, force); }
  // Never a symbolic link or a non-regular file, -f or not.
  ASSERT_EQ(::symlink(f.c_str(), (d.path + "/link").c_str()), 0);
  EXPECT_THROW(pynq::Emulator(d.path + "/link", force), fpgaio::Error);
  EXPECT_THROW(pynq::Emulator(d.path, force), fpgaio::Error);
  EXPECT_THROW(pynq::Emulator("/dev/null", force), fpgaio::Error);
  // A failed start leaves no file behind.
  EXPECT_THROW(pynq::Emulator(d.path + "/missing-dir/board", options()), fpgaio::Error);
}

// ---- parameters and compute runs against the CPU ----------------------------

TEST(PynqEmu, CnvRandomParametersGiveTheCpuEnginesScoresOnTheImportersModel) {
  TempDir d;
  std::mt19937_64 rng(2023);
  write_random_folder(d.path, pynq::cnv_w1a1(), rng);
  const std::string f = d.path + "/board";
  Served s(f, options());
  Board b(f);
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t words = load_folder(b, d.path, pynq::cnv_w1a1(), &rng);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(words, pynq::parameter_words(pynq::cnv_w1a1()));
  ASSERT_EQ(words, 136512u);
  std::printf("CNV load: %llu words in %.2f s, %.0f round trips/s (the test's writer, one core each side)\n",
              static_cast<unsigned long long>(words), secs, static_cast<double>(words) / secs);
  EXPECT_EQ(b.runs(), words);
  EXPECT_EQ(s.emu.stats().words, words);
  EXPECT_EQ(compare_with_cpu(b, pynq::cnv_w1a1(), d.path, 40, rng, true), 0);
  EXPECT_EQ(s.emu.stats().rebuilds, 1u);
  // The network is built again only after a parameter word changed it.
  EXPECT_EQ(compare_with_cpu(b, pynq::cnv_w1a1(), d.path, 3, rng, true), 0);
  EXPECT_EQ(s.emu.stats().rebuilds, 1u);
  const auto w0 = read_words(d.path + "/8-1-weights.bin");
  EXPECT_EQ(b.word(16, 1, 0, ~w0[0]), Outcome::done);  // class 1's first synapse, inverted
  EXPECT_EQ(b.word(16, 1, 0, w0[0]), Outcome::done);   // and back
  EXPECT_EQ(compare_with_cpu(b, pynq::cnv_w1a1(), d.path, 3, rng, true), 0);
  EXPECT_EQ(s.emu.stats().rebuilds, 2u);
}

TEST(PynqEmu, AWrongParameterWordShowsUpAsWrongClasses) {
  TempDir d;
  std::mt19937_64 rng(2023);
  write_random_folder(d.path, pynq::cnv_w1a1(), rng);
  const std::string f = d.path + "/board";
  // In BNN-PYNQ's order, layer 0's PE 0 takes its 36 weight lines, then its
  // first threshold: word 37.
  const std::uint64_t first_threshold = pynq::cnv_w1a1().layers[0].lines() + 1;
  pynq::EmuOptions o = options();
  pynq::parse_emu_fault("flip-bit=" + std::to_string(first_threshold), o.faults);
  Served s(f, o);
  Board b(f);
  ASSERT_EQ(load_folder(b, d.path, pynq::cnv_w1a1()), 136512u);
  // Output channel 0 of layer 0 is now (nearly) always on or off: classes
  // differ from the CPU's.
  const int differ = compare_with_cpu(b, pynq::cnv_w1a1(), d.path, 40, rng, false);
  std::printf("flip-bit=%llu: %d of 40 classes differ from the CPU's\n",
              static_cast<unsigned long long>(first_threshold), differ);
  EXPECT_GT(differ, 0);
}

TEST(PynqEmu, BnnPynqsOriginalParametersGiveThePublishedDeerScores) {
  const std::string data = shared_data();
  if (data.empty()) GTEST_SKIP() << "../shared/data is absent";
  const std::string dir = data + "/bnn-pynq/cifar10/cnvW1A1";
  TempDir d;
  const std::string f = d.path + "/board";
  Served s(f, options());
  Board b(f);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(load_folder(b, dir, pynq::cnv_w1a1()), 136512u);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("BNN-PYNQ cnvW1A1 load: 136512 words in %.2f s, %.0f round trips/s\n", secs, 136512 / secs);
  // deer.bin: CIFAR-10's planes to HWC, Q1.7.
  std::ifstream in(data + "/images/deer.bin", std::ios::binary);
  std::vector<char> rec(3073);
  ASSERT_TRUE(in.read(rec.data(), 3073));
  std::vector<std::uint8_t> px(3072);
  for (int p = 0; p < 1024; ++p)
    for (int c = 0; c < 3; ++c) px[p * 3 + c] = static_cast<std::uint8_t>(rec[1 + c * 1024 + p]);
  put_image(pynq::cnv_w1a1(), px, b.pool());
  EXPECT_EQ(word_at(b.pool()), 0x2730808080808080u);
  ASSERT_EQ(b.compute(b.phys(0), b.phys(1 << 20), 1), Outcome::done);
  const std::vector<std::int32_t> want = {228, 229, 251, 250, 412, 253, 230, 262, 222, 239};
  EXPECT_EQ(scores_at(b.pool() + (1 << 20), 10), want);
  // Many images in one run: the CPU engine's scores on the importer's model.
  std::mt19937_64 rng(7);
  EXPECT_EQ(compare_with_cpu(b, pynq::cnv_w1a1(), dir, 100, rng, true), 0);
}

TEST(PynqEmu, LfcGivesTheCpuEnginesThresholdedBits) {
  TempDir d;
  std::mt19937_64 rng(99);
  std::string dir = d.path;
  const std::string data = shared_data();
  if (!data.empty()) dir = data + "/bnn-pynq/mnist/lfcW1A1";  // BNN-PYNQ's own, else random
  else write_random_folder(d.path, pynq::lfc_w1a1(), rng);
  const std::string f = d.path + "/board";
  Served s(f, options(pynq::lfc_w1a1()));
  Board b(f);
  EXPECT_STREQ(b.h().overlay, "lfcW1A1");
  ASSERT_EQ(load_folder(b, dir, pynq::lfc_w1a1(), &rng), 73792u);
  EXPECT_EQ(compare_with_cpu(b, pynq::lfc_w1a1(), dir, 50, rng, true), 0);
  if (data.empty()) return;
  // BNN-PYNQ's MNIST 3: bit 3 alone among the classes.
  std::ifstream in(data + "/images/mnist-3.idx3-ubyte", std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(raw.size(), 16u + 784u);
  std::vector<std::uint8_t> px(raw.begin() + 16, raw.end());
  put_image(pynq::lfc_w1a1(), px, b.pool());
  ASSERT_EQ(b.compute(b.phys(0), b.phys(4096), 1), Outcome::done);
  EXPECT_EQ(word_at(b.pool() + 4096) & 0x3ff, std::uint64_t{1} << 3);
}

// ---- faults -------------------------------------------------------------------

namespace {
// Three identical images (all pixels 0) and an output buffer filled with
// 0xAA, so that what a run wrote, and did not, shows.
void three_images(Board& b) {
  for (int i = 0; i < 3; ++i) std::memset(b.pool() + i * 3072, 0x80, 3072);
  std::memset(b.pool() + (1 << 20), 0xAA, 3 * 128);
}
bool untouched(const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != 0xAA) return false;
  return true;
}
}  // namespace

TEST(PynqEmu, FaultLostDoneWritesTheOutputsButNeverSetsDone) {
  TempDir d;
  pynq::EmuOptions o = options();
  pynq::parse_emu_fault("lost-done=2", o.faults);
  Served s(d.path + "/board", o);
  Board b(d.path + "/board");
  three_images(b);
  ASSERT_EQ(b.compute(b.phys(0), b.phys(1 << 20), 3), Outcome::done);
  std::memset(b.pool() + (1 << 20), 0xAA, 3 * 128);
  EXPECT_EQ(b.compute(b.phys(0), b.phys(1 << 20), 3, 300), Outcome::timeout);
  EXPECT_EQ(b.control(), 0u);  // started, never done
  EXPECT_EQ(b.runs(), 1u);
  EXPECT_EQ(b.fault(), 0u);
  // The outputs came (the emulator finishes computing before it drops done).
  for (int i = 0; i < 200 && s.emu.stats().images < 6; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(untouched(b.pool() + (1 << 20), 128));
  EXPECT_EQ(b.compute(b.phys(0), b.phys(1 << 20), 3), Outcome::done);  // the next run is served
  EXPECT_EQ(b.runs(), 2u);
}

// A driver that gave up on a long run and starts another: the long run's
// done must not stand for the new one.
TEST(PynqEmu, ARunStartedDuringALongOneIsServedAfterItNotAnsweredByIt) {
  TempDir d;
  Served s(d.path + "/board", options(pynq::cnv_w1a1(), 16));
  Board b(d.path + "/board");
  const std::uint32_t n = 3000;
  std::memset(b.pool(), 0x80, std::size_t{n} * 3072);
  EXPECT_EQ(b.compute(b.phys(0), b.phys(12 << 20), n, 1), Outcome::timeout);
  // A driver writes the next run's arguments only once the emulator took
  // the last start (ap_start cleared), as on a board; under load that can
  // take a while. The word then waits behind the long run: no 5 s bound.
  for (int i = 0; i < 60000 && (b.control() & pynq::kApStart); ++i) usleep(1000);
  ASSERT_EQ(b.control() & pynq::kApStart, 0u) << "the emulator never took the long run";
  const bool still_running = s.emu.stats().batches == 0;
  EXPECT_EQ(b.word(0, 0, 0, 5, 0, 120000), Outcome::done);
  EXPECT_EQ(s.emu.stats().words, 1u);  // done came from the word's run
  EXPECT_EQ(s.emu.stats().batches, 1u);
  EXPECT_EQ(b.runs(), 2u);
  if (!still_running) std::printf("(the long run ended before the word was started: the case was not reached)\n");
}

TEST(PynqEmu, FaultWrongScorePutsAnImpossibleScoreInImageK) {
  TempDir d;
  pynq::EmuOptions o = options();
  pynq::parse_emu_fault("wrong-score=2", o.faults);
  Served s(d.path + "/board", o);
  Board b(d.path + "/board");
  three_images(b);
  ASSERT_EQ(b.compute(b.phys(0), b.phys(1 << 20), 3), Outcome::done);
  const auto first = scores_at(b.pool() + (1 << 20), 64), second = scores_at(b.pool() + (1 << 20) + 128, 64),
             third = scores_at(b.pool() + (1 << 20) + 256, 64);
  EXPECT_EQ(first, third);
  EXPECT_NE(first, second);
  int impossible = 0;
  for (int k = 0; k < 64; ++k) {
    EXPECT_LE(first[k], 512);
    impossible += second[k] > 512;
    if (second[k] <= 512) {
      EXPECT_EQ(second[k], first[k]) << k;
    }
  }
  EXPECT_EQ(impossible, 1);
  EXPECT_NE(bnn::argmax(first.data(), 10), bnn::argmax(second.data(), 10));  // a wrong class, unchecked
}

TEST(PynqEmu, FaultShortOutputLeavesTheLastImageUnwritten) {
  TempDir d;
  pynq::EmuOptions o = options();
  pynq::parse_emu_fault("short-output=1", o.faults);
  Served s(d.path + "/board", o);
  Board b(d.path + "/board");
  three_images(b);
  ASSERT_EQ(b.compute(b.phys(0), b.phys(1 << 20), 3), Outcome::done);
  EXPECT_FALSE(untouched(b.pool() + (1 << 20), 128));
  EXPECT_FALSE(untouched(b.pool() + (1 << 20) + 128, 128));
  EXPECT_TRUE(untouched(b.pool() + (1 << 20) + 256, 128));
  three_images(b);
  ASSERT_EQ(b.compute(b.phys(0), b.phys(1 << 20), 3), Outcome::done);  // run 2 is whole
  EXPECT_FALSE(untouched(b.pool() + (1 << 20) + 256, 128));
}

TEST(PynqEmu, FaultRefuseSetsTheFaultAndNeverDone) {
  TempDir d;
  pynq::EmuOptions o = options();
  pynq::parse_emu_fault("refuse=1", o.faults);
  Served s(d.path + "/board", o);
  Board b(d.path + "/board");
  three_images(b);
  EXPECT_EQ(b.compute(b.phys(0), b.phys(1 << 20), 3), Outcome::refused);
  EXPECT_EQ(b.fault(), 2u);
  EXPECT_EQ(b.fault_text(), "compute run 1: refused on purpose (--fault refuse=1)");
  EXPECT_EQ(b.control() & pynq::kApDone, 0u);
  EXPECT_TRUE(untouched(b.pool() + (1 << 20), 3 * 128));
  // The next run clears the fault.
  EXPECT_EQ(b.compute(b.phys(0), b.phys(1 << 20), 3), Outcome::done);
  EXPECT_EQ(b.fault(), 0u);
  EXPECT_EQ(b.fault_text(), "");
}

TEST(PynqEmu, FaultSpecsAreParsedStrictly) {
  pynq::EmuFaults f;
  pynq::parse_emu_fault("lost-done=3", f);
  pynq::parse_emu_fault("flip-bit=7", f);
  EXPECT_EQ(pynq::describe(f), "lost-done=3, flip-bit=7");
  EXPECT_THROW(pynq::parse_emu_fault("lost-done=4", f), fpgaio::Error);  // twice
  for (const char* bad : {"lost-done", "lost-done=", "lost-done=0", "lost-done=x", "refuse=-1", "late=1", ""})
    EXPECT_THROW(pynq::parse_emu_fault(bad, f), fpgaio::Error) << bad;
}

// ---- refusals -------------------------------------------------------------------

TEST(PynqEmu, RefusesBuffersOutsideThePoolAndOutOfRangeMemories) {
  TempDir d;
  Served s(d.path + "/board", options(pynq::cnv_w1a1(), 1));
  Board b(d.path + "/board");
  const std::uint64_t pool = b.phys(0), end = b.phys(1 << 20);
  struct Case {
    std::uint64_t in, out;
    std::uint32_t n;
    const char* says;
  };
  const Case cases[] = {
      {pool - 8, pool + 8192, 1, "the input buffer (0x17fffff8, 1 image of 3072 bytes) is not wholly inside the pool (0x18000000, 1 MiB)"},
      {pool, end - 64, 1, "the output buffer (0x180fffc0, 1 image of 128 bytes) is not wholly inside"},
      {pool, end, 1, "the output buffer"},
      {end - 3072, pool, 2, "the input buffer"},
      {pool, pool + 4096, 0xffffffffu, "the input buffer"},
      {0, pool, 1, "the input buffer (0x0,"},
      {pool + (std::uint64_t{1} << 32), pool + 4096, 1, "the input buffer"},
      {pool + 4, pool + 4096, 1, "buffer address 0x18000004 is not 8-byte aligned"},
      {pool, pool + 1024, 1, "overlaps the input buffer"},
  };
  int run = 0;
  for (const Case& c : cases) {
    ++run;
    EXPECT_EQ(b.compute(c.in, c.out, c.n), Outcome::refused) << c.says;
    EXPECT_EQ(b.fault(), 1u);
    EXPECT_NE(b.fault_text().find(c.says), std::string::npos) << b.fault_text();
    EXPECT_EQ(b.fault_text().rfind("compute run " + std::to_string(run) + ": ", 0), 0u) << b.fault_text();
  }
  struct Word {
    std::uint32_t target, pe, line, th;
    const char* says;
  };
  const Word words[] = {
      {0, 16, 0, 0, "targetMem 16 is out of range for layer 0's weights (16 PEs)"},
      {0, 0, 36, 0, "targetInd 36 is out of range for layer 0's weights (36 lines a PE)"},
      {1, 0, 4, 0, "targetInd 4 is out of range for layer 0's thresholds (4 lines a PE)"},
      {16, 4, 0, 0, "targetMem 4 is out of range for layer 8's weights (4 PEs)"},
      {17, 0, 0, 0, "targetLayer 17: layer 8 of cnvW1A1 has no threshold memory"},
      {18, 0, 0, 0, "targetLayer 18 is beyond cnvW1A1's 9 layers (0-17)"},
      {3, 0, 0, 1, "targetThresh 1 is out of range (cnvW1A1 has one threshold a line)"},
  };
  for (const Word& w : words) {
    EXPECT_EQ(b.word(w.target, w.pe, w.line, 1, w.th), Outcome::refused) << w.says;
    EXPECT_EQ(b.fault(), 1u);
    EXPECT_NE(b.fault_text().find(w.says), std::string::npos) << b.fault_text();
  }
  EXPECT_EQ(s.emu.stats().words, 0u);
  EXPECT_EQ(s.emu.stats().refused, std::size(cases) + std::size(words));
  EXPECT_EQ(b.runs(), 0u);
  // The last line of each memory is in range.
  EXPECT_EQ(b.word(0, 15, 35, 1), Outcome::done);
  EXPECT_EQ(b.word(15, 0, 511, 1), Outcome::done);
  EXPECT_EQ(b.compute(end - 3072, pool, 1), Outcome::done);
}

// The engine's entry for Q1.7 values is classify() on the values of its
// pixels, and takes the one value no pixel gives.
TEST(PynqEmu, TheEngineTakesQ17ValuesDirectly) {
  std::mt19937_64 rng(5);
  TempDir d;
  write_random_folder(d.path, pynq::cnv_w1a1(), rng);
  const bnn::Model m = bnn::import_bnn_pynq(d.path);
  const bnn::Engine e(m, bnn::best_isa());
  std::vector<bool> seen(256);
  for (int p = 0; p < 256; ++p) seen[static_cast<std::uint8_t>(q17(static_cast<std::uint8_t>(p)))] = true;
  int missing = -1;
  for (int v = 0; v < 256; ++v)
    if (!seen[v]) missing = static_cast<std::int8_t>(v);
  EXPECT_NE(missing, -1);
  for (int i = 0; i < 5; ++i) {
    auto px = random_pixels(rng, 3072);
    std::vector<std::int8_t> q(3072);
    for (int k = 0; k < 3072; ++k) q[k] = q17(px[k]);
    std::vector<std::int32_t> a(10), b(10);
    e.classify(px.data(), a.data());
    e.classify_fixed(q.data(), b.data());
    EXPECT_EQ(a, b);
    for (int k = 0; k < 3072; k += 7) q[k] = static_cast<std::int8_t>(missing);
    e.classify_fixed(q.data(), b.data());  // runs; its result: the overlay tests above
  }
}
