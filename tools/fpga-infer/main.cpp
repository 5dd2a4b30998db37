// fpga-infer: classify images with a binarized neural network (CNV-W1A1,
// LFC-W1A1 and variants) on a compute device, one line per image.
#include <sys/stat.h>
#include <cstdlib>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "cli.hpp"
#include "infer-cli/options.hpp"
#include "fpgaio/bnn.hpp"
#include "fpgaio/device.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/finn.hpp"
#include "fpgaio/images.hpp"
#include "fpgaio/infer.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/pipeline.hpp"
#include "fpgaio/split.hpp"
#include "fpgaio/version.hpp"
#include "progress.hpp"
#include "pynq_emu.hpp"

namespace {

namespace bnn = fpgaio::bnn;

std::string seconds_text(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f s", s);
  return b;
}
namespace img = fpgaio::images;
using fpgaio::Error;
using fpgaio::ErrorKind;

using fpgainfer::Options;
using fpgainfer::parse;

class Classifier {
 public:
  Classifier(Options o) : o_(std::move(o)) {}
  int run();

 private:
  void classify_input(const std::string& operand, fpgaio::Sink& out);
  fpgaio::infer::Answer compute(const img::Batch& b);
  void summary(double seconds) const;

  void open_device();
  std::vector<std::uint16_t> classes_of(const img::Batch& b, std::vector<std::int32_t>* scores);

