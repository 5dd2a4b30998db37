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
#include "fpgaio/bnn.hpp"
#include "fpgaio/device.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/finn.hpp"
#include "fpgaio/images.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/pipeline.hpp"
#include "fpgaio/split.hpp"
#include "fpgaio/version.hpp"
#include "progress.hpp"

namespace {

namespace bnn = fpgaio::bnn;
namespace img = fpgaio::images;
using fpgaio::Error;
using fpgaio::ErrorKind;

enum Id { kModel, kInputFormat, kShape, kLabels, kStart, kManifest, kScores, kFormat, kOutput, kSave, kConfusion,
          kQuiet, kProcesses, kDevice, kListDevices, kProgress, kForce, kHelp, kVersion, kInfo, kXclbin, kBatch };

const std::vector<fpgacli::OptionSpec>& specs() {
  static const std::vector<fpgacli::OptionSpec> s = {
      {0, "model", "FILE", "the model (.fbnn; default: the installed Fashion-MNIST CNV model, env FPGA_MODEL)", kModel},
      {0, "input-format", "FMT", "cifar, idx, pnm or raw (default: from the name, else the first bytes)", kInputFormat},
      {0, "shape", "HxWxC", "the shape of raw images", kShape},
      {0, "labels", "FILE", "IDX labels of IDX images, for the accuracy", kLabels},
      {0, "start", "N", "number of the first image (chunk files; ranges know theirs)", kStart},
      {0, "manifest", "FILE", "number the images of chunk files as fpga-split's manifest places them", kManifest},
      {'s', "scores", nullptr, "add every class's score to each line", kScores},
      {'F', "format", "FMT", "tsv (default), csv or jsonl", kFormat},
      {'o', "output", "FILE", "write the results to FILE, atomically (- or default: standard output)", kOutput},
      {0, "save", nullptr, "write each input's results beside it, INPUT.tsv (a range: FILE.INDEX.tsv)", kSave},
      {0, "confusion", nullptr, "print the confusion matrix on stderr (needs labels)", kConfusion},
      {'q', "quiet", nullptr, "no summary (images/s, accuracy) on stderr", kQuiet},
      {'p', "processes", "N", "use N threads (default: the device's cores)", kProcesses},
      {0, "device", "NAME", "compute device: a name, or a job slot number such as parallel's {%}", kDevice},
      {0, "list-devices", nullptr, "list compute devices and exit", kListDevices},
      {0, "xclbin", "FILE", "FINN accelerator to load on cards (default: FPGA_XCLBIN, else the model's pairing)", kXclbin},
      {0, "batch", "N", "images a batch (default: 64 on the CPU, 256 on FINN devices)", kBatch},
      {0, "info", nullptr, "describe the model and the code path, and exit", kInfo},
      {0, "progress", nullptr, "show progress on stderr", kProgress},
      {'f', "force", nullptr, "overwrite output files", kForce},
      {'h', "help", nullptr, "show this help and exit", kHelp},
      {'V', "version", nullptr, "show the version and exit", kVersion},
  };
  return s;
}

enum class OutFormat { tsv, csv, jsonl };

struct Options {
  std::string model, labels, manifest, output;
  std::optional<img::Format> input_format;
  std::optional<bnn::Shape> shape;
  std::optional<std::uint64_t> start;
  bool scores = false, save = false, confusion = false, quiet = false, list_devices = false, progress = false,
       force = false, info = false;
  OutFormat format = OutFormat::tsv;
  unsigned threads = 0;
  std::string device, xclbin;
  unsigned batch = 0;
  std::vector<std::string> inputs;
};

void print_help() {
  const char* p = fpgacli::program_name().c_str();
  std::printf("Usage: %s [OPTION]... [INPUT]...\n"
              "  or:  %s import-bnn-pynq DIR -o FILE [-f]\n"
              "  or:  %s pair MODEL XCLBIN... [-f]\n"
              "Classify images with a binarized neural network; print a line per image:\n"
              "its number, class number and class name (tab-separated by default).\n\n",
              p, p, p);
  std::fputs(fpgacli::format_help(specs()).c_str(), stdout);
  std::printf("\nINPUT: CIFAR-10 binary files (3073-byte records), IDX image files, PGM/PPM\n"
              "pictures, raw uint8 (--shape), byte ranges FILE@INDEX:OFFSET+LENGTH; - or\n"
              "nothing: standard input. Images smaller than the model's input are centred\n"
              "and padded with 0 pixels.\n"
              "import-bnn-pynq converts a BNN-PYNQ parameter folder (cnvW1A1, lfcW1A1).\n"
              "pair writes MODEL.finn, naming the FINN builds (.xclbin) of the model: cards\n"
              "run a model only with an xclbin its pairing names.\n"
              "Devices: cpu (scores and classes), csim:0 (the FINN stand-in: the CPU engine\n"
              "behind a FINN accelerator's buffers; classes only, for testing), xrt:N (a card\n"
              "with a FINN accelerator; classes only).\n"
              "Exit status: 0 success, 1 error.\nFull documentation: man %s\n",
              p);
}

std::optional<bnn::Shape> parse_shape(const std::string& s) {
  unsigned h = 0, w = 0, c = 1;
  char x1 = 0, x2 = 0;
  int n = std::sscanf(s.c_str(), "%u%c%u%c%u", &h, &x1, &w, &x2, &c);
  if ((n != 3 && n != 5) || x1 != 'x' || (n == 5 && x2 != 'x') || !h || !w || !c || h > 4096 || w > 4096 || c > 64)
    return std::nullopt;
  return bnn::Shape{h, w, c};
}

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  fpgacli::parse_options(args, specs(), [&](int id, const std::string& v, const std::string& spelled, bool) {
    switch (id) {
      case kModel: o.model = v; break;
      case kInputFormat:
        o.input_format = img::parse_format(v);
        if (!o.input_format) fpgacli::usage_error("unknown input format '" + v + "' (cifar, idx, pnm, raw)");
        break;
      case kShape:
        o.shape = parse_shape(v);
        if (!o.shape) fpgacli::usage_error("invalid shape '" + v + "' (HxW or HxWxC)");
        break;
      case kLabels: o.labels = v; break;
      case kStart: {
        auto n = fpgacli::parse_size(v);
        if (!n || v.find_first_not_of("0123456789") != std::string::npos) fpgacli::usage_error("invalid --start '" + v + "'");
        o.start = *n;
        break;
      }
      case kManifest: o.manifest = v; break;
      case kScores: o.scores = true; break;
      case kFormat:
        if (v == "tsv") o.format = OutFormat::tsv;
        else if (v == "csv") o.format = OutFormat::csv;
        else if (v == "jsonl" || v == "json") o.format = OutFormat::jsonl;
        else fpgacli::usage_error("unknown output format '" + v + "' (tsv, csv, jsonl)");
        break;
      case kOutput: o.output = v == "-" ? "" : v; break;
      case kSave: o.save = true; break;
      case kConfusion: o.confusion = true; break;
      case kQuiet: o.quiet = true; break;
      case kProcesses: o.threads = fpgacli::parse_count(v, 4096, "number of threads"); break;
      case kDevice: o.device = v; break;
      case kXclbin:
        if (v.empty()) fpgacli::usage_error("--xclbin needs a file name");
        o.xclbin = v;
        break;
      case kBatch: o.batch = fpgacli::parse_count(v, 16384, "images a batch"); break;
      case kListDevices: o.list_devices = true; break;
      case kInfo: o.info = true; break;
      case kProgress: o.progress = true; break;
      case kForce: o.force = true; break;
      case kHelp: print_help(); fpgacli::exit_after_output();
      case kVersion: fpgacli::print_version();
      default: fpgacli::usage_error("unexpected option " + spelled);
    }
  }, o.inputs);
  if (o.save && !o.output.empty()) fpgacli::usage_error("--save and --output exclude each other");
  if (o.start && !o.manifest.empty()) fpgacli::usage_error("--start and --manifest exclude each other");
  if (o.model == "-" && (o.inputs.empty() || std::find(o.inputs.begin(), o.inputs.end(), "-") != o.inputs.end()))
    fpgacli::usage_error("--model - reads the model from standard input: the images must come from files");
  return o;
}

