// The BNN-PYNQ overlay driver's logic (pynq_driver.hpp): the fit check, the
// model folded into the overlay's parameter words, input conversion, the
// parameter load (once per board and process) and the double-buffered ports.
// Nothing here touches a board directly: a Board does (pynq_backend.cpp).
#include "fpgaio/pynq_driver.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "fpgaio/error.hpp"

#include "../util.hpp"

namespace fpgaio::pynq {

namespace {

using bnn::Layer;
using bnn::LayerKind;
using bnn::Model;

// A matrix layer of the model (conv or fc) and whether a max-pool follows.
struct Matrix {
  const Layer* layer;
  std::size_t index;  // in model.layers
  bool pool_after;
};

std::string layer_text(bool conv, std::uint32_t in, std::uint32_t out, bool pool) {
  return std::string(conv ? "conv " : "fc ") + std::to_string(in) + " -> " + std::to_string(out) +
         (pool ? ", pool" : "");
}

// The model's matrix layers, or the reason they are no chain of matrix
// layers each followed by at most one pool.
std::string matrices(const Model& m, std::vector<Matrix>& out) {
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const Layer& l = m.layers[i];
    if (l.kind == LayerKind::maxpool2x2) {
      if (out.empty() || out.back().pool_after)
        return "the model's layer " + std::to_string(i) + " is a max-pool where the overlay has none";
      out.back().pool_after = true;
      continue;
    }
    out.push_back(Matrix{&l, i, false});
  }
  return "";
}

std::int64_t clamp64(std::int64_t v, std::int64_t lo, std::int64_t hi) { return std::min(std::max(v, lo), hi); }

}  // namespace

std::string why_not_fit(const Model& m, const Overlay& o) {
  if (std::strcmp(o.name, "lfcW1A1") == 0)
    return "the lfcW1A1 overlay thresholds its last layer in hardware (one bit a class; BNN-PYNQ takes the "
           "highest set bit), so it gives neither the scores nor the first highest class exactly; fpga-infer "
           "runs the cnvW1A1 overlay";
  if (!o.fixed8_input) return std::string("the ") + o.name + " overlay is not supported";
  const std::string ov = std::string("the ") + o.name + " overlay's";
  if (m.mode != bnn::InputMode::fixed8)
    return "the model's input is binary; " + ov + " is 8-bit (Q1.7)";
  if (m.input.height != o.height || m.input.width != o.width || (m.input.channels != o.channels && m.input.channels != 1))
    return "the model's input is " + std::to_string(m.input.height) + "x" + std::to_string(m.input.width) + "x" +
           std::to_string(m.input.channels) + "; " + ov + " is " + std::to_string(o.height) + "x" +
           std::to_string(o.width) + "x" + std::to_string(o.channels) + " (or x1, fed as channel 0)";
  std::vector<Matrix> ms;
  if (std::string why = matrices(m, ms); !why.empty()) return why;
  for (std::size_t i = 0; i < std::max(ms.size(), o.count); ++i) {
    if (i >= ms.size())
      return "the model has " + std::to_string(ms.size()) + " conv and fc layers; " + ov + " topology has " +
             std::to_string(o.count);
    const Layer& l = *ms[i].layer;
    const bool conv = l.kind == LayerKind::conv3x3;
    const std::string mine = "the model's layer " + std::to_string(ms[i].index) + " (" +
                             layer_text(conv, l.in, l.out, ms[i].pool_after) + ")";
    if (i >= o.count)
      return mine + " is one more than " + ov + " " + std::to_string(o.count) + " conv and fc layers";
    const OverlayLayer& ol = o.layers[i];
    const bool last = i + 1 == o.count;
    const bool in_ok = i == 0 ? l.in == m.input.channels : l.in == ol.in;
    const bool out_ok = last ? l.out >= 1 && l.out <= 10 && l.out <= ol.out : l.out == ol.out;
    if (conv != ol.conv || !in_ok || !out_ok || ms[i].pool_after != ol.pool_after) {
      std::string want = layer_text(ol.conv, i == 0 ? m.input.channels : ol.in, last ? 10 : ol.out, ol.pool_after);
      return mine + " differs from " + ov + " layer " + std::to_string(i) + " (" + want +
             (last ? ": at most 10 classes" : "") + ")";
    }
    if (ol.thresholds != (l.thresholds.size() == l.out))
      return mine + (ol.thresholds ? " has no thresholds; " : " has thresholds; ") + ov + " layer " +
             std::to_string(i) + (ol.thresholds ? " has" : " has none");
  }
  return "";
}

