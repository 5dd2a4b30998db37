// Option definitions and parsing for fpga-gzip.
#include "options.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "fpgaio/gzip.hpp"
#include "fpgaio/version.hpp"

namespace fpgagzip {

namespace {
enum Id {
  kStdout, kDecompress, kForce, kHelp, kKeep, kList, kLicense, kNoName, kName, kNoTime, kTime, kQuiet,
  kRecursive, kSuffix, kTest, kVerbose, kVersion, kLevel, kFast, kBest, kProcesses, kBlocksize,
  kRsyncable, kIndependent, kProgress, kNoProgress, kDevice, kListDevices, kXclbin, kEngine, kDigit,
  kComment, kHuffman, kRle, kSynchronous, kAlias, kZlib, kZip
};

bool allowed_in_env(int id, const std::string& spelled) {
  // GNU gzip 1.12 accepts only these in GZIP (its own options: not -R, -0
  // or --level); anything else is an error there.
  switch (id) {
    case kDigit: return spelled != "-0";
    case kFast: case kBest: case kNoName: case kName: case kQuiet: case kVerbose:
      return true;
    case kRsyncable: return spelled == "--rsyncable";
    default:
      return false;
  }
}
// GNU gzip 1.12's own options (pigz's and ours are not).
bool is_gzip_option(int id, const std::string& spelled) {
  switch (id) {
    case kStdout: case kDecompress: case kForce: case kHelp: case kKeep: case kList: case kLicense:
    case kNoName: case kName: case kQuiet: case kRecursive: case kSuffix: case kTest: case kVerbose:
    case kVersion: case kFast: case kBest:
      return true;
    case kNoTime: case kTime: return spelled.size() == 2;  // -m, -M (not --no-time, --time)
    case kDigit: return spelled != "-0";
    case kRsyncable: return spelled == "--rsyncable";
    case kSynchronous: return spelled == "--synchronous";
    default: return false;
  }
}
}  // namespace

const std::vector<fpgacli::OptionSpec>& option_specs() {
  static const std::vector<fpgacli::OptionSpec> specs = {
      {'c', "stdout", nullptr, "write to standard output, keep the input files", kStdout},
      {0, "to-stdout", nullptr, nullptr, kStdout},
      {'d', "decompress", nullptr, "decompress", kDecompress},
      {0, "uncompress", nullptr, nullptr, kDecompress},
      {'f', "force", nullptr, "overwrite output files; compress links and terminals", kForce},
      {'h', "help", nullptr, "show this help and exit", kHelp},
      {'k', "keep", nullptr, "keep (don't delete) input files", kKeep},
      {'l', "list", nullptr, "list compressed and uncompressed sizes (exact over all members)", kList},
      {'L', "license", nullptr, "show the licence and exit", kLicense},
      {'n', "no-name", nullptr, "don't save or restore the original name and timestamp", kNoName},
      {'N', "name", nullptr, "save or restore the original name and timestamp", kName},
      {'m', "no-time", nullptr, "don't save or restore the timestamp", kNoTime},
      {'M', "time", nullptr, "save or restore the timestamp", kTime},
      {'q', "quiet", nullptr, "suppress all warnings", kQuiet},
      {'r', "recursive", nullptr, "operate recursively on directories", kRecursive},
      {'S', "suffix", "SUF", "use suffix SUF on compressed files (default .gz)", kSuffix},
      {'t', "test", nullptr, "test compressed file integrity (every member's CRC-32 and size)", kTest},
      {'v', "verbose", nullptr, "verbose mode", kVerbose},
      {'V', "version", nullptr, "show the version and exit", kVersion},
      {0, "level", "N", "compression level 0-12 (also -0 ... -12)", kLevel},
      {'1', "fast", nullptr, "compress faster (level 1)", kFast},
      {0, "best", nullptr, "compress better (level 9; -12 is the strongest)", kBest},
      {'p', "processes", "N", "use N threads (default: the device's cores)", kProcesses},
      {'b', "blocksize", "SIZE", "block size; a bare number is KiB as in pigz (default 2M)", kBlocksize},
      {'R', "rsyncable", nullptr, "cut blocks where the content says, so rsync finds unchanged parts", kRsyncable},
      {'i', "independent", nullptr, "accepted for pigz: blocks are always independent", kIndependent},
      {'C', "comment", "TEXT", "store TEXT as the gzip comment", kComment},
      {'H', "huffman", nullptr, "Huffman coding only (zlib's strategy, on the CPU)", kHuffman},
      {'U', "rle", nullptr, "run-length encoding only (zlib's strategy, on the CPU)", kRle},
      {'Y', "synchronous", nullptr, "write each output to permanent storage before it gets its name", kSynchronous},
      {'z', "zlib", nullptr, "compress to zlib format (suffix .zz), as pigz -z", kZlib},
      {'K', "zip", nullptr, "compress to a one-entry zip file (suffix .zip), as pigz -K", kZip},
      {'A', "alias", "NAME", "the entry name for zip output from standard input", kAlias},
      {0, "progress", nullptr, "show progress on stderr (default: with -v on a terminal)", kProgress},
      {0, "no-progress", nullptr, "never show progress", kNoProgress},
      {0, "device", "NAME", "compute device: a name, or a job slot number such as parallel's {%} (see --list-devices)", kDevice},
      {0, "list-devices", nullptr, "list compute devices and exit", kListDevices},
      {0, "xclbin", "FILE", "FPGA image to load on cards (default: FPGA_XCLBIN, else the search path)", kXclbin},
      {0, "engine", "NAME", "force a deflate engine: isal, libdeflate, zlib (level is the engine's)", kEngine},
      {'2', nullptr, nullptr, nullptr, kDigit}, {'3', nullptr, nullptr, nullptr, kDigit},
      {'4', nullptr, nullptr, nullptr, kDigit}, {'5', nullptr, nullptr, nullptr, kDigit},
      {'6', nullptr, nullptr, nullptr, kDigit}, {'7', nullptr, nullptr, nullptr, kDigit},
      {'8', nullptr, nullptr, nullptr, kDigit}, {'9', nullptr, nullptr, nullptr, kDigit},
      {'0', nullptr, nullptr, nullptr, kDigit},
  };
  return specs;
}

namespace {

void print_help() {
  const std::string& p = fpgacli::program_name();
  std::printf(
      "Usage: %s [OPTION]... [FILE]...\n"
      "Compress or decompress FILEs in the gzip format, in parallel\n"
      "(a drop-in for gzip and pigz).\n\n",
      p.c_str());
  std::fputs(fpgacli::format_help(option_specs()).c_str(), stdout);
  std::printf(
      "  -0 ... -12                level (default 6): 0 stored, 1 fastest, 12 smallest\n\n"
      "With no FILE, or when FILE is -, read standard input.\n"
      "Exit status: 0 success, 1 error, 2 warning.\n"
      "Full documentation: man %s\n",
      p.c_str());
}

void apply(Options& o, int id, const std::string& v, const std::string& spelled, bool clustered, bool from_env,
           int& digits, bool& last_was_digit) {
  if (!clustered) last_was_digit = false;
  if (from_env && !allowed_in_env(id, spelled)) {
    // What gzip 1.12 says: its own options are "not valid" there; ours and
    // pigz's are options it does not know.
    if (!is_gzip_option(id, spelled))
      fpgacli::usage_error(spelled.size() == 2 ? "invalid option -- '" + spelled.substr(1) + "'"
                                               : "unrecognized option '" + spelled + "'");
    fpgacli::usage_error(spelled + ": option not valid in GZIP environment variable");
  }
  bool digit = false;
  switch (id) {
    case kStdout: o.to_stdout = true; break;
    case kDecompress: o.mode = Mode::decompress; break;
    case kForce: o.force = true; break;
    case kHelp: print_help(); fpgacli::exit_after_output();
    case kLicense: fpgacli::print_license();
    case kKeep: o.keep = true; break;
    case kList: o.mode = Mode::list; o.listing_wins = true; break;
    case kNoName: o.save_name = false; o.save_time = false; break;
    case kName: o.save_name = true; o.save_time = true; break;
    case kNoTime: o.save_time = false; break;
    case kTime: o.save_time = true; break;
    case kQuiet: o.verbosity = -1; break;
    case kRecursive: o.recursive = true; break;
    case kSuffix:
      o.suffix = v;  // checked once all options are read, as gzip does
      break;
    case kTest: o.mode = Mode::test; break;
    case kVerbose: o.verbosity = o.verbosity < 0 ? 1 : o.verbosity + 1; break;
    case kVersion: fpgacli::print_version();
    case kLevel: {
      char* end = nullptr;
      long l = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || l < fpgaio::kMinLevel || l > fpgaio::kMaxLevel)
        fpgacli::usage_error("invalid compression level '" + v + "' (0-12)");
      o.level = static_cast<int>(l);
      break;
    }
    case kFast:
      if (spelled == "-1") {  // a digit, not --fast
        digit = true;
        o.level = last_was_digit ? digits * 10 + 1 : 1;
        digits = o.level;
      } else {
        o.level = 1;
      }
      break;
    case kBest: o.level = 9; break;
    case kDigit: {
      int d = spelled[1] - '0';
      digit = true;
      o.level = last_was_digit ? digits * 10 + d : d;
      digits = o.level;
      if (o.level < fpgaio::kMinLevel || o.level > fpgaio::kMaxLevel)
        fpgacli::usage_error("invalid compression level " + std::to_string(o.level) + " (0-12)");
      break;
    }
    case kProcesses: {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 1 || n > 1024) fpgacli::usage_error("invalid number of processes '" + v + "'");
      o.threads = static_cast<unsigned>(n);
      break;
    }
    case kBlocksize: {
      auto s = fpgacli::parse_size(v, 1024);
      if (!s || *s < 1024 || *s > fpgaio::gzip::max_block_size())
        fpgacli::usage_error("invalid block size '" + v + "' (1K to 64M; a bare number is KiB)");
      o.block_size = static_cast<std::size_t>(*s);
      break;
    }
    case kRsyncable: o.rsyncable = true; break;
    case kZlib: o.container = fpgaio::gzip::Container::zlib; o.suffix = ".zz"; break;
    case kZip: o.container = fpgaio::gzip::Container::zip; o.suffix = ".zip"; break;
    case kComment:
      if (v.find('\0') != std::string::npos) fpgacli::usage_error("a comment cannot hold a NUL byte");
      o.comment = v;
      break;
    case kHuffman: o.strategy = fpgaio::Strategy::huffman_only; break;
    case kRle: o.strategy = fpgaio::Strategy::rle; break;
    case kSynchronous: o.synchronous = true; break;
    case kAlias: o.alias = v; break;
    case kIndependent: break;
    case kProgress: o.progress = true; break;
    case kNoProgress: o.progress = false; break;
    case kDevice: o.device = v; break;
    case kListDevices: o.list_devices = true; break;
    case kXclbin:
      if (v.empty()) fpgacli::usage_error("--xclbin needs a file name");
      o.xclbin = v;
      break;
    case kEngine:
      try {
        o.engine = fpgaio::parse_engine(v);
      } catch (const fpgaio::Error& e) {
        fpgacli::usage_error(e.what());
      }
      break;
  }
  last_was_digit = digit;
}

