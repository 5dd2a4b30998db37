// The pynq backend: pynq:0, the BNN-PYNQ overlay of a Pynq-Z1/Z2 (issue 23),
// found through FPGAIO_PYNQ_EMU (a file-backed emulation of the board,
// docs/PYNQ-EMULATION.md) or on a Zynq-7000 board, and its Board: the
// register window and the DMA memory the driver (bnn/pynq.cpp) runs on.
#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
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
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <thread>

#include "backends.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/pynq_driver.hpp"

#include "../util.hpp"

namespace fpgaio {

namespace {

using util::env;

using namespace fpgaio::pynq;

const char kName[] = "pynq:0";

std::string read_small(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char b[512];
  ssize_t n = ::read(fd, b, sizeof b - 1);
  ::close(fd);
  if (n <= 0) return "";
  std::string s(b, static_cast<std::size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- the emulation file ----

// The header of FPGAIO_PYNQ_EMU's file, checked; nullopt and `why` else.
std::optional<EmuHeader> read_header(const std::string& path, std::string& why) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    why = "FPGAIO_PYNQ_EMU: " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  EmuHeader h{};
  ssize_t n = ::pread(fd, &h, sizeof h, 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof h) || std::memcmp(h.magic, kEmuMagic, sizeof h.magic) != 0) {
    why = "FPGAIO_PYNQ_EMU: " + path + ": not a board emulation file (no " + kEmuMagic + " header)";
    return std::nullopt;
  }
  if (h.version != kEmuVersion) {
    why = "FPGAIO_PYNQ_EMU: " + path + ": emulation file version " + std::to_string(h.version) + ", not " +
          std::to_string(kEmuVersion);
    return std::nullopt;
  }
  h.overlay[sizeof h.overlay - 1] = '\0';
  h.fault_text[sizeof h.fault_text - 1] = '\0';
  return h;
}

std::string path_key(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  std::string p = real ? real : path;
  std::free(real);
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : p) h = (h ^ c) * 1099511628211ull;
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(h));
  return b;
}

// Shared (not private): the emulator is another process. A 32-bit build
// with a 64-bit time_t needs the time64 call for its timespec.
long futex(std::uint32_t* addr, int op, std::uint32_t val, const timespec* ts) {
#if defined(SYS_futex_time64) && defined(__SIZEOF_LONG__) && __SIZEOF_LONG__ == 4
  if (sizeof(time_t) == 8) return ::syscall(SYS_futex_time64, addr, op, val, ts, nullptr, 0);
#endif
  return ::syscall(SYS_futex, addr, op, val, ts, nullptr, 0);
}