std::vector<ParamWord> parameter_words(const Model& m, const Overlay& o) {
  if (std::string why = why_not_fit(m, o); !why.empty()) throw Error(ErrorKind::usage, why);
  std::vector<Matrix> ms;
  matrices(m, ms);
  std::vector<ParamWord> words;
  words.reserve(static_cast<std::size_t>(pynq::parameter_words(o)));
  for (std::size_t li = 0; li < o.count; ++li) {
    const OverlayLayer& ol = o.layers[li];
    const Layer& l = *ms[li].layer;
    const std::uint32_t K = ol.fan_in(), groups = K / ol.simd, per_pe = ol.out / ol.pe;
    // Synapse k of the overlay's neuron as the model's synapse, or -1 (a
    // channel the model does not have: fed 0, weight bit 0).
    const std::uint32_t oin = ol.in, min = l.in;
    auto synapse = [&](std::uint32_t k) -> std::int64_t {
      if (!ol.conv || oin == min) return k;
      std::uint32_t tap = k / oin, ic = k % oin;
      return ic < min ? std::int64_t{tap} * min + ic : -1;
    };
    for (std::uint32_t pe = 0; pe < ol.pe; ++pe) {
      for (std::uint32_t nf = 0; nf < per_pe; ++nf) {
        const std::uint32_t neuron = nf * ol.pe + pe;
        for (std::uint32_t sf = 0; sf < groups; ++sf) {
          std::uint64_t v = 0;
          if (neuron < l.out)
            for (std::uint32_t j = 0; j < ol.simd; ++j) {
              std::int64_t k = synapse(sf * ol.simd + j);
              if (k >= 0 && l.weight(neuron, static_cast<std::uint32_t>(k))) v |= std::uint64_t{1} << j;
            }
          words.push_back(ParamWord{static_cast<std::uint32_t>(2 * li), pe, nf * groups + sf, v});
        }
      }
      if (!ol.thresholds) continue;
      for (std::uint32_t nf = 0; nf < per_pe; ++nf) {
        const std::uint32_t neuron = nf * ol.pe + pe;
        std::int64_t t = l.thresholds[neuron];
        std::int64_t v;
        if (li == 0) {
          // acc in 1/128 lies in [-128 K, 127 K]; T < 2*acc in 1/256ths.
          const std::int64_t k = l.fan_in();
          v = 2 * clamp64(t, -128 * k - 1, 128 * k);
        } else {
          // acc = matching bits in [0, K]; T < acc, 16-bit signed.
          v = clamp64(t, -1, K);
        }
        words.push_back(ParamWord{static_cast<std::uint32_t>(2 * li + 1), pe, nf, static_cast<std::uint64_t>(v)});
      }
    }
  }
  return words;
}

void convert_input(const bnn::Shape& input, const Overlay& o, const std::uint8_t* px, std::uint8_t* out) {
  static const auto q = [] {
    std::array<std::uint8_t, 256> t{};
    for (int p = 0; p < 256; ++p) {
      // round((2p - 255) * 128 / 255), saturated to Q1.7 (as the CPU engine).
      int num = (2 * p - 255) * 128;
      int v = num >= 0 ? (num + 127) / 255 : -((-num + 127) / 255);
      t[static_cast<std::size_t>(p)] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::clamp(v, -128, 127)));
    }
    return t;
  }();
  const std::size_t pixels = std::size_t{o.height} * o.width, c = input.channels;
  if (c == o.channels) {
    for (std::size_t i = 0; i < pixels * c; ++i) out[i] = q[px[i]];
    return;
  }
  std::memset(out, 0, o.in_bytes);
  for (std::size_t i = 0; i < pixels; ++i) out[i * o.channels] = q[px[i]];
}

