// gzip's file rules, shared by fpga-gzip and fpga-remote (which must treat
// files exactly as fpga-gzip does): which files are skipped and why, output
// names, and the wording of the ratio line.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "fpgaio/formats.hpp"
#include "fpgaio/io.hpp"

namespace fpgagzip {

std::string base_name(const std::string& p);
std::string dir_prefix(const std::string& p);
bool ends_with(const std::string& s, const std::string& suf);
bool has_suffix_ci(const std::string& s, const std::string& suf);
double ratio_percent(std::uint64_t big, std::uint64_t small);

// Why gzip would not compress or decompress this file to a file, in gzip's
// words, or nothing: setuid and setgid files never (their bits would be lost),
// sticky and hard-linked files without -f (the links would break).
std::optional<std::string> special_file(const std::string& path, const struct stat& st, bool force);

// The compressed-file suffix that `path` ends with, as spelled there: -S's
// (`suffix`) and gzip's known ones, compared without regard to case as gzip
// does (X.Z, Y.GZ, Z.TGZ), and only after at least one character of name.
std::optional<std::string> known_suffix(const std::string& path, const std::string& suffix);
// The name `path` decompresses to (.tgz and .taz give .tar), or nothing.
std::optional<std::string> decompressed_name(const std::string& path, const std::string& suffix);

// `stem` + `suffix` shortened as gzip shortens a name too long for its
// directory (whose names may have `name_max` characters), or nothing when
// it fits. Compressing: ".tar" becomes ".tgz", else one character goes
// from the last part (between dots) longer than 3 characters (then 2, 1)
// until it fits. Decompressing (`compress` false, `stem` the whole name):
// the last characters go.
std::optional<std::string> shortened_name(const std::string& stem, const std::string& suffix, bool compress,
                                          long name_max);

// A file that grew (a logger appending) or changed while it was read: gzip's
// words for it, or nothing. Only regular files, not ranges or stdin.
std::optional<std::string> input_changed(const fpgaio::Input& in, std::uint64_t bytes_read);

// -l's table, as gzip prints it: a heading before the first line, one line
// a file, totals for more than one operand.
class Lister {
 public:
  explicit Lister(int verbosity) : verbosity_(verbosity) {}
  // `crc`: of the whole content; `header_bytes`: the first header and a
  // trailer (left out of the ratio); `when`: the stored time, else the file's.
  void line(const std::string& name, fpgaio::gzip::Format format, std::uint32_t crc, std::uint64_t compressed,
            std::uint64_t uncompressed, std::uint64_t header_bytes, std::time_t when);
  void finish(std::size_t operands);

 private:
  int verbosity_;
  std::uint64_t compressed_ = 0, uncompressed_ = 0;
  std::uint64_t header_bytes_ = 0;  // the last file's: gzip's totals ratio uses it
  int files_ = 0;
};

}  // namespace fpgagzip
