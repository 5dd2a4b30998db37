// The protocol's JSON reader and string quoting (json.hpp).
#include "fpgaio/json.hpp"

#include <cstdio>
#include <stdexcept>

namespace fpgaio::json {

const Value* Value::get(const std::string& key) const {
  if (type != Type::object) return nullptr;
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->second;
}

std::string quote(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

namespace {

struct Parser {
  const std::string& t;
  bool lenient = false;  // parse_lenient's strings
  std::size_t i = 0;

  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error("bad JSON at byte " + std::to_string(i) + ": " + why);
  }
  void ws() {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < t.size() && t[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  void utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  std::uint32_t hex4() {
    if (i + 4 > t.size()) fail("\\u escape cut short");
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = t[i++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else fail("bad \\u escape");
    }
    return v;
  }
  std::string string() {
    ws();
    if (i >= t.size() || t[i] != '"') fail("expected a string");
    ++i;
    std::string out;
    for (;;) {
      if (i >= t.size()) fail("string cut short");
      unsigned char c = static_cast<unsigned char>(t[i++]);
      if (c == '"') return out;
      if (c < 0x20 && !lenient) fail("control character in a string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (i >= t.size()) fail("string cut short");
      char e = t[i++];
      if (lenient) {
        lenient_escape(out, e);
        continue;
      }
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (i + 2 > t.size() || t[i] != '\\' || t[i + 1] != 'u') fail("lone surrogate");
            i += 2;
            std::uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("lone surrogate");
          }
          utf8(out, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
  }
  // After a backslash, in parse_lenient: \uXXXX decoded, anything else
  // (a malformed \u too) read as the letter after the backslash.
  void lenient_escape(std::string& out, char e) {
    if (e == 'u' && i + 4 <= t.size() &&
        t.substr(i, 4).find_first_not_of("0123456789abcdefABCDEF") == std::string::npos) {
      utf8(out, hex4());
      return;
    }
    out += e;
  }
  Value value(int depth) {
    if (depth > 64) fail("nested too deeply");
    ws();
    if (i >= t.size()) fail("value expected");
    Value v;
    char c = t[i];
    if (c == '{') {
      ++i;
      v.type = Value::Type::object;
      if (eat('}')) return v;
      do {
        std::string k = string();
        expect(':');
        v.o[k] = value(depth + 1);
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++i;
      v.type = Value::Type::array;
      if (eat(']')) return v;
      do v.a.push_back(value(depth + 1));
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.type = Value::Type::string;
      v.s = string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.type = Value::Type::number;
      bool neg = c == '-';
      if (neg) ++i;
      if (i >= t.size() || t[i] < '0' || t[i] > '9') fail("bad number");
      std::uint64_t n = 0;
      int digits = 0;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
        n = n * 10 + static_cast<std::uint64_t>(t[i++] - '0');
        if (++digits > 18) fail("number too large");
      }
      if (i < t.size() && (t[i] == '.' || t[i] == 'e' || t[i] == 'E')) fail("only integers are expected");
      v.n = neg ? -static_cast<std::int64_t>(n) : static_cast<std::int64_t>(n);
    } else if (t.compare(i, 4, "true") == 0) {
      i += 4;
      v.type = Value::Type::boolean;
      v.b = true;
    } else if (t.compare(i, 5, "false") == 0) {
      i += 5;
      v.type = Value::Type::boolean;
    } else if (t.compare(i, 4, "null") == 0) {
      i += 4;
    } else {
      fail("unexpected character");
    }
    return v;
  }
};

}  // namespace

Value parse(const std::string& text) {
  Parser p{text};
  Value v = p.value(0);
  p.ws();
  if (p.i != text.size()) p.fail("data after the value");
  return v;
}

Value parse_lenient(const std::string& text) {
  Parser p{text, true};
  return p.value(0);
}

}  // namespace fpgaio::json