std::int64_t run_bound_ns(std::uint32_t num_reps) {
  if (const char* e = std::getenv("FPGAIO_PYNQ_TIMEOUT_MS"); e && *e) {
    char* end = nullptr;
    unsigned long long ms = std::strtoull(e, &end, 10);
    if (end && !*end && ms > 0) return static_cast<std::int64_t>(std::min<unsigned long long>(ms, 86400000ull)) * 1000000;
  }
  return 10'000'000'000ll + 50'000'000ll * num_reps;
}

void check_fit(const Model& model, const Device& device) {
  if (std::string why = why_not_fit(model, loaded_overlay(device)); !why.empty())
    throw Error(ErrorKind::usage, device.name + ": " + why);
}

// ---- the accelerator: one a board, shared by its ports ----

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string seconds_text(std::int64_t ns) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g s", static_cast<double>(ns) / 1e9);
  return b;
}

std::uint64_t fnv(const std::vector<ParamWord>& w) {
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= 1099511628211ull;
    }
  };
  for (const auto& x : w) {
    mix(x.layer | std::uint64_t{x.mem} << 32);
    mix(x.ind);
    mix(x.val);
  }
  return h | 1;  // never 0, which means "nothing loaded"
}

struct Accelerator {
  std::shared_ptr<Board> board;
  std::mutex mu;              // one run at a time
  std::uint64_t loaded = 0;   // fnv() of the parameter words in it, 0: none or unknown
  bool probed = false;
  std::string failed;         // a run failed: the accelerator's state is unknown, nothing more runs

  // One run, the arguments written; throws Error(device) "`what` not done
  // ..." when it is not done within the bound (without the device's name:
  // the caller says where).
  void run(std::uint32_t num_reps, const std::string& what) {
    board->start();
    const std::int64_t bound = run_bound_ns(num_reps);
    std::string error;
    const std::int64_t deadline = now_ns() + bound;
    if (!board->wait_done(deadline)) {
      std::string why = board->why_not_done();
      // Ended before the bound: the board said why (stopped, refused).
      if (now_ns() < deadline && !why.empty()) error = what + ": " + why;
      else
        error = what + " not done within " + seconds_text(bound) +
                (why.empty() ? " (is the overlay loaded and running?)" : ": " + why);
    } else if (std::string why = board->check_done(); !why.empty()) {
      error = what + ": " + why;
    }
    if (!error.empty()) {
      loaded = 0;
      failed = error;
      throw Error(ErrorKind::device, error);
    }
  }
  void check_usable() const {
    if (!failed.empty())
      throw Error(ErrorKind::device, "not run: the accelerator failed before (" + failed + "), so it is not used again");
  }

  // The register window answers: a register written reads back.
  void probe() {
    if (probed) return;
    for (std::uint32_t v : {0x5A3C0F96u, 0xA5C3F069u}) {
      board->write(reg::num_reps, v);
      std::uint32_t got = board->read(reg::num_reps);
      if (got != v)
        throw Error(ErrorKind::device, board->name() + ": no BNN-PYNQ accelerator answers (" + board->describe() +
                                           "; numReps reads " + util::hex(got, 8) + " after " + util::hex(v, 8) +
                                           " was written): is the " + board->overlay().name + " overlay loaded?");
    }
    board->write(reg::num_reps, 0);
    probed = true;
  }