class EmuBoard final : public Board {
 public:
  EmuBoard(std::string name, std::string path) : name_(std::move(name)), path_(std::move(path)) {
    std::string why;
    auto h = read_header(path_, why);
    if (!h) throw Error(ErrorKind::device, name_ + ": " + why);
    // The emulator marks the file serving last: wait a little for one that
    // is starting.
    for (int i = 0; i < 500 && h->state == static_cast<std::uint32_t>(EmuState::starting); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      h = read_header(path_, why);
      if (!h) throw Error(ErrorKind::device, name_ + ": " + why);
    }
    if (h->state != static_cast<std::uint32_t>(EmuState::serving))
      throw Error(ErrorKind::device, name_ + ": the emulator of " + path_ + pid_text(h->emulator_pid) +
                                         (h->state == static_cast<std::uint32_t>(EmuState::stopped)
                                              ? " has stopped"
                                              : " is not serving (state " + std::to_string(h->state) + ")"));
    overlay_ = find_overlay(h->overlay);
    if (!overlay_) throw Error(ErrorKind::device, name_ + ": " + path_ + ": unknown overlay '" + h->overlay + "'");
    fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) throw Error(ErrorKind::device, name_ + ": " + path_ + ": " + std::strerror(errno), errno);
    struct stat st;
    if (::fstat(fd_, &st) != 0) throw Error(ErrorKind::device, name_ + ": " + path_ + ": " + std::strerror(errno), errno);
    const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
    if (size > std::numeric_limits<std::size_t>::max())  // a 32-bit board maps at most 4 GiB
      throw Error(ErrorKind::device, name_ + ": " + path_ + ": " + std::to_string(size) +
                                         " bytes, more than this process can map");
    // Trust nothing in the header: every region inside the file, aligned.
    auto inside = [&](std::uint64_t off, std::uint64_t len) { return off <= size && len <= size - off; };
    if (!inside(0, kEmuHeaderSize) || !inside(h->regs_offset, h->regs_size) || h->regs_size < 0x60 ||
        h->regs_offset % 8 || !inside(h->pool_offset, h->pool_size) || h->pool_offset % 8 || h->pool_size == 0 ||
        h->pool_phys % 8)
      throw Error(ErrorKind::device, name_ + ": " + path_ + ": its header places the registers or the pool outside the " +
                                         std::to_string(size) + "-byte file");
    void* p = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) throw Error(ErrorKind::device, name_ + ": cannot map " + path_ + ": " + std::strerror(errno), errno);
    map_ = static_cast<std::uint8_t*>(p);
    size_ = size;
    header_ = reinterpret_cast<EmuHeader*>(map_);
    regs_ = reinterpret_cast<std::uint32_t*>(map_ + h->regs_offset);
    pool_ = map_ + h->pool_offset;
    pool_size_ = h->pool_size;
    pool_phys_ = h->pool_phys;
    pid_ = h->emulator_pid;
  }
  ~EmuBoard() override {
    if (map_) ::munmap(map_, size_);
    if (fd_ >= 0) ::close(fd_);
  }
  const std::string& name() const override { return name_; }
  const Overlay& overlay() const override { return *overlay_; }
  std::uint32_t read(std::uint32_t reg) const override { return __atomic_load_n(regs_ + reg / 4, __ATOMIC_ACQUIRE); }
  void write(std::uint32_t reg, std::uint32_t v) override { __atomic_store_n(regs_ + reg / 4, v, __ATOMIC_RELAXED); }
  void start() override {
    // A new emulator on the same file starts with empty memories: the
    // parameters this process wrote are gone, and its answers would be
    // plausible scores of nothing (every image class 0).
    if (std::uint32_t pid = field(&EmuHeader::emulator_pid); pid != pid_)
      throw Error(ErrorKind::device, name_ + ": the emulator of " + path_ + " was restarted (its pid was " +
                                         std::to_string(pid_) + ", is now " + std::to_string(pid) +
                                         "): the parameters written into it are lost; start this process again");
    runs_ = field(&EmuHeader::runs);
    fault_ = field(&EmuHeader::fault);
    taken_fault_ = false;
    __atomic_store_n(regs_ + reg::control / 4, kApStart, __ATOMIC_RELEASE);
    futex(regs_ + reg::control / 4, FUTEX_WAKE, INT_MAX, nullptr);
  }
  bool wait_done(std::int64_t deadline) override {
    std::uint32_t* c = regs_ + reg::control / 4;
    const std::int64_t spin_until = now_ns() + kSpinNs;
    for (unsigned i = 0;; ++i) {
      std::uint32_t v = __atomic_load_n(c, __ATOMIC_ACQUIRE);
      if (v & kApDone) return true;
      // Taken (ap_start cleared): the emulator cleared `fault` before, so a
      // fault now is this run's.
      if (!(v & kApStart) && field(&EmuHeader::fault) != 0) taken_fault_ = true;
      if (stopped() || refused()) return false;
      const std::int64_t now = now_ns();
      std::int64_t left = deadline - now;
      if (left <= 0) return false;
      // Spin first: a parameter word takes the emulator a few microseconds
      // (its FUTEX_WAKE included), and a sleep and wake-up cost more than
      // that. 2 us was too short to see most words done: 136,512 of them
      // took 3-3.7 s and 2.5 s of CPU; with 50 us 0.5-0.7 s and about 0.8 s
      // on an idle machine, and no more CPU than before when both cores
      // are busy (the emulator then waits for a core either way).
      if (now < spin_until) continue;
      std::int64_t ns = std::min<std::int64_t>(left, 1000000);
      timespec ts{0, static_cast<long>(ns)};
      futex(c, FUTEX_WAIT, v, &ts);
    }
  }
  std::uint8_t* dma() override { return pool_; }
  std::uint64_t dma_phys() const override { return pool_phys_; }
  std::uint64_t dma_size() const override { return pool_size_; }
  std::string why_not_done() const override {
    if (refused() || (field(&EmuHeader::fault) != 0 && stopped()))
      return "the emulator refused the run: " + fault_text();
    if (stopped()) return "the emulator of " + path_ + pid_text(pid_) + " has stopped";
    return "the emulator of " + path_ + pid_text(pid_) + " did not set ap_done (control reads " +
           util::hex(read(reg::control)) + ")";
  }
  std::string check_done() override {
    if (std::uint32_t pid = field(&EmuHeader::emulator_pid); pid != pid_)
      return "ap_done, but from another emulator" + pid_text(pid) + " than the one the parameters went to" +
             pid_text(pid_) + ": it was restarted";
    std::uint32_t runs = field(&EmuHeader::runs);
    if (runs != runs_ + 1)
      return "ap_done, but the emulator's count of runs went from " + std::to_string(runs_) + " to " +
             std::to_string(runs) + ", not up by one";
    return "";
  }
  std::string describe() const override { return "emulated by " + path_ + pid_text(pid_); }
  static constexpr std::int64_t kSpinNs = 50000;

 private:
  static std::string pid_text(std::uint32_t pid) { return pid ? " (pid " + std::to_string(pid) + ")" : ""; }
  std::uint32_t field(std::uint32_t EmuHeader::*f) const {
    return __atomic_load_n(&(header_->*f), __ATOMIC_ACQUIRE);
  }
  bool stopped() const { return field(&EmuHeader::state) == static_cast<std::uint32_t>(EmuState::stopped); }
  // A fault of this run: one seen after the run was taken (the emulator
  // clears `fault` when it takes a run), or one that appeared since the
  // start (for an emulator that does not clear it).
  bool refused() const { return taken_fault_ || (fault_ == 0 && field(&EmuHeader::fault) != 0); }
  std::string fault_text() const {
    char t[sizeof header_->fault_text];
    std::memcpy(t, header_->fault_text, sizeof t);
    t[sizeof t - 1] = '\0';
    for (char* p = t; *p; ++p)
      if (*p == '\n' || *p == '\r') *p = ' ';
    return *t ? t : "no reason given";
  }

  std::string name_, path_;
  const Overlay* overlay_ = nullptr;
  int fd_ = -1;
  std::uint8_t* map_ = nullptr;
  std::uint64_t size_ = 0;
  EmuHeader* header_ = nullptr;
  std::uint32_t* regs_ = nullptr;
  std::uint8_t* pool_ = nullptr;
  std::uint64_t pool_size_ = 0, pool_phys_ = 0;
  std::uint32_t pid_ = 0, runs_ = 0, fault_ = 0;
  bool taken_fault_ = false;
};

