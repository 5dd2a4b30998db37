// Checked reads and writes, inputs, and the asynchronous sink.
#include "fpgaio/io.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "fpgaio/dir.hpp"
#include "fpgaio/error.hpp"

namespace fpgaio {

namespace detail {
Syscalls& syscalls() {
  static Syscalls s{::read, ::write};
  return s;
}
}  // namespace detail

void full_write(int fd, const void* data, std::size_t n, const std::string& path) {
  auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = detail::syscalls().write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_errno("write error", errno, path);
    }
    if (w == 0) throw_errno("write error", ENOSPC, path);
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

std::size_t read_some(int fd, void* data, std::size_t n, const std::string& path) {
  for (;;) {
    ssize_t r = detail::syscalls().read(fd, data, n);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) throw_errno("read error", errno, path);
  }
}

std::size_t full_read(int fd, void* data, std::size_t n, const std::string& path) {
  auto* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = detail::syscalls().read(fd, p + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("read error", errno, path);
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

namespace {
bool parse_u64(const std::string& s, std::size_t b, std::size_t e, std::uint64_t& out) {
  if (b >= e) return false;
  out = 0;
  for (std::size_t i = b; i < e; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    unsigned d = static_cast<unsigned>(s[i] - '0');
    if (out > (UINT64_MAX - d) / 10) throw Error(ErrorKind::usage, "number too large in range '" + s + "'");
    out = out * 10 + d;
  }
  return true;
}
}  // namespace

std::string ByteRange::operand() const {
  return path + "@" + index + (count ? "/" + std::to_string(*count) : "") + ":" + std::to_string(offset) + "+" +
         std::to_string(length);
}

std::optional<ByteRange> parse_range(const std::string& s) {
  const char* off = std::getenv("FPGA_NO_RANGES");
  if (off && *off && std::string(off) != "0") return std::nullopt;
  auto at = s.rfind('@');
  if (at == std::string::npos || at == 0) return std::nullopt;
  auto colon = s.find(':', at);
  if (colon == std::string::npos) return std::nullopt;
  auto plus = s.find('+', colon);
  if (plus == std::string::npos) return std::nullopt;
  auto slash = s.find('/', at);
  if (slash != std::string::npos && slash > colon) return std::nullopt;
  std::size_t index_end = slash == std::string::npos ? colon : slash;
  for (std::size_t i = at + 1; i < s.size(); ++i)
    if (i != colon && i != plus && i != slash && (s[i] < '0' || s[i] > '9')) return std::nullopt;
  ByteRange r;
  std::uint64_t idx, count = 0;
  if (!parse_u64(s, at + 1, index_end, idx) || !parse_u64(s, colon + 1, plus, r.offset) ||
      !parse_u64(s, plus + 1, s.size(), r.length) ||
      (slash != std::string::npos && !parse_u64(s, slash + 1, colon, count)))
    return std::nullopt;
  if (r.offset + r.length < r.offset) throw Error(ErrorKind::usage, "range '" + s + "' overflows");
  if (slash != std::string::npos) {
    if (idx >= count)
      throw Error(ErrorKind::usage, "range '" + s + "': chunk " + std::to_string(idx) + " of " +
                                        std::to_string(count) + " does not exist");
    r.count = count;
  }
  r.path = s.substr(0, at);
  r.index = s.substr(at + 1, index_end - at - 1);
  return r;
}

std::optional<std::uint64_t> parse_size(const std::string& s, std::uint64_t unit) {
  std::size_t i = 0;
  std::uint64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    unsigned d = static_cast<unsigned>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  std::string suf = s.substr(i);
  // A unit alone is one of it (GNU's xstrtoumax: `split -b K` is 1K).
  if (i == 0) {
    if (suf.empty()) return std::nullopt;
    v = 1;
  }
  std::uint64_t mul = unit;
  if (suf == "b") {
    mul = 512;
  } else if (!suf.empty()) {
    static const std::string units = "KMGTPE";
    char u = suf[0] == 'k' ? 'K' : suf[0] == 'm' ? 'M' : suf[0] == 'g' ? 'G' : suf[0];
    auto power = units.find(u);
    if (power == std::string::npos) return std::nullopt;
    std::string rest = suf.substr(1);
    std::uint64_t base;
    if (rest.empty() || rest == "iB") base = 1024;
    else if (rest == "B") base = 1000;
    else return std::nullopt;
    mul = 1;
    for (std::size_t k = 0; k <= power; ++k) mul *= base;
  }
  if (mul && v > UINT64_MAX / mul) return std::nullopt;
  return v * mul;
}

std::string format_part(const PartOf& p) {
  return std::to_string(p.index) + "/" + std::to_string(p.count) + " " + std::to_string(p.offset);
}

std::optional<PartOf> parse_part(const std::string& t) {
  auto slash = t.find('/'), space = t.find(' ');
  if (slash == std::string::npos || space == std::string::npos || space < slash) return std::nullopt;
  PartOf p;
  try {
    if (!parse_u64(t, 0, slash, p.index) || !parse_u64(t, slash + 1, space, p.count) ||
        !parse_u64(t, space + 1, t.size(), p.offset))
      return std::nullopt;
  } catch (const Error&) {
    return std::nullopt;
  }
  if (p.count && p.index >= p.count) return std::nullopt;
  return p;
}

bool set_part(int fd, const PartOf& p) {
  std::string v = format_part(p);
  return ::fsetxattr(fd, kPartXattr, v.data(), v.size(), 0) == 0;
}

std::optional<PartOf> get_part(int fd) {
  char buf[96];
  ssize_t n = ::fgetxattr(fd, kPartXattr, buf, sizeof buf);
  if (n <= 0) return std::nullopt;
  return parse_part(std::string(buf, static_cast<std::size_t>(n)));
}

std::optional<PartOf> Input::part() const {
  if (range_) {
    if (!range_->count) return std::nullopt;
    return PartOf{std::stoull(range_->index), *range_->count, range_->offset};
  }
  if (is_stdin_) {
    // fpga-split --filter says which chunk it pipes in.
    const char* e = std::getenv("FPGA_PART");
    return e ? parse_part(e) : std::nullopt;
  }
  if (!is_regular() || fd_ < 0) return std::nullopt;
  return get_part(fd_);
}

void pread_exact(int fd, void* data, std::size_t n, std::uint64_t offset, const std::string& path) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("read error", errno, path);
    }
    if (r == 0) throw Error(ErrorKind::corrupt, "unexpected end of file").at(offset).with_path(path);
    p += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
}