  // Writes the words unless they are what the accelerator holds; the
  // caller holds mu. Returns the words written.
  std::uint64_t load(const std::vector<ParamWord>& words, std::uint64_t id) {
    check_usable();
    if (loaded == id) return 0;
    probe();
    loaded = 0;
    board->write(reg::do_init, 1);
    board->write(reg::target_thresh, 0);
    board->write(reg::num_reps, 0);
    for (std::size_t i = 0; i < words.size(); ++i) {
      const ParamWord& w = words[i];
      board->write(reg::target_layer, w.layer);
      board->write(reg::target_mem, w.mem);
      board->write(reg::target_ind, w.ind);
      board->write(reg::val_lo, static_cast<std::uint32_t>(w.val));
      board->write(reg::val_hi, static_cast<std::uint32_t>(w.val >> 32));
      run(0, "parameter word " + std::to_string(i + 1) + " of " + std::to_string(words.size()) + " (layer " +
                 std::to_string(w.layer / 2) + (w.layer % 2 ? " thresholds" : " weights") + ", PE " +
                 std::to_string(w.mem) + ", line " + std::to_string(w.ind) + ")");
    }
    board->write(reg::do_init, 0);
    loaded = id;
    return words.size();
  }
};

std::mutex g_accels_mu;
std::map<std::string, std::weak_ptr<Accelerator>>& accels() {
  static std::map<std::string, std::weak_ptr<Accelerator>> m;
  return m;
}

// The accelerator of `key`, made with `make` the first time in this process.
template <class F>
std::shared_ptr<Accelerator> accelerator(const std::string& key, F make) {
  std::lock_guard<std::mutex> lk(g_accels_mu);
  auto& w = accels()[key];
  if (auto a = w.lock()) return a;
  auto a = std::make_shared<Accelerator>();
  a->board = make();
  w = a;
  return a;
}

// One input/output buffer pair in the DMA memory.
class PynqPort final : public bnn::FinnPort {
 public:
  PynqPort(std::shared_ptr<Accelerator> acc, std::shared_ptr<const std::vector<ParamWord>> words, std::uint64_t id,
           const bnn::Shape& input, std::string name, std::size_t max, std::uint64_t in_off, std::uint64_t out_off)
      : acc_(std::move(acc)), words_(std::move(words)), id_(id), input_(input), name_(std::move(name)), max_(max),
        in_off_(in_off), out_off_(out_off), o_(acc_->board->overlay()) {}
  const std::string& name() const override { return name_; }
  std::size_t max_images() const override { return max_; }
  std::size_t scores_per_image() const override { return o_.out_bytes / 2; }
  std::uint32_t max_score() const override { return o_.layers[o_.count - 1].fan_in(); }
  void run(const std::uint8_t*, std::uint32_t, std::uint8_t*) override {
    throw Error(ErrorKind::device, name_ + ": gives scores");
  }
  void run_scores(const std::uint8_t* in, std::uint32_t n, std::uint16_t* out) override {
    if (n == 0 || n > max_) throw Error(ErrorKind::device, "numReps " + std::to_string(n) + " is not 1 to " + std::to_string(max_));
    Board& b = *acc_->board;
    std::uint8_t* dma = b.dma();
    // Outside the lock: the other port's batch may be running meanwhile.
    const std::size_t per = static_cast<std::size_t>(input_.values());
    for (std::uint32_t i = 0; i < n; ++i) convert_input(input_, o_, in + i * per, dma + in_off_ + i * o_.in_bytes);
    std::memset(dma + out_off_, 0xFF, std::size_t{n} * o_.out_bytes);  // kFinnNoScore in every entry
    {
      std::lock_guard<std::mutex> lk(acc_->mu);
      acc_->load(*words_, id_);  // another model's driver may have loaded its own (fpga-remote serve)
      const std::uint64_t in_phys = b.dma_phys() + in_off_, out_phys = b.dma_phys() + out_off_;
      b.write(reg::do_init, 0);
      b.write(reg::in_lo, static_cast<std::uint32_t>(in_phys));
      b.write(reg::in_hi, static_cast<std::uint32_t>(in_phys >> 32));
      b.write(reg::out_lo, static_cast<std::uint32_t>(out_phys));
      b.write(reg::out_hi, static_cast<std::uint32_t>(out_phys >> 32));
      b.write(reg::num_reps, n);
      acc_->run(n, "a batch of " + std::to_string(n) + (n == 1 ? " image" : " images"));
    }
    // Read back outside the lock (16-bit little-endian scores).
    const std::uint8_t* src = dma + out_off_;
    const std::size_t count = std::size_t{n} * (o_.out_bytes / 2);
    for (std::size_t i = 0; i < count; ++i)
      out[i] = static_cast<std::uint16_t>(src[2 * i] | (std::uint16_t{src[2 * i + 1]} << 8));
  }

