// A small, strict JSON reader and a string writer for the protocol's
// answers (GET /v1/models): objects, arrays, strings (UTF-8, \u escapes),
// integers, true/false/null. Depth and size are bounded by the caller's
// body limit; nesting deeper than 64 is refused.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fpgaio::json {

struct Value {
  enum class Type { null, boolean, number, string, array, object } type = Type::null;
  bool b = false;
  std::int64_t n = 0;  // numbers: integers only (all the protocol uses)
  std::string s;
  std::vector<Value> a;
  std::map<std::string, Value> o;

  const Value* get(const std::string& key) const;  // null unless an object with that key
};

// Throws std::runtime_error naming what is wrong and where.
Value parse(const std::string& text);

// What a client reads from a server (remote_protocol.hpp, read_json): the
// first value, whatever follows it (a salvage answer's data), and strings
// as clients have always read a server's: \" \\ and \uXXXX decoded, raw
// control characters kept, and after any other backslash the next letter
// as it is (so "\n" is 'n', and a malformed "\uZZZZ" is "uZZZZ"), never an
// exception for a lying server's escapes. Throws as parse() otherwise.
Value parse_lenient(const std::string& text);

// "text" with ", \ and control characters escaped (bytes >= 0x20 kept as
// they are, so UTF-8 passes through unchanged).
std::string quote(const std::string& s);

}  // namespace fpgaio::json
