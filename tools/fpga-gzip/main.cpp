// fpga-gzip: parse options, walk the operands, call libfpgaio, map errors to
// gzip's exit status.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <strings.h>

#include "cli.hpp"
#include "fpgaio/accel.hpp"
#include "fpgaio/device.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/io.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "rules.hpp"

namespace {

using fpgacli::report;
using fpgagzip::Mode;
using fpgagzip::Options;
using fpgagzip::base_name;
using fpgagzip::dir_prefix;
using fpgagzip::has_suffix_ci;
using fpgagzip::ratio_percent;
using fpgagzip::shortened_name;
using fpgagzip::special_file;
namespace gz = fpgaio::gzip;

class Runner {
 public:
  Runner(Options o, unsigned threads, fpgaio::UnitPool* units, unsigned cpu_threads, bool unit_fallback)
      : o_(std::move(o)), threads_(threads), units_(units), cpu_threads_(cpu_threads), unit_fallback_(unit_fallback),
        lister_(o_.verbosity) {}

  void run_operand(const std::string& path);
  void finish_list();
  int status() const { return status_.code(); }

 private:
  void warn(const std::string& path, const std::string& msg) {
    if (o_.verbosity >= 0) report(path, msg);
    status_.warning();
  }
  void fail(const std::string& path, const std::string& msg) {
    report(path, msg);
    status_.error();
  }
  void fail(const fpgaio::Error& e, const std::string& path);
  // gzip says this even under -q (a warning).
  void exists(const std::string& out_path) {
    report("", out_path + " already exists;\tnot overwritten");
    status_.warning();
  }
  void run_file(const std::string& path, const struct stat& st);
  void run_directory(const std::string& path);
  void compress_one(fpgaio::Input& in, const std::string& in_path);
  void decompress_one(fpgaio::Input& in, const std::string& in_path);
  std::optional<std::string> decompressed_name(const std::string& path);
  std::optional<std::string> known_suffix(const std::string& path) const;
  // The operand goes to an output file (and is removed unless -k): not -c, -t, -l.
  bool writes_file() const {
    return !o_.to_stdout && (o_.mode == Mode::compress || o_.mode == Mode::decompress);
  }
  bool progress_enabled() const {
    if (o_.progress) return *o_.progress;  // asked for: shown even when stderr is a file
    return o_.verbosity > 0 && fpgacli::is_tty(STDERR_FILENO);
  }
  void list_line(const std::string& name, const gz::DecompressResult& r, std::uint64_t compressed, std::time_t when);
  void after_commit(const std::string& in_path, const std::string& out_path, std::uint64_t in_bytes,
                    std::uint64_t out_bytes, bool keep = false, std::uint64_t header_bytes = 0);
  bool input_changed(const fpgaio::Input& in, std::uint64_t bytes_read);

  Options o_;
  unsigned threads_;
  fpgaio::UnitPool* units_;  // an accelerator's compute units, or none (the CPU engines)
  unsigned cpu_threads_;     // CPU threads that take blocks beside the units
  bool unit_fallback_;       // a unit failing sends the rest to the CPU (no device was named)
  fpgacli::Status status_;
  fpgagzip::Lister lister_;
};

void Runner::fail(const fpgaio::Error& e, const std::string& path) {
  fpgacli::report_as_gzip(e, path);  // a reader that went away ends the run, as in gzip
  status_.error();
}

void Runner::run_operand(const std::string& path) {
  if (path == "-") {
    try {
      fpgaio::Input in("-");
      if (o_.mode == Mode::compress) compress_one(in, "-");
      else decompress_one(in, "-");
    } catch (const fpgaio::Error& e) {
      fail(e, "stdin");
    }
    return;
  }
  try {
    if (auto range = fpgaio::parse_range(path)) {
      // A byte range of a file (fpga-tools(7)): read in place, never removed.
      if (o_.mode == Mode::decompress && !o_.to_stdout)
        return fail(path, "a byte range can be decompressed only to standard output (-c)");
      fpgaio::Input in(*range);
      if (o_.mode == Mode::compress) compress_one(in, path);
      else decompress_one(in, path);
      return;
    }
  } catch (const fpgaio::Error& e) {
    return fail(e, path);
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    int err = errno;
    // gunzip foo looks for foo.gz (and gzip's other suffixes), as gzip does;
    // a name that has a suffix already is reported as given.
    if (err == ENOENT && o_.mode != Mode::compress && !decompressed_name(path)) {
      for (const std::string& s : {o_.suffix, std::string(".gz"), std::string(".z"), std::string("-z"), std::string(".Z")}) {
        std::string alt = path + s;
        if (::lstat(alt.c_str(), &st) == 0) return run_file(alt, st);
      }
      return fail(path + o_.suffix, std::strerror(ENOENT));
    }
    return fail(path, std::strerror(err));
  }
  run_file(path, st);
}

void Runner::run_directory(const std::string& path) {
  std::vector<std::string> paths;
  if (int err = fpgagzip::directory_entries(path, paths)) return fail(path, std::strerror(err));
  for (const auto& p : paths) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) {
      fail(p, std::strerror(errno));
      continue;
    }
    run_file(p, st);
  }
}

