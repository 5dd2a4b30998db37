// fpga-cat: join the results of chunks in chunk order, after checking that
// every part is there and whole; gzip parts become one valid gzip stream.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "cli.hpp"
#include "fpgaio/arrow.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/pipeline.hpp"
#include "fpgaio/split.hpp"
#include "fpgaio/version.hpp"
#include "progress.hpp"

namespace {

namespace gz = fpgaio::gzip;
namespace sp = fpgaio::split;
using fpgaio::Error;
using fpgaio::ErrorKind;

enum Id { kOutput, kForce, kAsGiven, kManifest, kSuffix, kVerify, kNoVerify, kLines, kArrowFile, kArrowStream, kProcesses, kRm, kQuiet,
          kProgress, kHelp, kVersion, kLicense };

const std::vector<fpgacli::OptionSpec>& specs() {
  static const std::vector<fpgacli::OptionSpec> s = {
      {'o', "output", "FILE", "write to FILE, atomically (- or default: standard output)", kOutput},
      {'f', "force", nullptr, "overwrite FILE; write gzip data to a terminal", kForce},
      {0, "as-given", nullptr, "join in the order given, not by the chunk number in the names", kAsGiven},
      {0, "manifest", "FILE", "join the chunks FILE lists (fpga-split --manifest); check gzip parts against it", kManifest},
      {'S', "suffix", "SUF", "with --manifest and no PART: the parts are the chunk names + SUF (default .gz)", kSuffix},
      {0, "verify", nullptr, "inflate every gzip member and check its CRC-32 (the default)", kVerify},
      {0, "no-verify", nullptr, "check gzip parts' headers and trailers only, not the data (not with --rm)",
       kNoVerify},
      {0, "lines", nullptr, "plain parts are lines: each must end with a newline", kLines},
      {0, "arrow-file", nullptr, "join Arrow IPC parts into an Arrow IPC file (default: a file when every part is one)", kArrowFile},
      {0, "arrow-stream", nullptr, "join Arrow IPC parts into an Arrow IPC stream, even when they are files", kArrowStream},
      {'p', "processes", "N", "threads for inflating (default: the online cores)", kProcesses},
      {0, "rm", nullptr, "remove the parts once the output is complete, each only if unchanged", kRm},
      {'q', "quiet", nullptr, "no warning about parts that carry no part count", kQuiet},
      {0, "progress", nullptr, "show progress on standard error", kProgress},
      {'h', "help", nullptr, "show this help and exit", kHelp},
      {'V', "version", nullptr, "show the version and exit", kVersion},
      {'L', "license", nullptr, "show the licence and exit", kLicense},
  };
  return s;
}

struct Options {
  std::string output, manifest, suffix = ".gz";
  bool arrow_file = false, arrow_stream = false;
  bool force = false, as_given = false, verify = true, lines = false, rm = false, progress = false, quiet = false;
  unsigned threads = 0;
  std::vector<std::string> parts;
};

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  fpgacli::parse_options(args, specs(), [&](int id, const std::string& v, const std::string& spelled, bool) {
    switch (id) {
      case kOutput: o.output = v == "-" ? "" : v; break;
      case kQuiet: o.quiet = true; break;
      case kForce: o.force = true; break;
      case kAsGiven: o.as_given = true; break;
      case kManifest: o.manifest = v; break;
      case kSuffix: o.suffix = v; break;
      case kVerify: o.verify = true; break;
      case kNoVerify: o.verify = false; break;
      case kLines: o.lines = true; break;
      case kArrowFile: o.arrow_file = true; o.arrow_stream = false; break;
      case kArrowStream: o.arrow_stream = true; o.arrow_file = false; break;
      case kProcesses: o.threads = fpgacli::parse_count(v, 4096, "number of threads"); break;
      case kRm: o.rm = true; break;
      case kProgress: o.progress = true; break;
      case kHelp:
        std::printf("Usage: %s [OPTION]... PART...\n"
                    "Join the results of fpga-split's chunks in chunk order (the number in each\n"
                    "PART's name), after checking that every part is there and whole.\n\n",
                    fpgacli::program_name().c_str());
        std::fputs(fpgacli::format_help(specs()).c_str(), stdout);
        std::printf("\nA PART may be a byte range FILE@INDEX/COUNT:OFFSET+LENGTH (fpga-tools(7)), or -\n"
                    "for standard input. Parts made by fpga-split and fpga-gzip say how many there\n"
                    "are, so a missing first, middle or last part is refused without --manifest.\n"
                    "Arrow IPC parts are joined into one stream (a file when they are files).\n"
                    "Exit status: 0 success, 1 error (nothing is written), 2 joined with a warning\n"
                    "(e.g. a part that changed while it was joined: kept by --rm).\n"
                    "Full documentation: man %s\n",
                    fpgacli::program_name().c_str());
        fpgacli::exit_after_output();
      case kVersion: fpgacli::print_version();
      case kLicense: fpgacli::print_license();
      default: fpgacli::usage_error("unexpected option " + spelled);
    }
  }, o.parts);
  if (o.parts.empty() && o.manifest.empty()) fpgacli::usage_error("no parts to join");
  if (o.as_given && !o.manifest.empty()) fpgacli::usage_error("--as-given and --manifest exclude each other");
  // A part is removed only after its content was verified.
  if (o.rm && !o.verify)
    fpgacli::usage_error("--rm and --no-verify exclude each other: parts are removed only once their data is checked");
  return o;
}

