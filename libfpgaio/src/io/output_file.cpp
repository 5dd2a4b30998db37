// Output files written under a temporary name (or none at all) and given
// their final name on commit.
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

#include "fpgaio/error.hpp"
#include "fpgaio/io.hpp"

namespace fpgaio {

namespace {
// Paths the signal handler removes. Fixed-size so the handler need not lock
// or allocate; the strings are owned by their OutputFile.
constexpr int kSlots = 64;
std::atomic<const char*> g_slots[kSlots];
std::atomic<bool> g_anonymous_temps{true};

int register_temp(const char* p) {
  for (int i = 0; i < kSlots; ++i) {
    const char* expected = nullptr;
    if (g_slots[i].compare_exchange_strong(expected, p)) return i;
  }
  return -1;  // more than 64 outputs at once: still removed by the destructor
}

void unregister_temp(int slot) {
  if (slot >= 0) g_slots[slot].store(nullptr);
}

int rename_noreplace(const char* from, const char* to) {
#ifdef SYS_renameat2
  if (::syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
#endif
  // Filesystems without RENAME_NOREPLACE: link() also refuses an existing target.
  if (::link(from, to) != 0) return -1;
  ::unlink(from);
  return 0;
}

// Gives the unnamed file behind fd the name `to`; fails with EEXIST when it
// exists. Through /proc (any user), else AT_EMPTY_PATH (needs privilege).
int link_anonymous(int fd, const std::string& to) {
  char proc[64];
  std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (::linkat(AT_FDCWD, proc, AT_FDCWD, to.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
  if (errno != ENOENT && errno != EPERM && errno != EACCES) return -1;
  return ::linkat(fd, "", AT_FDCWD, to.c_str(), AT_EMPTY_PATH);
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
    const char* p = s.exchange(nullptr);
    if (p) ::unlink(p);
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
  struct stat st;
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
  // A name the tool chose is never followed: an existing one (a symlink to
  // /dev/null included) is replaced by a regular file on commit, with -f.
  if (!overwrite_ && ::lstat(path_.c_str(), &st) == 0) throw_errno("", EEXIST, path_);
  if (g_anonymous_temps && ::access("/proc/self/fd", X_OK) == 0) {
    // Unnamed until commit: nothing is left behind, whatever kills us.
    fd_ = ::open(dir_.empty() ? "." : dir_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd_ >= 0) return;
  }
  tmp_ = dir_ + "." + base_ + ".XXXXXX";
  fd_ = ::mkostemp(tmp_.data(), O_CLOEXEC);  // mode 0600
  if (fd_ < 0) {
    int err = errno;
    tmp_.clear();
    throw_errno("", err, path_);
  }
  slot_ = register_temp(tmp_.c_str());
}

OutputFile::~OutputFile() { discard(); }

std::string OutputFile::readable_path() const {
  if (direct_) return path_;
  if (!tmp_.empty()) return tmp_;
  return "/proc/self/fd/" + std::to_string(fd_);
}

void OutputFile::discard() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!tmp_.empty()) {
    unregister_temp(slot_);
    ::unlink(tmp_.c_str());
    tmp_.clear();
  }
}

void OutputFile::link_into_place() {
  if (!overwrite_) {
    if (link_anonymous(fd_, path_) != 0) throw_errno("", errno, path_);
    return;
  }
  // Replacing needs a rename, and a rename needs a name: link under a
  // temporary one (registered for the signal handler), then rename.
  for (int tries = 0;; ++tries) {
    tmp_ = dir_ + "." + base_ + "." + random_suffix();
    slot_ = register_temp(tmp_.c_str());
    if (link_anonymous(fd_, tmp_) == 0) break;
    int err = errno;
    unregister_temp(slot_);
    tmp_.clear();
    if (err != EEXIST || tries > 100) throw_errno("", err, path_);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) throw_errno("", errno, path_);
  unregister_temp(slot_);
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
    int rc = overwrite_ ? ::rename(tmp_.c_str(), path_.c_str()) : rename_noreplace(tmp_.c_str(), path_.c_str());
    if (rc != 0) throw_errno("", errno, path_);
    unregister_temp(slot_);
    tmp_.clear();
  }
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw_errno("write error", errno, path_);
  if (synchronous) {
    int dfd = ::open(dir_.empty() ? "." : dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) throw_errno("write error", errno, path_);
    int rc = ::fsync(dfd), err = errno;
    ::close(dfd);
    if (rc != 0 && err != EINVAL) throw_errno("write error", err, path_);
  }
}

}  // namespace fpgaio