// ---- a Zynq-7000 board ----

bool is_zynq() {
  int fd = ::open("/proc/device-tree/compatible", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char b[1024];
  ssize_t n = ::read(fd, b, sizeof b);
  ::close(fd);
  return n > 0 && std::string(b, static_cast<std::size_t>(n)).find("xlnx,zynq-7000") != std::string::npos;
}

// A device tree node BlackBoxJam@ADDR (an overlay loaded with its .dtbo):
// its address, else 0.
std::uint64_t dt_base(const std::string& dir, int depth) {
  if (depth > 4) return 0;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  std::uint64_t found = 0;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || e->d_type != DT_DIR) continue;
    if (n.rfind("BlackBoxJam@", 0) == 0) {
      found = std::strtoull(n.c_str() + 12, nullptr, 16);
      break;
    }
    if ((found = dt_base(dir + "/" + n, depth + 1))) break;
  }
  ::closedir(d);
  return found;
}

// The base address: FPGAIO_PYNQ_BASE, else the device tree's node, else
// the Pynq-Z1/Z2 block design's 0x43C00000. `evidence`: the overlay was
// named (variable or device tree), not assumed.
std::uint64_t board_base(bool& evidence) {
  std::string e = env("FPGAIO_PYNQ_BASE");
  evidence = true;
  if (!e.empty()) {
    char* end = nullptr;
    std::uint64_t v = std::strtoull(e.c_str(), &end, 0);
    // Only the Zynq-7000's general-purpose AXI ports (M_AXI_GP0/GP1, where
    // the programmable logic's registers are): a typo must not make a root
    // process write into DRAM or another peripheral through /dev/mem.
    if (!end || *end || v % 4096 || v < 0x40000000 || v + kRegisterWindow > 0xC0000000)
      throw Error(ErrorKind::usage, "FPGAIO_PYNQ_BASE: '" + e +
                                        "' is not a page-aligned address of the programmable logic's AXI ports "
                                        "(0x40000000 to 0xBFFFFFFF, such as 0x43C00000)");
    return v;
  }
  if (std::uint64_t v = dt_base("/proc/device-tree", 0)) return v;
  evidence = false;
  return kDefaultBase;
}