 private:
  std::shared_ptr<Accelerator> acc_;
  std::shared_ptr<const std::vector<ParamWord>> words_;
  std::uint64_t id_;
  bnn::Shape input_;
  std::string name_;
  std::size_t max_;
  std::uint64_t in_off_, out_off_;
  const Overlay& o_;
};

PynqOpened open_on(const std::shared_ptr<Accelerator>& acc, const Model& model, std::size_t batch) {
  Board& b = *acc->board;
  const Overlay& o = b.overlay();
  if (std::string why = why_not_fit(model, o); !why.empty()) throw Error(ErrorKind::usage, b.name() + ": " + why);
  auto words = std::make_shared<const std::vector<ParamWord>>(parameter_words(model, o));
  const std::uint64_t id = fnv(*words);
  // The buffers: kPynqPorts pairs, each region 4 KiB aligned.
  constexpr std::uint64_t kAlign = 4096;
  auto up = [](std::uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; };
  const std::uint64_t share = b.dma_size() / kPynqPorts / kAlign * kAlign;
  const std::uint64_t per = o.in_bytes + o.out_bytes;
  std::uint64_t cap = share > 2 * kAlign ? (share - 2 * kAlign) / per : 0;
  cap = std::min<std::uint64_t>(cap, std::max<std::size_t>(batch, 1));
  if (cap == 0)
    throw Error(ErrorKind::device, b.name() + ": its DMA memory (" + std::to_string(b.dma_size()) +
                                       " bytes) holds no image of " + std::to_string(per) + " bytes a buffer pair");
  PynqOpened r;
  {
    std::lock_guard<std::mutex> lk(acc->mu);
    auto t0 = now_ns();
    try {
      r.parameter_words = acc->load(*words, id);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::device || std::string(e.what()).rfind(b.name() + ":", 0) == 0) throw;
      throw Error(ErrorKind::device, b.name() + ": loading the parameters: " + e.what());
    }
    r.parameter_seconds = static_cast<double>(now_ns() - t0) / 1e9;
  }
  for (unsigned p = 0; p < kPynqPorts; ++p) {
    const std::uint64_t base = p * share;
    const std::uint64_t in_off = base, out_off = base + up(cap * o.in_bytes);
    r.ports.push_back(std::make_unique<PynqPort>(acc, words, id, model.input, b.name() + "/b" + std::to_string(p + 1),
                                                 static_cast<std::size_t>(cap), in_off, out_off));
  }
  return r;
}

}  // namespace

PynqOpened open_pynq_ports(const Device& device, const Model& model, std::size_t batch) {
  check_fit(model, device);
  // One a board: the name and the lock key (an emulation file's path).
  auto acc = accelerator(device.name + " " + device.lock_key, [&] { return std::shared_ptr<Board>(open_board(device)); });
  return open_on(acc, model, batch);
}

PynqOpened open_pynq_ports(std::shared_ptr<Board> board, const Model& model, std::size_t batch) {
  char key[48];
  std::snprintf(key, sizeof key, "board@%p", static_cast<const void*>(board.get()));
  auto acc = accelerator(key, [&] { return board; });
  return open_on(acc, model, batch);
}

}  // namespace fpgaio::pynq