std::string default_model() {
  if (const char* e = std::getenv("FPGA_MODEL"); e && *e) return e;
  // Beside the program (BIN/../share/fpga-tools, for an install moved or made
  // with another prefix), where it was installed, or in the source tree.
  std::vector<std::string> places;
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string dir(exe, static_cast<std::size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    places.push_back(dir + "/../share/fpga-tools/fashion-cnv.fbnn");
  }
  places.push_back(FPGA_MODEL_INSTALLED);
  places.push_back(FPGA_MODEL_SOURCE);
  struct stat st;
  for (const auto& p : places)
    if (::stat(p.c_str(), &st) == 0) return p;
  throw Error(ErrorKind::usage, "no model installed; give one with --model FILE");
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += static_cast<char>(c);
    else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else o += static_cast<char>(c);
  }
  return o + "\"";
}

struct BatchResult {
  std::string text;
  std::vector<std::uint16_t> predicted;
  std::vector<int> labels;
  std::uint64_t first = 0;
};

class Classifier {
 public:
  Classifier(Options o) : o_(std::move(o)) {}
  int run();

 private:
  void classify_input(const std::string& operand, fpgaio::Sink& out);
  std::optional<std::uint64_t> start_for(const std::string& operand);
  std::uint64_t start_from_offset(const std::string& operand, img::Format f, std::uint64_t offset);
  std::string line(std::uint64_t index, const std::int32_t* scores, std::size_t cls) const;
  void summary(double seconds) const;

