// The emulated BNN-PYNQ overlay (pynq_emu.hpp): the file of
// docs/PYNQ-EMULATION.md, BlackBoxJam's memories as the parameter runs fill
// them, the futex handshake on the control word, and the compute runs on the
// CPU engine, with a network built from those memories only.
#include "fpgaio/pynq_emu.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "fpgaio/bnn.hpp"
#include "fpgaio/error.hpp"

#include "../util.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the emulation file is little-endian and is accessed as native words");

namespace fpgaio::pynq {

namespace {

// FUTEX_WAIT and FUTEX_WAKE, shared (not private): the two sides are
// different processes mapping one file. A 32-bit build with a 64-bit
// time_t needs the time64 call for its timeout.
long futex(std::uint32_t* word, int op, std::uint32_t val, const struct timespec* timeout) {
#if defined(SYS_futex_time64) && defined(__SIZEOF_LONG__) && __SIZEOF_LONG__ == 4
  if (sizeof(time_t) == 8) return ::syscall(SYS_futex_time64, word, op, val, timeout, nullptr, 0);
#endif
  return ::syscall(SYS_futex, word, op, val, timeout, nullptr, 0);
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__arm__) || defined(__aarch64__)
  asm volatile("yield");
#endif
}

std::string size_text(std::uint64_t bytes) {
  return bytes % (1 << 20) == 0 ? std::to_string(bytes >> 20) + " MiB" : std::to_string(bytes) + " bytes";
}

// A run the emulator does not do: why, for fault_text.
struct Refusal {
  std::uint32_t code;  // header.fault: 1 = arguments out of range, 2 = --fault refuse
  std::string text;
};

constexpr std::uint32_t kFaultArguments = 1, kFaultOnPurpose = 2;

}  // namespace

// ---- faults -------------------------------------------------------------------

void parse_emu_fault(const std::string& spec, EmuFaults& f) {
  const auto eq = spec.find('=');
  const std::string name = spec.substr(0, eq), value = eq == std::string::npos ? "" : spec.substr(eq + 1);
  struct Kind {
    const char* name;
    std::uint64_t EmuFaults::*field;
  };
  static const Kind kinds[] = {{"lost-done", &EmuFaults::lost_done},
                               {"wrong-score", &EmuFaults::wrong_score},
                               {"short-output", &EmuFaults::short_output},
                               {"flip-bit", &EmuFaults::flip_bit},
                               {"refuse", &EmuFaults::refuse}};
  for (const Kind& k : kinds) {
    if (name != k.name) continue;
    std::uint64_t n = 0;
    bool ok = !value.empty() && value.size() <= 18 && value.find_first_not_of("0123456789") == std::string::npos;
    if (ok) n = std::stoull(value);
    if (!ok || n == 0)
      throw Error(ErrorKind::usage, "--fault " + spec + ": " + k.name + " needs a number from 1 (" + k.name + "=N)");
    if (f.*k.field) throw Error(ErrorKind::usage, "--fault " + spec + ": " + k.name + " is given twice");
    f.*k.field = n;
    return;
  }
  throw Error(ErrorKind::usage, "--fault '" + spec +
                                    "': unknown fault (lost-done=N, wrong-score=K, short-output=N, flip-bit=N, refuse=N)");
}

std::string describe(const EmuFaults& f) {
  std::string s;
  auto add = [&](const char* name, std::uint64_t v) {
    if (!v) return;
    if (!s.empty()) s += ", ";
    s += std::string(name) + "=" + std::to_string(v);
  };
  add("lost-done", f.lost_done);
  add("wrong-score", f.wrong_score);
  add("short-output", f.short_output);
  add("flip-bit", f.flip_bit);
  add("refuse", f.refuse);
  return s;
}

// ---- the emulator -------------------------------------------------------------

struct Emulator::Impl {
  const Overlay* ov = nullptr;
  EmuFaults faults;
  unsigned threads = 1;
  bnn::Isa isa = bnn::Isa::portable;

  int fd = -1;
  std::uint8_t* base = nullptr;
  std::uint64_t size = 0, pool_size = 0;
  std::atomic<bool> stopping{false}, stopped{false};

