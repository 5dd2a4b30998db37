// The FINN driver (idma0/odma0), its csim stand-in, and the pairing of a
// model with the .xclbin files built from it.
#include "fpgaio/finn.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

#include <cerrno>
#include <mutex>
#include <sstream>

#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/pipeline.hpp"
#include "fpgaio/pynq_driver.hpp"

namespace fpgaio::bnn {


// ---- the driver ----

struct FinnDriver::Impl {
  std::vector<std::unique_ptr<FinnPort>> ports;
  std::size_t image_bytes = 0, classes = 0;
  std::size_t per_image = 0;  // scores an image from ports with scores, else 0
  std::uint32_t max_score = 0;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<FinnPort*> free;
  std::uint64_t batches = 0;  // counted from 1 in messages

  FinnPort& acquire(std::uint64_t& batch) {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return !free.empty(); });
    FinnPort* p = free.back();
    free.pop_back();
    batch = ++batches;
    return *p;
  }
  void release(FinnPort& p) {
    {
      std::lock_guard<std::mutex> lk(mu);
      free.push_back(&p);
    }
    cv.notify_one();
  }
};

FinnDriver::FinnDriver(std::vector<std::unique_ptr<FinnPort>> ports, const Shape& input, std::size_t classes)
    : impl_(std::make_unique<Impl>()) {
  if (ports.empty()) throw Error(ErrorKind::device, "a FINN device with no DMA ports");
  if (classes == 0 || classes > kFinnMaxClasses)
    throw Error(ErrorKind::usage, "a FINN accelerator gives one byte a picture: models of 1 to " +
                                      std::to_string(kFinnMaxClasses) + " classes, not " + std::to_string(classes));
  impl_->image_bytes = static_cast<std::size_t>(input.values());
  impl_->classes = classes;
  impl_->per_image = ports.front()->scores_per_image();
  impl_->max_score = ports.front()->max_score();
  for (auto& p : ports) {
    if (p->max_images() == 0) throw Error(ErrorKind::device, p->name() + ": buffers hold no image");
    if (p->scores_per_image() != impl_->per_image || p->max_score() != impl_->max_score)
      throw Error(ErrorKind::device, p->name() + ": ports of one device give different outputs");
    impl_->free.push_back(p.get());
  }
  if (impl_->per_image && impl_->per_image < classes)
    throw Error(ErrorKind::usage, ports.front()->name() + ": gives " + std::to_string(impl_->per_image) +
                                      " scores an image, the model has " + std::to_string(classes) + " classes");
  std::reverse(impl_->free.begin(), impl_->free.end());  // port 1 first
  impl_->ports = std::move(ports);
}

FinnDriver::~FinnDriver() = default;

std::size_t FinnDriver::ports() const { return impl_->ports.size(); }

bool FinnDriver::gives_scores() const { return impl_->per_image != 0; }