  void open_device();
  std::vector<std::uint16_t> classes_of(const img::Batch& b);

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
  std::vector<std::uint8_t> labels_;
  std::optional<fpgaio::split::Manifest> manifest_;
  unsigned threads_ = 1;
  std::uint64_t images_ = 0, labelled_ = 0, correct_ = 0;
  std::vector<std::uint64_t> confusion_;
};

std::string Classifier::line(std::uint64_t index, const std::int32_t* s, std::size_t cls) const {
  const auto& names = model_->classes;
  std::size_t n = names.size();
  std::string out;
  if (o_.format == OutFormat::jsonl) {
    out = "{\"index\":" + std::to_string(index) + ",\"class\":" + std::to_string(cls) + ",\"name\":" + json_string(names[cls]);
    if (o_.scores) {
      out += ",\"scores\":[";
      for (std::size_t i = 0; i < n; ++i) out += (i ? "," : "") + std::to_string(s[i]);
      out += "]";
    }
    return out + "}\n";
  }
  const char sep = o_.format == OutFormat::csv ? ',' : '\t';
  out = std::to_string(index) + sep + std::to_string(cls) + sep + (o_.format == OutFormat::csv ? csv_field(names[cls]) : names[cls]);
  if (o_.scores)
    for (std::size_t i = 0; i < n; ++i) out += sep + std::to_string(s[i]);
  return out + "\n";
}

// The number of the first image of a chunk whose data began at byte `offset`
// of the input that fpga-split cut (an IDX chunk has a header of its own, as
// long as the input's).
std::uint64_t Classifier::start_from_offset(const std::string& operand, img::Format f, std::uint64_t offset) {
  if (f == img::Format::idx) {
    fpgaio::Input in(operand);
    img::Reader r(in, img::Format::idx, model_->input, std::nullopt, std::nullopt);
    std::uint8_t head[4] = {};
    fpgaio::pread_exact(in.fd(), head, 4, 0, operand);
    std::uint64_t header = 4 + 4u * head[3];
    return offset >= header ? (offset - header) / r.record_bytes() : 0;
  }
  std::uint64_t item = f == img::Format::cifar ? 3073 : o_.shape ? o_.shape->values() : model_->input.values();
  return offset / item;
}

std::optional<std::uint64_t> Classifier::start_for(const std::string& operand) {
  if (o_.start) return o_.start;
  if (!manifest_ || fpgaio::parse_range(operand)) return std::nullopt;  // a range knows its numbers
  for (const auto& c : manifest_->chunks) {
    if (c.name != operand) continue;
    // The chunk's data starts at c.offset of the input. An IDX chunk has a
    // header of its own, as long as the input's (c.bytes - c.length), before
    // its items; the input's items start after that header.
    std::uint64_t header = c.bytes - c.length;
    if (header) {
      fpgaio::Input in(operand);
      img::Reader r(in, img::Format::idx, model_->input, std::nullopt, std::nullopt);
      return (c.offset - header) / r.record_bytes();
    }
    auto f = o_.input_format ? *o_.input_format : img::format_from_name(operand).value_or(img::Format::cifar);
    std::uint64_t item = f == img::Format::cifar ? 3073 : o_.shape ? o_.shape->values() : model_->input.values();
    return c.offset / item;
  }
  throw Error(ErrorKind::usage, "not a chunk in the manifest " + o_.manifest).with_path(operand);
}