void Runner::run_file(const std::string& path, const struct stat& st) {
  if (S_ISDIR(st.st_mode)) {
    if (o_.recursive) return run_directory(path);
    return warn("", path + " is a directory -- ignored");
  }
  if (S_ISLNK(st.st_mode) && !o_.force && !o_.to_stdout) return fail(path, std::strerror(ELOOP));
  struct stat target;
  if (S_ISLNK(st.st_mode) && ::stat(path.c_str(), &target) == 0 && S_ISDIR(target.st_mode)) {
    // -f follows a link to a directory as gzip does: into it with -r, else ignored.
    if (o_.recursive) return run_directory(path);
    return warn("", path + " is a directory -- ignored");
  }
  if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode) && !o_.to_stdout && o_.mode != Mode::list && o_.mode != Mode::test)
    return warn("", path + " is not a directory or a regular file - ignored");
  if (S_ISREG(st.st_mode) && writes_file())
    if (auto why = special_file(path, st, o_.force)) return warn("", *why);
  try {
    fpgaio::Input in(path);
    // Again on what was opened (-f follows a symlink): a link to /dev/zero or
    // a FIFO is not compressed to a file, as gzip.
    if (writes_file() && !in.is_regular())
      return warn("", path + " is not a directory or a regular file - ignored");
    if (writes_file())
      if (auto why = special_file(path, in.stat(), o_.force)) return warn("", *why);
    if (o_.mode == Mode::compress) compress_one(in, path);
    else decompress_one(in, path);
  } catch (const fpgaio::Error& e) {
    fail(e, path);
  }
}

void Runner::after_commit(const std::string& in_path, const std::string& out_path, std::uint64_t in_bytes,
                          std::uint64_t out_bytes, bool keep, std::uint64_t header_bytes) {
  bool remove = !keep && !o_.keep && !o_.to_stdout && in_path != "-" && !fpgaio::parse_range(in_path);
  if (remove && ::unlink(in_path.c_str()) != 0) fail(in_path, std::string("cannot remove: ") + std::strerror(errno));
  if (o_.verbosity > 0 && in_path != "-") {
    std::uint64_t plain = o_.mode == Mode::compress ? in_bytes : out_bytes;
    // Decompressing, gzip leaves the first header and a trailer out of the
    // ratio (`header_bytes`), as -l does.
    std::uint64_t packed = o_.mode == Mode::compress ? out_bytes : in_bytes - std::min(in_bytes, header_bytes);
    // gzip's words, also for -c ("replaced with stdout", "created stdout" with -k).
    std::string what = o_.to_stdout ? (o_.keep ? " -- created stdout" : " -- replaced with stdout")
                                    : (remove ? " -- replaced with " : " -- created ") + out_path;
    std::fprintf(stderr, "%s:\t%5.1f%%%s\n", in_path.c_str(), ratio_percent(plain, packed), what.c_str());
  }
}