ReadFile::ReadFile(const std::string& path, std::string shown)
    : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)), shown_(shown.empty() ? path : std::move(shown)) {
  if (fd_ < 0) throw_errno("", errno, shown_);
}

ReadFile::~ReadFile() { ::close(fd_); }

bool FdSink::discards() const {
  struct stat st {};
  return ::fstat(fd_, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);  // /dev/null
}

std::uint64_t FdSink::splice_from(int fd, std::uint64_t offset, std::uint64_t length) {
  std::uint64_t done = 0;
  while (done < length) {
    off64_t off = static_cast<off64_t>(offset + done);
    ssize_t n = ::copy_file_range(fd, &off, fd_, nullptr, static_cast<std::size_t>(std::min<std::uint64_t>(length - done, 1u << 30)), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Pipes, other file systems, old kernels, O_APPEND: copy by hand.
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == EBADF) break;
      throw_errno("write error", errno, name_);
    }
    if (n == 0) break;  // the source ended: the caller's pread says how
    done += static_cast<std::uint64_t>(n);
  }
  return done;
}

void copy_bytes(int fd, std::uint64_t offset, std::uint64_t length, Sink& out, const std::string& path) {
  std::uint64_t spliced = out.splice_from(fd, offset, length);
  offset += spliced;
  length -= spliced;
  if (length == 0) return;
  Bytes buf(static_cast<std::size_t>(std::min<std::uint64_t>(length, 1 << 20)));
  while (length > 0) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(length, buf.size()));
    pread_exact(fd, buf.data(), n, offset, path);
    out.write(buf.data(), n);
    offset += n;
    length -= n;
  }
}

