// fpga-split: cut a file or stream into chunks (files, or byte ranges that
// the other tools read in place) and print their names, one per line.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "cli.hpp"
#include "fpgaio/arrow.hpp"
#include "fpgaio/codec.hpp"
#include "fpgaio/dir.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/split.hpp"
#include "fpgaio/version.hpp"
#include "progress.hpp"

namespace {

namespace sp = fpgaio::split;
using fpgacli::report;

// The status of a --filter command that failed (exit N, or 128 + signal), which
// is fpga-split's own, as in GNU split.
int filter_exit = 0;

enum Id { kNumber, kBytes, kLineBytes, kLines, kSeparator, kWidth, kNumeric, kNumericFrom, kHex, kHexFrom,
          kAdditional, kElide, kFilter, kUnbuffered, kVerbose, kRecord, kIdx, kArrow, kArrowFile, kAlign, kDir, kRanges, kManifest, kNull, kForce,
          kProgress, kHelp, kVersion, kLicense };

const std::vector<fpgacli::OptionSpec>& specs() {
  static const std::vector<fpgacli::OptionSpec> s = {
      {'n', "number", "CHUNKS", "N, K/N, l/N, l/K/N, r/N or r/K/N: N chunks (l/: of whole lines; r/: lines dealt out round robin; K/: write only chunk K, to standard output)", kNumber},
      {'b', "bytes", "SIZE", "put SIZE bytes in each chunk", kBytes},
      {'C', "line-bytes", "SIZE", "put at most SIZE bytes of whole lines in each chunk", kLineBytes},
      {'l', "lines", "NUMBER", "put NUMBER lines in each chunk", kLines},
      {'t', "separator", "SEP", "lines end with the character SEP ('\\0': NUL), not newline", kSeparator},
      {'a', "suffix-length", "N", "number chunks with N digits (an error if they do not fit)", kWidth},
      {'d', nullptr, nullptr, "decimal chunk numbers from 0 (the default)", kNumeric},
      {0, "numeric-suffixes", "[FROM]", "decimal chunk numbers from FROM (default 0)", kNumericFrom},
      {'x', nullptr, nullptr, "hexadecimal chunk numbers from 0", kHex},
      {0, "hex-suffixes", "[FROM]", "hexadecimal chunk numbers from FROM (default 0)", kHexFrom},
      {0, "additional-suffix", "SUF", "append SUF to each chunk's name", kAdditional},
      {'e', "elide-empty-files", nullptr, "do not make empty chunks (-n larger than the input)", kElide},
      {0, "filter", "COMMAND", "pipe each chunk to COMMAND (run by sh, $FILE set to the chunk's name) instead of writing it", kFilter},
      {'u', "unbuffered", nullptr, "with -n r/N, write each line as it comes (not a buffer a chunk)", kUnbuffered},
      {'v', "verbose", nullptr, "say on standard error which chunk is being made", kVerbose},
      {0, "record-size", "SIZE", "keep SIZE-byte records whole (3073 for CIFAR-10 binary files)", kRecord},
      {0, "idx", nullptr, "the input is an IDX file: chunks are IDX files with their own headers", kIdx},
      {0, "arrow", nullptr, "the input is an Arrow IPC stream or file: chunks are Arrow streams of whole record batches (-l: rows)", kArrow},
      {0, "arrow-file", nullptr, "write Arrow chunks as Arrow IPC files (with a footer), not streams", kArrowFile},
      {0, "align", "SIZE", "with -n N, cut at multiples of SIZE (default 2M, fpga-gzip's blocks; 0: off)", kAlign},
      {0, "directory", "DIR", "write the chunks into DIR (default: beside the input)", kDir},
      {0, "ranges", nullptr, "write nothing: print byte ranges FILE@INDEX/COUNT:OFFSET+LENGTH", kRanges},
      {0, "manifest", "FILE", "write the chunk list with offsets, lengths and CRC-32s to FILE", kManifest},
      {'0', "null", nullptr, "end printed names with NUL instead of newline", kNull},
      {'f', "force", nullptr, "overwrite existing chunk and manifest files", kForce},
      {0, "progress", nullptr, "show progress on standard error", kProgress},
      {'h', "help", nullptr, "show this help and exit", kHelp},
      {'V', "version", nullptr, "show the version and exit", kVersion},
      {'L', "license", nullptr, "show the licence and exit", kLicense},
  };
  return s;
}

struct Options {
  sp::CutOptions cut;
  bool idx = false, elide = false, ranges = false, null = false, force = false, progress = false, verbose = false,
       hex = false, rr = false, separator_given = false, unbuffered = false,
       arrow = false, arrow_file = false, mode_given = false;
  std::optional<std::uint64_t> align, extract;  // extract: -n K/N's K (from 0)
  std::optional<unsigned> width;
  std::uint64_t from = 0;
  std::string dir, manifest, input = "-", additional, filter;
  std::optional<std::string> prefix;
};

// GNU split's own errors about a value: one line, without "Try --help"
// (GNU dies there), a number out of range with the reason strerror gives.
[[noreturn]] void die(const std::string& message) {
  fpgacli::report("", message);
  std::exit(fpgacli::kError);
}
[[noreturn]] void invalid(const std::string& what, const std::string& v, int err = 0) {
  die("invalid " + what + ": '" + v + "'" + (err ? std::string(": ") + std::strerror(err) : ""));
}

// What Arrow IPC input allows: -n N or K/N (chunks balanced by bytes), -l
// ROWS, -b SIZE, all in whole record batches. A message is never cut, so
// the line and record options have no meaning for it.
std::optional<std::string> arrow_conflict(const Options& o) {
  if (!o.mode_given) return "give -n CHUNKS, -l ROWS or -b SIZE";
  if (o.rr || o.cut.lines) return "chunks hold whole record batches: -n l/N, -n r/N and -C cut lines";
  if (o.cut.record_size || o.idx) return "--record-size and --idx do not apply";
  if (o.separator_given) return "-t does not apply (no lines)";
  if (o.unbuffered) return "-u does not apply";
  if (o.align) return "--align does not apply (chunks end after a record batch)";
  return std::nullopt;
}
void check_arrow_options(const Options& o) {
  if (auto c = arrow_conflict(o)) fpgacli::usage_error("--arrow: " + *c);
}

std::uint64_t size_arg(const std::string& v, const std::string& what) {
  auto n = fpgaio::parse_size(v);
  if (!n) fpgacli::usage_error("invalid " + what + ": '" + v + "'");
  return *n;
}

// -b and -C as GNU reads them: a size with a unit, at least 1 and at most
// the largest file offset (2^63-1).
std::uint64_t bytes_arg(const std::string& v) {
  const std::string what = "number of bytes";
  auto n = fpgaio::parse_size(v);
  if (!n) {
    const auto unit = v.find_first_not_of("0123456789");
    // Digits and a unit it knows: a number too large.
    if (!v.empty() && unit != 0 &&
        fpgaio::parse_size("1" + (unit == std::string::npos ? std::string() : v.substr(unit))))
      invalid(what, v, EOVERFLOW);
    invalid(what, v);
  }
  if (*n > static_cast<std::uint64_t>(INT64_MAX)) invalid(what, v, EOVERFLOW);
  if (*n == 0) invalid(what, v, ERANGE);
  return *n;
}

// -l, -n and their K as GNU reads them: decimal digits, 1 to `max`.
std::uint64_t number_arg(const std::string& v, const std::string& what, std::uint64_t max = UINT64_MAX) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) invalid(what, v);
  std::uint64_t n = 0;
  for (char c : v) {
    const unsigned d = static_cast<unsigned>(c - '0');
    if (n > (UINT64_MAX - d) / 10) invalid(what, v, EOVERFLOW);
    n = n * 10 + d;
  }
  if (n > max) invalid(what, v, EOVERFLOW);
  if (n == 0) invalid(what, v, ERANGE);
  return n;
}