void Runner::compress_one(fpgaio::Input& in, const std::string& in_path) {
  bool is_stdin = in_path == "-";
  const auto& range = in.range();
  if (!o_.to_stdout && !is_stdin && !range && !o_.force) {
    if (auto suf = known_suffix(in_path)) {
      // gzip says so but keeps status 0, and under -r only with -v.
      if (o_.verbosity > 0 || (!o_.recursive && o_.verbosity >= 0))
        report("", in_path + " already has " + *suf + " suffix -- unchanged");
      return;
    }
  }
  bool out_stdout = o_.to_stdout || is_stdin;
  if (out_stdout && fpgacli::is_tty(STDOUT_FILENO) && !o_.force) {
    if (o_.verbosity >= 0) {  // gzip's two lines, silenced by -q (the status is still 1)
      report("", "compressed data not written to a terminal. Use -f to force compression.");
      std::fprintf(stderr, "For help, type: %s -h\n", fpgacli::program_name().c_str());
    }
    status_.error();
    return;
  }
  gz::CompressOptions co;
  co.level = o_.level;
  co.engine = o_.engine;
  co.block_size = o_.block_size;
  co.threads = threads_;
  co.units = units_;
  co.cpu_threads = cpu_threads_;
  if (units_ && unit_fallback_)
    co.on_unit_failure = [this](const std::string& what) {
      if (o_.verbosity >= 0) report("", "warning: " + what + "; compressing the rest on the CPU");
    };
  co.rsyncable = o_.rsyncable;
  co.container = o_.container;
  co.strategy = o_.strategy;
  co.part = in.part();  // a chunk of fpga-split: fpga-cat learns how many parts there are
  bool save_name = o_.save_name.value_or(true), save_time = o_.save_time.value_or(true);
  // A range that starts a file carries the file's name and time; later ranges
  // carry none, exactly like the later members of a whole-file compression,
  // so that fpga-cat of the parts is byte-identical to it.
  bool heads_file = !range || range->offset == 0;
  if (!is_stdin && save_name && heads_file) co.name = base_name(range ? range->path : in_path);
  if (is_stdin && o_.alias && o_.container == gz::Container::zip) co.name = *o_.alias;  // -A: the zip entry's name
  if (heads_file) co.comment = o_.comment;
  // Standard input has a time when it is a regular file, as in gzip.
  if (save_time && heads_file && (!is_stdin || in.is_regular())) {
    // The format holds 1 to 2^32-1 seconds (0 means none): gzip stores 0
    // for anything else, with a warning.
    auto t = in.stat().st_mtime;
    if (t > 0 && static_cast<std::uint64_t>(t) <= 0xffffffffu)
      co.mtime = static_cast<std::uint32_t>(t);
    else
      warn(is_stdin ? "stdin" : in_path, "warning: file timestamp out of range for gzip format");
  }
  fpgacli::ProgressLine bar(progress_enabled(), is_stdin ? "stdin" : in_path,
                            in.is_regular() ? static_cast<std::uint64_t>(in.stat().st_size) : 0);
  co.progress = [&](std::uint64_t done, std::uint64_t) { bar.update(done); };

  if (out_stdout) {
    fpgaio::FdSink sink(STDOUT_FILENO, "stdout");
    auto st = gz::compress(in, sink, co);
    bar.finish();
    input_changed(in, st.in_bytes);
    after_commit(in_path, "stdout", st.in_bytes, st.out_bytes);
    return;
  }
  std::string out_path = (range ? range->stem() : in_path) + o_.suffix;
  bool shortened = false;
  if (auto s = shortened_name(range ? range->stem() : in_path, o_.suffix, true)) {
    // Too long for the directory: shortened as gzip does, and the name kept
    // in the header whatever -n says.
    out_path = *s;
    shortened = true;
    co.name = base_name(range ? range->path : in_path);
  }
  struct stat ost;
  if (::lstat(out_path.c_str(), &ost) == 0 && !o_.force) {
    exists(out_path);
    return;
  }
  fpgaio::OutputFile out(out_path, o_.force, fpgaio::OutputName::chosen);
  fpgaio::FdSink sink(out.fd(), out_path);
  auto st = gz::compress(in, sink, co);
  bar.finish();
  out.commit(&in.stat(), o_.synchronous);
  bool changed = input_changed(in, st.in_bytes);
  if (shortened && o_.verbosity == 0) report("", in_path + " compressed to " + out_path);
  after_commit(in_path, out_path, st.in_bytes, st.out_bytes, changed || !out.regular());
}

// A file that grew (a logger appending) or changed while it was read is
// kept: the output holds only what was read. gzip's warning, status 2.
bool Runner::input_changed(const fpgaio::Input& in, std::uint64_t bytes_read) {
  auto why = fpgagzip::input_changed(in, bytes_read);
  if (!why) return false;
  warn(in.name(), *why);
  return true;
}