  Options o_;
  std::string model_path_;
  std::unique_ptr<bnn::Model> model_;
  std::unique_ptr<bnn::Engine> engine_;
  fpgaio::Device device_;
  bool explicit_device_ = false;
  std::optional<bnn::FinnPairing> pairing_;
  std::optional<Error> pairing_error_;
  bnn::FinnDevice finn_;                // a FINN device (csim, card), when one runs
  std::atomic<bool> finn_failed_{false};  // a card failed mid-run: the CPU took over
  std::unique_ptr<fpgaio::infer::Run> run_;
  unsigned threads_ = 1;
};

void Classifier::classify_input(const std::string& operand, fpgaio::Sink& out) {
  std::unique_ptr<fpgacli::ProgressLine> bar;
  auto hooks = fpgacli::infer_progress(o_.progress, bar);
  const std::size_t batch = o_.batch ? o_.batch : finn_.driver ? 256 : 64;
  run_->classify(operand, out, [this](const img::Batch& b) { return compute(b); }, batch, threads_, hooks);
}

// A batch's classes (and scores, on the CPU and the Pynq-Z1 overlay): from
// the FINN device while it works, else from the CPU engine.
fpgaio::infer::Answer Classifier::compute(const img::Batch& b) {
  fpgaio::infer::Answer a;
  if (finn_.driver && !finn_failed_) {
    a.classes = classes_of(b, o_.scores ? &a.scores : nullptr);
    if (!a.classes.empty()) return a;
    a.scores.clear();
  }
  const std::size_t classes = model_->classes.size();
  a.scores.resize(b.count * classes);
  engine_->classify_batch(b.pixels.data(), b.count, a.scores.data());
  for (std::size_t i = 0; i < b.count; ++i)
    a.classes.push_back(static_cast<std::uint16_t>(bnn::argmax(a.scores.data() + i * classes, classes)));
  return a;
}

// The classes of a batch from the FINN device (and its scores, where it
// gives them and `scores` asks); empty when the device failed and was not
// named (then the CPU takes the batch, with one warning).
std::vector<std::uint16_t> Classifier::classes_of(const img::Batch& b, std::vector<std::int32_t>* scores) {
  std::vector<std::uint16_t> c(b.count);
  if (scores) scores->assign(b.count * model_->classes.size(), 0);
  try {
    finn_.driver->classify(b.pixels.data(), b.count, b.first, c.data(), scores ? scores->data() : nullptr);
  } catch (const Error& e) {
    if (explicit_device_ || e.kind() != ErrorKind::device) throw;
    if (!finn_failed_.exchange(true) && !o_.quiet)
      fpgacli::report("", std::string("warning: ") + e.what() + "; classifying the rest on the CPU");
    return {};
  }
  return c;
}

// The device: the CPU, or a FINN device (csim by name; a card with a FINN
// xclbin paired with the model). A card that is not named and is busy or
// fails gives way to the CPU with a warning.
void Classifier::open_device() {
  const char* env_dev = std::getenv("FPGA_DEVICE");
  explicit_device_ = !o_.device.empty() || (env_dev && *env_dev);
  device_ = fpgaio::select_device(o_.device, "bnn");
  if (device_.kind == fpgaio::DeviceKind::cpu) return;
  if (o_.scores && device_.kind != fpgaio::DeviceKind::pynq)
    throw Error(ErrorKind::usage, "--scores: " + device_.name +
                                      " gives classes only (a FINN accelerator has no scores); use --device cpu");
  std::size_t batch = o_.batch ? o_.batch : 256;
  try {
    if (device_.kind == fpgaio::DeviceKind::xrt) {
      if (pairing_error_) throw *pairing_error_;
      if (!pairing_)
        throw Error(ErrorKind::device, device_.name + ": " + model_path_ + " has no FINN pairing (" +
                                           bnn::pairing_path(model_path_) +
                                           "), so nothing says which xclbin implements it; make one with '" +
                                           fpgacli::program_name() + " pair MODEL XCLBIN'");
    }
    finn_ = bnn::open_finn_device(device_, *model_, *engine_, pairing_, batch, o_.threads, explicit_device_);
    if (!finn_.driver) device_ = fpgaio::select_device("cpu", "bnn");  // busy card, not named
    if (finn_.driver && o_.verbose && device_.kind == fpgaio::DeviceKind::pynq)
      fpgacli::report("", device_.name + ": " +
                              (finn_.parameter_words
                                   ? std::to_string(finn_.parameter_words) + " parameter words loaded in " +
                                         seconds_text(finn_.parameter_seconds) + " (" +
                                         std::to_string(static_cast<long long>(
                                             finn_.parameter_seconds * 1e6 / static_cast<double>(finn_.parameter_words))) +
                                         " us a word, one accelerator run each)"
                                   : std::string("parameters already loaded by this process")));
  } catch (const Error& e) {
    // Not named: whatever keeps the card from running (its pairing too)
    // leaves the work to the CPU, with a warning.
    if (explicit_device_) throw;
    if (!o_.quiet)
      fpgacli::report("", std::string("warning: ") + (e.path.empty() ? "" : e.path + ": ") + e.what() +
                              "; classifying on cpu");
    finn_ = bnn::FinnDevice{};
    device_ = fpgaio::select_device("cpu", "bnn");
  }
}

void Classifier::summary(double seconds) const {
  if (o_.quiet) return;
  const std::string threads = std::to_string(threads_) + (threads_ == 1 ? " thread)" : " threads)");
  const std::uint64_t images = run_ ? run_->images() : 0;
  std::string s = std::to_string(images) + (images == 1 ? " image in " : " images in ") +
                  std::to_string(seconds).substr(0, 5) + " s (" +
                  std::to_string(static_cast<long long>(static_cast<double>(images) / std::max(seconds, 1e-6))) +
                  " images/s, " +
                  (!finn_.driver ? std::string(bnn::isa_name(engine_->isa())) + ", " + threads
                   : finn_failed_ ? std::string(bnn::isa_name(engine_->isa())) + " on the CPU after " + device_.name +
                                        " failed; batches finished before that came from " + device_.name + ")"
                   : device_.kind == fpgaio::DeviceKind::csim
                       ? device_.name + ": the FINN stand-in, CPU engine on " + std::to_string(finn_.driver->ports()) +
                             " threads; a correctness run, not a card)"
                   : device_.kind == fpgaio::DeviceKind::pynq
                       ? device_.name + ", the BNN-PYNQ overlay" +
                             (std::getenv("FPGAIO_PYNQ_EMU") ? std::string(" emulated (FPGAIO_PYNQ_EMU), not a board")
                                                             : std::string()) +
                             ", " + std::to_string(finn_.driver->ports()) + " buffer pairs" +
                             (finn_.parameter_words ? "; the time includes writing its " +
                                                          std::to_string(finn_.parameter_words) + " parameter words, " +
                                                          seconds_text(finn_.parameter_seconds)
                                                    : std::string()) +
                             ")"
                       : device_.name + ", FINN, " + std::to_string(finn_.driver->ports()) + " batches in flight)");
  if (run_) s += run_->accuracy_text();
  fpgacli::report("", s);
  if (std::string w = run_ ? run_->labels_warning(o_.labels) : ""; !w.empty()) fpgacli::report("", w);
  // --confusion: the matrix, or where no image had a label, a warning.
  if (o_.confusion && run_) {
    if (std::string w = run_->confusion_warning(); !w.empty()) fpgacli::report("", w);
    else std::fputs(run_->confusion_text().c_str(), stderr);
  }
}

int Classifier::run() {
  auto t0 = std::chrono::steady_clock::now();
  int code = fpgacli::kOk;
  try {
    std::string path = o_.model.empty() ? fpgaio::infer::default_model_path() : o_.model;
    model_path_ = path;
    model_ = std::make_unique<bnn::Model>(bnn::Model::load(path));
    engine_ = std::make_unique<bnn::Engine>(*model_, bnn::best_isa());
    // The pairing names the xclbin cards load (unless --xclbin or
    // FPGA_XCLBIN does); its errors matter only when a card is used.
    if (path != "-") {
      try {
        pairing_ = bnn::read_pairing(path, *model_);
      } catch (const Error& e) {
        pairing_error_ = e;
        pairing_error_->with_path(bnn::pairing_path(path));
      }
    }
    fpgaio::set_xclbin_kernel("bnn");
    const char* env_xclbin = std::getenv("FPGA_XCLBIN");
    if (!o_.xclbin.empty()) fpgaio::set_xclbin(o_.xclbin);
    else if (!(env_xclbin && *env_xclbin) && pairing_)
      for (const auto& b : pairing_->builds)
        if (!b.file.empty()) {
          fpgaio::set_xclbin(b.file);
          break;
        }
    open_device();
    const fpgaio::Device& dev = device_;
    threads_ = finn_.driver ? static_cast<unsigned>(finn_.driver->ports()) : o_.threads ? o_.threads : dev.kind == fpgaio::DeviceKind::cpu ? fpgaio::default_threads() : dev.slots;
    if (o_.info) {
      std::printf("%s: %s\ncode path: %s (available:", path.c_str(), model_->describe().c_str(), bnn::isa_name(engine_->isa()));
      for (auto i : bnn::supported_isas()) std::printf(" %s", bnn::isa_name(i));
      std::printf(")\ndevice: %s, %u %s\n", dev.name.c_str(), threads_,
                  !finn_.driver                                ? "threads"
                  : dev.kind == fpgaio::DeviceKind::pynq       ? "buffer pairs (the BNN-PYNQ overlay: scores and classes)"
                                                               : "batches in flight (FINN: classes only)");
      return fpgacli::close_stdout() ? 0 : 1;
    }
    run_ = std::make_unique<fpgaio::infer::Run>(fpgainfer::run_settings(o_), model_->input, model_->classes);
    if (o_.inputs.empty()) o_.inputs.push_back("-");
    if (o_.save) {
      const char* suffix = fpgaio::infer::save_suffix(o_.format);
      for (const auto& op : o_.inputs) {
        auto r = fpgaio::parse_range(op);
        if (op == "-") throw Error(ErrorKind::usage, "--save needs files, not standard input");
        std::string out_path = (r ? r->stem() : op) + suffix;
        fpgaio::OutputFile out(out_path, o_.force, fpgaio::OutputName::chosen);
        // The results of a chunk are that chunk's part: fpga-cat checks their count.
        if (auto part = fpgaio::infer::part_of(op)) fpgaio::set_part(out.fd(), *part);
        fpgaio::FdSink sink(out.fd(), out_path);
        classify_input(op, sink);
        out.commit(nullptr);
      }
    } else if (!o_.output.empty()) {
      fpgaio::OutputFile out(o_.output, o_.force, fpgaio::OutputName::given);
      fpgaio::FdSink sink(out.fd(), o_.output);
      for (const auto& op : o_.inputs) classify_input(op, sink);
      out.commit(nullptr);
    } else {
      fpgaio::FdSink sink(STDOUT_FILENO, "stdout");
      for (const auto& op : o_.inputs) classify_input(op, sink);
    }
  } catch (const Error& e) {
    if (fpgacli::is_broken_pipe(e)) return fpgacli::broken_pipe(e.path);
    fpgacli::report(e);
    return fpgacli::kError;
  }
  if (!fpgacli::close_stdout()) code = fpgacli::kError;
  summary(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return code;
}

int import_command(const std::vector<std::string>& args) {
  std::string dir, out;
  bool force = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "-o" || args[i] == "--output") && i + 1 < args.size()) out = args[++i];
    else if (args[i].rfind("--output=", 0) == 0) out = args[i].substr(9);
    else if (args[i] == "-f" || args[i] == "--force") force = true;
    else if (args[i] == "-h" || args[i] == "--help") {
      std::printf("Usage: %s import-bnn-pynq DIR -o FILE [-f]\nConvert a BNN-PYNQ parameter folder (cnvW1A1, lfcW1A1) to a model file.\n",
                  fpgacli::program_name().c_str());
      return 0;
    } else if (dir.empty() && args[i][0] != '-') dir = args[i];
    else fpgacli::usage_error("import-bnn-pynq: unexpected argument '" + args[i] + "'");
  }
  if (dir.empty() || out.empty()) fpgacli::usage_error("import-bnn-pynq needs DIR and -o FILE");
  try {
    bnn::Model m = bnn::import_bnn_pynq(dir);
    fpgaio::Bytes b = m.serialize();
    fpgaio::OutputFile f(out, force, fpgaio::OutputName::given);
    fpgaio::full_write(f.fd(), b.data(), b.size(), out);
    f.commit(nullptr);
    std::fprintf(stderr, "%s: %s: %s\n", fpgacli::program_name().c_str(), out.c_str(), m.describe().c_str());
  } catch (const Error& e) {
    fpgacli::report(e);
    return fpgacli::kError;
  }
  return fpgacli::kOk;
}