// -n CHUNKS: N, K/N, l/N, l/K/N, r/N, r/K/N.
void parse_chunks(Options& o, const std::string& v) {
  std::string t = v;
  if (t.rfind("r/", 0) == 0) {
    o.rr = true;
    t = t.substr(2);
  } else if (t.rfind("l/", 0) == 0) {
    o.cut.lines = true;
    t = t.substr(2);
  }
  auto slash = t.find('/');
  std::string n_text = slash == std::string::npos ? t : t.substr(slash + 1);
  std::uint64_t n = number_arg(n_text, "number of chunks");
  if (slash != std::string::npos) {
    const std::string k_text = t.substr(0, slash);
    std::uint64_t k = number_arg(k_text, "chunk number");
    if (k > n) invalid("chunk number", k_text, ERANGE);
    o.extract = k - 1;
  }
  o.cut.count = n;
}

char separator_arg(const std::string& v) {
  if (v.empty()) die("empty record separator");
  if (v == "\\0") return '\0';
  if (v.size() > 1) die("multi-character separator '" + v + "'");
  return v[0];
}

// GNU split's obsolete -NUM (-1000 is -l 1000, -e5 is -e -l 5): its digits
// are taken out of `args` before the options are parsed, those of the last
// argument that has any counting. An argument is only that when it is not
// the value of the option before it. A 0 that starts no number is --null
// here (-0; to GNU it is -l 0).
std::optional<std::string> take_obsolete_lines(std::vector<std::string>& args) {
  std::optional<std::string> lines;
  std::vector<std::string> kept;
  bool value_next = false, only_operands = false;
  for (const auto& a : args) {
    if (value_next || only_operands || a.size() < 2 || a[0] != '-') {
      value_next = false;
      kept.push_back(a);
      continue;
    }
    if (a == "--") {
      only_operands = true;
    } else if (a[1] != '-') {
      std::string rest = "-", digits;
      for (std::size_t j = 1; j < a.size(); ++j) {
        const char c = a[j];
        if ((c >= '1' && c <= '9') || (c == '0' && !digits.empty())) {
          digits += c;
          continue;
        }
        rest += c;
        const fpgacli::OptionSpec* match = nullptr;
        for (const auto& sp : specs())
          if (sp.short_name == c) match = &sp;
        if (match && match->arg) {  // the rest of the word is its value
          rest += a.substr(j + 1);
          value_next = j + 1 == a.size();
          break;
        }
      }
      if (!digits.empty()) lines = digits;
      if (rest.size() > 1) kept.push_back(rest);
      continue;
    } else if (a[1] == '-') {
      if (a.find('=') == std::string::npos) {
        const std::string name = a.substr(2);
        const fpgacli::OptionSpec* match = nullptr;
        int matches = 0;
        for (const auto& sp : specs()) {
          if (!sp.long_name || std::string(sp.long_name).compare(0, name.size(), name) != 0) continue;
          match = &sp;
          ++matches;
          if (name == sp.long_name) {
            matches = 1;
            break;
          }
        }
        value_next = matches == 1 && match->arg && match->arg[0] != '[';
      }
    }
    kept.push_back(a);
  }
  args = std::move(kept);
  return lines;
}

