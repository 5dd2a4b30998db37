// Output files written under a temporary name and renamed on commit.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "fpgaio/error.hpp"
#include "fpgaio/io.hpp"

namespace fpgaio {

namespace {
// Paths the signal handler removes. Fixed-size so the handler need not lock
// or allocate; the strings are owned by their OutputFile.
constexpr int kSlots = 64;
std::atomic<const char*> g_slots[kSlots];

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
}  // namespace

void remove_registered_temp_files() noexcept {
  for (auto& s : g_slots) {
    const char* p = s.exchange(nullptr);
    if (p) ::unlink(p);
  }
}

OutputFile::OutputFile(std::string path, bool overwrite) : path_(std::move(path)), overwrite_(overwrite) {
  auto slash = path_.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path_.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    // /dev/null, a FIFO, /dev/stdout: written in place, never replaced.
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) throw_errno("", errno, path_);
    direct_ = true;
    return;
  }
  if (!overwrite_ && ::lstat(path_.c_str(), &st) == 0) throw_errno("", EEXIST, path_);
  tmp_ = dir + "." + base + ".XXXXXX";
  fd_ = ::mkostemp(tmp_.data(), O_CLOEXEC);  // mode 0600
  if (fd_ < 0) throw_errno("", errno, path_);
  slot_ = register_temp(tmp_.c_str());
}

OutputFile::~OutputFile() { discard(); }

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

void OutputFile::commit(const struct stat* meta) {
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
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw_errno("write error", errno, path_);
  int rc = overwrite_ ? ::rename(tmp_.c_str(), path_.c_str()) : rename_noreplace(tmp_.c_str(), path_.c_str());
  if (rc != 0) throw_errno("", errno, path_);
  unregister_temp(slot_);
  tmp_.clear();
}

}  // namespace fpgaio
