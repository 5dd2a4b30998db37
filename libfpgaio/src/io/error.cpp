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

std::vector<std::string> Error::describe_as_gzip() const {
  if (kind_ != ErrorKind::corrupt || damage == Damage::unspecified) return {describe()};
  if (damage == Damage::not_gzip) return {"not in gzip format"};
  std::string where;
  if (member) where = "member " + std::to_string(*member);
  if (offset) where += (member ? ", offset " : "offset ") + std::to_string(*offset);
  // Our detail, unless it only repeats gzip's words.
  std::string detail = what();
  for (const char* same : {"CRC-32 mismatch", "length mismatch", "CRC-32 and length mismatch", "unexpected end of file"})
    if (detail == same) detail.clear();
  const std::string eof = "unexpected end of file";
  if (damage == Damage::truncated && detail.compare(0, eof.size(), eof) == 0) {
    detail = detail.substr(eof.size());
    while (!detail.empty() && (detail[0] == ':' || detail[0] == ' ')) detail.erase(0, 1);
    if (detail.size() > 1 && detail.front() == '(' && detail.back() == ')') detail = detail.substr(1, detail.size() - 2);
  }
  std::string context = where;
  if (!detail.empty()) context += (context.empty() ? "" : ": ") + detail;
  auto line = [&](const std::string& words) { return context.empty() ? words : words + " (" + context + ")"; };
  switch (damage) {
    case Damage::crc: return {line("invalid compressed data--crc error")};
    case Damage::length: return {line("invalid compressed data--length error")};
    case Damage::crc_and_length:
      return {line("invalid compressed data--crc error"), line("invalid compressed data--length error")};
    case Damage::truncated: return {line(eof)};
    case Damage::method: {
      // gzip's words are the detail itself ("unknown method 9 -- not supported").
      std::string s = what();
      return {where.empty() ? s : s + " (" + where + ")"};
    }
    default: return {line("invalid compressed data--format violated")};
  }
}

void throw_errno(const std::string& what, int err, const std::string& path) {
  Error e(ErrorKind::io, what.empty() ? std::string(std::strerror(err))
                                      : what + ": " + std::strerror(err), err);
  e.path = path;
  throw e;
}

}  // namespace fpgaio
