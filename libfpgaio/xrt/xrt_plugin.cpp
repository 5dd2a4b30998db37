// libfpgaio_xrt.so: Alveo cards through XRT's native C++ API, loaded by
// libfpgaio with dlopen() (src/device/xrt_backend.cpp) so that programs run
// on hosts without XRT. Discovery, the choice and loading of an xclbin, and a
// GzipKernelPort per compute unit and buffer set: each port owns its buffers
// (allocated in the memory group of each kernel argument) and one xrt::run,
// so with two ports per compute unit one block runs while the host fills or
// drains the other's buffers. What a card returns is checked by the driver
// (make_gzip_kernel_unit); here only that it fits the buffers.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include <xclbin.h>

#include <experimental/xrt_system.h>
#include <experimental/xrt_xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include "xrt_plugin.hpp"
#include "gzip_kernel.hpp"

namespace fpgaio::xrt_plugin {

namespace {

constexpr const char* kKernel = "xilGzipCompBlock";
// The block size buffers are first allocated for (fpga-gzip's default -b);
// they grow when a bigger block comes.
constexpr std::uint64_t kDefaultBlock = 1 << 20;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

bool tracing() {
  static const bool on = [] {
    const char* t = std::getenv("FPGA_XRT_TRACE");
    return t && *t && std::strcmp(t, "0") != 0;
  }();
  return on;
}

void trace(const std::string& line) {
  if (tracing()) std::fprintf(stderr, "fpga-xrt: %s\n", line.c_str());
}

// FPGA_XRT_DEVICES (for tests, documented as such): a number of devices to
// open by index without asking XRT to enumerate (its noop driver lists none),
// or a comma-separated list of platform names, one per device, used when the
// driver cannot tell a card's platform; a name may end in @BDF, the card's
// PCIe address when the driver cannot tell it (noop cannot).
struct DeviceOverride {
  bool set = false;
  unsigned count = 0;
  std::vector<std::string> platforms, bdfs;
};

DeviceOverride device_override() {
  DeviceOverride o;
  const char* env = std::getenv("FPGA_XRT_DEVICES");
  if (!env || !*env) return o;
  o.set = true;
  std::string s = env;
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    o.count = s.size() > 2 ? 99 : static_cast<unsigned>(std::stoul(s));
    return o;
  }
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    std::string entry = s.substr(start, comma - start);
    std::size_t at = entry.find('@');
    o.platforms.push_back(entry.substr(0, at));
    o.bdfs.push_back(at == std::string::npos ? "" : entry.substr(at + 1));
    start = comma + 1;
  }
  o.count = static_cast<unsigned>(o.platforms.size());
  return o;
}

template <class F>
std::string query(F f) {
  try {
    return f();
  } catch (const std::exception&) {
    return "";  // the noop driver implements no queries
  }
}

struct CardIdentity {
  std::string bdf, platform;
};

CardIdentity identify(const xrt::device& d, unsigned index, const DeviceOverride& o) {
  CardIdentity id;
  id.bdf = query([&] { return d.get_info<xrt::info::device::bdf>(); });
  id.platform = query([&] { return d.get_info<xrt::info::device::name>(); });
  if (id.platform.empty() && index < o.platforms.size()) id.platform = o.platforms[index];
  if (id.bdf.empty() && index < o.bdfs.size()) id.bdf = o.bdfs[index];
  return id;
}

// An xclbin file that holds the gzip kernel, for `platform` when known.
struct Chosen {
  std::string file;
  xrt::xclbin xclbin;
  std::vector<std::string> cus;  // instance names
  // A FINN accelerator: the kernels whose instances are idma0 and odma0, and
  // the indices of their (buffer, numReps) arguments.
  std::string idma, odma;
  int idma_buf = -1, idma_count = -1, odma_buf = -1, odma_count = -1;
};

