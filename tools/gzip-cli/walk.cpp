// fpga-gzip's operand walk (walk.hpp), shared with fpga-remote.
#include "walk.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "cli.hpp"
#include "fpgaio/error.hpp"
#include "progress.hpp"

namespace fpgagzip {

fpgaio::gzip::CompressOptions compress_options(const Options& o, const Head& head) {
  fpgaio::gzip::CompressOptions co;
  co.level = o.level;
  co.engine = o.engine;
  co.block_size = o.block_size;
  co.rsyncable = o.rsyncable;
  co.container = o.container;
  co.strategy = o.strategy;
  co.part = head.part;
  co.name = head.name;
  co.comment = head.comment;
  co.mtime = head.mtime;
  return co;
}

using fpgacli::report;
namespace gz = fpgaio::gzip;

void Walk::warn(const std::string& path, const std::string& msg) {
  if (o_.verbosity >= 0) report(path, msg);
  status_.warning();
}

void Walk::fail(const std::string& path, const std::string& msg) {
  report(path, msg);
  status_.error();
}

void Walk::fail(const fpgaio::Error& e, const std::string& path) {
  fpgacli::report_as_gzip(e, path);  // a reader that went away ends the run, as in gzip
  status_.error();
}

// gzip says this even under -q (a warning).
void Walk::exists(const std::string& out_path) {
  report("", out_path + " already exists;\tnot overwritten");
  status_.warning();
}

// Compressed data to or from a terminal: gzip's two lines, silenced by -q
// (the status is still 1).
void Walk::refuse_terminal(const std::string& msg) {
  if (o_.verbosity >= 0) {
    report("", msg);
    std::fprintf(stderr, "For help, type: %s -h\n", fpgacli::program_name().c_str());
  }
  status_.error();
}

// The operand goes to an output file (and is removed unless -k): not -c, -t, -l.
bool Walk::writes_file() const {
  return !o_.to_stdout && (o_.mode == Mode::compress || o_.mode == Mode::decompress);
}

bool Walk::progress_enabled() const {
  if (o_.progress) return *o_.progress;  // asked for: shown even when stderr is a file
  return o_.verbosity > 0 && fpgacli::is_tty(STDERR_FILENO);
}

std::optional<std::string> Walk::decompressed_name(const std::string& path) const {
  return fpgagzip::decompressed_name(path, o_.suffix);
}

void Walk::run() {
  if (o_.files.empty()) o_.files.push_back("-");
  for (const auto& f : o_.files) run_operand(f);
  finish_list();
}

void Walk::finish_list() {
  if (o_.mode == Mode::list) lister_.finish(o_.files.size());
}

void Walk::run_input(fpgaio::Input& in, const std::string& in_path, const Place& at) {
  if (o_.mode == Mode::compress) compress_one(in, in_path, at);
  else decompress_one(in, in_path, at);
}

void Walk::run_operand(const std::string& path) {
  if (path == "-") {
    try {
      fpgaio::Input in("-");
      run_input(in, "-", Place{});
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
      // Its output goes beside the file, in the directory as opened now.
      auto where = fpgaio::split_path(range->path);
      fpgaio::Dir dir = fpgaio::Dir::open(where.first);
      run_input(in, path, Place{&dir, where.second, in.stat()});
      return;
    }
  } catch (const fpgaio::Error& e) {
    return fail(e, path);
  }
  // The operand's directory is resolved once; the file is looked at, opened,
  // replaced and removed relative to it from here on.
  auto where = fpgaio::split_path(path);
  const std::string& name = where.second;
  std::optional<fpgaio::Dir> dir;
  int err = 0;
  try {
    dir.emplace(fpgaio::Dir::open(where.first));
  } catch (const fpgaio::Error& e) {
    err = e.error_number();
  }
  struct stat st;
  if (!err) err = dir->stat(name, st);
  bool through_link = false;
  if (!err && path.size() > 1 && path.back() == '/' && !S_ISDIR(st.st_mode)) {
    struct stat target;  // "f/" names a directory, or a link to one
    if (dir->stat(name, target, true) != 0 || !S_ISDIR(target.st_mode)) {
      err = ENOTDIR;
    } else {
      // The user's "link/" asks for the directory behind the link (gzip -r
      // link/ recurses, as open() follows a name ending in '/').
      st = target;
      through_link = true;
    }
  }
  if (err) {
    // gunzip foo looks for foo.gz (and gzip's other suffixes), as gzip does;
    // a name that has a suffix already is reported as given.
    if (err == ENOENT && o_.mode != Mode::compress && !decompressed_name(path)) {
      if (dir)
        for (const std::string& s : {o_.suffix, std::string(".gz"), std::string(".z"), std::string("-z"), std::string(".Z")})
          if (dir->stat(name + s, st) == 0) return run_file(*dir, name + s, path + s, st);
      return fail(path + o_.suffix, std::strerror(ENOENT));
    }
    return fail(path, std::strerror(err));
  }
  if (through_link) {
    if (o_.recursive) return run_directory(*dir, name, path, st, true);
    return warn("", path + " is a directory -- ignored");
  }
  run_file(*dir, name, path, st);
}

// -r: a directory's entries, relative to it as opened now (never through a
// symbolic link unless -f), each looked at once and opened as it was seen.
void Walk::run_directory(const fpgaio::Dir& parent, const std::string& name, const std::string& shown,
                         const struct stat& checked, bool follow) {
  std::optional<fpgaio::Dir> dir;
  try {
    dir.emplace(parent.sub(name, shown, &checked, follow));
  } catch (const fpgaio::Error& e) {
    return fail(e, shown);
  }
  struct stat self;
  if (::fstat(dir->fd(), &self) != 0) return fail(shown, std::strerror(errno));
  const std::pair<dev_t, ino_t> id{self.st_dev, self.st_ino};
  for (const auto& a : ancestors_)
    if (a == id) return warn("", shown + " is a directory it is in (a symbolic link loop) -- ignored");
  std::vector<std::string> names;
  if (int err = dir->entries(names)) return fail(shown, std::strerror(err));
  ancestors_.push_back(id);
  for (const auto& n : names) {
    std::string entry = dir->shown(n);
    struct stat st;
    if (int err = dir->stat(n, st)) {
      fail(entry, std::strerror(err));
      continue;
    }
    run_file(*dir, n, entry, st);
  }
  ancestors_.pop_back();
}

void Walk::run_file(const fpgaio::Dir& dir, const std::string& name, const std::string& path, const struct stat& st) {
  if (S_ISDIR(st.st_mode)) {
    if (o_.recursive) return run_directory(dir, name, path, st, false);
    return warn("", path + " is a directory -- ignored");
  }
  // -t and -l write to standard output in gzip (they set its to_stdout), as
  // -c does: a symbolic link is followed, and a FIFO or device is read.
  const bool to_stdout = o_.to_stdout || o_.mode == Mode::list || o_.mode == Mode::test;
  if (S_ISLNK(st.st_mode) && !o_.force && !to_stdout) return fail(path, std::strerror(ELOOP));
  struct stat target;
  if (S_ISLNK(st.st_mode) && dir.stat(name, target, true) == 0 && S_ISDIR(target.st_mode)) {
    // -f follows a link to a directory as gzip does: into it with -r, else ignored.
    if (o_.recursive) return run_directory(dir, name, path, st, true);
    return warn("", path + " is a directory -- ignored");
  }
  if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode) && !to_stdout)
    return warn("", path + " is not a directory or a regular file - ignored");
  if (S_ISREG(st.st_mode) && writes_file())
    if (auto why = special_file(path, st, o_.force)) return warn("", *why);
  try {
    // What was looked at is what is opened: a link (unless -f or -c) or a
    // FIFO put in its place since is refused, and a FIFO never blocks the open.
    fpgaio::Input in(dir, name, &st, o_.force || to_stdout);
    // Again on what was opened (-f follows a symlink): a link to /dev/zero or
    // a FIFO is not compressed to a file, as gzip.
    if (writes_file() && !in.is_regular())
      return warn("", path + " is not a directory or a regular file - ignored");
    if (writes_file())
      if (auto why = special_file(path, in.stat(), o_.force)) return warn("", *why);
    run_input(in, path, Place{&dir, name, st});
  } catch (const fpgaio::Error& e) {
    fail(e, path);
  }
}

