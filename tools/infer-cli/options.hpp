// fpga-infer's options: one table drives parsing and --help; fpga-remote
// parses a remote fpga-infer's options with it too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "fpgaio/bnn.hpp"
#include "fpgaio/images.hpp"
#include "fpgaio/infer.hpp"

namespace fpgainfer {

using fpgaio::infer::OutFormat;

struct Options {
  std::string model, labels, manifest, output;
  std::optional<fpgaio::images::Format> input_format;
  std::optional<fpgaio::bnn::Shape> shape;
  std::optional<std::uint64_t> start;
  bool scores = false, save = false, confusion = false, quiet = false, list_devices = false, progress = false,
       force = false, info = false, verbose = false;
  OutFormat format = OutFormat::tsv;
  unsigned threads = 0;
  std::string device, xclbin;
  unsigned batch = 0;
  std::vector<std::string> inputs;
};

const std::vector<fpgacli::OptionSpec>& specs();
void print_help();
// Parses argv (argv[0] is the program); usage errors exit as the tool's.
Options parse(int argc, char** argv);

// The run's settings from the options: formats, shape, numbering, and the
// labels and manifest files read. One piece for fpga-infer and fpga-remote.
fpgaio::infer::Settings run_settings(const Options& o);

}  // namespace fpgainfer
