// The per-card lock: one job per card across processes and users.
#include "fpgaio/device_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "fpgaio/error.hpp"

#include "../util.hpp"

namespace fpgaio {

namespace {

using util::env;

// Directory of the per-card lock files: FPGA_LOCK_DIR, else /run/lock (shared
// by all users), else $XDG_RUNTIME_DIR, else /tmp.
std::string lock_dir() {
  std::string d = env("FPGA_LOCK_DIR");
  if (!d.empty()) return d;
  for (const std::string& c : {std::string("/run/lock"), env("XDG_RUNTIME_DIR")})
    if (!c.empty() && ::access(c.c_str(), W_OK | X_OK) == 0) return c;
  return "/tmp";
}

}  // namespace

DeviceLock::~DeviceLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<DeviceLock> DeviceLock::acquire(const Device& device, bool wait) {
  if (device.lock_key.empty()) return std::make_unique<DeviceLock>();
  std::string path = lock_dir() + "/fpga-tools-" + device.lock_key + ".lock";
  for (auto& c : path)
    if (c == ':') c = '_';
  // Open an existing lock without O_CREAT first: with fs.protected_regular
  // (systemd's default) an O_CREAT open of another user's file in the sticky
  // lock directory fails, even when nothing is to be created, and a card is
  // shared by the service's user and local users. Create it only when it is
  // not there (O_EXCL; another process creating it first is retried).
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 3; ++attempt) {
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 || errno != ENOENT) break;
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) throw Error(ErrorKind::device, device.name + ": cannot open its lock " + path + ": " + std::strerror(errno), errno);
  ::fchmod(fd, 0666);  // so that every user's jobs share it (best effort)
  while (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return nullptr;
    throw Error(ErrorKind::device, device.name + ": cannot lock " + path + ": " + std::strerror(err), err);
  }
  auto l = std::make_unique<DeviceLock>();
  l->fd_ = fd;
  l->path_ = path;
  return l;
}

}  // namespace fpgaio