// A part file held open from the start: the file read is the file opened
// (through this descriptor, never the name again, and never /proc), and
// --rm removes the name in the directory opened with it, and only while it
// still names that file.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct Held {
  std::shared_ptr<Fd> dir_fd;  // the part's directory, shared by the parts in it (file operands)
  std::shared_ptr<Fd> file;    // the file as opened
  std::string entry;           // its name in the directory
  struct stat st {};           // as opened: changed() compares with it
  bool reported = false;       // a change is reported once (byte ranges of one file share it)
  int dir() const { return dir_fd->fd; }
  int fd() const { return file->fd; }
};

struct Part {
  std::string shown;  // the operand
  std::shared_ptr<Fd> data;    // what is read: the file itself, or a copy of what it held
  std::shared_ptr<Held> held;  // a file, or a byte range's file: checked again at the end
  std::uint64_t base = 0, size = 0;
  std::optional<sp::PartName> name;
  std::uint64_t index = 0;  // name->index, kept apart for sorting
  bool range = false, gzip = false;
  bool arrow = false, arrow_file = false, headless = false;  // Arrow IPC: a file; a range of messages
  bool arrow_maybe = false;  // starts like Arrow IPC (damaged?): read as Arrow among Arrow parts
  bool copied = false;  // standard input, a pipe or a device, read into a temporary file
  std::optional<fpgaio::PartOf> part;  // which chunk of how many, when the part says
  struct stat st {};
  int fd() const { return data->fd; }
};