  // BlackBoxJam's memories, as the hardware holds them: weight lines with
  // their low SIMD bits ([layer][pe * lines + line]); thresholds
  // ([layer][pe * (out / pe) + line]), CNV layer 0's in 1/256 (24 bits),
  // the others 16-bit.
  std::vector<std::vector<std::uint64_t>> weights;
  std::vector<std::vector<std::int32_t>> thresholds;
  bool dirty = true;  // the memories changed since the network was built
  std::unique_ptr<bnn::Engine> engine;
  std::vector<std::int32_t> last_thresholds;  // LFC: the last layer's, applied to the engine's scores

  std::uint64_t words_seen = 0, computes_seen = 0;  // runs started, for the faults
  std::atomic<std::uint64_t> words{0}, batches{0}, images{0}, refused{0}, rebuilds{0};

  EmuHeader* header() const { return reinterpret_cast<EmuHeader*>(base); }
  std::uint32_t* reg(std::uint32_t off) const { return reinterpret_cast<std::uint32_t*>(base + kEmuRegsOffset + off); }
  std::uint32_t get(std::uint32_t off) const { return __atomic_load_n(reg(off), __ATOMIC_RELAXED); }
  std::uint8_t* pool() const { return base + kEmuPoolOffset; }

  void wake() const { futex(reg(reg::control), FUTEX_WAKE, INT_MAX, nullptr); }
  bool wait_for_start();
  void run_one();
  void finish();
  void refuse(const Refusal& r);
  void store_word();
  void compute();
  void build();
  void compute_images(std::uint64_t in, std::uint64_t out, std::uint32_t first, std::uint32_t end,
                      std::uint32_t skip_from, std::uint64_t wrong) const;
};

Emulator::Emulator(const std::string& path, const EmuOptions& o) : path_(path), impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.ov = o.overlay ? o.overlay : &cnv_w1a1();
  m.faults = o.faults;
  m.threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  m.isa = bnn::best_isa();
  if (o.pool_size == 0 || o.pool_size % 4096 || o.pool_size > (std::uint64_t{1} << 32) - kEmuPoolPhys)
    throw Error(ErrorKind::usage, "pool size " + std::to_string(o.pool_size) +
                                      ": a multiple of 4096 bytes that ends below the 4 GiB address space");
  m.pool_size = o.pool_size;
  m.size = kEmuPoolOffset + o.pool_size;
  for (std::size_t i = 0; i < m.ov->count; ++i) {
    const OverlayLayer& l = m.ov->layers[i];
    m.weights.emplace_back(std::size_t{l.pe} * l.lines(), 0);
    m.thresholds.emplace_back(l.thresholds ? l.out : 0, 0);
  }

  bool created = true;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  }
  if (fd < 0) {
    if (errno == ELOOP) throw Error(ErrorKind::usage, "a symbolic link; the emulator serves a file it creates").with_path(path);
    if (errno == EISDIR) throw Error(ErrorKind::usage, "not a regular file; the emulator serves a file of its own").with_path(path);
    throw_errno("cannot open", errno, path);
  }
  m.fd = fd;
  auto fail = [&](Error e) {
    ::close(fd);
    m.fd = -1;
    if (created) ::unlink(path.c_str());
    throw e.with_path(path);
  };
  struct stat st;
  if (::fstat(fd, &st) != 0) fail(Error(ErrorKind::io, std::string("cannot stat: ") + std::strerror(errno), errno));
  if (!S_ISREG(st.st_mode)) fail(Error(ErrorKind::usage, "not a regular file; the emulator serves a file of its own"));
  // One emulator a file: a second one would answer the same runs.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    EmuHeader h{};
    std::string who;
    if (::pread(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h) && std::memcmp(h.magic, kEmuMagic, 16) == 0 &&
        h.emulator_pid)
      who = " (process " + std::to_string(h.emulator_pid) + ")";
    fail(err == EWOULDBLOCK ? Error(ErrorKind::usage, "another emulator serves this file" + who)
                            : Error(ErrorKind::io, std::string("cannot lock: ") + std::strerror(err), err));
  }
  if (!created && st.st_size > 0 && !o.force) {
    char magic[16] = {};
    if (::pread(fd, magic, sizeof magic, 0) != static_cast<ssize_t>(sizeof magic) ||
        std::memcmp(magic, kEmuMagic, sizeof magic) != 0)
      fail(Error(ErrorKind::usage, "exists and is not an emulator's file; not overwritten (use -f)"));
  }
  // Truncated and resized: the register window and the pool read as zeros.
  if (::ftruncate(fd, 0) != 0 || ::ftruncate(fd, static_cast<off_t>(m.size)) != 0)
    fail(Error(ErrorKind::io, std::string("cannot size the file: ") + std::strerror(errno), errno));
  void* p = ::mmap(nullptr, m.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) fail(Error(ErrorKind::io, std::string("cannot map: ") + std::strerror(errno), errno));
  m.base = static_cast<std::uint8_t*>(p);
  EmuHeader* h = m.header();
  std::memcpy(h->magic, kEmuMagic, sizeof h->magic);
  h->version = kEmuVersion;
  h->regs_offset = kEmuRegsOffset;
  h->regs_size = kRegisterWindow;
  h->regs_phys = kDefaultBase;
  h->pool_offset = kEmuPoolOffset;
  h->pool_size = m.pool_size;
  h->pool_phys = kEmuPoolPhys;
  std::strncpy(h->overlay, m.ov->name, sizeof h->overlay - 1);
  h->emulator_pid = static_cast<std::uint32_t>(::getpid());
  __atomic_store_n(&h->state, static_cast<std::uint32_t>(EmuState::serving), __ATOMIC_RELEASE);
}