void print_help() {
  const char* p = fpgacli::program_name().c_str();
  std::printf("Usage: %s [OPTION]... [FILE [PREFIX]]\n"
              "Split FILE (or standard input) into chunks named PREFIX.000, PREFIX.001, ...\n"
              "and print their names, one per line, for parallel or xargs.\n\n",
              p);
  std::fputs(fpgacli::format_help(specs()).c_str(), stdout);
  std::printf("\nGive one of -n, -b, -C and -l (-NUM is -l NUM; none: -l 1000). SIZE may\n"
              "have a unit: K, M, G (1024-based), KB, MB, GB (1000-based), KiB, MiB, GiB.\n"
              "PREFIX defaults to FILE (\"x\" for standard input). A stream is cut by -b,\n"
              "-C, -l and -n r/ in constant memory; -n N and -n l/N read it to its end first\n"
              "(into $TMPDIR). Names that start with - are printed as ./-NAME.\n"
              "Arrow IPC (--arrow; a file starting with ARROW1 without it): chunks are\n"
              "Arrow streams of whole record batches with the schema and the dictionaries\n"
              "they need; -n N balances bytes, -l counts rows, -b caps bytes.\n"
              "Exit status: 0 success, 1 error.\nFull documentation: man %s\n",
              p);
}

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc), operands;
  const auto obsolete_lines = take_obsolete_lines(args);
  int modes = 0;
  fpgacli::parse_options(args, specs(), [&](int id, const std::string& v, const std::string& spelled, bool) {
    switch (id) {
      case kNumber: parse_chunks(o, v); ++modes; break;
      case kBytes:
        o.cut.size = bytes_arg(v);
        ++modes;
        break;
      case kLineBytes:
        o.cut.size = bytes_arg(v);  // GNU's words for -C too
        o.cut.lines = true;
        ++modes;
        break;
      case kLines:
        o.cut.line_count = number_arg(v, "number of lines");
        ++modes;
        break;
      case kSeparator: {
        const char c = separator_arg(v);
        if (o.separator_given && c != o.cut.separator) die("multiple separator characters specified");
        o.cut.separator = c;
        o.separator_given = true;
        break;
      }
      case kWidth: {
        // 0 is the default, as in GNU: as many digits as the chunks need.
        if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 3 || std::stoul(v) > 255)
          invalid("suffix length", v);
        const unsigned w = static_cast<unsigned>(std::stoul(v));
        if (w) o.width = w;
        else o.width.reset();
        break;
      }
      case kNumeric: o.hex = false; break;
      case kNumericFrom: o.hex = false; o.from = v.empty() ? 0 : number_arg(v, "start value for numerical suffixes"); break;
      case kHex: o.hex = true; break;
      case kHexFrom: {
        o.hex = true;
        if (v.empty()) break;
        char* end = nullptr;
        errno = 0;
        o.from = std::strtoull(v.c_str(), &end, 16);
        if (errno || *end || v.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
          fpgacli::usage_error("invalid start value for hexadecimal suffixes: '" + v + "'");
        break;
      }
      case kAdditional:
        if (v.find('/') != std::string::npos) fpgacli::usage_error("invalid suffix '" + v + "', contains directory separator");
        o.additional = v;
        break;
      case kElide: o.elide = true; break;
      case kFilter: o.filter = v; break;
      case kUnbuffered: o.unbuffered = true; break;
      case kVerbose: o.verbose = true; break;
      case kRecord:
        o.cut.record_size = size_arg(v, "record size");
        if (!o.cut.record_size) fpgacli::usage_error("invalid record size: '" + v + "'");
        break;
      case kIdx: o.idx = true; break;
      case kArrow: o.arrow = true; break;
      case kArrowFile: o.arrow_file = true; break;
      case kAlign: o.align = size_arg(v, "alignment"); break;
      case kDir: o.dir = v; break;
      case kRanges: o.ranges = true; break;
      case kManifest: o.manifest = v; break;
      case kNull: o.null = true; break;
      case kForce: o.force = true; break;
      case kProgress: o.progress = true; break;
      case kHelp: print_help(); fpgacli::exit_after_output();
      case kVersion: fpgacli::print_version();
      case kLicense: fpgacli::print_license();
      default: fpgacli::usage_error("unexpected option " + spelled);
    }
  }, operands);
  if (operands.size() > 2) fpgacli::usage_error("extra operand '" + operands[2] + "'");
  if (!operands.empty()) o.input = operands[0];
  if (operands.size() == 2) o.prefix = operands[1];
  if (obsolete_lines) {
    if (modes) fpgacli::usage_error("cannot split in more than one way");
    o.cut.line_count = number_arg(*obsolete_lines, "number of lines");
    ++modes;
  }
  if (modes > 1) fpgacli::usage_error("cannot split in more than one way");
  o.mode_given = modes > 0;
  if (o.arrow) check_arrow_options(o);
  if (modes == 0) {
    // GNU split's default is -l 1000; records and IDX items are not lines.
    if (o.idx || o.cut.record_size) fpgacli::usage_error("give -n CHUNKS, -b SIZE or -C SIZE");
    o.cut.line_count = 1000;
  }
  if (o.rr && (o.cut.record_size || o.idx))
    fpgacli::usage_error("-n r/N deals lines out; it excludes --record-size and --idx");
  if (o.rr && (o.ranges || !o.manifest.empty()))
    fpgacli::usage_error("-n r/N deals lines out: its chunks are no byte ranges of the input (--ranges, --manifest)");
  if ((o.cut.lines || o.cut.line_count) && o.cut.record_size)
    fpgacli::usage_error("lines (-l, -C, -n l/) and --record-size exclude each other");
  if (o.idx && (o.cut.lines || o.cut.line_count || o.cut.record_size))
    fpgacli::usage_error("--idx keeps IDX items whole; it excludes -l, -C, -n l/ and --record-size");
  if (o.ranges && (!o.dir.empty() || o.prefix || o.width || !o.additional.empty() || o.hex || o.from))
    fpgacli::usage_error("--ranges writes no files: --directory, -a, -x, --numeric-suffixes, --additional-suffix and PREFIX do not apply");
  if (o.ranges && o.input == "-")
    fpgacli::usage_error("--ranges names byte ranges of a file; standard input has no name for them (write it to a file, or use -b)");
  if (o.ranges && !o.filter.empty()) fpgacli::usage_error("--ranges and --filter exclude each other");
  if (o.extract && (!o.filter.empty() || !o.manifest.empty()))
    fpgacli::usage_error("-n K/N writes chunk K to standard output: --filter and --manifest do not apply");
  if (o.extract && o.ranges && o.elide)
    fpgacli::usage_error("--ranges -n K/N prints chunk K of N as cut: -e does not apply");
  if (o.cut.count && !o.rr && !o.cut.lines && !o.cut.record_size && !o.idx) o.cut.align = o.align.value_or(fpgaio::gzip::kDefaultAlign);
  else if (o.align && *o.align > 1) fpgacli::usage_error("--align applies to -n N without l/, --record-size or --idx");
  return o;
}

std::string base_name(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// A chunk's destination: a file in `dir` (committed when complete), or the
// standard input of a --filter command.
class ChunkOut {
 public:
  ChunkOut(const Options& o, const fpgaio::Dir* dir, const std::string& name, const std::optional<fpgaio::PartOf>& part)
      : name_(name) {
    if (o.filter.empty()) {
      file_.emplace(*dir, base_name(name), o.force);
      if (part) fpgaio::set_part(file_->fd(), *part);
      fd_ = file_->fd();
      return;
    }
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) fpgaio::throw_errno("cannot make a pipe", errno, name);
    std::fflush(stdout);
    pid_ = ::fork();
    if (pid_ < 0) fpgaio::throw_errno("cannot start the filter", errno, name);
    if (pid_ == 0) {
      ::dup2(p[0], STDIN_FILENO);
      ::setenv("FILE", name.c_str(), 1);
      if (part) ::setenv("FPGA_PART", fpgaio::format_part(*part).c_str(), 1);
      else ::unsetenv("FPGA_PART");
      ::signal(SIGPIPE, SIG_DFL);
      ::execl("/bin/sh", "sh", "-c", o.filter.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    ::close(p[0]);
    fd_ = p[1];
    filter_ = o.filter;
  }
  ~ChunkOut() {
    if (pid_ > 0) {
      if (fd_ >= 0) ::close(fd_);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }
  int fd() const { return fd_; }
  bool is_file() const { return file_.has_value(); }
  // The chunk file opened again for reading (its own descriptor is write-only).
  int open_readable() const { return file_->open_readable(); }
  // The chunk file itself (device and inode), before it has its name.
  struct stat identity() const {
    struct stat st {};
    if (::fstat(file_->fd(), &st) != 0) fpgaio::throw_errno("", errno, name_);
    return st;
  }
  // Whether this chunk's filter has stopped reading.
  bool gone() const { return closed_pipe_; }
  // Writes, except that a filter may stop reading (GNU split ignores that).
  void write(const std::uint8_t* d, std::size_t n) {
    if (closed_pipe_) return;
    try {
      fpgaio::full_write(fd_, d, n, name_);
    } catch (const fpgaio::Error& e) {
      if (!file_ && fpgacli::is_broken_pipe(e)) closed_pipe_ = true;
      else throw;
    }
  }
  void copy(int in_fd, std::uint64_t offset, std::uint64_t length, const std::string& path) {
    fpgaio::Bytes buf(1 << 20);
    // Once the filter has gone the rest of its chunk is not read (GNU skips
    // it too): a filter that takes the head of a huge chunk ends the chunk.
    while (length && !closed_pipe_) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length));
      fpgaio::pread_exact(in_fd, buf.data(), n, offset, path);
      write(buf.data(), n);
      offset += n;
      length -= n;
    }
  }
  void commit(const struct stat* st) {
    if (file_) {
      file_->commit(st);
      return;
    }
    ::close(fd_);
    fd_ = -1;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
    pid_ = -1;
    // GNU split exits with the command's status (128 + the signal's number
    // for a signal), after its message.
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) filter_exit = WEXITSTATUS(status);
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGPIPE) filter_exit = 128 + WTERMSIG(status);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
      throw fpgaio::Error(fpgaio::ErrorKind::io, "with FILE=" + name_ + ", exit " +
                                                     std::to_string(WEXITSTATUS(status)) + " from command: " + filter_);
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGPIPE)
      throw fpgaio::Error(fpgaio::ErrorKind::io, "with FILE=" + name_ + ", signal " +
                                                     (sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status))
                                                                                     : std::to_string(WTERMSIG(status))) +
                                                     " from command: " + filter_);
  }

 private:
  std::string name_, filter_;
  std::optional<fpgaio::OutputFile> file_;
  pid_t pid_ = -1;
  int fd_ = -1;
  bool closed_pipe_ = false;
};

