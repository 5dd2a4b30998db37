// The protocol's messages, written and read by both ends (remote_protocol.hpp).
#include "fpgaio/remote_protocol.hpp"

#include <cstdio>
#include <cstring>

#include "fpgaio/gzip.hpp"
#include "fpgaio/remote.hpp"  // TransportError

namespace fpgaio::remote {

namespace {

const char* kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::usage: return "usage";
    case ErrorKind::io: return "io";
    case ErrorKind::corrupt: return "corrupt";
    case ErrorKind::device: return "device";
  }
  return "io";
}

bool digits(const std::string& s, std::size_t max) {
  return !s.empty() && s.size() <= max && s.find_first_not_of("0123456789") == std::string::npos;
}

const char* const kFormats[] = {"gzip", "zlib", "zip", "lzw", "pack"};

}  // namespace

// ---- Queries ----------------------------------------------------------------

std::size_t percent_decode(char* s, std::size_t n) {
  auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  std::size_t w = 0;
  for (std::size_t r = 0; r < n;) {
    int hi = s[r] == '%' && r + 1 < n ? hex(s[r + 1]) : -1;
    int lo = hi >= 0 && r + 2 < n ? hex(s[r + 2]) : -1;
    if (hi >= 0 && lo >= 0 && (hi || lo)) {
      s[w++] = static_cast<char>(hi * 16 + lo);
      r += 3;
    } else {
      s[w++] = s[r++];
    }
  }
  return w;
}

std::string encode_query(const std::map<std::string, std::string>& q) {
  std::string out;
  for (const auto& [k, v] : q) {
    if (!out.empty()) out += '&';
    out += k + '=';
    for (unsigned char c : v) {
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
        out += static_cast<char>(c);
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        out += buf;
      }
    }
  }
  return out;
}

std::map<std::string, std::string> decode_query(const std::string& s, std::string* repeated) {
  // As the HTTP server reads a query (libmicrohttpd: '+' a space, then our
  // percent_decode): the two transports must not read one request two ways
  // (a repeated level, a percent-encoded name, "%00" were each read
  // differently over SSH).
  auto unescape = [](std::string v) {
    for (char& c : v)
      if (c == '+') c = ' ';
    v.resize(percent_decode(v.data(), v.size()));
    return v;
  };
  std::map<std::string, std::string> q;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t amp = s.find('&', i);
    if (amp == std::string::npos) amp = s.size();
    std::string part = s.substr(i, amp - i);
    std::size_t eq = part.find('=');
    std::string k = unescape(part.substr(0, eq)), v = eq == std::string::npos ? "" : unescape(part.substr(eq + 1));
    if (!k.empty() && !q.emplace(k, v).second && repeated && repeated->empty()) *repeated = k;
    i = amp + 1;
  }
  return q;
}

std::uint64_t query_number(const std::map<std::string, std::string>& q, const std::string& key, std::uint64_t lo,
                           std::uint64_t hi, std::uint64_t dflt) {
  auto it = q.find(key);
  if (it == q.end()) return dflt;
  const std::string& s = it->second;
  if (!digits(s, 19)) throw Error(ErrorKind::usage, "parameter '" + key + "' is not a number");
  std::uint64_t v = std::stoull(s);
  if (v < lo || v > hi)
    throw Error(ErrorKind::usage, "parameter '" + key + "' must be between " + std::to_string(lo) + " and " +
                                      std::to_string(hi));
  return v;
}

// ---- Answers ----------------------------------------------------------------

Response error_response(int status, const std::string& kind, const std::string& message,
                        std::optional<std::uint64_t> member, std::optional<std::uint64_t> offset) {
  std::string j = "{\"error\":" + json::quote(kind) + ",\"message\":" + json::quote(message);
  if (member) j += ",\"member\":" + std::to_string(*member);
  if (offset) j += ",\"offset\":" + std::to_string(*offset);
  j += "}\n";
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body.assign(j.begin(), j.end());
  return r;
}

Response error_response(const Error& e) {
  int status = e.kind() == ErrorKind::usage ? 400 : e.kind() == ErrorKind::corrupt ? 422 : 500;
  Response r = error_response(status, kind_name(e.kind()), e.what(), e.member, e.offset);
  if (e.damage != Damage::unspecified) {
    // What gzip would call it, so the client says it in gzip's words too.
    std::string j(r.body.begin(), r.body.end());
    j.insert(j.rfind('}'), ",\"damage\":" + std::to_string(static_cast<int>(e.damage)));
    r.body.assign(j.begin(), j.end());
  }
  return r;
}

Response host_scope(Response r) {
  std::string j(r.body.begin(), r.body.end());
  auto close = j.rfind('}');
  if (close == std::string::npos) return r;
  j.insert(close, ",\"scope\":\"host\"");
  r.body.assign(j.begin(), j.end());
  return r;
}

std::string server_text(std::string s) {
  for (char& c : s)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) c = '?';
  return s;
}

