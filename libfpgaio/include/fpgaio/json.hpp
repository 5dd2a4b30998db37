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

// "text" with ", \ and control characters escaped (bytes >= 0x20 kept as
// they are, so UTF-8 passes through unchanged).
std::string quote(const std::string& s);

}  // namespace fpgaio::json