Emulator::~Emulator() {
  Impl& m = *impl_;
  if (m.base) {
    m.finish();
    ::munmap(m.base, m.size);
  }
  if (m.fd >= 0) ::close(m.fd);
}

const Overlay& Emulator::overlay() const { return *impl_->ov; }
std::uint64_t Emulator::pool_size() const { return impl_->pool_size; }

EmuStats Emulator::stats() const {
  const Impl& m = *impl_;
  return EmuStats{m.words.load(), m.batches.load(), m.images.load(), m.refused.load(), m.rebuilds.load()};
}

void Emulator::stop() {
  impl_->stopping.store(true);
  impl_->wake();  // a serve() asleep on the control word
}

void Emulator::serve() {
  Impl& m = *impl_;
  try {
    while (!m.stopping.load()) {
      if (!m.wait_for_start()) continue;
      // Started: the last run's fault cleared, then control = 0 (ap_start
      // cleared, neither idle nor done) with a release store, so that a
      // driver that sees control = 0 knows any fault it reads next is this
      // run's.
      __atomic_store_n(&m.header()->fault, 0u, __ATOMIC_RELAXED);
      m.header()->fault_text[0] = '\0';
      __atomic_store_n(m.reg(reg::control), 0u, __ATOMIC_RELEASE);
      m.run_one();
    }
  } catch (...) {
    m.finish();
    throw;
  }
  m.finish();
}

// State stopped, and a driver asleep on the control word woken to see it.
void Emulator::Impl::finish() {
  if (stopped.exchange(true)) return;
  __atomic_store_n(&header()->state, static_cast<std::uint32_t>(EmuState::stopped), __ATOMIC_RELEASE);
  wake();
}

// True once ap_start is set (acquire: the arguments written before it are
// visible). Spins briefly (a parameter load starts the next run some
// microseconds after the last one is done), then sleeps on the control
// word; the timeout only bounds how late stop() is seen when its wake came
// just before the sleep.
bool Emulator::Impl::wait_for_start() {
  std::uint32_t* ctl = reg(reg::control);
  std::uint32_t c = __atomic_load_n(ctl, __ATOMIC_ACQUIRE);
  if (c & kApStart) return true;
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  for (unsigned i = 1;; ++i) {
    cpu_relax();
    c = __atomic_load_n(ctl, __ATOMIC_ACQUIRE);
    if (c & kApStart) return true;
    if (i % 64 == 0 && std::chrono::steady_clock::now() > until) break;
  }
  struct timespec t {0, 100 * 1000 * 1000};
  futex(ctl, FUTEX_WAIT, c, &t);
  return (__atomic_load_n(ctl, __ATOMIC_ACQUIRE) & kApStart) != 0;
}

void Emulator::Impl::refuse(const Refusal& r) {
  EmuHeader* h = header();
  std::string t = r.text.substr(0, sizeof h->fault_text - 1);
  std::replace(t.begin(), t.end(), '\n', ' ');
  std::memcpy(h->fault_text, t.c_str(), t.size() + 1);
  __atomic_store_n(&h->fault, r.code, __ATOMIC_RELEASE);
  ++refused;
  wake();
}

void Emulator::Impl::run_one() {
  if (get(reg::do_init) & 1) return store_word();
  compute();
}