Input::Input(const ByteRange& range) : range_(range), remaining_(range.length) {
  open_path(range.path);
  name_ = range.operand();
  if (!S_ISREG(st_.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw Error(ErrorKind::usage, "a byte range needs a regular file").with_path(name_);
  }
  std::uint64_t size = static_cast<std::uint64_t>(st_.st_size);
  if (range.offset > size || range.length > size - range.offset) {
    ::close(fd_);
    fd_ = -1;
    throw Error(ErrorKind::usage, "range ends beyond the end of the file (" + std::to_string(size) + " bytes)")
        .with_path(name_);
  }
  if (::lseek(fd_, static_cast<off_t>(range.offset), SEEK_SET) < 0) throw_errno("cannot seek", errno, name_);
  st_.st_size = static_cast<off_t>(range.length);
}

std::size_t Input::clamp(std::size_t n) const {
  if (!range_) return n;
  return remaining_ < n ? static_cast<std::size_t>(remaining_) : n;
}

void Input::range_ended() const {
  // A range promised its bytes: a file that shrank since is an error, not a
  // quietly shorter chunk.
  throw Error(ErrorKind::io, "file ended inside the range (changed since it was split?)").with_path(name_);
}

Input::Input(int fd, std::uint64_t offset, std::uint64_t length, std::string shown)
    : owned_(false), at_(offset), name_(std::move(shown)), remaining_(length) {
  fd_ = fd;
  range_ = ByteRange{name_, "", offset, length, std::nullopt};
  if (::fstat(fd_, &st_) != 0) throw_errno("", errno, name_);
  st_.st_size = static_cast<off_t>(length);
}

// From the file offset (read), or by pread from at_ on a held descriptor.
std::size_t Input::read_at(void* buf, std::size_t n, bool full) {
  if (!at_) return full ? full_read(fd_, buf, n, name_) : fpgaio::read_some(fd_, buf, n, name_);
  auto* p = static_cast<char*>(buf);
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd_, p + got, n - got, static_cast<off_t>(*at_));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("read error", errno, name_);
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
    *at_ += static_cast<std::uint64_t>(r);
    if (!full) break;
  }
  return got;
}

std::size_t Input::read(void* buf, std::size_t n) {
  std::size_t want = clamp(n);
  std::size_t got = read_at(buf, want, true);
  if (range_) {
    if (got < want) range_ended();
    remaining_ -= got;
  }
  return got;
}

std::size_t Input::read_some(void* buf, std::size_t n) {
  std::size_t want = clamp(n);
  if (want == 0) return 0;
  std::size_t got = read_at(buf, want, false);
  if (range_) {
    if (got == 0) range_ended();
    remaining_ -= got;
  }
  return got;
}

Input::Input(const std::string& path) { open_path(path); }

void Input::open_path(const std::string& path) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
    is_stdin_ = true;
    name_ = "stdin";
  } else {
    name_ = path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd_ < 0) throw_errno("", errno, path);
  }
  if (::fstat(fd_, &st_) != 0) throw_errno("", errno, name_);
  after_open();
}

Input::Input(const Dir& dir, const std::string& name, const struct stat* checked, bool follow) {
  name_ = dir.shown(name);
  fd_ = open_checked(dir, name, checked, follow, st_);
  after_open();
}