// A chunk's output as a Sink for the Arrow writer: a chunk file takes
// verbatim copies in the kernel (copy_file_range), a filter's pipe by write.
class ChunkSink : public fpgaio::Sink {
 public:
  ChunkSink(ChunkOut& out, std::string name) : out_(out), name_(std::move(name)) {}
  void write(const std::uint8_t* d, std::size_t n) override { out_.write(d, n); }
  std::uint64_t splice_from(int fd, std::uint64_t offset, std::uint64_t length) override {
    if (!out_.is_file()) return 0;
    return fpgaio::FdSink(out_.fd(), name_).splice_from(fd, offset, length);
  }

 private:
  ChunkOut& out_;
  std::string name_;
};

class Splitter {
 public:
  explicit Splitter(Options o) : o_(std::move(o)) {}
  int run();

 private:
  void run_file(fpgaio::Input& in);
  void run_stream(fpgaio::Input& in);
  void run_round_robin(fpgaio::Input& in);
  void run_arrow_file(fpgaio::Input& in);
  void run_arrow_stream(fpgaio::Input& in);
  fpgaio::arrow::CutOptions arrow_cut() const {
    fpgaio::arrow::CutOptions c;
    c.count = o_.cut.count;
    c.bytes = o_.cut.size;
    c.rows = o_.cut.line_count;
    return c;
  }
  void check_target(const std::string& name, const fpgaio::Input& in);
  // A name as printed: one that starts with '-' gets "./", so that the tool
  // it is passed to (parallel fpga-gzip, xargs) does not read an option.
  static std::string printable(const std::string& name) {
    return !name.empty() && name[0] == '-' ? "./" + name : name;
  }
  std::string prefix() const;
  std::string name_of(std::uint64_t k, unsigned width) const {
    return sp::chunk_name(prefix(), o_.from + k, width, o_.hex) + o_.additional;
  }
  void emit(const std::string& name) {
    if (!o_.filter.empty()) return;  // the filter's output is standard output
    std::fputs(printable(name).c_str(), stdout);
    std::fputc(o_.null ? '\0' : '\n', stdout);
    if (std::fflush(stdout) != 0) fpgaio::throw_errno("write error", errno, "stdout");
  }
  void say_creating(const std::string& name) {
    if (o_.verbose) fpgacli::report("", (o_.filter.empty() ? "creating file '" : "piping chunk '") + name + "'");
  }
  unsigned width_for(std::uint64_t count) const;
  void write_manifest();
  void remove_made();
  // The chunks' directory, opened once: every chunk is made, replaced and
  // (after a failure) removed in it by descriptor.
  const fpgaio::Dir* out_dir() {
    if (!out_dir_) {
      // The folder of the chunk names: the prefix up to its last '/' ("out/"
      // names chunks out/.000, in out/; split_path would take "out/" itself
      // as the last component and give the current directory).
      const std::string p = prefix();
      const auto slash = p.rfind('/');
      out_dir_.emplace(fpgaio::Dir::open(slash == std::string::npos ? std::string() : p.substr(0, slash + 1)));
    }
    return &*out_dir_;
  }
  void made(const std::string& name, const struct stat& st) { made_.push_back(name); made_ids_.push_back(st); }

  Options o_;
  sp::Manifest manifest_;
  std::optional<fpgaio::Dir> out_dir_;
  std::vector<std::string> made_;
  std::vector<struct stat> made_ids_;  // what each of made_ is: only that is removed
  std::uint64_t done_ = 0;
  bool copied_ = false;  // a stream read into a temporary file (-n of a pipe)
};

std::string Splitter::prefix() const {
  std::string p = o_.prefix ? *o_.prefix : o_.input == "-" ? "x" : o_.input;
  if (!o_.dir.empty()) p = o_.dir + (o_.dir.back() == '/' ? "" : "/") + base_name(p);
  return p;
}

// The digits of chunk numbers: -a N, checked as GNU split checks it.
unsigned Splitter::width_for(std::uint64_t count) const {
  if (!o_.width) return sp::index_width(o_.from + count, o_.hex);
  if (!sp::index_fits(o_.from, *o_.width, o_.hex))
    throw fpgaio::Error(fpgaio::ErrorKind::usage, "numerical suffix start value is too large for the suffix length");
  if (count && !sp::index_fits(o_.from + count - 1, *o_.width, o_.hex)) {
    if (o_.cut.count) {
      unsigned w = 1;
      while (!sp::index_fits(o_.from + count - 1, w, o_.hex)) ++w;
      throw fpgaio::Error(fpgaio::ErrorKind::usage, "the suffix length needs to be at least " + std::to_string(w));
    }
    throw fpgaio::Error(fpgaio::ErrorKind::usage, "output file suffixes exhausted");
  }
  return *o_.width;
}

void Splitter::remove_made() {
  for (std::size_t i = 0; i < made_.size(); ++i) out_dir_->remove_if_same(base_name(made_[i]), made_ids_[i]);
  made_.clear();
  made_ids_.clear();
}

void Splitter::write_manifest() {
  if (o_.manifest.empty()) return;
  fpgaio::OutputFile out(o_.manifest, o_.force, fpgaio::OutputName::given);
  std::string text = sp::format_manifest(manifest_);
  fpgaio::full_write(out.fd(), text.data(), text.size(), o_.manifest);
  out.commit(nullptr);
}

// Before anything is written: a chunk may neither replace the input nor,
// without -f, a file that is there.
void Splitter::check_target(const std::string& name, const fpgaio::Input& in) {
  struct stat st;
  const std::string entry = base_name(name);
  if (out_dir()->stat(entry, st, true) == 0 && fpgaio::same_file(st, in.stat()))
    throw fpgaio::Error(fpgaio::ErrorKind::usage, "a chunk would replace the input (input and output are the same file)")
        .with_path(name);
  if (!o_.force && out_dir()->stat(entry, st) == 0)
    throw fpgaio::Error(fpgaio::ErrorKind::io, "already exists;\tnot overwritten", EEXIST).with_path(name);
}