// What a part whose size no stat tells (standard input, a pipe, a device,
// /proc) holds, read to its end into an unnamed temporary file: the checks
// read parts twice (scan, then join), and it is what is joined.
std::shared_ptr<Fd> temp_copy(int from, const std::string& shown) {
  const char* dir = std::getenv("TMPDIR");
  std::string d = dir && *dir ? dir : "/tmp";
  auto copy = std::make_shared<Fd>(::open(d.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (copy->fd < 0) fpgaio::throw_errno("cannot make a temporary file", errno, d);
  fpgaio::Bytes buf(1 << 20);
  for (std::size_t n; (n = fpgaio::read_some(from, buf.data(), buf.size(), shown)) > 0;)
    fpgaio::full_write(copy->fd, buf.data(), n, d);
  return copy;
}

std::uint64_t size_of(int fd, const std::string& shown) {
  struct stat st;
  if (::fstat(fd, &st) != 0) fpgaio::throw_errno("", errno, shown);
  return static_cast<std::uint64_t>(st.st_size);
}

// Whether a regular file's stat tells its size: nothing past st_size, and
// its last byte there (/proc says 0 and holds text, /sys says 4096 and
// holds 2). A file that grew since its stat reads as one that does not.
bool stat_tells_size(int fd, const struct stat& st, const std::string& shown) {
  auto probe = [&](off_t at) {
    std::uint8_t b;
    for (;;) {
      ssize_t r = ::pread(fd, &b, 1, at);
      if (r >= 0) return r;
      if (errno != EINTR) fpgaio::throw_errno("read error", errno, shown);
    }
  };
  return probe(st.st_size) == 0 && (st.st_size == 0 || probe(st.st_size - 1) == 1);
}

// Waits until a FIFO opened without blocking has a writer that wrote or
// went away (a read before would find no writer and end at once).
void wait_for_writer(int fd, const std::string& shown) {
  struct pollfd pfd = {fd, POLLIN, 0};
  while (::poll(&pfd, 1, -1) < 0)
    if (errno != EINTR) fpgaio::throw_errno("read error", errno, shown);
}

std::string base_name(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

Error part_error(const std::string& part, const std::string& why) {
  return Error(ErrorKind::corrupt, why).with_path(part);
}

// Opens a part file by its directory and its name there. Without O_NOFOLLOW
// for the part itself (a link to a part may be joined), but with --rm the
// name must be the file itself: removing a link would keep the data, and a
// name that names another file by the end is not removed (changed()).
std::shared_ptr<Held> hold(const std::string& operand, bool rm) {
  static std::map<std::string, std::shared_ptr<Fd>> dirs;  // one descriptor a directory
  auto h = std::make_shared<Held>();
  std::string dir = ".";
  h->entry = operand;
  auto slash = operand.rfind('/');
  if (slash != std::string::npos) {
    dir = slash == 0 ? "/" : operand.substr(0, slash);
    h->entry = operand.substr(slash + 1);
  }
  if (h->entry.empty()) throw Error(ErrorKind::usage, "not a regular file").with_path(operand);
  auto& d = dirs[dir];
  if (!d) {
    auto opened = std::make_shared<Fd>(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (opened->fd < 0) fpgaio::throw_errno("", errno, operand);
    d = opened;
  }
  h->dir_fd = d;
  // O_NONBLOCK: a FIFO under the name does not block the open.
  h->file = std::make_shared<Fd>(
      ::openat(h->dir(), h->entry.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (rm ? O_NOFOLLOW : 0)));
  if (h->fd() < 0) {
    if (rm && errno == ELOOP)
      throw Error(ErrorKind::usage, "a symbolic link: --rm removes only the parts themselves").with_path(operand);
    fpgaio::throw_errno("", errno, operand);
  }
  if (::fstat(h->fd(), &h->st) != 0) fpgaio::throw_errno("", errno, operand);
  int flags = ::fcntl(h->fd(), F_GETFL);
  if (flags >= 0) ::fcntl(h->fd(), F_SETFL, flags & ~O_NONBLOCK);
  return h;
}

// The file of a byte range, opened once for every range of it: the ranges
// are read through that descriptor from their check to their copy, so a file
// put in its place meanwhile is never read, and all of them read one file.
std::shared_ptr<Held> hold_range_file(const fpgaio::ByteRange& r, const std::string& operand) {
  static std::map<std::string, std::shared_ptr<Held>> files;
  auto& h = files[r.path];
  if (!h) {
    auto opened = std::make_shared<Held>();
    opened->file = std::make_shared<Fd>(::open(r.path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (opened->fd() < 0) fpgaio::throw_errno("", errno, r.path);
    if (::fstat(opened->fd(), &opened->st) != 0) fpgaio::throw_errno("", errno, r.path);
    if (!S_ISREG(opened->st.st_mode))
      throw Error(ErrorKind::usage, "a byte range needs a regular file").with_path(operand);
    int flags = ::fcntl(opened->fd(), F_GETFL);
    if (flags >= 0) ::fcntl(opened->fd(), F_SETFL, flags & ~O_NONBLOCK);
    h = opened;
  }
  auto size = static_cast<std::uint64_t>(h->st.st_size);
  if (r.offset > size || r.length > size - r.offset)
    throw Error(ErrorKind::usage, "range ends beyond the end of the file (" + std::to_string(size) + " bytes)")
        .with_path(operand);
  return h;
}

Part open_part(const std::string& operand, bool rm) {
  Part p;
  p.shown = operand;
  if (auto r = fpgaio::parse_range(operand)) {
    p.held = hold_range_file(*r, operand);
    p.data = p.held->file;
    p.st = p.held->st;
    p.base = r->offset;
    p.size = r->length;
    p.range = true;
    p.name = sp::PartName{r->path, r->index, std::stoull(r->index), ""};
    if (r->count) p.part = fpgaio::PartOf{std::stoull(r->index), *r->count, r->offset};
  } else if (operand == "-") {
    p.data = temp_copy(STDIN_FILENO, "stdin");
    if (::fstat(p.fd(), &p.st) != 0) fpgaio::throw_errno("", errno, operand);
    p.size = static_cast<std::uint64_t>(p.st.st_size);
    p.copied = true;
  } else {
    auto h = hold(operand, rm);
    p.st = h->st;
    p.name = sp::parse_part_name(operand);
    if (S_ISREG(h->st.st_mode)) {
      p.held = h;
      p.part = fpgaio::get_part(h->fd());  // a chunk file, or a tool's output for one
      if (stat_tells_size(h->fd(), h->st, operand)) {
        p.data = h->file;
        p.size = static_cast<std::uint64_t>(h->st.st_size);
      } else {
        // Read to learn its size, as GNU split does; joined as read, and
        // checked again at the end like any file.
        p.data = temp_copy(h->fd(), operand);
        p.size = size_of(p.fd(), operand);
      }
    } else if (S_ISFIFO(h->st.st_mode) || S_ISCHR(h->st.st_mode)) {
      if (S_ISFIFO(h->st.st_mode)) wait_for_writer(h->fd(), operand);
      p.data = temp_copy(h->fd(), operand);
      p.size = size_of(p.fd(), operand);
      p.copied = true;
    } else {
      throw Error(ErrorKind::usage, "not a regular file").with_path(operand);
    }
  }
  std::uint8_t head[512] = {};
  std::size_t got = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof head, p.size));
  fpgaio::pread_exact(p.fd(), head, got, p.base, operand);
  p.gzip = gz::has_gzip_magic(head, got);
  if (!p.gzip) {
    namespace ar = fpgaio::arrow;
    // A range of fpga-split --arrow --ranges: messages of a file whose
    // start holds their schema.
    if (p.range && p.base > 0 && ar::looks_like_arrow(p.fd(), 0, static_cast<std::uint64_t>(p.held->st.st_size))) {
      p.arrow = p.headless = true;
    } else {
      p.arrow = ar::looks_like_arrow(p.fd(), p.base, p.size);
      p.arrow_maybe = ar::starts_like_arrow(head, got);
      p.arrow_file = ar::has_file_magic(head, got);
    }
  }
  if (p.gzip) {
    // Our parts say which chunk they are in the first header (FP).
    try {
      if (auto h = gz::parse_header(head, got)) p.part = h->part;
    } catch (const Error&) {
      // damage is reported by the checks that follow
    }
  }
  if (p.name) p.index = p.name->index;
  else if (p.part) p.index = p.part->index;
  return p;
}

std::string index_list(const std::vector<std::uint64_t>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < 5; ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  if (v.size() > 5) s += ", ... (" + std::to_string(v.size()) + " in all)";
  return s;
}

// The name a missing chunk's part would have, going by another part's.
std::string likely_name(const Part& like, std::uint64_t index) {
  if (!like.name || like.range) return "";
  std::string digits = std::to_string(index + (like.name->index - like.part->index));
  if (digits.size() < like.name->index_text.size())
    digits.insert(0, like.name->index_text.size() - digits.size(), '0');
  return " (" + like.name->stem + "." + digits + like.name->suffix + ")";
}

// With every part saying which chunk of how many it is: in chunk order,
// each chunk exactly once, none missing, the last one included.
void order_by_part_count(std::vector<Part>& parts) {
  std::stable_sort(parts.begin(), parts.end(),
                   [](const Part& a, const Part& b) { return a.part->index < b.part->index; });
  std::uint64_t count = 0;
  const Part* counted = nullptr;
  for (const auto& p : parts) {
    if (!p.part->count) continue;
    if (count && p.part->count != count)
      throw Error(ErrorKind::usage, "parts of different splits: '" + counted->shown + "' is one of " +
                                        std::to_string(count) + " chunks, '" + p.shown + "' one of " +
                                        std::to_string(p.part->count));
    count = p.part->count;
    counted = &p;
  }
  for (std::size_t i = 1; i < parts.size(); ++i)
    if (parts[i].part->index == parts[i - 1].part->index)
      throw Error(ErrorKind::usage, "chunk " + std::to_string(parts[i].part->index) + " twice: '" +
                                        parts[i - 1].shown + "' and '" + parts[i].shown + "'");
  if (!count) {
    // Only a stream's last chunk knows the count: it is not here.
    std::uint64_t next = parts.back().part->index + 1;
    throw Error(ErrorKind::usage, "missing the last part: chunk " + std::to_string(next) + " or later" +
                                      likely_name(parts.back(), next) + " (no part given is the last chunk)");
  }
  for (const auto& p : parts)
    if (p.part->index >= count)
      throw Error(ErrorKind::usage, "chunk " + std::to_string(p.part->index) + " of only " + std::to_string(count))
          .with_path(p.shown);
  // The gaps, from the sorted indices (a damaged count of 2^60 costs nothing).
  std::vector<std::uint64_t> missing;
  std::uint64_t next = 0;
  for (std::size_t k = 0; k <= parts.size() && missing.size() < 6; ++k) {
    std::uint64_t upto = k < parts.size() ? parts[k].part->index : count;
    for (; next < upto && missing.size() < 6; ++next) missing.push_back(next);
    next = upto + 1;
  }
  if (!missing.empty()) {
    std::uint64_t total = count - parts.size();
    std::string list;
    for (std::size_t i = 0; i < missing.size() && i < 5; ++i) list += (i ? ", " : "") + std::to_string(missing[i]);
    if (total > 5) list += ", ... (" + std::to_string(total) + " in all)";
    throw Error(ErrorKind::usage, "missing part" + std::string(total > 1 ? "s" : "") + " for chunk" +
                                      (total > 1 ? "s " : " ") + list + " of " + std::to_string(count) +
                                      likely_name(parts.front(), missing.front()) + " (a job that failed?)");
  }
}

// Puts the parts in chunk order and checks that each chunk has exactly one.
// Returns false when completeness could not be checked (a warning).
bool order_parts(std::vector<Part>& parts, const std::optional<sp::Manifest>& manifest, bool as_given) {
  if (as_given) return true;
  bool all_counted = std::all_of(parts.begin(), parts.end(), [](const Part& p) { return p.part.has_value(); });
  if (!manifest && all_counted) {
    order_by_part_count(parts);
    return true;
  }
  for (const auto& p : parts)
    if (!p.name)
      throw Error(ErrorKind::usage, "no chunk number in the name (NAME.NUMBER[.SUFFIX]); use --as-given")
          .with_path(p.shown);
  if (!manifest) {
    for (const auto& p : parts) {
      if (p.name->stem != parts[0].name->stem || p.name->suffix != parts[0].name->suffix)
        throw Error(ErrorKind::usage, "parts of different inputs: '" + parts[0].shown + "' and '" + p.shown +
                                          "' (use --as-given to join them anyway)");
    }
  }
  std::stable_sort(parts.begin(), parts.end(),
                   [](const Part& a, const Part& b) { return a.index < b.index; });
  for (std::size_t i = 1; i < parts.size(); ++i)
    if (parts[i].name->index == parts[i - 1].name->index)
      throw Error(ErrorKind::usage, "chunk " + std::to_string(parts[i].name->index) + " twice: '" +
                                        parts[i - 1].shown + "' and '" + parts[i].shown + "'");
  std::uint64_t want = manifest ? manifest->chunks.size() : parts.back().name->index + 1;
  std::vector<std::uint64_t> missing;
  std::size_t k = 0;
  for (std::uint64_t i = 0; i < want; ++i) {
    if (k < parts.size() && parts[k].name->index == i) ++k;
    else missing.push_back(i);
  }
  if (!missing.empty())
    throw Error(ErrorKind::usage, "missing part" + std::string(missing.size() > 1 ? "s" : "") + " for chunk" +
                                      (missing.size() > 1 ? "s " : " ") + index_list(missing) + " of " +
                                      std::to_string(want) + " (a job that failed?)");
  if (k < parts.size())
    throw Error(ErrorKind::usage, "chunk " + std::to_string(parts[k].name->index) +
                                      " is not in the manifest, which lists " + std::to_string(want))
        .with_path(parts[k].shown);
  return manifest.has_value();
}

// Whether a part file is no longer what was joined: its size, times or
// content past what was read (for a whole file), or (with --rm) what its
// name names. A byte range's file is checked the same way, but for the
// bytes after the range, which are the next range's.
std::optional<std::string> changed(const Part& p, bool rm) {
  const struct stat& then = p.held->st;
  struct stat now;
  if (::fstat(p.held->fd(), &now) != 0) return std::string("cannot check the file: ") + std::strerror(errno);
  std::uint8_t more;
  ssize_t past = p.range ? 0 : ::pread(p.held->fd(), &more, 1, static_cast<off_t>(p.base + p.size));
  if (now.st_size != then.st_size || past != 0) return std::string("file size changed while joining");
  if (now.st_mtim.tv_sec != then.st_mtim.tv_sec || now.st_mtim.tv_nsec != then.st_mtim.tv_nsec ||
      now.st_ctim.tv_sec != then.st_ctim.tv_sec || now.st_ctim.tv_nsec != then.st_ctim.tv_nsec)
    return std::string("file changed while joining");
  if (rm) {
    struct stat named;
    if (::fstatat(p.held->dir(), p.held->entry.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0)
      return std::string("cannot check the name: ") + std::strerror(errno);
    if (named.st_dev != then.st_dev || named.st_ino != then.st_ino)
      return std::string("name replaced by another file while joining");
  }
  return std::nullopt;
}

class Joiner {
 public:
  explicit Joiner(Options o) : o_(std::move(o)) {}
  int run();

 private:
  void check_output(const std::vector<Part>& parts);
  std::uint64_t write(const std::vector<Part>& parts, fpgaio::Sink& out);
  std::vector<gz::JoinPart> check_gzip(const std::vector<Part>& parts);
  void check_plain(const std::vector<Part>& parts);

  Options o_;
  std::optional<sp::Manifest> manifest_;
  std::vector<gz::JoinPart> gz_parts_;
  std::vector<fpgaio::arrow::JoinPart> arrow_parts_;
  bool arrow_ = false, arrow_file_ = false;
  bool warned_ = false;
};

std::vector<gz::JoinPart> Joiner::check_gzip(const std::vector<Part>& parts) {
  unsigned threads = o_.threads ? o_.threads : fpgaio::default_threads();
  std::vector<gz::JoinPart> out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Part& p = parts[i];
    gz::JoinPart j;
    j.fd = p.fd();
    j.shown = p.shown;
    j.base = p.base;
    j.info = gz::scan_part(p.fd(), p.base, p.size, p.shown, o_.verify, threads);
    if (manifest_) {
      const auto& c = manifest_->chunks[p.name->index];
      if (j.info.data_bytes != c.bytes || j.info.crc != c.crc) {
        char got[16], want[16];
        std::snprintf(got, sizeof got, "%08" PRIx32, j.info.crc);
        std::snprintf(want, sizeof want, "%08" PRIx32, c.crc);
        throw part_error(p.shown, "holds " + std::to_string(j.info.data_bytes) + " bytes with CRC-32 " + got +
                                      ", but chunk " + std::to_string(c.index) + " in the manifest has " +
                                      std::to_string(c.bytes) + " with " + want);
      }
    }
    if (i == 0 && p.name && !p.range) {
      // The chunk file's name stands in for the input's in the first member.
      std::string stem = base_name(p.name->stem);
      j.rename = std::make_pair(stem + "." + p.name->index_text, stem);
    }
    out.push_back(std::move(j));
  }
  return out;
}

void Joiner::check_plain(const std::vector<Part>& parts) {
  if (!o_.lines) return;
  for (const auto& p : parts) {
    if (p.size == 0) continue;
    std::uint8_t last = 0;
    fpgaio::pread_exact(p.fd(), &last, 1, p.base + p.size - 1, p.shown);
    if (last != '\n') throw part_error(p.shown, "last line has no newline (truncated?)");
  }
}

// Where --rm may send the parts' content: somewhere that keeps it or passes
// it on, not /dev/null or a terminal.
bool keeps_data(const struct stat& st) { return S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode); }

void Joiner::check_output(const std::vector<Part>& parts) {
  struct stat st;
  bool have = false;
  if (!o_.output.empty()) {
    if (::stat(o_.output.c_str(), &st) == 0) {
      bool in_place = fpgaio::written_in_place(o_.output);  // /dev/null, a FIFO, /dev/stdout
      if (!o_.force && !in_place)
        throw Error(ErrorKind::io, "already exists;\tnot overwritten", EEXIST).with_path(o_.output);
      if (o_.rm && !keeps_data(st))
        throw Error(ErrorKind::usage, "not a regular file, FIFO or socket: --rm would lose the parts")
            .with_path(o_.output);
      have = true;
    }
  } else {
    bool known = ::fstat(STDOUT_FILENO, &st) == 0;
    have = known && S_ISREG(st.st_mode);
    if (o_.rm && known && !keeps_data(st))
      throw Error(ErrorKind::usage,
                  "standard output is not a regular file, pipe or socket (/dev/null?): --rm would lose the parts");
  }
  if (have)
    for (const auto& p : parts)
      if (fpgaio::same_file(st, p.st))
        throw Error(ErrorKind::usage, "the output is one of the parts").with_path(p.shown);
}

std::uint64_t Joiner::write(const std::vector<Part>& parts, fpgaio::Sink& out) {
  std::uint64_t total = 0, written = 0;
  for (const auto& p : parts) total += p.size;
  fpgacli::ProgressLine bar(o_.progress, o_.output.empty() ? "stdout" : o_.output, total);
  if (arrow_) {
    // Every part is scanned (metadata verified) before a byte is written.
    written = fpgaio::arrow::join(arrow_parts_, arrow_file_, out, [&](std::uint64_t done) { bar.update(done); }).bytes;
  } else if (!gz_parts_.empty()) {
    written = gz::join(gz_parts_, out, [&](std::uint64_t done, std::uint64_t) { bar.update(done); }).out_bytes;
  } else {
    std::uint64_t done = 0;
    for (const auto& p : parts) {
      fpgaio::copy_bytes(p.fd(), p.base, p.size, out, p.shown);
      bar.update(done += p.size);
    }
    out.flush();
    written = done;
  }
  bar.finish();
  return written;
}

int Joiner::run() {
  std::vector<Part> parts;
  try {
    if (!o_.manifest.empty()) manifest_ = sp::read_manifest(o_.manifest);
    if (o_.parts.empty()) {
      for (const auto& c : manifest_->chunks) {
        auto r = fpgaio::parse_range(c.name);
        o_.parts.push_back((r ? r->stem() : c.name) + o_.suffix);
      }
    }
    for (const auto& op : o_.parts) parts.push_back(open_part(op, o_.rm));
    if (o_.rm)
      for (const auto& p : parts)
        if (p.range || p.copied)
          throw Error(ErrorKind::usage, "--rm removes files, not byte ranges, standard input, pipes or devices")
              .with_path(p.shown);
    bool complete = order_parts(parts, manifest_, o_.as_given);
    if (!complete && !o_.quiet) {
      const Part* p = nullptr;
      for (const auto& q : parts)
        if (!q.part && !p) p = &q;
      fpgacli::report(p ? p->shown : "", "warning: carries no part count (made by gzip or pigz?): a missing last "
                                          "part cannot be found; give --manifest to check");
    }
    if (!complete) warned_ = true;
    bool gzip = std::any_of(parts.begin(), parts.end(), [](const Part& p) { return p.gzip; });
    for (const auto& p : parts)
      if (gzip && !p.gzip)
        throw part_error(p.shown, p.size ? "not gzip data, but other parts are (truncated or a wrong file?)"
                                         : "empty, but other parts are gzip data (a job that failed?)");
    bool arrow = std::any_of(parts.begin(), parts.end(), [](const Part& p) { return p.arrow; });
    for (auto& p : parts)
      if (arrow && p.arrow_maybe) p.arrow = true;
    for (const auto& p : parts)
      if (arrow && !p.arrow)
        throw part_error(p.shown, p.size ? "not Arrow IPC data, but other parts are (damaged or a wrong file?)"
                                         : "empty, but other parts are Arrow IPC data (a job that failed?)");
    if (arrow && manifest_)
      for (const auto& p : parts) {
        const auto& c = manifest_->chunks[p.name->index];
        if (!p.range && p.size != c.bytes)
          throw part_error(p.shown, "holds " + std::to_string(p.size) + " bytes, but chunk " + std::to_string(c.index) +
                                        " in the manifest has " + std::to_string(c.bytes) + " (truncated?)");
      }
    check_output(parts);
    if (arrow) {
      arrow_ = true;
      arrow_file_ = o_.arrow_file ||
                    (!o_.arrow_stream && std::all_of(parts.begin(), parts.end(), [](const Part& p) { return p.arrow_file; }));
      for (const auto& p : parts) {
        fpgaio::arrow::JoinPart j;
        j.fd = p.fd();
        j.base = p.base;
        j.size = p.size;
        j.shown = p.shown;
        j.headless = p.headless;
        j.schema_fd = p.headless ? p.held->fd() : -1;
        arrow_parts_.push_back(j);
      }
    } else if (gzip) gz_parts_ = check_gzip(parts);
    else check_plain(parts);

    if (o_.output.empty()) {
      if (gzip && fpgacli::is_tty(STDOUT_FILENO) && !o_.force)
        throw Error(ErrorKind::usage, "compressed data not written to a terminal; use -o FILE or -f");
      fpgaio::FdSink sink(STDOUT_FILENO, "stdout");
      write(parts, sink);
      if (!fpgacli::close_stdout()) return fpgacli::kError;
    } else {
      fpgaio::OutputFile out(o_.output, o_.force, fpgaio::OutputName::given);
      fpgaio::FdSink sink(out.fd(), o_.output);
      write(parts, sink);
      out.commit(nullptr);
    }
  } catch (const Error& e) {
    if (fpgacli::is_broken_pipe(e)) return fpgacli::broken_pipe(e.path);
    fpgacli::report(e);
    return fpgacli::kError;
  }
  int code = warned_ ? fpgacli::kWarning : fpgacli::kOk;
  for (const auto& p : parts) {
    if (!p.held || p.held->reported) continue;
    // gzip's warning for an input that changed while it was read: the output
    // holds the part as it was opened, and the part is kept (status 2).
    if (auto why = changed(p, o_.rm)) {
      p.held->reported = true;
      fpgacli::report(p.shown, *why + (o_.rm ? "; not removed" : ""));
      if (code == fpgacli::kOk) code = fpgacli::kWarning;
      continue;
    }
    if (o_.rm && ::unlinkat(p.held->dir(), p.held->entry.c_str(), 0) != 0) {
      fpgacli::report(p.shown, std::string("cannot remove: ") + std::strerror(errno));
      code = fpgacli::kError;
    }
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  fpgacli::set_program_name(argv[0]);
  // Every part is held open until the end: 1,000 parts need more than the
  // usual soft limit of 1,024 descriptors.
  struct rlimit nofile;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  fpgacli::install_signal_handlers();
  return Joiner(parse(argc, argv)).run();
}
