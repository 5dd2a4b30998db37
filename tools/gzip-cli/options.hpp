// fpga-gzip's options: one table drives parsing, --help and the completion tests.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "fpgaio/codec.hpp"
#include "fpgaio/formats.hpp"
#include "fpgaio/gzip.hpp"

namespace fpgagzip {

enum class Mode { compress, decompress, list, test };

struct Options {
  Mode mode = Mode::compress;
  bool to_stdout = false, force = false, keep = false, recursive = false;
  bool rsyncable = false, list_devices = false;
  bool synchronous = false;  // -Y, --synchronous: fsync outputs before they get their names
  std::optional<std::string> comment;  // -C: FCOMMENT
  fpgaio::Strategy strategy = fpgaio::Strategy::normal;  // -H, -U
  std::optional<std::string> alias;    // -A: the entry name for zip output from stdin
  int verbosity = 0;  // -1 quiet, 0 normal, 1+ verbose
  std::optional<bool> save_name, save_time;  // -n/-N, -m/-M; defaults by mode
  std::optional<bool> progress;
  int level = fpgaio::kDefaultLevel;
  std::string suffix = ".gz";
  bool listing_wins = false;  // -l was given: it wins over -t and -d, as in gzip
  unsigned threads = 0;  // 0 = the device's slots
  std::size_t block_size = fpgaio::gzip::kDefaultBlockSize;  // -b
  std::string device;
  std::string xclbin;  // --xclbin
  std::optional<fpgaio::Engine> engine;
  fpgaio::gzip::Container container = fpgaio::gzip::Container::gzip;  // pigz -z, -K
  std::vector<std::string> files;
};

const std::vector<fpgacli::OptionSpec>& option_specs();

// Parses GZIP (restricted, as GNU gzip) then argv. Exits on --help,
// --version and usage errors. `argv0` picks gunzip/zcat behaviour.
Options parse_command_line(int argc, char** argv);

}  // namespace fpgagzip