// FINN's DMA kernels take (buffer, numReps) as seen by the host (a stream
// argument in between is not the host's): the first argument on a memory
// bank, and the 32-bit scalar named numReps (else the last 32-bit scalar).
bool finn_args(const xrt::xclbin::kernel& k, int& buf, int& count) {
  buf = count = -1;
  int named = -1;
  auto args = k.get_args();
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    bool on_bank = !a.get_mems().empty();
    if (on_bank && buf < 0) buf = static_cast<int>(i);
    bool scalar32 = !on_bank && a.get_size() == 4 && a.get_host_type().find("stream") == std::string::npos;
    if (!scalar32) continue;
    count = static_cast<int>(i);  // the last 32-bit scalar...
    if (a.get_name() == "numReps" && named < 0) named = static_cast<int>(i);
  }
  if (named >= 0) count = named;  // ...unless one is named numReps
  return buf >= 0 && count >= 0;
}

void check_finn(Chosen& c) {
  const std::string& file = c.file;
  std::string names;
  for (const auto& k : c.xclbin.get_kernels()) {
    for (const auto& cu : k.get_cus()) {
      std::string n = cu.get_name();
      std::string inst = n.substr(n.find(':') + 1);
      names += (names.empty() ? "" : ", ") + k.get_name() + ":" + inst;
      for (const char* dma : {"idma0", "odma0"}) {
        if (inst != dma) continue;
        bool in = dma[0] == 'i';
        int& buf = in ? c.idma_buf : c.odma_buf;
        int& count = in ? c.idma_count : c.odma_count;
        if (!finn_args(k, buf, count))
          fail(file + ": its " + dma + " (" + k.get_name() + ") does not have the interface (buffer, numReps)");
        (in ? c.idma : c.odma) = k.get_name();
      }
    }
  }
  if (c.idma.empty() || c.odma.empty())
    fail(file + ": not a FINN accelerator: no " + std::string(c.idma.empty() ? "idma0" : "odma0") +
         " compute unit (compute units: " + (names.empty() ? "none" : names) + ")");
  c.cus = {"idma0", "odma0"};
}

// XRT 2.13 trusts an xclbin's sizes and counts (a file cut inside its header
// crashed it here): the container and the sections it parses are checked
// first, so a damaged file is a one-line error.
void check_axlf(const std::string& file) {
  std::ifstream f(file, std::ios::binary);
  if (!f) fail(file + ": " + std::strerror(errno));
  char magic[8] = {};
  f.read(magic, sizeof magic);
  if (f.gcount() != 8 || std::memcmp(magic, "xclbin2", 8) != 0) fail(file + ": not an xclbin file");
  f.seekg(0, std::ios::end);
  const std::uint64_t size = static_cast<std::uint64_t>(f.tellg());
  auto bad = [&](const std::string& why) { fail(file + ": damaged xclbin: " + why); };
  axlf top;
  if (size < sizeof top) bad("cut short (" + std::to_string(size) + " bytes, the header alone has " + std::to_string(sizeof top) + ")");
  f.seekg(0);
  f.read(reinterpret_cast<char*>(&top), sizeof top);
  if (top.m_header.m_length != size)
    bad("its header says " + std::to_string(top.m_header.m_length) + " bytes, the file has " + std::to_string(size));
  std::uint64_t n = top.m_header.m_numSections;
  if (n == 0 || n > 4096 || offsetof(axlf, m_sections) + n * sizeof(axlf_section_header) > size)
    bad(std::to_string(n) + " sections do not fit");
  std::vector<axlf_section_header> hs(n);
  f.seekg(offsetof(axlf, m_sections));
  f.read(reinterpret_cast<char*>(hs.data()), static_cast<std::streamsize>(n * sizeof(axlf_section_header)));
  if (!f) bad("section table unreadable");
  for (const auto& h : hs) {
    if (h.m_sectionOffset > size || h.m_sectionSize > size - h.m_sectionOffset)
      bad("section " + std::to_string(h.m_sectionKind) + " lies outside the file");
    // The tables XRT walks by their own counts: the count must fit the section.
    std::size_t item = h.m_sectionKind == MEM_TOPOLOGY ? sizeof(mem_data)
                       : h.m_sectionKind == IP_LAYOUT  ? sizeof(ip_data)
                       : h.m_sectionKind == CONNECTIVITY ? sizeof(connection) : 0;
    if (!item) continue;
    if (h.m_sectionSize < 8) bad("section " + std::to_string(h.m_sectionKind) + " is too short");
    std::int32_t count = 0;
    f.seekg(static_cast<std::streamoff>(h.m_sectionOffset));
    f.read(reinterpret_cast<char*>(&count), sizeof count);
    std::size_t head = h.m_sectionKind == CONNECTIVITY ? 4 : 8;
    if (!f || count < 0 || head + std::uint64_t(count) * item > h.m_sectionSize)
      bad("section " + std::to_string(h.m_sectionKind) + " declares " + std::to_string(count) +
          " entries, more than it holds");
  }
}