std::optional<std::string> Runner::known_suffix(const std::string& path) const {
  return fpgagzip::known_suffix(path, o_.suffix);
}

std::optional<std::string> Runner::decompressed_name(const std::string& path) {
  return fpgagzip::decompressed_name(path, o_.suffix);
}

void Runner::list_line(const std::string& name, const gz::DecompressResult& r, std::uint64_t compressed,
                       std::time_t when) {
  lister_.line(name, r.format, r.crc, compressed, r.stats.out_bytes, r.first ? r.first->length + 8 : 0, when);
}

void Runner::finish_list() {
  if (o_.mode == Mode::list) lister_.finish(o_.files.size());
}

void Runner::decompress_one(fpgaio::Input& in, const std::string& in_path) {
  bool is_stdin = in_path == "-";
  const std::string shown = is_stdin ? "stdin" : in_path;
  if (is_stdin && fpgacli::is_tty(STDIN_FILENO) && !o_.force) {
    if (o_.verbosity >= 0) {  // gzip's two lines, silenced by -q (the status is still 1)
      report("", "compressed data not read from a terminal. Use -f to force decompression.");
      std::fprintf(stderr, "For help, type: %s -h\n", fpgacli::program_name().c_str());
    }
    status_.error();
    return;
  }
  std::optional<std::string> out_path;
  bool out_stdout = o_.to_stdout || is_stdin;
  // A name without a known suffix: ignored when decompressing to a file, and
  // under -r also by -t and -l (gzip). Said (a warning) only with -v under
  // -r, and never with -q.
  bool needs_suffix = !is_stdin && !in.range() &&
                      ((o_.mode == Mode::decompress && !out_stdout) || (o_.recursive && o_.mode != Mode::decompress));
  if (needs_suffix && !decompressed_name(in_path)) {
    if (o_.verbosity > 0 || (!o_.recursive && o_.verbosity >= 0)) warn("", in_path + ": unknown suffix -- ignored");
    return;
  }
  if (o_.mode == Mode::decompress && !out_stdout) out_path = decompressed_name(in_path);
  gz::DecompressOptions dopt;
  dopt.threads = threads_;
  dopt.list_only = o_.mode == Mode::list;
  fpgacli::ProgressLine bar(o_.mode == Mode::decompress && progress_enabled(), shown,
                            in.is_regular() ? static_cast<std::uint64_t>(in.stat().st_size) : 0);
  dopt.progress = [&](std::uint64_t in_done, std::uint64_t) { bar.update(in_done); };
  // zcat -f passes data in no format we read through unchanged, as gzip
  // does, at the start or after members. A zlib header (2 bytes that text
  // may start with) is then taken as zlib only in a file named .zz.
  // gzip's -t decompresses to standard output (discarded), so -tf passes
  // such data too: it tests OK.
  dopt.pass_through = o_.force && ((o_.mode == Mode::decompress && out_stdout) || o_.mode == Mode::test);
  dopt.detect_zlib = !dopt.pass_through || has_suffix_ci(base_name(in_path), ".zz");
  gz::Decoder dec(in, dopt);
  auto format = dec.format();
  if (!format && !dopt.pass_through) {
    // gzip needs two bytes of magic: fewer is a file cut short.
    return fail(shown, dec.shorter_than_magic() ? "unexpected end of file" : "not in gzip format");
  }
  if (o_.mode == Mode::decompress && out_path && o_.save_name.value_or(false) && format == gz::Format::gzip) {
    const auto& h = dec.first_header();
    if (h.name && !h.name->empty()) {
      std::string n = base_name(*h.name);  // never a path from the file
      if (n != "." && n != "..") out_path = dir_prefix(in_path) + n;
    }
  }
  if (out_path) {
    if (auto s = shortened_name(*out_path, "", false)) {
      out_path = s;  // a stored name (-N) too long for the directory
      warn(*out_path, "warning, name truncated");
    }
  }

  gz::DecompressResult r;
  if (o_.mode == Mode::list || o_.mode == Mode::test) {
    fpgaio::NullSink sink;
    r = dec.run(sink);
    if (o_.mode == Mode::list) {
      std::string name = is_stdin ? "stdout" : in.range() ? in_path : decompressed_name(in_path).value_or(in_path);
      // (r.first, not dec.first_header(): a .Z, pack or zip file has no
      // gzip header, and the input is read to its end by now.)
      if (!is_stdin && o_.save_name.value_or(false) && r.first && r.first->name && !r.first->name->empty()) {
        std::string n = base_name(*r.first->name);
        if (n != "." && n != "..") name = dir_prefix(in_path) + n;
      }
      // The stored time, else (none stored) the file's own, as gzip shows.
      std::time_t when = r.first && r.first->mtime ? r.first->mtime
                         : in.is_regular() && !in.range() ? in.stat().st_mtime : 0;
      list_line(name, r, r.stats.in_bytes, when);
    } else if (o_.verbosity > 0) {
      std::fprintf(stderr, "%s:\t OK\n", shown.c_str());
    }
  } else if (out_stdout) {
    fpgaio::FdSink sink(STDOUT_FILENO, "stdout");
    r = dec.run(sink);
    bar.finish();
    after_commit(in_path, "stdout", r.stats.in_bytes, r.stats.out_bytes, false, r.first ? r.first->length + 8 : 0);
  } else {
    struct stat ost;
    if (::lstat(out_path->c_str(), &ost) == 0) {
      if (!o_.force) return exists(*out_path);
      if (fpgaio::same_file(ost, in.stat())) return fail(in_path, "input and output are the same file");
    }
    fpgaio::OutputFile out(*out_path, o_.force, fpgaio::OutputName::chosen);
    fpgaio::FdSink sink(out.fd(), *out_path);
    r = dec.run(sink);
    bar.finish();
    if (r.zip_more_entries) {  // gzip keeps such a zip file and writes nothing
      for (const auto& w : r.warnings) warn(shown, w);
      return fail("", in_path + " has more than one entry -- unchanged");
    }
    struct stat meta = in.stat();
    if (o_.save_time.value_or(false) && r.first && r.first->mtime) {
      meta.st_mtim.tv_sec = r.first->mtime;
      meta.st_mtim.tv_nsec = 0;
    }
    out.commit(&meta, o_.synchronous);
    after_commit(in_path, *out_path, r.stats.in_bytes, r.stats.out_bytes, !out.regular(),
                 r.first ? r.first->length + 8 : 0);
  }
  for (const auto& w : r.warnings) warn(shown, w);
  if (r.zip_more_entries) warn("", in_path + " has more than one entry--rest ignored");
  if (r.trailing_garbage) warn("", shown + ": decompression OK, trailing garbage ignored");
}

}  // namespace