Error error_from_response(const Response& r) {
  auto j = read_json(std::string(r.body.begin(), r.body.end()));
  json::Value none;
  const json::Value& v = j ? *j : none;
  auto kind = json_text(v, "error").value_or("");
  auto msg = server_text(json_text(v, "message").value_or("HTTP status " + std::to_string(r.status)));
  ErrorKind k = kind == "corrupt" ? ErrorKind::corrupt
                : kind == "usage" ? ErrorKind::usage
                : kind == "device" ? ErrorKind::device
                                   : ErrorKind::io;
  Error e(k, msg);
  try {
    if (auto m = json_text(v, "member")) e.member = std::stoull(*m);
    if (auto o = json_text(v, "offset")) e.offset = std::stoull(*o);
    if (auto d = json_text(v, "damage")) {
      int n = std::stoi(*d);
      if (n > 0 && n <= static_cast<int>(Damage::method)) e.damage = static_cast<Damage>(n);
    }
  } catch (const std::exception&) {
  }
  return e;
}

std::string with_body_crc(const Response& r) {
  // Prometheus' text format keeps its type as scrapers know it.
  if (r.content_type.rfind("text/plain", 0) == 0) return r.content_type;
  return r.content_type + "; body-crc=" + std::to_string(crc32(0, r.body.data(), r.body.size()));
}

void check_body_crc(const Response& r) {
  const std::string key = "; body-crc=";
  auto p = r.content_type.find(key);
  if (p == std::string::npos) return;
  p += key.size();
  std::string v = r.content_type.substr(p, r.content_type.find(';', p) - p);
  if (!digits(v, 10) || std::stoull(v) > 0xffffffffu) throw TransportError("bad answer (its body-crc is not a CRC-32)");
  if (crc32(0, r.body.data(), r.body.size()) != std::stoull(v))
    throw TransportError("answer damaged on the way (its body is not the one the server sent: CRC-32)");
}