// Chunks of a regular file: planned first, then copied (or only printed).
void Splitter::run_file(fpgaio::Input& in) {
  const std::string& path = o_.input;
  std::uint64_t size = static_cast<std::uint64_t>(in.stat().st_size), base = 0;
  std::optional<sp::IdxHeader> idx;
  if (o_.idx) {
    std::uint8_t head[36] = {};
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof head, size));
    fpgaio::pread_exact(in.fd(), head, n, 0, path);
    idx = sp::parse_idx(head, n, path, size);
    base = idx->header_bytes();
    size = idx->data_bytes();
    o_.cut.record_size = idx->item_bytes();
  }
  auto chunks = sp::plan(in.fd(), path, base, size, o_.cut);
  if (o_.extract && o_.ranges) {
    // --ranges -n K/N: chunk K's range alone ("K of N" in it), so that a
    // job takes its own chunk without copying it (a Slurm task: K from
    // SLURM_PROCID + 1, N from SLURM_NTASKS).
    const auto& c = chunks[*o_.extract];
    std::string index = sp::chunk_name("", c.index, sp::index_width(chunks.size())).substr(1);
    emit(fpgaio::ByteRange{path, index, base + c.offset, c.length, chunks.size()}.operand());
    return;
  }
  if (o_.extract) {
    // -n K/N: chunk K to standard output, nothing else.
    const auto& c = chunks[*o_.extract];
    fpgaio::FdSink out(STDOUT_FILENO, "stdout");
    if (idx) {
      fpgaio::Bytes h = idx->encode(static_cast<std::uint32_t>(c.length / idx->item_bytes()));
      out.write(h.data(), h.size());
    }
    fpgaio::copy_bytes(in.fd(), base + c.offset, c.length, out, path);
    out.flush();
    return;
  }
  if (o_.elide) {
    std::vector<sp::Chunk> kept;
    for (const auto& c : chunks)
      if (c.length) kept.push_back(sp::Chunk{kept.size(), c.offset, c.length});
    chunks = std::move(kept);
  }
  const std::uint64_t count = chunks.size();
  unsigned width = o_.ranges ? sp::index_width(count) : width_for(count);
  manifest_.input = path;
  manifest_.input_size = static_cast<std::uint64_t>(in.stat().st_size);

  std::vector<std::string> names;
  for (const auto& c : chunks) {
    if (o_.ranges) {
      std::string index = sp::chunk_name("", c.index, width).substr(1);
      names.push_back(fpgaio::ByteRange{path, index, base + c.offset, c.length, count}.operand());
      continue;
    }
    names.push_back(name_of(c.index, width));
    if (o_.filter.empty()) check_target(names.back(), in);
  }

  fpgacli::ProgressLine bar(o_.progress, path, size);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const auto& c = chunks[i];
    const bool want_crc = !o_.manifest.empty();
    fpgaio::Bytes header;
    if (idx && !o_.ranges)  // a range is the items alone; the file keeps its header
      header = idx->encode(static_cast<std::uint32_t>(c.length / idx->item_bytes()));
    std::uint32_t crc = 0;
    if (o_.ranges) {
      if (want_crc) {
        fpgaio::CrcSink sink;
        fpgaio::copy_bytes(in.fd(), base + c.offset, c.length, sink, path);
        crc = sink.crc;
      }
    } else {
      say_creating(names[i]);
      ChunkOut out(o_, o_.filter.empty() ? out_dir() : nullptr, names[i], fpgaio::PartOf{c.index, count, base + c.offset});
      out.write(header.data(), header.size());
      if (out.is_file() && !want_crc) {
        fpgaio::FdSink file(out.fd(), names[i]);  // the copy stays in the kernel
        fpgaio::copy_bytes(in.fd(), base + c.offset, c.length, file, path);
      } else {
        out.copy(in.fd(), base + c.offset, c.length, path);
      }
      if (want_crc) {
        fpgaio::CrcSink sink;
        sink.write(header.data(), header.size());
        fpgaio::copy_bytes(in.fd(), base + c.offset, c.length, sink, path);
        crc = sink.crc;
      }
      const struct stat id = out.is_file() ? out.identity() : in.stat();
      // The input's mode and time (a join keeps the original's time); a
      // stream's copy has neither.
      out.commit(copied_ ? nullptr : &in.stat());
      if (out.is_file()) made(names[i], id);
    }
    bar.update(done_ += c.length);
    manifest_.chunks.push_back(
        sp::ManifestChunk{c.index, base + c.offset, c.length, c.length + header.size(), crc, printable(names[i])});
    emit(names[i]);
  }
  bar.finish();
}