// /dev/uioN of the overlay: a UIO device named BlackBoxJam or mapping the
// base, else "".
std::string find_uio(std::uint64_t base) {
  for (int i = 0; i < 32; ++i) {
    std::string sys = "/sys/class/uio/uio" + std::to_string(i);
    std::string name = read_small(sys + "/name");
    if (name.empty()) continue;
    std::string addr = read_small(sys + "/maps/map0/addr");
    if (name.find("BlackBoxJam") != std::string::npos || (!addr.empty() && std::strtoull(addr.c_str(), nullptr, 0) == base))
      return "/dev/uio" + std::to_string(i);
  }
  return "";
}

// The u-dma-buf device: FPGAIO_PYNQ_UDMABUF (udmabufN or /dev/udmabufN),
// else the first /dev/udmabufN; its sysfs folder (u-dma-buf v2+ or the
// older udmabuf class).
struct Udmabuf {
  std::string dev, sys;
};
std::optional<Udmabuf> find_udmabuf() {
  std::string want = env("FPGAIO_PYNQ_UDMABUF");
  if (want.rfind("/dev/", 0) == 0) want = want.substr(5);
  for (int i = 0; i < 8; ++i) {
    std::string n = want.empty() ? "udmabuf" + std::to_string(i) : want;
    for (const char* cls : {"/sys/class/u-dma-buf/", "/sys/class/udmabuf/"}) {
      std::string sys = cls + n;
      if (!read_small(sys + "/phys_addr").empty() && ::access(("/dev/" + n).c_str(), F_OK) == 0)
        return Udmabuf{"/dev/" + n, sys};
    }
    if (!want.empty()) break;
  }
  return std::nullopt;
}