void Input::after_open() {
  if (S_ISDIR(st_.st_mode)) {
    if (!is_stdin_) ::close(fd_);
    fd_ = -1;
    Error e(ErrorKind::io, "is a directory", EISDIR);
    e.path = name_;
    throw e;
  }
  if (S_ISREG(st_.st_mode)) ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

Input::~Input() {
  if (fd_ >= 0 && owned_ && !(is_stdin_ && fd_ == STDIN_FILENO)) ::close(fd_);
}

void Input::learn_size(std::size_t probe, std::uint64_t limit) {
  if (!is_regular() || range_ || fd_ < 0 || !owned_) return;
  const auto said = static_cast<std::uint64_t>(st_.st_size);
  Bytes head(probe);
  std::size_t got = 0;
  while (got < probe) {
    ssize_t r = ::pread(fd_, head.data() + got, probe - got, static_cast<off_t>(got));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("read error", errno, name_);
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  if (got < probe ? got == said : said >= probe) return;  // the stat tells the truth (as far as GNU split looks)
  // A copy of what the file holds: its size is known, and the chunks hold
  // what was read, however the file changes between reads.
  int copy = ::memfd_create("fpga-tools-input", MFD_CLOEXEC);
  if (copy < 0) throw_errno("cannot determine file size", errno, name_);
  struct Closer {
    int& fd;
    ~Closer() { if (fd >= 0) ::close(fd); }
  } closer{copy};
  full_write(copy, head.data(), got, name_);
  std::uint64_t total = got;
  if (got == probe) {
    for (;;) {
      ssize_t r = ::pread(fd_, head.data(), head.size(), static_cast<off_t>(total));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw_errno("read error", errno, name_);
      }
      if (r == 0) break;
      total += static_cast<std::uint64_t>(r);
      if (total > limit)
        throw Error(ErrorKind::io, "cannot determine file size: it says " + std::to_string(said) +
                                       " bytes and holds more than " + std::to_string(limit))
            .with_path(name_);
      full_write(copy, head.data(), static_cast<std::size_t>(r), name_);
    }
  }
  replace_with_copy(copy, total);
  copy = -1;
}

// From here on the input is `copy`, a file of `size` bytes (it owns it).
void Input::replace_with_copy(int copy, std::uint64_t size) {
  if (!(is_stdin_ && fd_ == STDIN_FILENO)) ::close(fd_);
  fd_ = copy;
  st_.st_size = static_cast<off_t>(size);
  if (::lseek(fd_, 0, SEEK_SET) < 0) throw_errno("cannot seek", errno, name_);
}

void Input::learn_stream_size(std::size_t probe) {
  if (is_regular() || range_ || fd_ < 0) return;
  Bytes buf(std::max<std::size_t>(probe, 1 << 16));
  const bool seekable = ::lseek(fd_, 0, SEEK_CUR) >= 0;
  // A seekable device: GNU split's probe. Reading it all could take for
  // ever (/dev/zero), so more than the probe is refused.
  const std::size_t cap = seekable ? probe : buf.size();
  int copy = -1;
  if (seekable) {
    copy = ::memfd_create("fpga-tools-input", MFD_CLOEXEC);  // the probe's bytes at most
    if (copy < 0) throw_errno("cannot determine file size", errno, name_);
  } else {
    // A stream may be large: on disk, not in memory, and nameless (a file
    // system without O_TMPFILE gets a name removed at once).
    const char* env = std::getenv("TMPDIR");
    const std::string dir = env && *env ? env : "/tmp";
    copy = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (copy < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
      std::string tmpl = dir + "/fpga-tools-input.XXXXXX";
      copy = ::mkostemp(tmpl.data(), O_CLOEXEC);
      if (copy >= 0) ::unlink(tmpl.c_str());
    }
    if (copy < 0) throw_errno("cannot make a temporary copy of the stream in " + dir, errno, name_);
  }
  struct Closer {
    int& fd;
    ~Closer() { if (fd >= 0) ::close(fd); }
  } closer{copy};
  std::uint64_t total = 0;
  for (;;) {
    std::size_t want = seekable ? cap - static_cast<std::size_t>(total) + 1 : buf.size();
    ssize_t r = ::read(fd_, buf.data(), std::min(want, buf.size()));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("read error", errno, name_);
    }
    if (r == 0) break;
    total += static_cast<std::uint64_t>(r);
    if (seekable && total > cap) throw_errno("cannot determine file size", EOVERFLOW, name_);
    full_write(copy, buf.data(), static_cast<std::size_t>(r), name_);
  }
  replace_with_copy(copy, total);
  copy = -1;
}

