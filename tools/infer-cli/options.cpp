// fpga-infer's option table, help and parser (options.hpp).
#include "options.hpp"

#include <algorithm>
#include <cstdio>

#include "fpgaio/split.hpp"

namespace fpgainfer {

namespace img = fpgaio::images;

namespace {

enum Id { kModel, kInputFormat, kShape, kLabels, kStart, kManifest, kScores, kFormat, kOutput, kSave, kConfusion,
          kQuiet, kVerbose, kProcesses, kDevice, kListDevices, kProgress, kForce, kHelp, kVersion, kLicense, kInfo, kXclbin, kBatch };

}  // namespace

const std::vector<fpgacli::OptionSpec>& specs() {
  static const std::vector<fpgacli::OptionSpec> s = {
      {0, "model", "FILE", "the model (.fbnn; default: the installed Fashion-MNIST CNV model, env FPGA_MODEL)", kModel},
      {0, "input-format", "FMT", "cifar, idx, pnm or raw (default: from the name, else the first bytes)", kInputFormat},
      {0, "shape", "HxWxC", "the shape of raw images", kShape},
      {0, "labels", "FILE", "IDX labels, plain or gzip, for the accuracy (CIFAR-10 records carry theirs)", kLabels},
      {0, "start", "N", "number of the first image (chunk files; ranges know theirs)", kStart},
      {0, "manifest", "FILE", "number the images of chunk files as fpga-split's manifest places them", kManifest},
      {'s', "scores", nullptr, "add every class's score to each line", kScores},
      {'F', "format", "FMT", "tsv (default), csv or jsonl", kFormat},
      {'o', "output", "FILE", "write the results to FILE, atomically (- or default: standard output)", kOutput},
      {0, "save", nullptr, "write each input's results beside it, INPUT.tsv (a range: FILE.INDEX.tsv)", kSave},
      {0, "confusion", nullptr, "print the confusion matrix on stderr (needs labels: a warning without)", kConfusion},
      {'q', "quiet", nullptr, "no summary (images/s, accuracy) on stderr", kQuiet},
      {'v', "verbose", nullptr, "say more on stderr (pynq:0: the parameter load and its time)", kVerbose},
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
      {'L', "license", nullptr, "show the licence and exit", kLicense},
  };
  return s;
}

void print_help() {
  const char* p = fpgacli::program_name().c_str();
  std::printf("Usage: %s [OPTION]... [INPUT]...\n"
              "  or:  %s import-bnn-pynq DIR -o FILE [-f]\n"
              "  or:  %s pair MODEL XCLBIN... [-f]\n"
              "  or:  %s pynq-emu [--overlay NAME] [--pool-mib N] [--fault F]... FILE\n"
              "Classify images with a binarized neural network; print a line per image:\n"
              "its number, class number and class name (tab-separated by default).\n\n",
              p, p, p, p);
  std::fputs(fpgacli::format_help(specs()).c_str(), stdout);
  std::printf("\nINPUT: CIFAR-10 binary files (3073-byte records), IDX image files, PGM/PPM\n"
              "pictures, raw uint8 (--shape), plain or gzip; byte ranges\n"
              "FILE@INDEX:OFFSET+LENGTH (of plain files); - or nothing: standard input.\n"
              "Images smaller than the model's input are centred and padded with 0 pixels.\n"
              "import-bnn-pynq converts a BNN-PYNQ parameter folder (cnvW1A1, lfcW1A1).\n"
              "pair writes MODEL.finn, naming the FINN builds (.xclbin) of the model: cards\n"
              "run a model only with an xclbin its pairing names.\n"
              "pynq-emu serves FILE as a Pynq-Z1 with the BNN-PYNQ overlay (FPGAIO_PYNQ_EMU).\n"
              "Devices: cpu (scores and classes), csim:0 (the FINN stand-in: the CPU engine\n"
              "behind a FINN accelerator's buffers; classes only, for testing), xrt:N (a card\n"
              "with a FINN accelerator; classes only), pynq:0 (the BNN-PYNQ cnvW1A1 overlay\n"
              "of a Pynq-Z1/Z2, or its emulation with FPGAIO_PYNQ_EMU=FILE; scores and\n"
              "classes).\n"
              "Exit status: 0 success, 1 error.\nFull documentation: man %s\n",
              p);
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
        o.shape = fpgaio::infer::parse_shape(v);
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
        if (auto f = fpgaio::infer::parse_out_format(v)) o.format = *f;
        else fpgacli::usage_error("unknown output format '" + v + "' (tsv, csv, jsonl)");
        break;
      case kOutput: o.output = v == "-" ? "" : v; break;
      case kSave: o.save = true; break;
      case kConfusion: o.confusion = true; break;
      case kQuiet: o.quiet = true; break;
      case kVerbose: o.verbose = true; break;
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
      case kLicense: fpgacli::print_license();
      default: fpgacli::usage_error("unexpected option " + spelled);
    }
  }, o.inputs);
  if (o.save && !o.output.empty()) fpgacli::usage_error("--save and --output exclude each other");
  if (o.start && !o.manifest.empty()) fpgacli::usage_error("--start and --manifest exclude each other");
  if (o.model == "-" && (o.inputs.empty() || std::find(o.inputs.begin(), o.inputs.end(), "-") != o.inputs.end()))
    fpgacli::usage_error("--model - reads the model from standard input: the images must come from files");
  return o;
}

fpgaio::infer::Settings run_settings(const Options& o) {
  fpgaio::infer::Settings set;
  set.input_format = o.input_format;
  set.shape = o.shape;
  set.start = o.start;
  set.format = o.format;
  set.scores = o.scores;
  if (!o.labels.empty()) set.labels = std::make_shared<img::Labels>(o.labels);
  if (!o.manifest.empty()) set.manifest = fpgaio::split::read_manifest(o.manifest);
  set.manifest_path = o.manifest;
  return set;
}

}  // namespace fpgainfer
