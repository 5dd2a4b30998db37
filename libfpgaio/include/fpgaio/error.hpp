// Errors of libfpgaio: a category and context; the library never prints or exits.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace fpgaio {

enum class ErrorKind {
  usage,    // the caller asked for something impossible (bad level, bad device name)
  io,       // a system call failed (errno is kept)
  corrupt,  // input data is not what its format says
  device,   // a compute device is missing or failed
};

// The one exception type the library throws. `what()` is the bare reason;
// describe() adds the context a user needs to find the problem.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string reason, int err = 0)
      : std::runtime_error(std::move(reason)), kind_(kind), errno_(err) {}

  ErrorKind kind() const noexcept { return kind_; }
  int error_number() const noexcept { return errno_; }

  // Context, filled in by whichever layer knows it.
  std::optional<std::uint64_t> offset;  // byte offset in the input
  std::optional<std::uint64_t> member;  // gzip member number, counted from 1
  std::string path;                     // file being read or written

  Error& at(std::uint64_t off) { offset = off; return *this; }
  Error& in_member(std::uint64_t m) { member = m; return *this; }
  Error& with_path(std::string p) { if (path.empty()) path = std::move(p); return *this; }

  // "corrupt data at member 3 (offset 3145728): invalid distance"
  std::string describe() const;

 private:
  ErrorKind kind_;
  int errno_;
};

// Throws Error(io) with strerror(err) appended to `what`.
[[noreturn]] void throw_errno(const std::string& what, int err, const std::string& path = {});

[[noreturn]] inline void throw_corrupt(const std::string& what) {
  throw Error(ErrorKind::corrupt, what);
}

}  // namespace fpgaio
