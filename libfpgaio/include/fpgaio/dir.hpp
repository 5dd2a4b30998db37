// Directories held open by descriptor, and the files in them looked at,
// opened and removed relative to that descriptor (openat, fstatat,
// unlinkat), as GNU gzip and coreutils walk trees: the kernel resolves a
// path each time it is used, so a directory or file swapped for a symbolic
// link (or a FIFO) between a check and a use sends a path-based tool
// somewhere else; a descriptor does not move.
#pragma once

#include <sys/stat.h>

#include <string>
#include <utility>
#include <vector>

namespace fpgaio {

// True when a and b are the same file: device, inode and type.
inline bool same_object(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && (a.st_mode & S_IFMT) == (b.st_mode & S_IFMT);
}

// Splits a path into the directory that holds its last component and that
// component: "a/b/c" -> {"a/b/", "c"}, "c" -> {"", "c"}, "a/b/" -> {"a/",
// "b"}, "/" -> {"/", "."}, "/x" -> {"/", "x"}.
std::pair<std::string, std::string> split_path(const std::string& path);

class Dir {
 public:
  // The directory `path` names ("" is the current one), resolved this once.
  // Symbolic links on the way are followed: the user named the path. Only
  // searched (O_PATH), so a directory that may be entered but not listed
  // works as with path names. Throws Error(io) naming `path`.
  static Dir open(const std::string& path);
  // The subdirectory `name` of this one, as a walk descends: never through
  // a symbolic link unless `follow` (gzip -rf); when `checked` (the entry's
  // lstat from before) is given and not a link, the directory opened must
  // be that one (device, inode). Names under it are shown as `shown` plus a
  // slash. Throws Error(io) naming `shown`.
  Dir sub(const std::string& name, const std::string& shown, const struct stat* checked = nullptr,
          bool follow = false) const;

  Dir(Dir&& o) noexcept : fd_(o.fd_), prefix_(std::move(o.prefix_)) { o.fd_ = -1; }
  Dir& operator=(Dir&& o) noexcept;
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;
  ~Dir();

  int fd() const { return fd_; }
  // How names in it are shown in messages: the path it was opened by, with
  // a slash at the end ("" for the current directory).
  const std::string& prefix() const { return prefix_; }
  std::string shown(const std::string& name) const { return prefix_ + name; }

  // lstat of entry `name` (stat with `follow`): 0, or errno.
  int stat(const std::string& name, struct stat& st, bool follow = false) const;
  bool exists(const std::string& name) const {
    struct stat st;
    return stat(name, st) == 0;
  }
  // The names of its entries without . and .., sorted: 0, or errno.
  int entries(std::vector<std::string>& names) const;
  // Removes entry `name` only while it is still the file `was` (device,
  // inode, type): 0, or errno; ESTALE when another file has the name now
  // (it stays).
  int remove_if_same(const std::string& name, const struct stat& was) const;
  // The longest name the directory takes (255 when it does not say).
  long name_max() const;

 private:
  Dir(int fd, std::string prefix) : fd_(fd), prefix_(std::move(prefix)) {}
  int fd_ = -1;
  std::string prefix_;
};

// Opens entry `name` of `dir` for reading as gzip does: never through a
// symbolic link unless `follow`, and with O_NONBLOCK so that a FIFO put in
// its place cannot block the open (cleared once open, so reads wait as
// usual). When `checked` (the entry's lstat from before) is given and not
// a link that `follow` lets through, what was opened must be that file
// (same_object), else Error(io) "replaced after it was checked". Returns
// the descriptor; `st` gets its fstat. Throws Error(io) naming dir.shown(name).
int open_checked(const Dir& dir, const std::string& name, const struct stat* checked, bool follow, struct stat& st);

}  // namespace fpgaio