// What gzip leaves out of -v's ratio when it compresses: the first
// member's header and a trailer (gzip containers; zlib and zip keep theirs).
std::uint64_t Walk::gzip_overhead(const Head& head) const {
  if (o_.container != fpgaio::gzip::Container::gzip) return 0;
  return fpgaio::gzip::header_size(head.name, head.comment, head.part) + 8;
}

void Walk::after_commit(const Place& at, const std::string& in_path, const std::string& out_path,
                        std::uint64_t in_bytes, std::uint64_t out_bytes, bool keep, std::uint64_t header_bytes) {
  bool remove = !keep && !o_.keep && !o_.to_stdout && at.dir && in_path != "-" && !fpgaio::parse_range(in_path);
  if (remove) {
    // Only the file that was read: another one in its place since stays.
    int err = at.dir->remove_if_same(at.name, at.checked);
    if (err == ESTALE) {
      warn(in_path, "replaced by another file meanwhile -- not removed");
      remove = false;
    } else if (err) {
      fail(in_path, std::string("cannot remove: ") + std::strerror(err));
    }
  }
  if (o_.verbosity > 0) {
    std::uint64_t plain = o_.mode == Mode::compress ? in_bytes : out_bytes;
    // gzip leaves the first header and a trailer out of the ratio
    // (`header_bytes`), compressing as decompressing (and -l): a tiny file
    // says -100%, not -4400%.
    std::uint64_t packed = o_.mode == Mode::compress ? out_bytes - std::min(out_bytes, header_bytes)
                                                     : in_bytes - std::min(in_bytes, header_bytes);
    // Standard input has no name: gzip says the ratio alone when it
    // compresses, nothing when it decompresses.
    if (in_path == "-") {
      if (o_.mode == Mode::compress) std::fprintf(stderr, "%5.1f%%\n", ratio_percent(plain, packed));
      return;
    }
    // gzip's words, also for -c ("replaced with stdout", "created stdout" with -k).
    std::string what = o_.to_stdout ? (o_.keep ? " -- created stdout" : " -- replaced with stdout")
                                    : (remove ? " -- replaced with " : " -- created ") + out_path;
    std::fprintf(stderr, "%s:\t%5.1f%%%s\n", in_path.c_str(), ratio_percent(plain, packed), what.c_str());
  }
}

