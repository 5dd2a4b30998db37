// Small helpers shared by the library's sources (internal, not installed).
#pragma once

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

}  // namespace fpgaio::util