namespace {
// Done: count the run, then ap_done | ap_idle with a release store (the
// outputs written before it are visible), then wake the driver. Not over
// a new ap_start: a driver that gave up on this run (its time limit) and
// started another must not take this run's done for that one's; the new
// run is served next.
void set_done(EmuHeader* h, std::uint32_t* ctl) {
  __atomic_fetch_add(&h->runs, 1u, __ATOMIC_RELAXED);
  std::uint32_t started = 0;
  if (__atomic_compare_exchange_n(ctl, &started, kApDone | kApIdle, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
    futex(ctl, FUTEX_WAKE, INT_MAX, nullptr);
}
}  // namespace

// doInit = 1: one parameter word into the memory it names. The hardware
// checks nothing (a wrong PE or line overwrites another memory); the
// emulator refuses instead, so that a driver's mistake is seen.
void Emulator::Impl::store_word() {
  const std::uint32_t target = get(reg::target_layer), pe = get(reg::target_mem), line = get(reg::target_ind),
                      th = get(reg::target_thresh);
  const std::uint64_t val = get(reg::val_lo) | std::uint64_t{get(reg::val_hi)} << 32;
  const std::uint64_t n = ++words_seen;
  const std::uint32_t layer = target / 2;
  const bool is_thr = target & 1;
  const std::string name = ov->name;
  auto no = [&](const std::string& why) { refuse({kFaultArguments, "parameter word " + std::to_string(n) + ": " + why}); };
  if (layer >= ov->count)
    return no("targetLayer " + std::to_string(target) + " is beyond " + name + "'s " + std::to_string(ov->count) +
              " layers (0-" + std::to_string(2 * ov->count - 1) + ")");
  const OverlayLayer& l = ov->layers[layer];
  const std::string what = "layer " + std::to_string(layer) + (is_thr ? "'s thresholds" : "'s weights");
  if (is_thr && !l.thresholds)
    return no("targetLayer " + std::to_string(target) + ": layer " + std::to_string(layer) + " of " + name +
              " has no threshold memory");
  if (pe >= l.pe)
    return no("targetMem " + std::to_string(pe) + " is out of range for " + what + " (" + std::to_string(l.pe) + " PEs)");
  const std::uint32_t lines = is_thr ? l.out / l.pe : l.lines();
  if (line >= lines)
    return no("targetInd " + std::to_string(line) + " is out of range for " + what + " (" + std::to_string(lines) +
              " lines a PE)");
  if (th != 0)
    return no("targetThresh " + std::to_string(th) + " is out of range (" + name + " has one threshold a line)");
  const bool flip = faults.flip_bit == n;
  if (!is_thr) {
    // The memory is SIMD bits wide: the rest of the word is dropped.
    const std::uint64_t mask = l.simd >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << l.simd) - 1;
    std::uint64_t w = val & mask;
    if (flip) w ^= std::uint64_t{1} << (l.simd - 1);
    weights[layer][std::size_t{pe} * lines + line] = w;
  } else {
    // CNV's layer 0 holds ap_fixed<24,16> (the word is read as
    // ap_fixed<64,56> and wraps): the low 24 bits, 1/256ths. The others
    // hold ap_int<16>: the low 16 bits.
    const unsigned bits = ov->fixed8_input && layer == 0 ? 24 : 16;
    std::uint64_t raw = val & ((std::uint64_t{1} << bits) - 1);
    if (flip) raw ^= std::uint64_t{1} << (bits - 1);
    const std::int64_t t = static_cast<std::int64_t>(raw << (64 - bits)) >> (64 - bits);
    thresholds[layer][std::size_t{pe} * lines + line] = static_cast<std::int32_t>(t);
  }
  dirty = true;
  ++words;
  set_done(header(), reg(reg::control));
}

// The network from the memories: BNN-PYNQ's folding undone (line
// nf*(K/SIMD) + sf of PE p holds synapses sf*SIMD.. of neuron nf*PE + p),
// every row kept (CNV's padding rows 10-63 too), thresholds converted to the
// engine's acc > T: CNV layer 0 compares T < 2*acc (T in 1/256, acc in
// 1/128), so acc > floor(T/2). LFC's input layer takes the 832 bits as they
// are, padding included.
void Emulator::Impl::build() {
  bnn::Model model;
  model.mode = ov->fixed8_input ? bnn::InputMode::fixed8 : bnn::InputMode::binary;
  model.input = ov->fixed8_input ? bnn::Shape{ov->height, ov->width, ov->channels} : bnn::Shape{1, 1, ov->layers[0].in};
  last_thresholds.clear();
  for (std::size_t li = 0; li < ov->count; ++li) {
    const OverlayLayer& o = ov->layers[li];
    const bool last = li + 1 == ov->count;
    bnn::Layer l;
    l.kind = o.conv ? bnn::LayerKind::conv3x3 : bnn::LayerKind::fc;
    l.in = o.in;
    l.out = o.out;
    l.weights.assign(std::size_t{l.out} * l.row_words(), 0);
    const std::uint32_t groups = o.fan_in() / o.simd, per_pe = o.out / o.pe, lines = o.lines(), rw = l.row_words();
    for (std::uint32_t pe = 0; pe < o.pe; ++pe)
      for (std::uint32_t nf = 0; nf < per_pe; ++nf) {
        std::uint64_t* row = l.weights.data() + std::size_t{nf * o.pe + pe} * rw;
        const std::uint64_t* src = weights[li].data() + std::size_t{pe} * lines + std::size_t{nf} * groups;
        for (std::uint32_t sf = 0; sf < groups; ++sf) {
          std::uint64_t w = src[sf];
          const std::uint32_t syn = sf * o.simd;
          // SIMD is a power of two or 3: a group never straddles two words
          // unless SIMD does not divide 64 (3), then bit by bit.
          if (64 % o.simd == 0) {
            row[syn / 64] |= w << (syn % 64);
          } else {
            for (std::uint32_t j = 0; w; ++j, w >>= 1)
              if (w & 1) row[(syn + j) / 64] |= std::uint64_t{1} << ((syn + j) % 64);
          }
        }
      }
    if (o.thresholds) {
      std::vector<std::int32_t> t(o.out);
      for (std::uint32_t pe = 0; pe < o.pe; ++pe)
        for (std::uint32_t nf = 0; nf < per_pe; ++nf) {
          std::int32_t v = thresholds[li][std::size_t{pe} * per_pe + nf];
          if (ov->fixed8_input && li == 0) v = v >= 0 ? v / 2 : -((-v + 1) / 2);
          t[nf * o.pe + pe] = v;
        }
      if (last) last_thresholds = std::move(t);  // the engine's last layer gives scores
      else l.thresholds = std::move(t);
    }
    model.layers.push_back(std::move(l));
    if (o.pool_after) {
      bnn::Layer p;
      p.kind = bnn::LayerKind::maxpool2x2;
      p.in = p.out = o.out;
      model.layers.push_back(std::move(p));
    }
  }
  for (std::uint32_t i = 0; i < ov->layers[ov->count - 1].out; ++i) model.classes.push_back(std::to_string(i));
  engine = std::make_unique<bnn::Engine>(model, isa);
  dirty = false;
  ++rebuilds;
}

// Images [first, end) of a run: CNV writes 64 u16 scores an image, LFC one
// 64-bit word of thresholded bits. Images from skip_from on are left
// unwritten (short-output); image `wrong` (1-based) gets the wrong-score.
void Emulator::Impl::compute_images(std::uint64_t in, std::uint64_t out, std::uint32_t first, std::uint32_t end,
                                    std::uint32_t skip_from, std::uint64_t wrong) const {
  const std::size_t classes = ov->layers[ov->count - 1].out;
  std::vector<std::int32_t> s(classes);
  std::vector<std::uint8_t> px(ov->fixed8_input ? 0 : ov->layers[0].in);
  for (std::uint32_t i = first; i < end && i < skip_from; ++i) {
    const std::uint8_t* src = pool() + in + std::uint64_t{i} * ov->in_bytes;
    std::uint8_t* dst = pool() + out + std::uint64_t{i} * ov->out_bytes;
    const bool bad = wrong == std::uint64_t{i} + 1;
    if (ov->fixed8_input) {
      engine->classify_fixed(reinterpret_cast<const std::int8_t*>(src), s.data());
      if (bad) {
        // An impossible score (above the fan-in) on a class that did not
        // win: the class changes unless the driver checks the range.
        const std::size_t real = std::min<std::size_t>(10, classes);
        s[(bnn::argmax(s.data(), real) + 1) % real] = 0x7fff;
      }
      std::uint8_t b[2 * 64] = {};
      for (std::size_t k = 0; k < classes && 2 * k + 1 < ov->out_bytes; ++k) {
        b[2 * k] = static_cast<std::uint8_t>(s[k]);
        b[2 * k + 1] = static_cast<std::uint8_t>(s[k] >> 8);
      }
      std::memcpy(dst, b, ov->out_bytes);
    } else {
      for (std::size_t k = 0; k < px.size(); ++k) px[k] = (src[k / 8] >> (k % 8)) & 1 ? 255 : 0;
      engine->classify(px.data(), s.data());
      std::uint64_t bits = 0;
      for (std::size_t k = 0; k < classes && k < 64; ++k)
        if (last_thresholds[k] < s[k]) bits |= std::uint64_t{1} << k;
      if (bad) bits = ~std::uint64_t{0};
      for (int k = 0; k < 8; ++k) dst[k] = static_cast<std::uint8_t>(bits >> (8 * k));
    }
  }
}

// doInit = 0: numReps images from `in` to `out`, both wholly in the pool.
void Emulator::Impl::compute() {
  const std::uint64_t n_run = ++computes_seen;
  const std::string at = "compute run " + std::to_string(n_run) + ": ";
  if (faults.refuse == n_run)
    return refuse({kFaultOnPurpose, at + "refused on purpose (--fault refuse=" + std::to_string(n_run) + ")"});
  const std::uint32_t n = get(reg::num_reps);
  const std::uint64_t in = get(reg::in_lo) | std::uint64_t{get(reg::in_hi)} << 32;
  const std::uint64_t out = get(reg::out_lo) | std::uint64_t{get(reg::out_hi)} << 32;
  const std::uint64_t in_len = std::uint64_t{n} * ov->in_bytes, out_len = std::uint64_t{n} * ov->out_bytes;
  const std::string pool_text = "the pool (" + util::hex(kEmuPoolPhys, 1, true) + ", " + size_text(pool_size) + ")";
  auto inside = [&](std::uint64_t a, std::uint64_t len) {
    return a >= kEmuPoolPhys && a - kEmuPoolPhys <= pool_size && len <= pool_size - (a - kEmuPoolPhys);
  };
  auto buffer = [&](const char* what, std::uint64_t a, std::uint64_t per) {
    return std::string(what) + " buffer (" + util::hex(a, 1, true) + ", " + std::to_string(n) + (n == 1 ? " image" : " images") +
           " of " + std::to_string(per) + " bytes)";
  };
  if (!inside(in, in_len))
    return refuse({kFaultArguments, at + buffer("the input", in, ov->in_bytes) + " is not wholly inside " + pool_text});
  if (!inside(out, out_len))
    return refuse({kFaultArguments, at + buffer("the output", out, ov->out_bytes) + " is not wholly inside " + pool_text});
  // The accelerator's AXI masters move 64-bit words.
  if (in % 8 || out % 8)
    return refuse({kFaultArguments, at + "buffer address " + util::hex(in % 8 ? in : out, 1, true) + " is not 8-byte aligned"});
  if (n && in < out + out_len && out < in + in_len)
    return refuse({kFaultArguments, at + "the output buffer (" + util::hex(out, 1, true) + ") overlaps the input buffer (" + util::hex(in, 1, true) + ")"});
  if (n) {
    if (dirty) build();
    const std::uint64_t in_off = in - kEmuPoolPhys, out_off = out - kEmuPoolPhys;
    const std::uint32_t skip_from = faults.short_output == n_run ? n - 1 : n;
    const unsigned t = static_cast<unsigned>(std::min<std::uint64_t>(threads, n));
    if (t <= 1) {
      compute_images(in_off, out_off, 0, n, skip_from, faults.wrong_score);
    } else {
      std::vector<std::thread> pool_threads;
      const std::uint32_t per = (n + t - 1) / t;
      for (unsigned k = 1; k < t; ++k) {
        const std::uint32_t a = std::min(n, k * per), b = std::min(n, a + per);
        pool_threads.emplace_back([this, in_off, out_off, a, b, skip_from] { compute_images(in_off, out_off, a, b, skip_from, faults.wrong_score); });
      }
      compute_images(in_off, out_off, 0, std::min(n, per), skip_from, faults.wrong_score);
      for (auto& th : pool_threads) th.join();
    }
  }
  images += n;
  if (faults.lost_done == n_run) return;  // the outputs are there; ap_done never comes
  ++batches;
  set_done(header(), reg(reg::control));
}

}  // namespace fpgaio::pynq