Chosen check_xclbin(const std::string& file, const std::string& platform, const std::string& kernel = "deflate") {
  check_axlf(file);
  Chosen c;
  c.file = file;
  try {
    c.xclbin = xrt::xclbin(file);
  } catch (const std::exception& e) {
    fail(file + ": " + e.what());
  }
  std::string xsa = c.xclbin.get_xsa_name();
  if (!platform.empty() && xsa != platform)
    fail(file + ": built for platform " + (xsa.empty() ? "(none)" : xsa) + ", the card is " + platform);
  if (kernel == "bnn") {
    check_finn(c);
    return c;
  }
  std::string names;
  for (const auto& k : c.xclbin.get_kernels()) {
    names += (names.empty() ? "" : ", ") + k.get_name();
    if (k.get_name() != kKernel) continue;
    auto args = k.get_args();
    if (args.size() != 6 || args[4].get_size() != 4 || args[5].get_size() != 4)
      fail(file + ": its " + kKernel + " does not have the interface (in, out, size, checksum, input_size, checksumType)");
    for (const auto& cu : k.get_cus()) {
      std::string n = cu.get_name();
      c.cus.push_back(n.substr(n.find(':') + 1));
    }
    if (c.cus.empty()) fail(file + ": " + kKernel + " has no compute units");
    return c;
  }
  fail(file + ": no " + kKernel + " kernel in it (kernels: " + (names.empty() ? "none" : names) + ")");
}

Chosen choose_xclbin(const XclbinChoice& choice, const std::string& platform) {
  if (!choice.file.empty()) return check_xclbin(choice.file, platform, choice.kernel);
  if (choice.kernel == "bnn")
    fail("no xclbin for the model: name its FINN build with --xclbin, FPGA_XCLBIN, or an xclbin line with a file "
         "in the model's pairing (MODEL.finn)");
  if (platform.empty()) fail("the card's platform is unknown: name an xclbin with --xclbin or FPGA_XCLBIN");
  std::string first_error, looked;
  for (const auto& dir : choice.search_dirs) {
    std::string sub = dir + "/" + platform;
    looked += (looked.empty() ? "" : ", ") + sub;
    std::vector<std::string> files;
    if (DIR* d = ::opendir(sub.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 7 && n.compare(n.size() - 7, 7, ".xclbin") == 0) files.push_back(sub + "/" + n);
      }
      ::closedir(d);
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      try {
        return check_xclbin(f, platform);
      } catch (const std::exception& e) {
        if (first_error.empty()) first_error = e.what();
      }
    }
  }
  if (!first_error.empty()) fail(first_error);
  fail("no xclbin for platform " + platform + " in " + (looked.empty() ? "(no search path)" : looked) +
       " (use --xclbin or FPGA_XCLBIN)");
}

std::string state_name(ert_cmd_state s) {
  switch (s) {
    case ERT_CMD_STATE_ERROR: return "ERROR";
    case ERT_CMD_STATE_ABORT: return "ABORT";
    case ERT_CMD_STATE_TIMEOUT: return "TIMEOUT";
    case ERT_CMD_STATE_NORESPONSE: return "NORESPONSE";
    case ERT_CMD_STATE_SKERROR: return "SKERROR";
    case ERT_CMD_STATE_SKCRASHED: return "SKCRASHED";
    default: return std::to_string(static_cast<int>(s));
  }
}

// What the ports of one card share; destroyed after every port.
struct CardState {
  xrt::device device;
  xrt::uuid uuid;
};