std::optional<json::Value> read_json(const std::string& body) {
  try {
    return json::parse_lenient(body);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::string> json_text(const json::Value& object, const std::string& key) {
  const json::Value* x = object.get(key);
  if (!x) return std::nullopt;
  switch (x->type) {
    case json::Value::Type::string: return x->s;
    case json::Value::Type::number: return std::to_string(x->n);
    case json::Value::Type::boolean: return std::string(x->b ? "true" : "false");
    default: return std::nullopt;
  }
}

std::optional<std::string> json_value(const std::string& json, const std::string& key) {
  auto v = read_json(json);
  return v ? json_text(*v, key) : std::nullopt;
}

std::vector<std::string> type_params(const std::string& type, const std::string& key) {
  std::vector<std::string> out;
  std::size_t p = 0;
  while ((p = type.find(';', p)) != std::string::npos) {
    ++p;
    while (p < type.size() && type[p] == ' ') ++p;
    std::size_t e = type.find(';', p);
    std::string kv = type.substr(p, e == std::string::npos ? std::string::npos : e - p);
    if (kv.compare(0, key.size() + 1, key + "=") == 0) out.push_back(decode_query("v=" + kv.substr(key.size() + 1))["v"]);
  }
  return out;
}

// ---- gzip jobs --------------------------------------------------------------

Request encode(const GzipCompressJob& job) {
  Request req;
  req.path = "/v1/gzip/compress";
  auto& q = req.query;
  q["level"] = std::to_string(job.level);
  q["block"] = std::to_string(job.block_size);
  q["end"] = job.end_marker ? "1" : "0";
  if (job.rsyncable) q["rsyncable"] = "1";
  if (job.name) q["name"] = *job.name;
  if (job.mtime) q["mtime"] = std::to_string(job.mtime);
  if (job.comment) q["comment"] = *job.comment;
  if (job.part) q["part"] = format_part(*job.part);
  if (job.strategy == Strategy::huffman_only) q["strategy"] = "huffman";
  if (job.strategy == Strategy::rle) q["strategy"] = "rle";
  return req;
}

GzipCompressJob decode_gzip_compress(const Request& req) {
  const auto& q = req.query;
  GzipCompressJob job;
  // In this order: a request bad in two ways names the same parameter as ever.
  job.level = static_cast<int>(query_number(q, "level", 0, 12, kDefaultLevel));
  job.block_size = query_number(q, "block", 1024, gzip::max_block_size(), gzip::kDefaultBlockSize);
  job.end_marker = query_number(q, "end", 0, 1, 1) == 1;
  job.rsyncable = query_number(q, "rsyncable", 0, 1, 0) == 1;
  if (auto it = q.find("name"); it != q.end()) {
    if (it->second.find('\0') != std::string::npos) throw Error(ErrorKind::usage, "name holds a NUL byte");
    job.name = it->second;
  }
  job.mtime = static_cast<std::uint32_t>(query_number(q, "mtime", 0, 0xffffffffu, 0));
  if (auto it = q.find("comment"); it != q.end()) {
    if (it->second.find('\0') != std::string::npos) throw Error(ErrorKind::usage, "comment holds a NUL byte");
    job.comment = it->second;
  }
  if (auto it = q.find("part"); it != q.end()) {
    job.part = parse_part(it->second);
    if (!job.part) throw Error(ErrorKind::usage, "parameter 'part' must be INDEX/COUNT OFFSET");
  }
  if (auto it = q.find("strategy"); it != q.end()) {
    if (it->second == "huffman") job.strategy = Strategy::huffman_only;
    else if (it->second == "rle") job.strategy = Strategy::rle;
    else if (it->second != "normal") throw Error(ErrorKind::usage, "parameter 'strategy' must be normal, huffman or rle");
  }
  return job;
}

Request encode(const GzipDecodeJob& job) {
  Request req;
  req.path = job.test ? "/v1/gzip/test" : "/v1/gzip/decompress";
  if (job.pass_through) req.query["pass"] = "1";
  if (!job.detect_zlib) req.query["zlib"] = "0";
  if (!job.test && job.salvage) req.query["salvage"] = "1";
  if (job.test && job.list_only) req.query["list"] = "1";
  return req;
}

GzipDecodeJob decode_gzip_decode(const Request& req) {
  const auto& q = req.query;
  GzipDecodeJob job;
  job.test = req.path == "/v1/gzip/test";
  job.pass_through = query_number(q, "pass", 0, 1, 0) == 1;
  job.detect_zlib = query_number(q, "zlib", 0, 1, 1) == 1;
  // Each read only where it means something, as ever.
  job.salvage = !job.test && query_number(q, "salvage", 0, 1, 0) == 1;
  job.list_only = job.test && query_number(q, "list", 0, 1, 0) == 1;
  return job;
}

std::string encode_type(const std::string& type, const GzipDecodeAnswer& a) {
  std::string t = type;
  if (a.in) t += "; in=" + std::to_string(*a.in);
  if (a.crc) t += "; crc=" + std::to_string(*a.crc);
  if (a.format) t += std::string("; format=") + kFormats[static_cast<int>(*a.format)];
  if (a.trailing_garbage) t += "; trailing-garbage=1";  // a warning, as gzip
  if (a.zip_more_entries) t += "; zip-more-entries=1";
  for (const auto& w : a.warnings) t += "; warning=" + encode_query({{"w", w}}).substr(2);
  return t;
}

GzipDecodeAnswer decode_gzip_answer(const std::string& type) {
  GzipDecodeAnswer a;
  // Each once, in its form; anything else is left unknown.
  if (auto v = type_params(type, "in"); v.size() == 1 && digits(v[0], 18)) a.in = std::stoull(v[0]);
  if (auto v = type_params(type, "crc"); v.size() == 1 && digits(v[0], 10))
    a.crc = static_cast<std::uint32_t>(std::stoull(v[0]));
  if (auto v = type_params(type, "format"); v.size() == 1) {
    for (int k = 0; k < 5; ++k)
      if (v[0] == kFormats[k]) a.format = static_cast<gzip::Format>(k);
  }
  a.trailing_garbage = !type_params(type, "trailing-garbage").empty();
  a.zip_more_entries = !type_params(type, "zip-more-entries").empty();
  a.warnings = type_params(type, "warning");
  return a;
}

std::optional<std::size_t> salvage_size(const std::string& type) {
  auto v = type_params(type, "salvage");
  if (v.size() != 1 || !digits(v[0], 18)) return std::nullopt;
  return static_cast<std::size_t>(std::stoull(v[0]));
}

std::string test_answer_body(std::uint64_t bytes) { return "{\"bytes\":" + std::to_string(bytes) + "}\n"; }

std::optional<std::uint64_t> read_test_answer(const Bytes& body) {
  auto b = json_value(std::string(body.begin(), body.end()), "bytes");
  if (!b || !digits(*b, 19)) return std::nullopt;
  return std::stoull(*b);
}

// ---- infer ------------------------------------------------------------------

std::string hex8(std::uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

Request encode(const InferJob& job) {
  Request req;
  req.path = "/v1/infer";
  if (job.model) req.query["model"] = *job.model;
  if (job.crc) req.query["crc"] = hex8(*job.crc);
  req.query["scores"] = job.scores ? "1" : "0";
  return req;
}

InferJob decode_infer(const Request& req) {
  const auto& q = req.query;
  InferJob job;
  if (auto it = q.find("model"); it != q.end()) {
    if (it->second.empty()) throw Error(ErrorKind::usage, "an empty model name");
    job.model = it->second;
  }
  if (auto c = q.find("crc"); c != q.end()) {
    const std::string& v = c->second;
    if (v.size() != 8 || v.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw Error(ErrorKind::usage, "parameter 'crc' must be 8 lowercase hex digits");
    job.crc = static_cast<std::uint32_t>(std::stoul(v, nullptr, 16));
  }
  job.scores = query_number(q, "scores", 0, 1, 0) == 1;
  return job;
}

}  // namespace fpgaio::remote