void Classifier::classify_input(const std::string& operand, fpgaio::Sink& out) {
  auto range = fpgaio::parse_range(operand);
  std::unique_ptr<fpgaio::Input> in = range ? std::make_unique<fpgaio::Input>(*range) : std::make_unique<fpgaio::Input>(operand);
  std::optional<img::Format> fmt = o_.input_format;
  if (!fmt) fmt = img::format_from_name(range ? range->path : operand);
  std::vector<std::uint8_t> head;
  if (!fmt && !range) {
    // Look at the first bytes (read again by the reader).
    head.resize(4);
    head.resize(in->read(head.data(), head.size()));
    fmt = img::format_from_magic(head.data(), head.size());
  }
  if (!fmt && o_.shape) fmt = img::Format::raw;
  if (!fmt && model_->input.height == 32 && model_->input.width == 32 && model_->input.channels == 3) fmt = img::Format::cifar;
  if (!fmt) throw Error(ErrorKind::usage, "cannot tell the image format; give --input-format cifar|idx|pnm|raw").with_path(in->name());

  std::optional<std::uint64_t> start = start_for(operand);
  if (!start && !o_.start && !manifest_ && !range) {
    // A chunk file of fpga-split knows where its data began in the input:
    // its images keep their numbers there.
    if (auto part = in->part(); part && !in->is_stdin()) start = start_from_offset(operand, *fmt, part->offset);
  }
  img::Reader reader(*in, *fmt, model_->input, o_.shape, start, std::move(head));
  fpgacli::ProgressLine bar(o_.progress, in->name(), reader.total().value_or(0));
  const std::size_t classes = model_->classes.size(), per = model_->input.values();
  const std::size_t batch = o_.batch ? o_.batch : finn_.driver ? 256 : 64;
  std::uint64_t done = 0;
  fpgaio::OrderedPool<BatchResult> pool(threads_, 2 * threads_ + 2, [&](BatchResult& r) {
    out.write(reinterpret_cast<const std::uint8_t*>(r.text.data()), r.text.size());
    for (std::size_t i = 0; i < r.predicted.size(); ++i) {
      int label = r.labels[i];
      if (label < 0 && !labels_.empty() && r.first + i < labels_.size()) label = labels_[r.first + i];
      if (label < 0) continue;
      ++labelled_;
      if (static_cast<std::size_t>(label) < classes) {
        correct_ += r.predicted[i] == label;
        confusion_[static_cast<std::size_t>(label) * classes + r.predicted[i]]++;
      }
    }
    images_ += r.predicted.size();
    bar.update(done += r.predicted.size());
  });
  for (;;) {
    auto b = std::make_shared<img::Batch>();
    if (reader.next(batch, *b) == 0) break;
    pool.submit([this, b, classes, per]() {
      BatchResult r;
      r.first = b->first;
      r.labels = b->labels;
      r.labels.resize(b->count);
      if (finn_.driver && !finn_failed_) {
        r.predicted = classes_of(*b);
        if (!r.predicted.empty()) {
          for (std::size_t i = 0; i < b->count; ++i) r.text += line(b->first + i, nullptr, r.predicted[i]);
          return r;
        }
      }
      std::vector<std::int32_t> scores(classes);
      for (std::size_t i = 0; i < b->count; ++i) {
        engine_->classify(b->pixels.data() + i * per, scores.data());
        std::size_t cls = bnn::argmax(scores.data(), classes);
        r.predicted.push_back(static_cast<std::uint16_t>(cls));
        r.text += line(b->first + i, scores.data(), cls);
      }
      return r;
    });
  }
  pool.drain();
  out.flush();
  bar.finish();
}