class XrtGzipPort final : public GzipKernelPort {
 public:
  XrtGzipPort(std::shared_ptr<CardState> card, xrt::kernel kernel, std::string name, unsigned timeout_ms)
      : card_(std::move(card)), kernel_(std::move(kernel)), name_(std::move(name)), timeout_ms_(timeout_ms) {
    for (int a = 0; a < 4; ++a) groups_[a] = kernel_.group_id(a);
    size_bo_ = alloc(2, 4096, "size");
    sum_bo_ = alloc(3, 4096, "checksum");
    grow(kDefaultBlock);
    run_ = xrt::run(kernel_);
  }
  ~XrtGzipPort() override {
    // A run still on the card (after a timeout) must not outlive its buffers.
    if (started_) {
      try {
        run_.abort();
      } catch (const std::exception&) {
      }
    }
  }

  const std::string& name() const override { return name_; }
  std::size_t input_padding() const override { return gzip_kernel::kernel_input_padding; }
  std::size_t output_capacity(std::size_t n) const override {
    return static_cast<std::size_t>(gzip_kernel::kernel_output_bound(n));
  }

  void run(const std::uint8_t* in, std::uint32_t n, std::uint8_t* out, std::size_t out_cap,
           std::uint32_t& compressed_size, std::uint32_t& checksum) override {
    if (started_) fail("a run that timed out is still on the card");
    grow(n);
    std::size_t in_bytes = static_cast<std::size_t>(gzip_kernel::kernel_input_buffer_size(n));
    if (in_bytes > n + input_padding()) in_bytes = n + input_padding();
    if (out_cap > out_bo_.size()) fail("output buffer of " + std::to_string(out_cap) + " bytes is over the card's");
    in_bo_.write(in, in_bytes, 0);
    in_bo_.sync(XCL_BO_SYNC_BO_TO_DEVICE, in_bytes, 0);
    std::uint32_t zero = 0;
    size_bo_.write(&zero, sizeof zero, 0);
    size_bo_.sync(XCL_BO_SYNC_BO_TO_DEVICE, sizeof zero, 0);
    sum_bo_.write(&checksum, sizeof checksum, 0);
    sum_bo_.sync(XCL_BO_SYNC_BO_TO_DEVICE, sizeof checksum, 0);
    run_.set_arg(0, in_bo_);
    run_.set_arg(1, out_bo_);
    run_.set_arg(2, size_bo_);
    run_.set_arg(3, sum_bo_);
    run_.set_arg(4, std::uint32_t{n});
    run_.set_arg(5, std::uint32_t{1});  // checksumType: CRC-32 (a 32-bit register)
    trace(name_ + ": start, " + std::to_string(n) + " bytes");
    auto t0 = std::chrono::steady_clock::now();
    run_.start();
    started_ = true;
    auto state = run_.wait(std::chrono::milliseconds(timeout_ms_));
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    trace(name_ + ": wait -> state " + std::to_string(static_cast<int>(state)));
    if (state == ERT_CMD_STATE_TIMEOUT) {
      try {
        run_.abort();
        started_ = false;
      } catch (const std::exception&) {
      }
      fail("run timed out after " + std::to_string(timeout_ms_) + " ms");
    }
    started_ = false;
    if (state != ERT_CMD_STATE_COMPLETED) fail("run ended in state " + state_name(state));
    // wait() can return late (XRT documents that other runs completing can
    // mask a timeout, and the noop driver sleeps through it): the limit holds
    // for a run that completed after it too.
    if (took > static_cast<long long>(timeout_ms_))
      fail("run took " + std::to_string(took) + " ms, over the limit of " + std::to_string(timeout_ms_) + " ms");
    size_bo_.sync(XCL_BO_SYNC_BO_FROM_DEVICE, sizeof(std::uint32_t), 0);
    sum_bo_.sync(XCL_BO_SYNC_BO_FROM_DEVICE, sizeof(std::uint32_t), 0);
    size_bo_.read(&compressed_size, sizeof compressed_size, 0);
    sum_bo_.read(&checksum, sizeof checksum, 0);
    // Only as many bytes as reported and as fit: the driver rejects a size
    // over out_cap, so nothing past the buffer is ever read.
    std::size_t take = std::min<std::size_t>(compressed_size, out_cap);
    if (take) {
      out_bo_.sync(XCL_BO_SYNC_BO_FROM_DEVICE, take, 0);
      out_bo_.read(out, take, 0);
    }
  }

 private:

