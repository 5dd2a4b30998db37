// gzip's file rules (rules.hpp), one copy for fpga-gzip and fpga-remote.
#include "rules.hpp"

#include <strings.h>
#include <cstdio>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace fpgagzip {

std::string base_name(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string dir_prefix(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash + 1);
}

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

bool has_suffix_ci(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && ::strcasecmp(s.c_str() + s.size() - suf.size(), suf.c_str()) == 0;
}

double ratio_percent(std::uint64_t big, std::uint64_t small) {
  return big ? 100.0 * (static_cast<double>(big) - static_cast<double>(small)) / static_cast<double>(big) : 0.0;
}

std::optional<std::string> special_file(const std::string& path, const struct stat& st, bool force) {
  if (st.st_mode & S_ISUID) return path + " is set-user-ID on execution - ignored";
  if (st.st_mode & S_ISGID) return path + " is set-group-ID on execution - ignored";
  if (force) return std::nullopt;
  if (st.st_mode & S_ISVTX) return path + " has the sticky bit set - file ignored";
  if (st.st_nlink > 1) {
    auto others = static_cast<unsigned long>(st.st_nlink - 1);
    return path + " has " + std::to_string(others) + " other link" + (others > 1 ? "s" : "") + " -- file ignored";
  }
  return std::nullopt;
}

std::optional<std::string> known_suffix(const std::string& path, const std::string& suffix) {
  static const char* known[] = {".gz", "-gz", ".z", "-z", "_z", ".tgz", ".taz"};
  std::string base = base_name(path);
  std::vector<std::string> sufs = {suffix};
  for (auto* k : known) sufs.emplace_back(k);
  for (const auto& s : sufs)
    if (has_suffix_ci(base, s) && base.size() > s.size()) return base.substr(base.size() - s.size());
  return std::nullopt;
}

std::optional<std::string> decompressed_name(const std::string& path, const std::string& suffix) {
  auto suf = known_suffix(path, suffix);
  if (!suf) return std::nullopt;
  std::string stem = path.substr(0, path.size() - suf->size());
  if (::strcasecmp(suf->c_str(), ".tgz") == 0 || ::strcasecmp(suf->c_str(), ".taz") == 0) return stem + ".tar";
  return stem;
}

std::optional<std::string> shortened_name(const std::string& stem, const std::string& suffix, bool compress,
                                          long name_max) {
  std::string dir = dir_prefix(stem), base = base_name(stem);
  std::size_t limit = name_max > 0 ? static_cast<std::size_t>(name_max) : 255;
  if (base.size() + suffix.size() <= limit) return std::nullopt;
  if (!compress) return dir + base.substr(0, limit);
  if (base.size() > 4 && ends_with(base, ".tar")) {
    std::string tgz = base.substr(0, base.size() - 4) + ".tgz";
    if (tgz.size() <= limit) return dir + tgz;
  }
  while (!base.empty() && base.size() + suffix.size() > limit) {
    std::size_t cut = std::string::npos;  // index of the character to remove
    for (std::size_t min_part = 3; min_part > 0 && cut == std::string::npos; --min_part) {
      std::size_t start = 0;
      while (start <= base.size()) {
        std::size_t end = base.find('.', start);
        if (end == std::string::npos) end = base.size();
        if (end - start > min_part) cut = end - 1;
        start = end + 1;
      }
    }
    if (cut == std::string::npos) {
      // Every part is one character: cut at the last dot.
      std::size_t dot = base.rfind('.');
      base = dot == std::string::npos ? base.substr(0, base.size() - 1) : base.substr(0, dot);
    } else {
      base.erase(cut, 1);
    }
  }
  return dir + base + suffix;
}

std::optional<std::string> input_changed(const fpgaio::Input& in, std::uint64_t bytes_read) {
  if (!in.is_regular() || in.range() || in.is_stdin()) return std::nullopt;
  struct stat now;
  if (::fstat(in.fd(), &now) != 0) return std::nullopt;
  const struct stat& then = in.stat();
  if (now.st_size != then.st_size || static_cast<std::uint64_t>(now.st_size) != bytes_read)
    return "file size changed while zipping";
  if (now.st_mtim.tv_sec != then.st_mtim.tv_sec || now.st_mtim.tv_nsec != then.st_mtim.tv_nsec)
    return "file changed while zipping";
  return std::nullopt;
}

// gzip's ratio for -l: the deflate data against the uncompressed size, the
// first header and the last trailer not counted (-20.0% for 10 bytes in 30).
static std::string list_ratio(std::uint64_t uncompressed, std::uint64_t compressed, std::uint64_t header_bytes) {
  char buf[32];
  double u = static_cast<double>(uncompressed);
  double r = uncompressed ? 100.0 * (u - (static_cast<double>(compressed) - static_cast<double>(header_bytes))) / u : 0.0;
  std::snprintf(buf, sizeof buf, "%5.1f%%", r);
  return buf;
}

void Lister::line(const std::string& name, fpgaio::gzip::Format format, std::uint32_t crc, std::uint64_t compressed,
                  std::uint64_t uncompressed, std::uint64_t header_bytes, std::time_t when) {
  namespace gz = fpgaio::gzip;
  if (files_++ == 0) {
    if (verbosity_ > 0) std::printf("method  crc     date  time  ");
    if (verbosity_ >= 0) std::printf("%19s %19s  ratio uncompressed_name\n", "compressed", "uncompressed");
  }
  if (verbosity_ > 0) {
    // The CRC-32 of the whole content (gzip shows the last member's), the
    // date as gzip prints it, in English whatever the locale.
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const char* method = format == gz::Format::lzw ? "compr" : format == gz::Format::pack ? "pack " : "defla";
    std::printf("%s %08x ", method, crc);
    if (const std::tm* tm = std::localtime(&when))
      std::printf("%s%3d %02d:%02d ", months[tm->tm_mon], tm->tm_mday, tm->tm_hour, tm->tm_min);
    else
      std::printf("??? ?? ??:?? ");
  }
  std::printf("%19llu %19llu %s %s\n", static_cast<unsigned long long>(compressed),
              static_cast<unsigned long long>(uncompressed), list_ratio(uncompressed, compressed, header_bytes).c_str(),
              name.c_str());
  compressed_ += compressed;
  uncompressed_ += uncompressed;
  header_bytes_ = header_bytes;
}

void Lister::finish(std::size_t operands) {
  // As gzip: for more than one operand, not under -q, not when nothing (or
  // only empty data) was listed.
  if (operands < 2 || verbosity_ < 0 || compressed_ == 0 || uncompressed_ == 0) return;
  if (verbosity_ > 0) std::printf("                            ");
  std::printf("%19llu %19llu %s (totals)\n", static_cast<unsigned long long>(compressed_),
              static_cast<unsigned long long>(uncompressed_), list_ratio(uncompressed_, compressed_, header_bytes_).c_str());
}

}  // namespace fpgagzip
