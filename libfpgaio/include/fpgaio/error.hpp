// Errors of libfpgaio: a category and context; the library never prints or exits.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fpgaio {

enum class ErrorKind {
  usage,    // the caller asked for something impossible (bad level, bad device name)
  io,       // a system call failed (errno is kept)
  corrupt,  // input data is not what its format says
  device,   // a compute device is missing or failed
};

// What is wrong with corrupt compressed data, in the terms GNU gzip reports
// (fpga-gzip prints gzip's words for them, gzip::gzip_message): scripts grep
// for those. `unspecified` is everything else.
enum class Damage {
  unspecified,
  format,          // invalid compressed data--format violated
  crc,             // invalid compressed data--crc error
  length,          // invalid compressed data--length error
  crc_and_length,  // both (gzip reports both)
  truncated,       // unexpected end of file
  not_gzip,        // not in gzip format
  method,          // unknown method N -- not supported
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
  Damage damage = Damage::unspecified;  // for ErrorKind::corrupt

  Error& at(std::uint64_t off) { offset = off; return *this; }
  Error& in_member(std::uint64_t m) { member = m; return *this; }
  Error& with_path(std::string p) { if (path.empty()) path = std::move(p); return *this; }

  // "corrupt data at member 3 (offset 3145728): invalid distance"
  std::string describe() const;
  // describe() in GNU gzip's words where `damage` has them, our member and
  // offset (and detail) after them, for scripts that grep for gzip's:
  // "invalid compressed data--crc error (member 2, offset 1234)". One line
  // per message: a bad CRC-32 and a bad length are two, as in gzip.
  std::vector<std::string> describe_as_gzip() const;

 private:
  ErrorKind kind_;
  int errno_;
};

// Throws Error(io) with strerror(err) appended to `what`.
[[noreturn]] void throw_errno(const std::string& what, int err, const std::string& path = {});

[[noreturn]] inline void throw_corrupt(const std::string& what, Damage damage = Damage::unspecified) {
  Error e(ErrorKind::corrupt, what);
  e.damage = damage;
  throw e;
}

}  // namespace fpgaio