// A stream: chunks are written as the data arrives, each printed when it is
// complete and the stream is known to go on (or to end: the last chunk
// records how many there are), so that parallel can start on it while the
// rest is read.
void Splitter::run_stream(fpgaio::Input& in) {
  if (o_.cut.count)
    throw fpgaio::Error(fpgaio::ErrorKind::usage, "-n needs a regular file (a stream has no size to divide); use -b, -C or -l");
  if (!o_.filter.empty() && o_.cut.lines)
    throw fpgaio::Error(fpgaio::ErrorKind::usage, "--filter with -C needs a regular file");
  std::optional<sp::IdxHeader> idx;
  fpgaio::Bytes buf(1 << 20);
  if (o_.idx) {
    std::uint8_t head[4];
    if (in.read(head, 4) < 4) throw fpgaio::Error(fpgaio::ErrorKind::corrupt, "not an IDX file: too short").with_path(in.name());
    std::uint8_t full[36];
    std::memcpy(full, head, 4);
    std::size_t dims_bytes = 4u * std::min<unsigned>(head[3], 8);
    if (in.read(full + 4, dims_bytes) < dims_bytes)
      throw fpgaio::Error(fpgaio::ErrorKind::corrupt, "not an IDX file: header cut short").with_path(in.name());
    idx = sp::parse_idx(full, 4 + dims_bytes, in.name(), std::nullopt);
    o_.cut.record_size = idx->item_bytes();
  }
  sp::StreamCutter cutter(o_.cut);
  unsigned width = width_for(0);
  manifest_.input = o_.input;

  struct Current {
    std::optional<ChunkOut> out;
    std::string name;
    std::uint64_t index = 0, start = 0, bytes = 0;
    std::uint32_t crc = 0;
    std::size_t header_len = 0;
  };
  std::unique_ptr<Current> cur, pending;  // pending: complete, committed once we know whether it is the last
  std::uint64_t next_index = 0, offset = idx ? idx->header_bytes() : 0, chunk_start = offset;
  fpgacli::ProgressLine bar(o_.progress, in.name(), 0);

  auto commit = [&](Current& c, bool last) {
    if (c.out->is_file()) fpgaio::set_part(c.out->fd(), fpgaio::PartOf{c.index, last ? c.index + 1 : 0, c.start});
    struct stat id {};
    if (c.out->is_file()) id = c.out->identity();
    c.out->commit(nullptr);
    if (c.out->is_file()) made(c.name, id);
    manifest_.chunks.push_back(
        sp::ManifestChunk{c.index, c.start, c.bytes, c.bytes + c.header_len, c.crc, printable(c.name)});
    emit(c.name);
  };
  auto open_chunk = [&]() {
    if (o_.width && !sp::index_fits(o_.from + next_index, *o_.width, o_.hex))
      throw fpgaio::Error(fpgaio::ErrorKind::usage, "output file suffixes exhausted");
    cur = std::make_unique<Current>();
    cur->index = next_index++;
    cur->start = chunk_start;
    cur->name = name_of(cur->index, width);
    say_creating(cur->name);
    cur->out.emplace(o_, o_.filter.empty() ? out_dir() : nullptr, cur->name, std::nullopt);
    if (idx) {
      fpgaio::Bytes h = idx->encode(0);  // the count is filled in when the chunk is complete
      cur->header_len = h.size();
      cur->out->write(h.data(), h.size());
    }
  };
  // The chunk is complete; `carry` of its last bytes start the next one (-C).
  auto close_chunk = [&](std::uint64_t carry) {
    Current& c = *cur;
    fpgaio::Bytes moved(static_cast<std::size_t>(carry));
    if (carry) {
      struct Fd {
        int fd;
        ~Fd() { ::close(fd); }
      } back_fd{c.out->open_readable()};
      fpgaio::pread_exact(back_fd.fd, moved.data(), moved.size(), c.header_len + c.bytes - carry, c.name);
      if (::ftruncate(c.out->fd(), static_cast<off_t>(c.header_len + c.bytes - carry)) != 0)
        fpgaio::throw_errno("write error", errno, c.name);
      if (::lseek(c.out->fd(), 0, SEEK_END) < 0) fpgaio::throw_errno("write error", errno, c.name);
      c.bytes -= carry;
      if (!o_.manifest.empty()) {  // the CRC-32 of what stays
        c.crc = 0;
        fpgaio::Bytes back(1 << 16);
        for (std::uint64_t at = 0; at < c.bytes;) {
          std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(back.size(), c.bytes - at));
          fpgaio::pread_exact(back_fd.fd, back.data(), n, c.header_len + at, c.name);
          c.crc = fpgaio::crc32(c.crc, back.data(), n);
          at += n;
        }
      }
    }
    if (idx) {
      fpgaio::Bytes h = idx->encode(static_cast<std::uint32_t>(c.bytes / idx->item_bytes()));
      if (::pwrite(c.out->fd(), h.data(), h.size(), 0) != static_cast<ssize_t>(h.size()))
        fpgaio::throw_errno("write error", errno, c.name);
      c.crc = fpgaio::crc32_combine(fpgaio::crc32(0, h.data(), h.size()), c.crc, c.bytes);
    }
    chunk_start += c.bytes;
    if (!c.out->is_file()) {
      commit(c, false);
      cur.reset();
    } else {
      pending = std::move(cur);
      cur.reset();
    }
    if (carry) {
      open_chunk();
      cur->out->write(moved.data(), moved.size());
      cur->bytes = carry;
      if (!o_.manifest.empty()) cur->crc = fpgaio::crc32(0, moved.data(), moved.size());
    }
  };

  try {
    for (;;) {
      std::size_t n = in.read_some(buf.data(), buf.size());
      if (n == 0) break;
      if (pending) {  // more data: the pending chunk was not the last
        commit(*pending, false);
        pending.reset();
      }
      offset += n;
      bar.update(offset);
      for (std::size_t pos = 0; pos < n;) {
        bool ends = false;
        std::uint64_t carry = 0;
        std::size_t take = cutter.take(buf.data() + pos, n - pos, ends, carry);
        if (!cur) open_chunk();
        cur->out->write(buf.data() + pos, take);
        if (!o_.manifest.empty() || idx) cur->crc = fpgaio::crc32(cur->crc, buf.data() + pos, take);
        cur->bytes += take;
        pos += take;
        if (ends) {
          if (pending) {
            commit(*pending, false);
            pending.reset();
          }
          close_chunk(carry);
        }
      }
    }
    if (cur) {
      if (pending) {
        commit(*pending, false);
        pending.reset();
      }
      close_chunk(0);
    }
    if (pending) {
      commit(*pending, true);
      pending.reset();
    }
  } catch (...) {
    // A complete chunk is kept like the others before it.
    if (pending) {
      try {
        commit(*pending, false);
      } catch (...) {
      }
    }
    throw;
  }
  if (idx) {
    std::uint64_t items = (chunk_start - idx->header_bytes()) / idx->item_bytes();
    if ((chunk_start - idx->header_bytes()) % idx->item_bytes() || items != idx->dims[0])
      throw fpgaio::Error(fpgaio::ErrorKind::corrupt, "IDX stream holds " + std::to_string(items) + " whole items, its header says " +
                                                          std::to_string(idx->dims[0]))
          .with_path(in.name());
  }
  manifest_.input_size = offset;
  bar.finish();
}

