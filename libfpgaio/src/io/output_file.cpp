// Output files written under a temporary name (or none at all) and given
// their final name on commit, in a directory held by descriptor.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "fpgaio/dir.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/io.hpp"

namespace fpgaio {

namespace {
// Temporary names the signal handler removes. Fixed-size so the handler need
// not lock or allocate; the entries are owned by their OutputFile.
using TempEntry = OutputFile::TempEntry;
constexpr int kSlots = 64;
std::atomic<const TempEntry*> g_slots[kSlots];
std::atomic<bool> g_anonymous_temps{true};

int register_temp(const TempEntry* e) {
  for (int i = 0; i < kSlots; ++i) {
    const TempEntry* expected = nullptr;
    if (g_slots[i].compare_exchange_strong(expected, e)) return i;
  }
  return -1;  // more than 64 outputs at once: still removed by the destructor
}

void unregister_temp(int slot) {
  if (slot >= 0) g_slots[slot].store(nullptr);
}

int rename_noreplace(int dir, const char* from, const char* to) {
#ifdef SYS_renameat2
  if (::syscall(SYS_renameat2, dir, from, dir, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
#endif
  // Filesystems without RENAME_NOREPLACE: link() also refuses an existing target.
  if (::linkat(dir, from, dir, to, 0) != 0) return -1;
  ::unlinkat(dir, from, 0);
  return 0;
}

// Gives the unnamed file behind fd the name `to` in directory `dir`; fails
// with EEXIST when it exists. Through /proc (any user), else AT_EMPTY_PATH
// (needs privilege).
int link_anonymous(int fd, int dir, const std::string& to) {
  char proc[64];
  std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (::linkat(AT_FDCWD, proc, dir, to.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
  if (errno != ENOENT && errno != EPERM && errno != EACCES) return -1;
  return ::linkat(fd, "", dir, to.c_str(), AT_EMPTY_PATH);
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^ static_cast<std::uint64_t>(::getpid()));
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s(6, 'x');
  for (auto& c : s) c = alphabet[rng() % (sizeof alphabet - 1)];
  return s;
}
// The descriptor a name stands for: /dev/stdout, /dev/stderr, /dev/fd/N,
// /proc/self/fd/N; -1 for any other name.
int descriptor_named(const std::string& path) {
  if (path == "/dev/stdout") return STDOUT_FILENO;
  if (path == "/dev/stderr") return STDERR_FILENO;
  for (const char* dir : {"/dev/fd/", "/proc/self/fd/"}) {
    std::string d(dir);
    if (path.size() > d.size() && path.compare(0, d.size(), d) == 0 && path.size() - d.size() <= 6 &&
        path.find_first_not_of("0123456789", d.size()) == std::string::npos)
      return std::atoi(path.c_str() + d.size());
  }
  return -1;
}

}  // namespace

void remove_registered_temp_files() noexcept {
  for (auto& s : g_slots) {
    const TempEntry* e = s.exchange(nullptr);
    if (e) ::unlinkat(e->dir_fd, e->name, 0);
  }
}

void OutputFile::use_anonymous_temps(bool on) { g_anonymous_temps = on; }

bool written_in_place(const std::string& path) {
  if (descriptor_named(path) >= 0) return true;
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

OutputFile::OutputFile(std::string path, bool overwrite, OutputName kind)
    : path_(std::move(path)), overwrite_(overwrite) {
  auto slash = path_.rfind('/');
  dir_ = slash == std::string::npos ? "" : path_.substr(0, slash + 1);
  base_ = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  int named = kind == OutputName::given ? descriptor_named(path_) : -1;
  if (named >= 0) {
    // -o /dev/stdout: the descriptor the shell opened, at its offset (a
    // reopen would start at 0 and overwrite what is before, or ignore >>).
    fd_ = ::fcntl(named, F_DUPFD_CLOEXEC, 0);
    if (fd_ < 0) throw_errno("", errno, path_);
    direct_ = true;
    return;
  }
  if (kind == OutputName::given && written_in_place(path_)) {
    // -o /dev/null, a FIFO: what the user named is written in place, never
    // replaced; regular() tells callers that no input may be removed.
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) throw_errno("", errno, path_);
    direct_ = true;
    return;
  }
  dir_fd_ = ::open(dir_.empty() ? "." : dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) throw_errno("", errno, path_);
  create_or_close();
}

OutputFile::OutputFile(const Dir& dir, const std::string& name, bool overwrite)
    : path_(dir.shown(name)), dir_(dir.prefix()), base_(name), overwrite_(overwrite) {
  dir_fd_ = ::fcntl(dir.fd(), F_DUPFD_CLOEXEC, 0);
  if (dir_fd_ < 0) throw_errno("", errno, path_);
  create_or_close();
}

// A constructor that throws runs no destructor: the directory's descriptor
// is closed here, or a walk that meets a thousand unwritable folders runs
// out of descriptors.
void OutputFile::create_or_close() {
  try {
    create_unnamed();
  } catch (...) {
    ::close(dir_fd_);
    dir_fd_ = -1;
    throw;
  }
}

void OutputFile::create_unnamed() {
  struct stat st;
  // A name the tool chose is never followed: an existing one (a symlink to
  // /dev/null included) is replaced by a regular file on commit, with -f.
  if (!overwrite_ && ::fstatat(dir_fd_, base_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) throw_errno("", EEXIST, path_);
  if (g_anonymous_temps && ::access("/proc/self/fd", X_OK) == 0) {
    // Unnamed until commit: nothing is left behind, whatever kills us.
    fd_ = ::openat(dir_fd_, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd_ >= 0) return;
  }
  for (int tries = 0;; ++tries) {
    tmp_ = "." + base_ + "." + random_suffix();
    fd_ = ::openat(dir_fd_, tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ >= 0) break;
    int err = errno;
    tmp_.clear();
    if (err != EEXIST || tries > 100) throw_errno("", err, path_);
  }
  register_tmp();
}

void OutputFile::register_tmp() {
  entry_ = TempEntry{dir_fd_, tmp_.c_str()};
  slot_ = register_temp(&entry_);
}

void OutputFile::unregister_tmp() {
  unregister_temp(slot_);
  slot_ = -1;
}

OutputFile::~OutputFile() {
  discard();
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

std::string OutputFile::readable_path() const {
  if (direct_) return path_;
  if (tmp_.empty()) return "/proc/self/fd/" + std::to_string(fd_);
  // The directory by its descriptor where /proc shows it, never re-resolved.
  if (::access("/proc/self/fd", X_OK) == 0) return "/proc/self/fd/" + std::to_string(dir_fd_) + "/" + tmp_;
  return dir_ + tmp_;
}

int OutputFile::open_readable() const {
  int r = direct_ ? ::open(path_.c_str(), O_RDONLY | O_CLOEXEC)
          : tmp_.empty() ? ::open(("/proc/self/fd/" + std::to_string(fd_)).c_str(), O_RDONLY | O_CLOEXEC)
                         : ::openat(dir_fd_, tmp_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (r < 0) throw_errno("cannot read back", errno, path_);
  return r;
}

void OutputFile::discard() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!tmp_.empty()) {
    unregister_tmp();
    ::unlinkat(dir_fd_, tmp_.c_str(), 0);
    tmp_.clear();
  }
}

void OutputFile::link_into_place() {
  if (!overwrite_) {
    if (link_anonymous(fd_, dir_fd_, base_) != 0) throw_errno("", errno, path_);
    return;
  }
  // Replacing needs a rename, and a rename needs a name: link under a
  // temporary one (registered for the signal handler), then rename.
  for (int tries = 0;; ++tries) {
    tmp_ = "." + base_ + "." + random_suffix();
    register_tmp();
    if (link_anonymous(fd_, dir_fd_, tmp_) == 0) break;
    int err = errno;
    unregister_tmp();
    tmp_.clear();
    if (err != EEXIST || tries > 100) throw_errno("", err, path_);
  }
  if (::renameat(dir_fd_, tmp_.c_str(), dir_fd_, base_.c_str()) != 0) throw_errno("", errno, path_);
  unregister_tmp();
  tmp_.clear();
}

void OutputFile::commit(const struct stat* meta, bool synchronous) {
  if (direct_) {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw_errno("write error", errno, path_);
    return;
  }
  if (meta) {
    if (::fchown(fd_, meta->st_uid, meta->st_gid) != 0) {
      // Not fatal (gzip does the same): keep the group if we can.
      (void)!::fchown(fd_, -1, meta->st_gid);
    }
    if (::fchmod(fd_, meta->st_mode & 0777) != 0) throw_errno("cannot set mode", errno, path_);
    struct timespec times[2] = {meta->st_atim, meta->st_mtim};
    if (::futimens(fd_, times) != 0) throw_errno("cannot set times", errno, path_);
  } else {
    mode_t mask = ::umask(0);
    ::umask(mask);
    if (::fchmod(fd_, 0666 & ~mask) != 0) throw_errno("cannot set mode", errno, path_);
  }
  // Write errors that surface only on close (NFS, quotas) surface on any
  // descriptor's close: check them before the file gets its name.
  int probe = ::dup(fd_);
  if (probe < 0 || ::close(probe) != 0) throw_errno("write error", errno, path_);
  if (synchronous && ::fsync(fd_) != 0) throw_errno("write error", errno, path_);
  if (tmp_.empty()) {
    link_into_place();
  } else {
    int rc = overwrite_ ? ::renameat(dir_fd_, tmp_.c_str(), dir_fd_, base_.c_str())
                        : rename_noreplace(dir_fd_, tmp_.c_str(), base_.c_str());
    if (rc != 0) throw_errno("", errno, path_);
    unregister_tmp();
    tmp_.clear();
  }
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw_errno("write error", errno, path_);
  if (synchronous) {
    int dfd = ::openat(dir_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) throw_errno("write error", errno, path_);
    int rc = ::fsync(dfd), err = errno;
    ::close(dfd);
    if (rc != 0 && err != EINVAL) throw_errno("write error", err, path_);
  }
}

}  // namespace fpgaio
