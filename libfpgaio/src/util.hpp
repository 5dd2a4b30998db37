// Small helpers shared by the library's sources (internal, not installed).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace fpgaio::util {

// The value of an environment variable, empty when it is unset.
inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Non-empty and only the digits 0-9 (no sign, no space).
inline bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// "0x" and v in hexadecimal, at least `digits` digits (zero-padded),
// upper-case unless `lower`.
inline std::string hex(std::uint64_t v, int digits = 1, bool lower = false) {
  char b[24];
  std::snprintf(b, sizeof b, lower ? "0x%0*llx" : "0x%0*llX", digits, static_cast<unsigned long long>(v));
  return b;
}

}  // namespace fpgaio::util