  xrt::bo alloc(int arg, std::size_t bytes, const char* what) {
    xrt::bo bo(card_->device, bytes, xrt::bo::flags::normal, static_cast<xrt::memory_group>(groups_[arg]));
    trace(name_ + ": " + what + " buffer of " + std::to_string(bytes) + " bytes in memory group " +
          std::to_string(bo.get_memory_group()) + " (argument " + std::to_string(arg) + ": group " +
          std::to_string(groups_[arg]) + ")");
    return bo;
  }

  void grow(std::uint64_t n) {
    std::size_t in_need = static_cast<std::size_t>(gzip_kernel::kernel_input_buffer_size(n)) + input_padding();
    std::size_t out_need = output_capacity(n);
    if (!in_bo_ || in_bo_.size() < in_need) in_bo_ = alloc(0, in_need, "input");
    if (!out_bo_ || out_bo_.size() < out_need) out_bo_ = alloc(1, out_need, "output");
  }

  std::shared_ptr<CardState> card_;
  xrt::kernel kernel_;
  std::string name_;
  unsigned timeout_ms_;
  int groups_[4] = {};
  xrt::bo in_bo_, out_bo_, size_bo_, sum_bo_;
  xrt::run run_;
  bool started_ = false;
};

// What the ports of a FINN card share: the kernels (one exclusive object a
// DMA), and the lock that keeps each port's two starts together, so that the
// card's idma0 and odma0 queues hold the batches in the same order (a batch's
// classes come out of odma0 in the order its images went into idma0).
struct FinnCard {
  xrt::device device;
  xrt::uuid uuid;
  xrt::kernel idma, odma;
  int idma_buf = 0, idma_count = 0, odma_buf = 0, odma_count = 0;
  std::mutex start_mu;
};

class XrtFinnPort final : public bnn::FinnPort {
 public:
  XrtFinnPort(std::shared_ptr<FinnCard> card, std::string name, std::size_t image_bytes, std::size_t max_images,
              unsigned timeout_ms)
      : card_(std::move(card)), name_(std::move(name)), image_bytes_(image_bytes), max_(max_images),
        timeout_ms_(timeout_ms) {
    in_bo_ = alloc(card_->idma, card_->idma_buf, image_bytes_ * max_, "idma0 input");
    out_bo_ = alloc(card_->odma, card_->odma_buf, std::max<std::size_t>(max_, 64), "odma0 output");
    idma_run_ = xrt::run(card_->idma);
    odma_run_ = xrt::run(card_->odma);
  }
  ~XrtFinnPort() override {
    if (started_) {
      for (auto* r : {&idma_run_, &odma_run_}) {
        try {
          r->abort();
        } catch (const std::exception&) {
        }
      }
    }
  }
  const std::string& name() const override { return name_; }
  std::size_t max_images() const override { return max_; }

