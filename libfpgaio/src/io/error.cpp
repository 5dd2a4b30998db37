// Formatting of library errors with their context.
#include "fpgaio/error.hpp"

#include <cstring>

namespace fpgaio {

std::string Error::describe() const {
  std::string s;
  if (kind_ == ErrorKind::corrupt) {
    s = "corrupt data";
    if (member || offset) {
      s += " at";
      if (member) s += " member " + std::to_string(*member);
      if (offset) s += (member ? " (offset " : " offset ") + std::to_string(*offset) + (member ? ")" : "");
    }
    s += ": ";
  }
  s += what();
  return s;
}

void throw_errno(const std::string& what, int err, const std::string& path) {
  Error e(ErrorKind::io, what.empty() ? std::string(std::strerror(err))
                                      : what + ": " + std::strerror(err), err);
  e.path = path;
  throw e;
}

}  // namespace fpgaio