std::vector<std::string> split_env(const char* s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

}  // namespace

Options parse_command_line(int argc, char** argv) {
  Options o;
  const std::string& prog = fpgacli::program_name();
  if (prog.find("gunzip") != std::string::npos || prog.find("ungz") != std::string::npos) o.mode = Mode::decompress;
  if (prog.find("zcat") != std::string::npos) {
    o.mode = Mode::decompress;
    o.to_stdout = true;
  }
  int digits = 0;
  bool last_was_digit = false;
  std::vector<std::string> operands;
  if (const char* env = std::getenv("GZIP")) {
    auto args = split_env(env);
    for (const auto& a : args)
      if (a == "--") fpgacli::usage_error("--: option not valid in GZIP environment variable");
    if (!args.empty()) {
      std::vector<std::string> env_operands;
      fpgacli::parse_options(
          args, option_specs(),
          [&](int id, const std::string& v, const std::string& sp, bool cl) {
            apply(o, id, v, sp, cl, true, digits, last_was_digit);
          },
          env_operands);
      if (!env_operands.empty()) fpgacli::usage_error(env_operands[0] + ": non-option in GZIP environment variable");
      // As soon as GZIP is read (even before --version), unless it holds -q.
      if (o.verbosity >= 0)
        fpgacli::report("", "warning: GZIP environment variable is deprecated; use an alias or script");
    }
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  // Digits run together within one argument form one level (-12), as pigz.
  fpgacli::parse_options(
      args, option_specs(),
      [&](int id, const std::string& v, const std::string& sp, bool cl) {
        apply(o, id, v, sp, cl, false, digits, last_was_digit);
      },
      operands);
  o.files = std::move(operands);
  if (o.listing_wins) o.mode = Mode::list;
  // gzip's check, after every option and before any file is touched.
  if (o.suffix.empty() || o.suffix.size() > 30) {
    fpgacli::report("", "invalid suffix '" + o.suffix + "'");
    std::exit(fpgacli::kError);
  }
  return o;
}

}  // namespace fpgagzip