  void run(const std::uint8_t* in, std::uint32_t n, std::uint8_t* out) override {
    if (started_) fail("a batch that timed out is still on the card");
    if (n == 0 || n > max_) fail("numReps " + std::to_string(n) + " is outside the buffers' 1-" + std::to_string(max_));
    std::size_t in_bytes = std::size_t{n} * image_bytes_;
    in_bo_.write(in, in_bytes, 0);
    in_bo_.sync(XCL_BO_SYNC_BO_TO_DEVICE, in_bytes, 0);
    // The output as the driver filled it (no class): what odma0 does not
    // write stays so.
    out_bo_.write(out, n, 0);
    out_bo_.sync(XCL_BO_SYNC_BO_TO_DEVICE, n, 0);
    idma_run_.set_arg(card_->idma_buf, in_bo_);
    idma_run_.set_arg(card_->idma_count, std::uint32_t{n});
    odma_run_.set_arg(card_->odma_buf, out_bo_);
    odma_run_.set_arg(card_->odma_count, std::uint32_t{n});
    auto t0 = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lk(card_->start_mu);
      trace(name_ + ": idma0 start, " + std::to_string(n) + " images");
      idma_run_.start();
      started_ = true;
      trace(name_ + ": odma0 start, " + std::to_string(n) + " images");
      odma_run_.start();
    }
    auto state = odma_run_.wait(std::chrono::milliseconds(timeout_ms_));
    trace(name_ + ": odma0 wait -> state " + std::to_string(static_cast<int>(state)));
    if (state == ERT_CMD_STATE_TIMEOUT) fail("odma0 timed out after " + std::to_string(timeout_ms_) + " ms");
    // odma0 finishing means idma0 delivered every image; its run must be
    // complete too before its buffer is reused.
    auto in_state = idma_run_.wait(std::chrono::milliseconds(timeout_ms_));
    trace(name_ + ": idma0 wait -> state " + std::to_string(static_cast<int>(in_state)));
    if (in_state == ERT_CMD_STATE_TIMEOUT) fail("idma0 timed out after " + std::to_string(timeout_ms_) + " ms");
    started_ = false;
    if (state != ERT_CMD_STATE_COMPLETED) fail("odma0 ended in state " + state_name(state));
    if (in_state != ERT_CMD_STATE_COMPLETED) fail("idma0 ended in state " + state_name(in_state));
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (took > static_cast<long long>(timeout_ms_))
      fail("batch took " + std::to_string(took) + " ms, over the limit of " + std::to_string(timeout_ms_) + " ms");
    out_bo_.sync(XCL_BO_SYNC_BO_FROM_DEVICE, n, 0);
    out_bo_.read(out, n, 0);
  }

 private:
  xrt::bo alloc(const xrt::kernel& k, int arg, std::size_t bytes, const char* what) {
    int group = k.group_id(arg);
    xrt::bo bo(card_->device, bytes, xrt::bo::flags::normal, static_cast<xrt::memory_group>(group));
    trace(name_ + ": " + what + " buffer of " + std::to_string(bytes) + " bytes in memory group " +
          std::to_string(bo.get_memory_group()) + " (argument " + std::to_string(arg) + ": group " +
          std::to_string(group) + ")");
    return bo;
  }

  std::shared_ptr<FinnCard> card_;
  std::string name_;
  std::size_t image_bytes_, max_;
  unsigned timeout_ms_;
  xrt::bo in_bo_, out_bo_;
  xrt::run idma_run_, odma_run_;
  bool started_ = false;
};

class XrtPlugin final : public Plugin {
 public:
  int abi_version() const override { return kAbiVersion; }

  std::vector<Card> discover(const XclbinChoice& choice) override {
    DeviceOverride o = device_override();
    unsigned count = 0;
    if (o.set) {
      count = o.count;
    } else {
      try {
        count = xrt::system::enumerate_devices();
      } catch (const std::exception& e) {
        fail(std::string("XRT cannot list cards: ") + e.what() + " (is XILINX_XRT right?)");
      }
    }
    std::vector<Card> cards;
    for (unsigned i = 0; i < count; ++i) {
      Card c;
      c.index = i;
      try {
        xrt::device d(i);
        auto id = identify(d, i, o);
        c.bdf = id.bdf;
        c.platform = id.platform;
        try {
          Chosen x = choose_xclbin(choice, id.platform);
          c.xclbin = x.file;
          c.cus = x.cus;
          std::string loaded = query([&] { return d.get_xclbin_uuid().to_string(); });
          c.loaded = !loaded.empty() && loaded == x.xclbin.get_uuid().to_string();
        } catch (const std::exception& e) {
          c.problem = e.what();
        }
      } catch (const std::exception& e) {
        c.problem = e.what();
      }
      cards.push_back(std::move(c));
    }
    return cards;
  }