void FinnDriver::classify(const std::uint8_t* pixels, std::size_t n, std::uint64_t first, std::uint16_t* classes,
                          std::int32_t* scores) {
  if (scores && !impl_->per_image)
    throw Error(ErrorKind::usage, impl_->ports.front()->name() + ": gives classes only, no scores");
  const std::size_t per = impl_->per_image;
  std::vector<std::uint8_t> out;
  std::vector<std::uint16_t> sc;
  std::size_t done = 0;
  while (done < n) {
    std::uint64_t batch = 0;
    FinnPort& port = impl_->acquire(batch);
    struct Release {
      Impl* i;
      FinnPort& p;
      ~Release() { i->release(p); }
    } release{impl_.get(), port};
    std::size_t k = std::min(n - done, port.max_images());
    k = std::min<std::size_t>(k, 0xFFFFFFFFu);
    if (per) sc.assign(k * per, kFinnNoScore);
    else out.assign(k, kFinnNoClass);
    auto where = [&] {
      return port.name() + ": batch " + std::to_string(batch) + " (images " + std::to_string(first + done) + "-" +
             std::to_string(first + done + k - 1) + ")";
    };
    try {
      if (per) port.run_scores(pixels + done * impl_->image_bytes, static_cast<std::uint32_t>(k), sc.data());
      else port.run(pixels + done * impl_->image_bytes, static_cast<std::uint32_t>(k), out.data());
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::device) throw;
      throw Error(ErrorKind::device, where() + ": " + e.what());
    } catch (const std::exception& e) {
      throw Error(ErrorKind::device, where() + ": " + e.what());
    }
    if (per) {
      for (std::size_t i = 0; i < k; ++i) {
        const std::uint16_t* s = sc.data() + i * per;
        const std::uint64_t image = first + done + i;
        for (std::size_t j = 0; j < per; ++j) {
          if (s[j] == kFinnNoScore)
            throw Error(ErrorKind::device, where() + ": no output for image " + std::to_string(image) + " (score " +
                                               std::to_string(j) + " of " + std::to_string(per) + " not written)");
          if (s[j] > impl_->max_score)
            throw Error(ErrorKind::device, where() + ": score " + std::to_string(j) + " of image " +
                                               std::to_string(image) + " is " + std::to_string(s[j]) +
                                               ", beyond the last layer's fan-in " + std::to_string(impl_->max_score));
        }
        std::size_t best = 0;
        for (std::size_t j = 1; j < impl_->classes; ++j)
          if (s[j] > s[best]) best = j;
        classes[done + i] = static_cast<std::uint16_t>(best);
        if (scores)
          for (std::size_t j = 0; j < impl_->classes; ++j) scores[(done + i) * impl_->classes + j] = s[j];
      }
      done += k;
      continue;
    }
    for (std::size_t i = 0; i < k; ++i) {
      if (out[i] == kFinnNoClass)
        throw Error(ErrorKind::device, where() + ": no class returned for image " + std::to_string(first + done + i) +
                                           " (odma0 did not write it)");
      if (out[i] >= impl_->classes)
        throw Error(ErrorKind::device, where() + ": returned class " + std::to_string(out[i]) + " for image " +
                                           std::to_string(first + done + i) + ", the model has " +
                                           std::to_string(impl_->classes) + " classes");
      classes[done + i] = out[i];
    }
    done += k;
  }
}

// ---- the csim stand-in ----

namespace {

class CsimFinnPort final : public FinnPort {
 public:
  CsimFinnPort(const Engine& engine, const Shape& input, std::string name, std::size_t max_images)
      : engine_(engine), bytes_(static_cast<std::size_t>(input.values())), name_(std::move(name)),
        max_(max_images), scores_(engine.classes()) {}
  const std::string& name() const override { return name_; }
  std::size_t max_images() const override { return max_; }
  void run(const std::uint8_t* in, std::uint32_t n, std::uint8_t* out) override {
    if (n > max_) throw Error(ErrorKind::device, "numReps " + std::to_string(n) + " is over the buffers' " + std::to_string(max_));
    // The card's buffers: the input copied in, the output read back.
    in_.assign(in, in + std::size_t{n} * bytes_);
    out_.assign(out, out + n);
    for (std::uint32_t i = 0; i < n; ++i) {
      engine_.classify(in_.data() + std::size_t{i} * bytes_, scores_.data());
      out_[i] = static_cast<std::uint8_t>(argmax(scores_.data(), scores_.size()));
    }
    std::memcpy(out, out_.data(), n);
  }