AsyncSink::AsyncSink(Sink& inner, std::size_t max_pending, std::size_t max_spare, std::size_t max_pending_bytes,
                     std::size_t wake_bytes)
    : inner_(inner),
      max_pending_(max_pending ? max_pending : 1),
      max_spare_(max_spare ? max_spare : max_pending_),
      max_pending_bytes_(max_pending_bytes),
      wake_bytes_(wake_bytes),
      direct_(inner.discards()) {
  if (!direct_) thread_ = std::thread([this] { run(); });
}

AsyncSink::~AsyncSink() {
  if (direct_) return;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  thread_.join();
}

Bytes AsyncSink::acquire() {
  std::lock_guard<std::mutex> lk(mu_);
  if (spare_.empty()) return {};
  Bytes b = std::move(spare_.back());
  spare_.pop_back();
  return b;
}

void AsyncSink::write(const std::uint8_t* data, std::size_t n) {
  if (direct_) return inner_.write(data, n);
  Bytes b = acquire();
  detail::reserve_huge(b, n);
  b.assign(data, data + n);
  write(std::move(b));
}

void AsyncSink::write(Bytes&& buf) {
  std::unique_lock<std::mutex> lk(mu_);
  if (direct_) {
    lk.unlock();
    inner_.write(buf.data(), buf.size());
    lk.lock();
    if (spare_.size() < max_spare_) spare_.push_back(std::move(buf));
    return;
  }
  const std::size_t n = buf.size();
  auto room = [&] {
    return error_ || queue_.empty() ||
           (queue_.size() < max_pending_ && (max_pending_bytes_ == 0 || queued_bytes_ + n <= max_pending_bytes_));
  };
  if (!room()) {
    work_cv_.notify_one();  // a sleeping writer is what frees the room
    room_cv_.wait(lk, room);
  }
  if (error_) std::rethrow_exception(error_);
  queued_bytes_ += n;
  queue_.push_back(std::move(buf));
  if (queued_bytes_ >= wake_bytes_ || queue_.size() >= max_pending_) work_cv_.notify_one();
}

void AsyncSink::wake() {
  std::lock_guard<std::mutex> lk(mu_);
  if (!queue_.empty()) work_cv_.notify_one();
}

void AsyncSink::flush() {
  if (direct_) return inner_.flush();
  std::unique_lock<std::mutex> lk(mu_);
  if (!queue_.empty()) work_cv_.notify_one();
  room_cv_.wait(lk, [&] { return (queue_.empty() && !busy_) || error_; });
  if (error_) std::rethrow_exception(error_);
  lk.unlock();
  inner_.flush();
}

void AsyncSink::run() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    work_cv_.wait(lk, [&] { return !queue_.empty() || stop_; });
    if (queue_.empty()) return;
    Bytes b = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= b.size();
    if (!error_) {  // nothing more is written after an error
      busy_ = true;
      lk.unlock();
      std::exception_ptr failed;
      try {
        inner_.write(b.data(), b.size());
      } catch (...) {
        failed = std::current_exception();
      }
      lk.lock();
      busy_ = false;
      if (failed) error_ = failed;
      else if (spare_.size() < max_spare_) spare_.push_back(std::move(b));
    }
    room_cv_.notify_all();  // (no system call when nobody waits)
  }
}

}  // namespace fpgaio