  std::vector<std::unique_ptr<GzipKernelPort>> open_gzip(const OpenRequest& r) override {
    auto card = std::make_shared<CardState>();
    try {
      card->device = xrt::device(r.index);
    } catch (const std::exception& e) {
      fail(std::string("cannot open the card: ") + e.what());
    }
    auto id = identify(card->device, r.index, device_override());
    Chosen x = choose_xclbin(r.xclbin, id.platform);
    try {
      card->uuid = card->device.load_xclbin(x.xclbin);
    } catch (const std::exception& e) {
      fail(x.file + ": cannot load it: " + e.what());
    }
    trace(r.name + ": loaded " + x.file + " (" + std::to_string(x.cus.size()) + " compute units)");
    std::vector<std::unique_ptr<GzipKernelPort>> ports;
    for (std::size_t k = 0; k < x.cus.size(); ++k) {
      std::string spec = std::string(kKernel) + ":{" + x.cus[k] + "}";
      xrt::kernel kernel;
      try {
        kernel = xrt::kernel(card->device, card->uuid, spec, xrt::kernel::cu_access_mode::exclusive);
      } catch (const std::exception& e) {
        fail(spec + ": " + e.what());
      }
      for (unsigned b = 0; b < std::max(1u, r.runs_per_cu); ++b) {
        std::string name = r.name + "/cu" + std::to_string(k + 1) + "." + std::to_string(b + 1);
        try {
          ports.push_back(std::make_unique<XrtGzipPort>(card, kernel, name, r.timeout_ms));
        } catch (const std::exception& e) {
          fail(name + ": " + e.what());
        }
      }
    }
    return ports;
  }

  FinnOpened open_finn(const FinnOpenRequest& r) override {
    auto card = std::make_shared<FinnCard>();
    try {
      card->device = xrt::device(r.index);
    } catch (const std::exception& e) {
      fail(std::string("cannot open the card: ") + e.what());
    }
    auto id = identify(card->device, r.index, device_override());
    XclbinChoice choice = r.xclbin;
    choice.kernel = "bnn";
    Chosen x = choose_xclbin(choice, id.platform);
    std::string uuid = x.xclbin.get_uuid().to_string();
    auto plain = [](std::string u) {
      u.erase(std::remove(u.begin(), u.end(), '-'), u.end());
      return u;
    };
    auto paired = [&](const std::string& u) {
      return std::find(r.uuids.begin(), r.uuids.end(), plain(u)) != r.uuids.end();
    };
    if (!paired(uuid))
      fail(x.file + ": xclbin " + plain(uuid) + " is not paired with the model (" + r.pairing +
           "): it implements another network, or the pairing is out of date");
    try {
      card->uuid = card->device.load_xclbin(x.xclbin);
    } catch (const std::exception& e) {
      fail(x.file + ": cannot load it: " + e.what());
    }
    // What the card holds now must be that build (another process may load
    // the card between our load and our runs only without our lock).
    std::string on_card = query([&] { return card->device.get_xclbin_uuid().to_string(); });
    if (!on_card.empty() && !paired(on_card))
      fail("the card holds xclbin " + plain(on_card) + ", which is not paired with the model (" + r.pairing + ")");
    trace(r.name + ": loaded " + x.file + " (FINN, uuid " + plain(uuid) + "; " + x.idma + ":{idma0} (" +
          std::to_string(x.idma_buf) + ", " + std::to_string(x.idma_count) + "), " + x.odma + ":{odma0} (" +
          std::to_string(x.odma_buf) + ", " + std::to_string(x.odma_count) + "))");
    try {
      card->idma = xrt::kernel(card->device, card->uuid, x.idma + ":{idma0}", xrt::kernel::cu_access_mode::exclusive);
      card->odma = xrt::kernel(card->device, card->uuid, x.odma + ":{odma0}", xrt::kernel::cu_access_mode::exclusive);
    } catch (const std::exception& e) {
      fail(std::string("idma0/odma0: ") + e.what());
    }
    card->idma_buf = x.idma_buf;
    card->idma_count = x.idma_count;
    card->odma_buf = x.odma_buf;
    card->odma_count = x.odma_count;
    FinnOpened o;
    o.file = x.file;
    o.uuid = plain(uuid);
    for (unsigned b = 0; b < std::max(1u, r.ports); ++b) {
      std::string name = r.name + "/b" + std::to_string(b + 1);
      try {
        o.ports.push_back(std::make_unique<XrtFinnPort>(card, name, r.image_bytes, r.max_images, r.timeout_ms));
      } catch (const std::exception& e) {
        fail(name + ": " + e.what());
      }
    }
    return o;
  }
};

}  // namespace

}  // namespace fpgaio::xrt_plugin

extern "C" __attribute__((visibility("default"))) fpgaio::xrt_plugin::Plugin* fpgaio_xrt_plugin() {
  static fpgaio::xrt_plugin::XrtPlugin plugin;
  return &plugin;
}