class ZynqBoard final : public Board {
 public:
  explicit ZynqBoard(std::string name) : name_(std::move(name)) {
    bool evidence = false;
    base_ = board_base(evidence);
    overlay_ = &loaded_overlay_env(name_);
    std::string uio = find_uio(base_);
    const std::string regs_dev = uio.empty() ? "/dev/mem" : uio;
    int fd = ::open(regs_dev.c_str(), O_RDWR | O_SYNC | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      throw Error(ErrorKind::device, name_ + ": cannot open " + regs_dev + " for the overlay's registers at " +
                                         util::hex(base_) + ": " + std::strerror(err) +
                                         (uio.empty() ? " (run as root, or give the overlay a UIO device)" : ""),
                  err);
    }
    void* p = ::mmap(nullptr, kRegisterWindow, PROT_READ | PROT_WRITE, MAP_SHARED, fd, uio.empty() ? static_cast<off_t>(base_) : 0);
    int err = errno;
    ::close(fd);
    if (p == MAP_FAILED)
      throw Error(ErrorKind::device, name_ + ": cannot map the registers at " + util::hex(base_) + " through " + regs_dev + ": " +
                                         std::strerror(err), err);
    regs_ = static_cast<volatile std::uint32_t*>(p);
    regs_how_ = uio.empty() ? "/dev/mem" : uio;
    auto u = find_udmabuf();
    if (!u)
      throw Error(ErrorKind::device, name_ + ": no contiguous DMA memory: no " +
                                         (env("FPGAIO_PYNQ_UDMABUF").empty() ? std::string("/dev/udmabufN")
                                                                             : env("FPGAIO_PYNQ_UDMABUF")) +
                                         " with a phys_addr in /sys/class/u-dma-buf (load the u-dma-buf module: "
                                         "fpga-infer(1), DEVICES)");
    // phys_addr is hexadecimal (with or without 0x), size decimal.
    phys_ = std::strtoull(read_small(u->sys + "/phys_addr").c_str(), nullptr, 16);
    dma_size_ = std::strtoull(read_small(u->sys + "/size").c_str(), nullptr, 10);
    if (!phys_ || !dma_size_)
      throw Error(ErrorKind::device, name_ + ": " + u->sys + ": no phys_addr or size");
    // O_SYNC: an uncached mapping, so that neither side needs cache
    // maintenance (the overlay's AXI masters are not cache-coherent).
    int dfd = ::open(u->dev.c_str(), O_RDWR | O_SYNC | O_CLOEXEC);
    if (dfd < 0)
      throw Error(ErrorKind::device, name_ + ": cannot open " + u->dev + ": " + std::strerror(errno), errno);
    void* d = ::mmap(nullptr, dma_size_, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
    err = errno;
    ::close(dfd);
    if (d == MAP_FAILED)
      throw Error(ErrorKind::device, name_ + ": cannot map " + u->dev + ": " + std::strerror(err), err);
    dma_ = static_cast<std::uint8_t*>(d);
    dma_how_ = u->dev;
  }
  ~ZynqBoard() override {
    if (regs_) ::munmap(const_cast<std::uint32_t*>(regs_), kRegisterWindow);
    if (dma_) ::munmap(dma_, dma_size_);
  }
  const std::string& name() const override { return name_; }
  const Overlay& overlay() const override { return *overlay_; }
  std::uint32_t read(std::uint32_t reg) const override { return regs_[reg / 4]; }
  void write(std::uint32_t reg, std::uint32_t v) override { regs_[reg / 4] = v; }
  void start() override {
    if (!settled_) settle();
    __sync_synchronize();  // the buffers and arguments before ap_start
    regs_[reg::control / 4] = kApStart;
  }
  // Before this process's first run: a run of a process killed before it
  // read ap_done may still be going, or have left ap_done set, which would
  // end our first run at once while the accelerator still works. Reading
  // control clears a stale done; then wait, bounded, until it is idle.
  void settle() {
    const std::int64_t deadline = now_ns() + std::int64_t{10} * 1000 * 1000 * 1000;
    for (;;) {
      std::uint32_t c = regs_[reg::control / 4];
      if (!(c & kApStart) && (c & kApIdle)) break;
      if (now_ns() > deadline)
        throw Error(ErrorKind::device, name_ + ": the accelerator at " + util::hex(base_) + " is not idle (control reads " +
                                           util::hex(c) + " for 10 s): another process is running it, or it is hung");
      timespec ts{0, 1000000};
      ::nanosleep(&ts, nullptr);
    }
    settled_ = true;
  }
  bool wait_done(std::int64_t deadline) override {
    for (unsigned i = 0;; ++i) {
      // Reading control clears ap_done: the read that sees it is the last.
      if (regs_[reg::control / 4] & kApDone) {
        __sync_synchronize();
        return true;
      }
      if (now_ns() > deadline) return false;
      if (i > 1000) {
        timespec ts{0, 20000};
        ::nanosleep(&ts, nullptr);
      }
    }
  }
  std::uint8_t* dma() override { return dma_; }
  std::uint64_t dma_phys() const override { return phys_; }
  std::uint64_t dma_size() const override { return dma_size_; }
  std::string describe() const override {
    return "registers at " + util::hex(base_) + " through " + regs_how_ + ", " + std::to_string(dma_size_ >> 20) +
           " MiB of DMA memory at " + util::hex(phys_) + " through " + dma_how_;
  }

  static const Overlay& loaded_overlay_env(const std::string& name) {
    std::string o = env("FPGAIO_PYNQ_OVERLAY");
    if (o.empty()) return cnv_w1a1();
    if (const Overlay* p = find_overlay(o.c_str())) return *p;
    throw Error(ErrorKind::usage, name + ": FPGAIO_PYNQ_OVERLAY: unknown overlay '" + o + "' (cnvW1A1, lfcW1A1)");
  }

 private:
  std::string name_;
  const Overlay* overlay_ = nullptr;
  std::uint64_t base_ = 0, phys_ = 0, dma_size_ = 0;
  bool settled_ = false;
  volatile std::uint32_t* regs_ = nullptr;
  std::uint8_t* dma_ = nullptr;
  std::string regs_how_, dma_how_;
};

// ---- the backend ----

class PynqBackend final : public DeviceBackend {
 public:
  const char* name() const override { return "pynq"; }
  // pynq:0 with FPGAIO_PYNQ_EMU naming an emulation file, or on a Zynq
  // board whose overlay is named (FPGAIO_PYNQ_BASE, a device tree node or a
  // UIO device): never by guessing, since touching an address of the
  // programmable logic where nothing answers can stall the bus.
  std::vector<Device> discover() const override {
    std::string emu = env("FPGAIO_PYNQ_EMU");
    if (!emu.empty()) {
      std::string why;
      auto h = read_header(emu, why);
      if (!h) return {};
      return {make(std::string("BNN-PYNQ ") + h->overlay + " overlay emulated by the file " + emu +
                   " (FPGAIO_PYNQ_EMU; not a board)" +
                   (h->state == static_cast<std::uint32_t>(EmuState::stopped) ? ", its emulator stopped" : ""),
               "pynq-emu-" + path_key(emu))};
    }
    if (!is_zynq()) return {};
    bool evidence = false;
    std::uint64_t base = kDefaultBase;
    try {
      base = board_base(evidence);
    } catch (const Error&) {
      return {};
    }
    if (!evidence && find_uio(base).empty()) return {};
    return {board_device(base)};
  }
  // On a Zynq board without the overlay named, pynq:0 by name probes the
  // default base.
  std::optional<Device> find_unlisted(const std::string& spec) const override {
    if (spec != kName || !env("FPGAIO_PYNQ_EMU").empty() || !is_zynq() || !discover().empty()) return std::nullopt;
    Device d = board_device(kDefaultBase);
    d.index = ~0u;
    d.description += " (by name only: no overlay named by FPGAIO_PYNQ_BASE, the device tree or UIO)";
    return d;
  }
  std::vector<Device> unlisted() const override {
    if (auto d = find_unlisted(kName)) return {*d};
    return {};
  }
  std::string why_none() const override {
    std::string emu = env("FPGAIO_PYNQ_EMU");
    if (!emu.empty()) {
      std::string why;
      read_header(emu, why);
      return why;
    }
    if (!is_zynq()) return "pynq: FPGAIO_PYNQ_EMU is not set, and this is no Zynq-7000 board";
    return "";
  }