int main(int argc, char** argv) {
  fpgacli::set_program_name(argv[0]);
  fpgacli::install_signal_handlers();
  Options o = fpgagzip::parse_command_line(argc, argv);

  if (!o.xclbin.empty()) fpgaio::set_xclbin(o.xclbin);
  if (o.list_devices) {
    fpgacli::print_devices(o.mode == Mode::compress ? "deflate" : "inflate");
    return fpgacli::leave(fpgacli::close_stdout() ? 0 : 1);
  }
  fpgaio::Device dev;
  fpgaio::OpenedDevice opened;
  std::vector<fpgaio::DeflateUnit*> unit_ptrs;
  std::optional<fpgaio::UnitPool> pool;
  try {
    if (o.mode == Mode::compress) {
      // Cards: one job per card across processes; without a named device a
      // card that is busy or fails gives way to the CPU.
      opened = fpgaio::open_deflate_device(o.device, o.threads);
      dev = opened.device;
    } else {
      dev = fpgaio::select_inflate_device(o.device);
    }
  } catch (const fpgaio::Error& e) {
    report("", e.what());
    return fpgacli::kError;
  }
  for (const auto& w : opened.warnings)
    if (o.verbosity >= 0) report("", "warning: " + w + "; compressing on " + dev.name);
  if (!opened.units.empty()) {
    for (auto& u : opened.units) unit_ptrs.push_back(u.get());
    pool.emplace(unit_ptrs);
  }
  if (o.files.empty()) o.files.push_back("-");
  Runner runner(o, o.threads ? o.threads : dev.slots, pool ? &*pool : nullptr, opened.cpu_threads,
                !opened.explicit_choice);
  for (const auto& f : o.files) runner.run_operand(f);
  runner.finish_list();
  int code = runner.status();
  if (!fpgacli::close_stdout()) code = fpgacli::kError;
  pool.reset();  // the units go first (a card's buffers and runs), then leave()
  opened.units.clear();
  return fpgacli::leave(code);
}