// The classes of a batch from the FINN device; empty when the device failed
// and was not named (then the CPU takes the batch, with one warning).
std::vector<std::uint16_t> Classifier::classes_of(const img::Batch& b) {
  std::vector<std::uint16_t> c(b.count);
  try {
    finn_.driver->classify(b.pixels.data(), b.count, b.first, c.data());
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
  if (o_.scores)
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
  std::string s = std::to_string(images_) + (images_ == 1 ? " image in " : " images in ") +
                  std::to_string(seconds).substr(0, 5) + " s (" +
                  std::to_string(static_cast<long long>(static_cast<double>(images_) / std::max(seconds, 1e-6))) +
                  " images/s, " +
                  (!finn_.driver ? std::string(bnn::isa_name(engine_->isa())) + ", " + threads
                   : finn_failed_ ? std::string(bnn::isa_name(engine_->isa())) + " on the CPU after " + device_.name +
                                        " failed; batches finished before that came from " + device_.name + ")"
                   : device_.kind == fpgaio::DeviceKind::csim
                       ? device_.name + ": the FINN stand-in, CPU engine on " + std::to_string(finn_.driver->ports()) +
                             " threads; a correctness run, not a card)"
                       : device_.name + ", FINN, " + std::to_string(finn_.driver->ports()) + " batches in flight)");
  if (labelled_) {
    char acc[64];
    std::snprintf(acc, sizeof acc, "; top-1 accuracy %.2f%% (%llu of %llu)", 100.0 * static_cast<double>(correct_) / static_cast<double>(labelled_),
                  static_cast<unsigned long long>(correct_), static_cast<unsigned long long>(labelled_));
    s += acc;
  }
  fpgacli::report("", s);
  if (o_.confusion && labelled_) {
    std::size_t n = model_->classes.size();
    std::fprintf(stderr, "confusion matrix (rows: label, columns: predicted class)\n%6s", "");
    for (std::size_t j = 0; j < n; ++j) std::fprintf(stderr, " %6zu", j);
    std::fputc('\n', stderr);
    for (std::size_t i = 0; i < n; ++i) {
      std::fprintf(stderr, "%6zu", i);
      for (std::size_t j = 0; j < n; ++j)
        std::fprintf(stderr, " %6llu", static_cast<unsigned long long>(confusion_[i * n + j]));
      std::fprintf(stderr, "  %s\n", model_->classes[i].c_str());
    }
  }
}

int Classifier::run() {
  auto t0 = std::chrono::steady_clock::now();
  int code = fpgacli::kOk;
  try {
    std::string path = o_.model.empty() ? default_model() : o_.model;
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
    threads_ = finn_.driver ? static_cast<unsigned>(finn_.driver->ports()) : o_.threads ? o_.threads : dev.slots;
    if (o_.info) {
      std::printf("%s: %s\ncode path: %s (available:", path.c_str(), model_->describe().c_str(), bnn::isa_name(engine_->isa()));
      for (auto i : bnn::supported_isas()) std::printf(" %s", bnn::isa_name(i));
      std::printf(")\ndevice: %s, %u %s\n", dev.name.c_str(), threads_,
                  finn_.driver ? "batches in flight (FINN: classes only)" : "threads");
      return fpgacli::close_stdout() ? 0 : 1;
    }
    confusion_.assign(model_->classes.size() * model_->classes.size(), 0);
    if (!o_.labels.empty()) labels_ = img::read_idx_labels(o_.labels);
    if (!o_.manifest.empty()) manifest_ = fpgaio::split::read_manifest(o_.manifest);
    if (o_.inputs.empty()) o_.inputs.push_back("-");
    if (o_.save) {
      const char* suffix = o_.format == OutFormat::tsv ? ".tsv" : o_.format == OutFormat::csv ? ".csv" : ".jsonl";
      for (const auto& op : o_.inputs) {
        auto r = fpgaio::parse_range(op);
        if (op == "-") throw Error(ErrorKind::usage, "--save needs files, not standard input");
        std::string out_path = (r ? r->stem() : op) + suffix;
        fpgaio::OutputFile out(out_path, o_.force, fpgaio::OutputName::chosen);
        {
          // The results of a chunk are that chunk's part: fpga-cat checks their count.
          std::unique_ptr<fpgaio::Input> src = r ? std::make_unique<fpgaio::Input>(*r) : std::make_unique<fpgaio::Input>(op);
          if (auto part = src->part()) fpgaio::set_part(out.fd(), *part);
        }
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
  Options o = parse(argc, argv);
  if (o.list_devices) {
    fpgaio::set_xclbin_kernel("bnn");
    if (!o.xclbin.empty()) fpgaio::set_xclbin(o.xclbin);
    fpgacli::print_devices("bnn");
    return fpgacli::leave(fpgacli::close_stdout() ? 0 : 1);
  }
  return fpgacli::leave(Classifier(std::move(o)).run());
}