// Arrow IPC from a file (or a stream read to its end for -n): the layout
// read first (metadata only), the chunks planned, then each chunk written
// as the schema, the dictionaries in force at its first batch, and its
// messages copied verbatim.
void Splitter::run_arrow_file(fpgaio::Input& in) {
  namespace ar = fpgaio::arrow;
  const std::string& path = o_.input;
  const auto size = static_cast<std::uint64_t>(in.stat().st_size);
  const ar::Layout layout = ar::scan(in.fd(), 0, size, in.is_stdin() ? std::string("-") : path);
  auto chunks = ar::plan(layout, arrow_cut());
  // A range holds messages only; the last one the end-of-stream marker too.
  auto range_of = [&](const ar::Chunk& c, std::uint64_t count, unsigned width) {
    std::string index = sp::chunk_name("", c.index, width).substr(1);
    std::uint64_t len = c.index + 1 == count ? layout.end - c.offset : c.length;
    return fpgaio::ByteRange{path, index, c.offset, len, count};
  };
  if (o_.extract) {
    const auto& c = chunks[*o_.extract];
    if (o_.ranges) {
      emit(range_of(c, chunks.size(), sp::index_width(chunks.size())).operand());
      return;
    }
    fpgaio::FdSink out(STDOUT_FILENO, "stdout");
    ar::write_chunk(in.fd(), layout, c, c.index + 1 == chunks.size(), o_.arrow_file, out, path);
    return;
  }
  if (o_.elide && chunks.size() > 1) {
    // Chunks without a record batch go; dictionary batches in them move to
    // the next chunk (the last one's to the one before), so none is lost.
    std::vector<ar::Chunk> kept;
    std::optional<std::size_t> carry_from;
    for (auto c : chunks) {
      if (carry_from) {
        c.first = *carry_from;
        c.offset = layout.messages[c.first].offset;
        carry_from.reset();
      }
      if (c.batches == 0) {
        if (c.first < c.last) carry_from = c.first;
        continue;
      }
      kept.push_back(c);
    }
    if (kept.empty()) kept.push_back(chunks.front());
    if (carry_from) kept.back().last = layout.messages.size();
    for (std::size_t i = 0; i < kept.size(); ++i) {
      auto& c = kept[i];
      c.index = i;
      c.length = 0;
      for (std::size_t m = c.first; m < c.last; ++m) c.length += layout.messages[m].size();
    }
    chunks = std::move(kept);
  }
  const std::uint64_t count = chunks.size();
  const unsigned width = o_.ranges ? sp::index_width(count) : width_for(count);
  manifest_.input = path;
  manifest_.input_size = size;
  std::vector<std::string> names;
  for (const auto& c : chunks) {
    if (o_.ranges) {
      names.push_back(range_of(c, count, width).operand());
      continue;
    }
    names.push_back(name_of(c.index, width));
    if (o_.filter.empty()) check_target(names.back(), in);
  }
  fpgacli::ProgressLine bar(o_.progress, path, size);
  const bool want_crc = !o_.manifest.empty();
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const auto& c = chunks[i];
    const bool last = i + 1 == chunks.size();
    std::uint32_t crc = 0;
    std::uint64_t bytes = c.length;
    if (o_.ranges) {
      const auto r = range_of(c, count, width);
      bytes = r.length;
      if (want_crc) {
        fpgaio::CrcSink sink;
        fpgaio::copy_bytes(in.fd(), r.offset, r.length, sink, path);
        crc = sink.crc;
      }
    } else {
      say_creating(names[i]);
      ChunkOut out(o_, o_.filter.empty() ? out_dir() : nullptr, names[i], fpgaio::PartOf{c.index, count, c.offset});
      ChunkSink sink(out, names[i]);
      fpgaio::CrcSink crc_sink(&sink);
      ar::write_chunk(in.fd(), layout, c, last, o_.arrow_file, want_crc ? static_cast<fpgaio::Sink&>(crc_sink) : sink,
                      path);
      crc = crc_sink.crc;
      if (want_crc) bytes = crc_sink.bytes;
      const struct stat id = out.is_file() ? out.identity() : in.stat();
      if (!want_crc && out.is_file()) bytes = static_cast<std::uint64_t>(id.st_size);
      out.commit(copied_ ? nullptr : &in.stat());
      if (out.is_file()) made(names[i], id);
    }
    bar.update(done_ += c.length);
    manifest_.chunks.push_back(sp::ManifestChunk{c.index, c.offset, c.length, bytes, crc, printable(names[i])});
    emit(names[i]);
  }
  bar.finish();
}

// An Arrow stream on standard input, cut as it is read (-l, -b): each chunk
// is committed and printed as soon as the next record batch shows it is
// complete (or the stream ends: the last one knows how many there are).
void Splitter::run_arrow_stream(fpgaio::Input& in) {
  namespace ar = fpgaio::arrow;
  const unsigned width = width_for(0);
  manifest_.input = o_.input;
  struct Open {
    std::optional<ChunkOut> out;
    std::optional<ChunkSink> sink;
    std::optional<fpgaio::CrcSink> crc;
    std::string name;
  } cur;
  const bool want_crc = !o_.manifest.empty();
  fpgacli::ProgressLine bar(o_.progress, in.name(), 0);
  ar::StreamChunks chunks;
  chunks.open = [&](std::uint64_t k) -> fpgaio::Sink& {
    if (o_.width && !sp::index_fits(o_.from + k, *o_.width, o_.hex))
      throw fpgaio::Error(fpgaio::ErrorKind::usage, "output file suffixes exhausted");
    cur.name = name_of(k, width);
    say_creating(cur.name);
    cur.out.emplace(o_, o_.filter.empty() ? out_dir() : nullptr, cur.name, std::nullopt);
    cur.sink.emplace(*cur.out, cur.name);
    cur.crc.emplace(&*cur.sink);
    if (want_crc) return *cur.crc;
    return *cur.sink;
  };
  chunks.close = [&](const ar::Chunk& c, bool last) {
    ChunkOut& out = *cur.out;
    if (out.is_file()) fpgaio::set_part(out.fd(), fpgaio::PartOf{c.index, last ? c.index + 1 : 0, c.offset});
    struct stat id {};
    if (out.is_file()) id = out.identity();
    out.commit(nullptr);
    if (out.is_file()) made(cur.name, id);
    std::uint64_t bytes = want_crc ? cur.crc->bytes : static_cast<std::uint64_t>(id.st_size);
    manifest_.chunks.push_back(
        sp::ManifestChunk{c.index, c.offset, c.length, bytes, want_crc ? cur.crc->crc : 0, printable(cur.name)});
    bar.update(c.offset + c.length);
    cur.crc.reset();
    cur.sink.reset();
    cur.out.reset();
    emit(cur.name);
  };
  manifest_.input_size = ar::split_stream(in, "-", arrow_cut(), o_.arrow_file, chunks);
  bar.finish();
}