 private:
  static Device make(std::string description, std::string lock_key) {
    Device d;
    d.name = kName;
    d.kind = DeviceKind::pynq;
    d.slots = 1;
    d.description = std::move(description);
    d.kernels = {"bnn"};
    d.lock_key = std::move(lock_key);
    return d;
  }
  static Device board_device(std::uint64_t base) {
    char key[32];
    std::snprintf(key, sizeof key, "pynq-%llx", static_cast<unsigned long long>(base));
    return make("BNN-PYNQ overlay of this Zynq board at " + util::hex(base) + " (u-dma-buf memory)", key);
  }
};

}  // namespace

namespace pynq {

std::unique_ptr<Board> open_board(const Device& device) {
  std::string emu = env("FPGAIO_PYNQ_EMU");
  if (!emu.empty()) return std::make_unique<EmuBoard>(device.name, emu);
  if (!is_zynq())
    throw Error(ErrorKind::device, device.name + ": FPGAIO_PYNQ_EMU is not set, and this is no Zynq-7000 board");
  return std::make_unique<ZynqBoard>(device.name);
}

const Overlay& loaded_overlay(const Device& device) {
  std::string emu = env("FPGAIO_PYNQ_EMU");
  if (emu.empty()) return ZynqBoard::loaded_overlay_env(device.name);
  std::string why;
  auto h = read_header(emu, why);
  if (!h) throw Error(ErrorKind::device, device.name + ": " + why);
  const Overlay* o = find_overlay(h->overlay);
  if (!o) throw Error(ErrorKind::device, device.name + ": " + emu + ": unknown overlay '" + h->overlay + "'");
  return *o;
}

}  // namespace pynq

namespace detail {

const DeviceBackend& pynq_backend() {
  static const PynqBackend b;
  return b;
}

}  // namespace detail

}  // namespace fpgaio