 private:
  const Engine& engine_;
  std::size_t bytes_;
  std::string name_;
  std::size_t max_;
  std::vector<std::int32_t> scores_;
  std::vector<std::uint8_t> in_, out_;
};

std::string hex32(std::uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

bool is_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

}  // namespace

std::unique_ptr<FinnPort> make_csim_finn_port(const Engine& engine, const Shape& input, std::string name,
                                              std::size_t max_images) {
  return std::make_unique<CsimFinnPort>(engine, input, std::move(name), max_images);
}

// ---- pairing ----

std::uint32_t model_crc(const Model& model) {
  // The CRC-32 the model file ends with (that of everything before it; the
  // CRC of the whole file, trailer included, is the same for every file).
  Bytes b = model.serialize();
  return crc32(0, b.data(), b.size() - 4);
}

std::string normalize_uuid(const std::string& uuid) {
  std::string o;
  for (char c : uuid) {
    if (c == '-') continue;
    o += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  }
  return o;
}

bool FinnPairing::has_uuid(const std::string& uuid) const {
  std::string u = normalize_uuid(uuid);
  return std::any_of(builds.begin(), builds.end(), [&](const Build& b) { return b.uuid == u; });
}

std::string pairing_path(const std::string& model_path) { return model_path + ".finn"; }

std::optional<FinnPairing> read_pairing(const std::string& model_path, const Model& model) {
  FinnPairing p;
  p.path = pairing_path(model_path);
  struct stat st;
  if (::stat(p.path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw_errno("cannot read", errno, p.path);
  }
  // A pairing is a few lines: read at most 64 KiB (not /dev/zero's all).
  constexpr std::size_t kMax = 64 << 10;
  std::string text(kMax + 1, '\0');
  std::size_t got = 0;
  {
    Input in(p.path);
    while (got < text.size()) {
      std::size_t r = in.read(reinterpret_cast<std::uint8_t*>(&text[got]), text.size() - got);
      if (!r) break;
      got += r;
    }
  }
  if (got > kMax) throw Error(ErrorKind::corrupt, "larger than 64 KiB (not a FINN pairing?)").with_path(p.path);
  text.resize(got);
  std::istringstream f(text);
  std::string line;
  unsigned no = 0;
  bool magic = false, crc = false;
  auto bad = [&](const std::string& why) {
    throw Error(ErrorKind::corrupt, "line " + std::to_string(no) + ": " + why).with_path(p.path);
  };
  while (std::getline(f, line)) {
    ++no;
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream in(line);
    std::string key;
    if (!(in >> key)) continue;
    if (!magic) {
      std::string v;
      if (key != "fpga-tools-finn" || !(in >> v) || v != "1") bad("not an fpga-tools FINN pairing (no 'fpga-tools-finn 1')");
      magic = true;
    } else if (key == "model-crc32") {
      std::string v;
      if (!(in >> v) || v.size() != 8 || !is_hex(v)) bad("model-crc32 needs 8 lowercase hex digits");
      p.model_crc = static_cast<std::uint32_t>(std::stoul(v, nullptr, 16));
      crc = true;
    } else if (key == "xclbin") {
      FinnPairing::Build b;
      if (!(in >> b.uuid)) bad("xclbin needs a UUID");
      b.uuid = normalize_uuid(b.uuid);
      if (b.uuid.size() != 32 || !is_hex(b.uuid)) bad("'" + b.uuid + "' is not a UUID (32 hex digits)");
      std::string rest;
      std::getline(in >> std::ws, rest);
      while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t' || rest.back() == '\r')) rest.pop_back();
      if (!rest.empty()) b.file = rest[0] == '/' ? rest : dir_of(p.path) + rest;
      p.builds.push_back(std::move(b));
    } else {
      bad("unknown key '" + key + "'");
    }
  }
  if (!magic) throw Error(ErrorKind::corrupt, "empty FINN pairing").with_path(p.path);
  if (!crc) throw Error(ErrorKind::corrupt, "no model-crc32 line").with_path(p.path);
  if (p.builds.empty()) throw Error(ErrorKind::corrupt, "no xclbin line").with_path(p.path);
  std::uint32_t want = model_crc(model);
  if (p.model_crc != want)
    throw Error(ErrorKind::usage, "written for another model (model-crc32 " + hex32(p.model_crc) + ", " + model_path +
                                      " has " + hex32(want) + ")")
        .with_path(p.path);
  return p;
}

std::string format_pairing(const FinnPairing& p) {
  std::string s = "fpga-tools-finn 1\n# The FINN accelerators (.xclbin) that implement this model; fpga-infer\n"
                  "# refuses a card whose xclbin is not listed here.\nmodel-crc32 " + hex32(p.model_crc) + "\n";
  for (const auto& b : p.builds) s += "xclbin " + b.uuid + (b.file.empty() ? "" : " " + b.file) + "\n";
  return s;
}

// The axlf header of an xclbin2 file (XRT's xclbin.h): magic at 0, the
// platform name (64 bytes) at 352, the UUID (16 bytes) at 416. Checked
// against <xclbin.h> by the XRT tests (make_xclbin --check-offsets).
XclbinId read_xclbin_id(const std::string& path) {
  constexpr std::size_t kPlatform = 352, kUuid = 416, kHead = 432;
  std::uint8_t h[kHead];
  Input in(path);
  std::size_t got = 0;
  while (got < kHead) {
    std::size_t r = in.read(h + got, kHead - got);
    if (!r) break;
    got += r;
  }
  if (got < 8 || std::memcmp(h, "xclbin2", 8) != 0)
    throw Error(ErrorKind::corrupt, "not an xclbin file (no xclbin2 magic)").with_path(path);
  if (got < kHead) throw Error(ErrorKind::corrupt, "xclbin header cut short").with_path(path);
  XclbinId id;
  const char* plat = reinterpret_cast<const char*>(h + kPlatform);
  id.platform.assign(plat, strnlen(plat, 64));
  char b[3];
  for (std::size_t i = 0; i < 16; ++i) {
    std::snprintf(b, sizeof b, "%02x", h[kUuid + i]);
    id.uuid += b;
  }
  return id;
}

// ---- opening ----

FinnDevice open_finn_device(const Device& device, const Model& model, const Engine& engine,
                            const std::optional<FinnPairing>& pairing, std::size_t batch, unsigned threads,
                            bool wait, bool lock) {
  FinnDevice r;
  r.device = device;
  if (device.kind == DeviceKind::pynq) {
    // The overlay's fit is checked before the lock is taken or anything is
    // written; the parameters are loaded once (pynq.cpp).
    pynq::check_fit(model, device);
    if (lock) {
      r.lock = DeviceLock::acquire(device, wait);
      if (!r.lock) return r;
    }
    pynq::PynqOpened o = pynq::open_pynq_ports(device, model, batch);
    r.parameter_words = o.parameter_words;
    r.parameter_seconds = o.parameter_seconds;
    r.driver = std::make_unique<FinnDriver>(std::move(o.ports), model.input, model.classes.size());
    return r;
  }
  std::vector<std::unique_ptr<FinnPort>> ports;
  // Buffers of at most 64 MiB a set (the driver splits larger batches).
  std::size_t image = static_cast<std::size_t>(model.input.values());
  batch = std::max<std::size_t>(1, std::min(batch, (std::size_t{64} << 20) / std::max<std::size_t>(image, 1)));
  if (device.kind == DeviceKind::csim) {
    unsigned n = threads ? threads : default_threads();
    for (unsigned i = 0; i < n; ++i)
      ports.push_back(make_csim_finn_port(engine, model.input, device.name + "/b" + std::to_string(i + 1), batch));
  } else if (device.kind == DeviceKind::xrt) {
    if (!pairing)
      throw Error(ErrorKind::device, device.name + ": the model has no FINN pairing (" + "MODEL.finn" +
                                         "), so nothing says which xclbin implements it; make one with "
                                         "'fpga-infer pair MODEL XCLBIN'");
    r.lock = DeviceLock::acquire(device, wait);
    if (!r.lock) return r;
    ports = open_xrt_finn_ports(device, *pairing, static_cast<std::size_t>(model.input.values()), batch,
                                kFinnCardPorts, r.xclbin_uuid);
  } else {
    throw Error(ErrorKind::device, device.name + ": not a FINN device");
  }
  r.driver = std::make_unique<FinnDriver>(std::move(ports), model.input, model.classes.size());
  return r;
}

}  // namespace fpgaio::bnn