// -n r/N: lines dealt out to N chunks as they are read, from a file or a
// stream alike; -n r/K/N writes chunk K's lines to standard output. Every
// chunk is open at once; they are committed and printed at the end.
void Splitter::run_round_robin(fpgaio::Input& in) {
  const std::uint64_t n = *o_.cut.count;
  sp::RoundRobinCutter deal(n, o_.cut.separator);
  fpgaio::Bytes buf(1 << 20);
  fpgacli::ProgressLine bar(o_.progress, in.name(), in.is_regular() ? static_cast<std::uint64_t>(in.stat().st_size) : 0);
  std::uint64_t read = 0;
  if (o_.extract) {
    fpgaio::FdSink out(STDOUT_FILENO, "stdout");
    for (std::size_t got; (got = in.read_some(buf.data(), buf.size())) > 0;) {
      for (std::size_t pos = 0; pos < got;) {
        const std::uint64_t c = deal.chunk();
        const std::size_t t = deal.take(buf.data() + pos, got - pos);
        if (c == *o_.extract) out.write(buf.data() + pos, t);
        pos += t;
      }
      bar.update(read += got);
    }
    out.flush();
    bar.finish();
    return;
  }
  const unsigned width = width_for(n);
  std::vector<std::string> names;
  for (std::uint64_t k = 0; k < n; ++k) {
    names.push_back(name_of(k, width));
    if (o_.filter.empty()) check_target(names.back(), in);
  }
  // Two descriptors a chunk file (the file and its folder's, held by
  // OutputFile), one a filter: raise the soft limit as far as the hard one.
  struct rlimit rl {};
  const rlim_t want = static_cast<rlim_t>(n) * 2 + 64;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(rl.rlim_max, want);
    ::setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
      throw fpgaio::Error(fpgaio::ErrorKind::usage,
                          "-n r/" + std::to_string(n) + " keeps " + std::to_string(n) +
                              " chunks open at once, " + std::to_string(want) +
                              " files; the limit of open files is " + std::to_string(rl.rlim_cur) + " (ulimit -n)");
  }
  std::vector<std::optional<ChunkOut>> outs(n);
  auto out = [&](std::uint64_t k) -> ChunkOut& {
    if (!outs[k]) {
      say_creating(names[k]);
      outs[k].emplace(o_, o_.filter.empty() ? out_dir() : nullptr, names[k], std::nullopt);
    }
    return *outs[k];
  };
  // Lines are short: each chunk's are gathered and written a buffer at a
  // time (as GNU's stdio does), within 16 MiB for all of them; with -u each
  // piece as it comes.
  const std::size_t cap =
      o_.unbuffered ? 1 : static_cast<std::size_t>(std::clamp<std::uint64_t>((16u << 20) / n, 4096, 65536));
  std::vector<fpgaio::Bytes> pending(n);
  std::uint64_t gone = 0;  // filters that stopped reading: when all have, so does this
  auto flush = [&](std::uint64_t k) {
    ChunkOut& o = out(k);
    const bool was_gone = o.gone();
    o.write(pending[k].data(), pending[k].size());
    pending[k].clear();
    if (!was_gone && o.gone()) ++gone;
  };
  for (std::size_t got; gone < n && (got = in.read_some(buf.data(), buf.size())) > 0;) {
    for (std::size_t pos = 0; pos < got && gone < n;) {
      const std::uint64_t c = deal.chunk();
      const std::size_t t = deal.take(buf.data() + pos, got - pos);
      if (!outs[c]) out(c);  // made when its first line comes, as GNU makes it
      if (!outs[c]->gone()) {
        pending[c].insert(pending[c].end(), buf.data() + pos, buf.data() + pos + t);
        if (pending[c].size() >= cap) flush(c);
      }
      pos += t;
    }
    bar.update(read += got);
  }
  for (std::uint64_t k = 0; k < n; ++k)
    if (!pending[k].empty()) flush(k);
  // The chunks no line reached: empty, or none with -e (they are the last).
  for (std::uint64_t k = 0; k < n; ++k) {
    if (!outs[k] && o_.elide) continue;
    ChunkOut& o = out(k);
    struct stat id {};
    if (o.is_file()) id = o.identity();
    o.commit(nullptr);
    if (o.is_file()) made(names[k], id);
    outs[k].reset();
    emit(names[k]);
  }
  bar.finish();
}

int Splitter::run() {
  bool streaming = false;
  try {
    if (!o_.manifest.empty() && !o_.force) {
      struct stat st;
      if (::lstat(o_.manifest.c_str(), &st) == 0)
        throw fpgaio::Error(fpgaio::ErrorKind::io, "already exists;\tnot overwritten", EEXIST)
            .with_path(o_.manifest);
    }
    fpgaio::Input in(o_.input);
    streaming = !in.is_regular();
    const auto said = in.stat().st_size;
    if (!o_.arrow && !streaming && !o_.rr) {
      // An Arrow IPC file says what it is in its first bytes.
      std::uint8_t head[6];
      if (said >= 6 && ::pread(in.fd(), head, 6, 0) == 6 && fpgaio::arrow::has_file_magic(head, 6)) {
        if (auto c = arrow_conflict(o_))
          throw fpgaio::Error(fpgaio::ErrorKind::usage, "an Arrow IPC file (it starts with ARROW1): " + *c)
              .with_path(o_.input);
        o_.arrow = true;
      }
    }
    if (o_.arrow_file && !o_.arrow)
      throw fpgaio::Error(fpgaio::ErrorKind::usage, "--arrow-file writes Arrow chunks: give --arrow for an Arrow stream");
    if (o_.arrow) {
      if (streaming && o_.cut.count) {
        in.learn_stream_size();
        streaming = false;
        copied_ = true;
      }
      if (streaming) run_arrow_stream(in);
      else run_arrow_file(in);
      write_manifest();
      return fpgacli::close_stdout() ? fpgacli::kOk : fpgacli::kError;
    }
    if (o_.rr) {
      run_round_robin(in);
      write_manifest();
      return fpgacli::close_stdout() ? fpgacli::kOk : fpgacli::kError;
    }
    // -n divides a size: a pipe is read to its end first (GNU split 9.1
    // refuses it), a device as GNU reads it (/dev/null holds 0 bytes).
    if (streaming && o_.cut.count) {
      in.learn_stream_size();
      streaming = false;
      copied_ = true;
    }
    // A regular file's size is read where its stat lies (/proc, /sys), as
    // GNU split does: -n divides it, and the other modes plan by it.
    if (!streaming) {
      in.learn_size();
      // A range is read again from the file by other tools: its offsets
      // must hold there, not only in the copy read here.
      if (o_.ranges && in.stat().st_size != said)
        throw fpgaio::Error(fpgaio::ErrorKind::usage, "--ranges needs a file whose size its stat tells (it says " +
                                                          std::to_string(said) + " bytes and holds " +
                                                          std::to_string(in.stat().st_size) + "); copy it to a file first")
            .with_path(o_.input);
      run_file(in);
    }
    else run_stream(in);
    write_manifest();
  } catch (const fpgaio::Error& e) {
    // A file can be split again: no half-split input, every chunk of this
    // run goes. A stream cannot be read again, and its complete chunks were
    // printed (parallel may be at work on them): they stay.
    std::size_t kept = streaming ? made_.size() : 0;
    if (!streaming) remove_made();
    auto say_kept = [&] {
      if (kept)
        fpgacli::report(o_.input,
                        "kept the " + std::to_string(kept) + " complete chunk" + (kept > 1 ? "s" : "") + " " +
                            made_.front() + (kept > 1 ? " to " + made_.back() : "") +
                            " (a stream cannot be read again)");
    };
    if (fpgacli::is_broken_pipe(e) && e.path == "stdout") {
      say_kept();
      return fpgacli::broken_pipe(e.path);
    }
    // GNU split's messages about the command line name no file.
    if (e.kind() == fpgaio::ErrorKind::usage && e.path.empty()) fpgacli::report("", e.describe());
    else if (std::string(e.what()).rfind("with FILE=", 0) == 0) {
      fpgacli::report("", e.what());
      if (filter_exit) {
        say_kept();
        return filter_exit;
      }
    } else {
      // Standard input is "-" in messages, as GNU split names it.
      fpgaio::Error named = e;
      if (o_.input == "-" && (named.path.empty() || named.path == "stdin")) named.path = "-";
      fpgacli::report(named, o_.input);
    }
    say_kept();
    return fpgacli::kError;
  }
  return fpgacli::close_stdout() ? fpgacli::kOk : fpgacli::kError;
}

}  // namespace

int main(int argc, char** argv) {
  fpgacli::set_program_name(argv[0]);
  fpgacli::install_signal_handlers();
  return Splitter(parse(argc, argv)).run();
}