// A file that grew (a logger appending) or changed while it was read is
// kept: the output holds only what was read. gzip's warning, status 2.
bool Walk::input_changed(const fpgaio::Input& in, std::uint64_t bytes_read) {
  auto why = fpgagzip::input_changed(in, bytes_read);
  if (!why) return false;
  warn(in.name(), *why);
  return true;
}

void Walk::compress_one(fpgaio::Input& in, const std::string& in_path, const Place& at) {
  bool is_stdin = in_path == "-";
  const std::string shown = is_stdin ? "stdin" : in_path;
  const auto& range = in.range();
  if (!o_.to_stdout && !is_stdin && !range && !o_.force) {
    if (auto suf = known_suffix(in_path, o_.suffix)) {
      // gzip says so but keeps status 0, and under -r only with -v.
      if (o_.verbosity > 0 || (!o_.recursive && o_.verbosity >= 0))
        report("", in_path + " already has " + *suf + " suffix -- unchanged");
      return;
    }
  }
  bool out_stdout = o_.to_stdout || is_stdin;
  if (out_stdout && fpgacli::is_tty(STDOUT_FILENO) && !o_.force)
    return refuse_terminal("compressed data not written to a terminal. Use -f to force compression.");
  Head head;
  head.part = in.part();  // a chunk of fpga-split: fpga-cat learns how many parts there are
  bool save_name = o_.save_name.value_or(true), save_time = o_.save_time.value_or(true);
  // A range that starts a file carries the file's name and time; later ranges
  // carry none, exactly like the later members of a whole-file compression,
  // so that fpga-cat of the parts is byte-identical to it.
  bool heads_file = !range || range->offset == 0;
  if (!is_stdin && save_name && heads_file) head.name = base_name(range ? range->path : in_path);
  if (is_stdin && o_.alias && o_.container == fpgaio::gzip::Container::zip) head.name = *o_.alias;  // -A: the zip entry's name
  if (heads_file) head.comment = o_.comment;
  // Standard input has a time when it is a regular file, as in gzip.
  if (save_time && heads_file && (!is_stdin || in.is_regular())) {
    // The format holds 1 to 2^32-1 seconds (0 means none): gzip stores 0
    // for anything else, with a warning.
    auto t = in.stat().st_mtime;
    if (t > 0 && static_cast<std::uint64_t>(t) <= 0xffffffffu)
      head.mtime = static_cast<std::uint32_t>(t);
    else
      warn(shown, "warning: file timestamp out of range for gzip format");
  }
  fpgacli::ProgressLine bar(progress_enabled(), shown,
                            in.is_regular() ? static_cast<std::uint64_t>(in.stat().st_size) : 0);
  auto progress = [&](std::uint64_t done, std::uint64_t) { bar.update(done); };

  if (out_stdout) {
    fpgaio::FdSink sink(STDOUT_FILENO, "stdout");
    auto st = work_.compress(in, sink, head, shown, progress);
    bar.finish();
    input_changed(in, st.in_bytes);
    after_commit(at, in_path, "stdout", st.in_bytes, st.out_bytes, false, gzip_overhead(head));
    return;
  }
  std::string out_path = (range ? range->stem() : in_path) + o_.suffix;
  bool shortened = false;
  if (auto s = shortened_name(range ? range->stem() : in_path, o_.suffix, true, at.dir->name_max())) {
    // Too long for the directory: shortened as gzip does, and the name kept
    // in the header whatever -n says.
    out_path = *s;
    shortened = true;
    head.name = base_name(range ? range->path : in_path);
  }
  const std::string out_name = base_name(out_path);
  if (at.dir->exists(out_name) && !o_.force) return exists(out_path);
  fpgaio::OutputFile out(*at.dir, out_name, o_.force);
  fpgaio::FdSink sink(out.fd(), out_path);
  auto st = work_.compress(in, sink, head, shown, progress);
  bar.finish();
  out.commit(&in.stat(), o_.synchronous);
  bool changed = input_changed(in, st.in_bytes);
  if (shortened && o_.verbosity == 0) report("", in_path + " compressed to " + out_path);
  after_commit(at, in_path, out_path, st.in_bytes, st.out_bytes, changed || !out.regular(), gzip_overhead(head));
}

