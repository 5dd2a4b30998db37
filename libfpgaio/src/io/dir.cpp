// Directories held by descriptor and files opened relative to them (dir.hpp).
#include "fpgaio/dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "fpgaio/error.hpp"

namespace fpgaio {

std::pair<std::string, std::string> split_path(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/") return {"/", "."};
  auto slash = p.rfind('/');
  if (slash == std::string::npos) return {"", p};
  return {p.substr(0, slash + 1), p.substr(slash + 1)};
}

Dir Dir::open(const std::string& path) {
  int fd = ::open(path.empty() ? "." : path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("", errno, path.empty() ? "." : path);
  std::string prefix = path;
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  return Dir(fd, prefix);
}

Dir Dir::sub(const std::string& name, const std::string& shown, const struct stat* checked, bool follow) const {
  // O_NOFOLLOW with O_PATH would open a symbolic link itself: O_DIRECTORY
  // then refuses it (ENOTDIR), whatever the link points to.
  int fd = ::openat(fd_, name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
  if (fd < 0) throw_errno("", errno, shown);
  Dir d(fd, shown.empty() || shown.back() == '/' ? shown : shown + "/");
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_errno("", errno, shown);
  if (checked && !(follow && S_ISLNK(checked->st_mode)) && !same_object(*checked, st))
    throw Error(ErrorKind::io, "replaced after it was checked -- ignored", ESTALE).with_path(shown);
  return d;
}

Dir& Dir::operator=(Dir&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    prefix_ = std::move(o.prefix_);
    o.fd_ = -1;
  }
  return *this;
}

Dir::~Dir() {
  if (fd_ >= 0) ::close(fd_);
}

int Dir::stat(const std::string& name, struct stat& st, bool follow) const {
  return ::fstatat(fd_, name.c_str(), &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

int Dir::entries(std::vector<std::string>& names) const {
  // Listing needs a readable descriptor; "." relative to ours is this very
  // directory, whatever its path names now.
  int fd = ::openat(fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int err = errno;
    ::close(fd);
    return err;
  }
  names.clear();
  errno = 0;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  int err = errno;
  ::closedir(d);
  if (err) return err;
  std::sort(names.begin(), names.end());
  return 0;
}

int Dir::remove_if_same(const std::string& name, const struct stat& was) const {
  struct stat now;
  if (int err = stat(name, now)) return err;
  if (!same_object(now, was)) return ESTALE;
  return ::unlinkat(fd_, name.c_str(), 0) == 0 ? 0 : errno;
}

long Dir::name_max() const {
  long max = ::fpathconf(fd_, _PC_NAME_MAX);
  return max > 0 ? max : 255;
}

int open_checked(const Dir& dir, const std::string& name, const struct stat* checked, bool follow, struct stat& st) {
  const std::string shown = dir.shown(name);
  int fd = ::openat(dir.fd(), name.c_str(),
                    O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW));
  if (fd < 0) throw_errno("", errno, shown);
  auto fail = [&](int err) {
    ::close(fd);
    if (err == ESTALE) throw Error(ErrorKind::io, "replaced after it was checked -- ignored", ESTALE).with_path(shown);
    throw_errno("", err, shown);
  };
  if (::fstat(fd, &st) != 0) fail(errno);
  if (checked && !(follow && S_ISLNK(checked->st_mode)) && !same_object(*checked, st)) fail(ESTALE);
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) fail(errno);
  return fd;
}

}  // namespace fpgaio