// fpga-infer pair MODEL XCLBIN... [-f]: writes MODEL.finn naming the
// builds (UUID and file) that implement MODEL.
int pair_command(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  bool force = false;
  for (const auto& a : args) {
    if (a == "-f" || a == "--force") force = true;
    else if (a == "-h" || a == "--help") {
      std::printf("Usage: %s pair MODEL XCLBIN... [-f]\nWrite MODEL.finn: the FINN accelerators (.xclbin) built from MODEL,\n"
                  "by UUID and file. Cards run MODEL only with an xclbin named there.\n",
                  fpgacli::program_name().c_str());
      return 0;
    } else if (!a.empty() && a[0] == '-') fpgacli::usage_error("pair: unexpected option '" + a + "'");
    else files.push_back(a);
  }
  if (files.size() < 2) fpgacli::usage_error("pair needs MODEL and at least one XCLBIN");
  try {
    bnn::Model m = bnn::Model::load(files[0]);
    bnn::FinnPairing p;
    p.path = bnn::pairing_path(files[0]);
    p.model_crc = bnn::model_crc(m);
    std::string dir = files[0].rfind('/') == std::string::npos ? "" : files[0].substr(0, files[0].rfind('/') + 1);
    for (std::size_t i = 1; i < files.size(); ++i) {
      auto id = bnn::read_xclbin_id(files[i]);
      bnn::FinnPairing::Build b;
      b.uuid = id.uuid;
      // Relative to the sidecar when the xclbin sits beside it or below.
      std::string f = files[i];
      char* abs = ::realpath(f.c_str(), nullptr);
      char* d = ::realpath(dir.empty() ? "." : dir.c_str(), nullptr);
      if (abs && d) {
        std::string a = abs, base = std::string(d) + "/";
        f = a.rfind(base, 0) == 0 ? a.substr(base.size()) : a;
      }
      std::free(abs);
      std::free(d);
      b.file = f;
      p.builds.push_back(b);
      std::fprintf(stderr, "%s: %s: xclbin %s (platform %s)\n", fpgacli::program_name().c_str(), files[i].c_str(),
                   id.uuid.c_str(), id.platform.empty() ? "unknown" : id.platform.c_str());
    }
    std::string text = bnn::format_pairing(p);
    fpgaio::OutputFile f(p.path, force, fpgaio::OutputName::chosen);
    fpgaio::full_write(f.fd(), reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), p.path);
    f.commit(nullptr);
  } catch (const Error& e) {
    fpgacli::report(e);
    return fpgacli::kError;
  }
  return fpgacli::kOk;
}

}  // namespace

int main(int argc, char** argv) {
  fpgacli::set_program_name(argv[0]);
  fpgacli::install_signal_handlers();
  if (argc > 1 && std::strcmp(argv[1], "import-bnn-pynq") == 0)
    return import_command(std::vector<std::string>(argv + 2, argv + argc));
  if (argc > 1 && std::strcmp(argv[1], "pair") == 0)
    return pair_command(std::vector<std::string>(argv + 2, argv + argc));
  if (argc > 1 && std::strcmp(argv[1], "pynq-emu") == 0)
    return fpgainfer::pynq_emu_command(std::vector<std::string>(argv + 2, argv + argc));
  Options o = parse(argc, argv);
  if (o.list_devices) {
    fpgaio::set_xclbin_kernel("bnn");
    if (!o.xclbin.empty()) fpgaio::set_xclbin(o.xclbin);
    fpgacli::print_devices("bnn");
    return fpgacli::leave(fpgacli::close_stdout() ? 0 : 1);
  }
  return fpgacli::leave(Classifier(std::move(o)).run());
}