void Walk::decompress_one(fpgaio::Input& in, const std::string& in_path, const Place& at) {
  bool is_stdin = in_path == "-";
  const std::string shown = is_stdin ? "stdin" : in_path;
  if (is_stdin && fpgacli::is_tty(STDIN_FILENO) && !o_.force)
    return refuse_terminal("compressed data not read from a terminal. Use -f to force decompression.");
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
  DecodeSettings ds;
  ds.shown = shown;
  ds.to_stdout = out_stdout;
  ds.to_file = out_path.has_value();
  ds.list_only = o_.mode == Mode::list;
  fpgacli::ProgressLine bar(o_.mode == Mode::decompress && progress_enabled(), shown,
                            in.is_regular() ? static_cast<std::uint64_t>(in.stat().st_size) : 0);
  ds.progress = [&](std::uint64_t in_done, std::uint64_t) { bar.update(in_done); };
  // zcat -f passes data in no format we read through unchanged, as gzip
  // does, at the start or after members. A zlib header (2 bytes that text
  // may start with) is then taken as zlib only in a file named .zz.
  // gzip's -t decompresses to standard output (discarded), so -tf passes
  // such data too: it tests OK.
  ds.pass_through = o_.force && ((o_.mode == Mode::decompress && out_stdout) || o_.mode == Mode::test);
  ds.detect_zlib = !ds.pass_through || has_suffix_ci(base_name(in_path), ".zz");
  auto dec = work_.decode(in, ds);
  if (auto why = dec->unreadable()) return fail(shown, *why);
  if (o_.mode == Mode::decompress && out_path && o_.save_name.value_or(false)) {
    if (auto stored = dec->stored_name(); stored && !stored->empty()) {
      std::string n = base_name(*stored);  // never a path from the file
      if (n != "." && n != "..") out_path = dir_prefix(in_path) + n;
    }
  }
  if (out_path) {
    if (auto s = shortened_name(*out_path, "", false, at.dir->name_max())) {
      out_path = s;  // a stored name (-N) too long for the directory
      warn(*out_path, "warning, name truncated");
    }
  }

  gz::DecompressResult r;
  auto header_bytes = [&] { return r.first ? r.first->length + 8 : 0; };
  if (o_.mode == Mode::list || o_.mode == Mode::test) {
    r = dec->run(nullptr);
    if (o_.mode == Mode::list) {
      std::string name = is_stdin ? "stdout" : in.range() ? in_path : decompressed_name(in_path).value_or(in_path);
      // (r.first, not the header read before: a .Z, pack or zip file has no
      // gzip header, and the input is read to its end by now.)
      if (!is_stdin && o_.save_name.value_or(false) && r.first && r.first->name && !r.first->name->empty()) {
        std::string n = base_name(*r.first->name);
        if (n != "." && n != "..") name = dir_prefix(in_path) + n;
      }
      // The stored time, else (none stored) the file's own, as gzip shows.
      std::time_t when = r.first && r.first->mtime ? r.first->mtime
                         : in.is_regular() && !in.range() ? in.stat().st_mtime : 0;
      lister_.line(name, r.format, r.crc, r.stats.in_bytes, r.stats.out_bytes, header_bytes(), when);
    } else if (o_.verbosity > 0) {
      std::fprintf(stderr, is_stdin ? " OK\n" : "%s:\t OK\n", shown.c_str());  // gzip's words for each
    }
  } else if (out_stdout) {
    fpgaio::FdSink sink(STDOUT_FILENO, "stdout");
    r = dec->run(&sink);
    bar.finish();
    after_commit(at, in_path, "stdout", r.stats.in_bytes, r.stats.out_bytes, false, header_bytes());
  } else {
    const std::string out_name = base_name(*out_path);
    struct stat ost;
    if (at.dir->stat(out_name, ost) == 0) {
      if (!o_.force) return exists(*out_path);
      if (fpgaio::same_file(ost, in.stat())) return fail(in_path, "input and output are the same file");
    }
    fpgaio::OutputFile out(*at.dir, out_name, o_.force);
    fpgaio::FdSink sink(out.fd(), *out_path);
    r = dec->run(&sink);
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
    after_commit(at, in_path, *out_path, r.stats.in_bytes, r.stats.out_bytes, !out.regular(), header_bytes());
  }
  for (const auto& w : r.warnings) warn(shown, w);
  if (r.zip_more_entries) warn("", in_path + " has more than one entry--rest ignored");
  if (r.trailing_garbage) warn("", shown + ": decompression OK, trailing garbage ignored");
}

}  // namespace fpgagzip
