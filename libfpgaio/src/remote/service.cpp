// The server side of the job protocol: parameters checked, one job a slot,
// a bounded queue, health, devices and Prometheus metrics.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <climits>
#include <cstring>
#include <thread>

#include "fpgaio/codec.hpp"
#include "fpgaio/device.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/json.hpp"
#include "fpgaio/remote.hpp"
#include "fpgaio/remote_infer.hpp"
#include "fpgaio/version.hpp"

namespace fpgaio::remote {

namespace {

struct VecSink : Sink {
  Bytes v;
  void write(const std::uint8_t* d, std::size_t k) override { v.insert(v.end(), d, d + k); }
};

// An answer over ServerConfig::max_answer (a decompression bomb).
struct AnswerTooLarge {};

// A VecSink that holds at most `limit` bytes, and grows to no more than
// that (a vector's doubling would reach twice the limit).
struct BoundedSink : Sink {
  Bytes v;
  std::size_t limit;
  explicit BoundedSink(std::size_t l) : limit(l) {}
  void write(const std::uint8_t* d, std::size_t k) override {
    if (k > limit - v.size()) throw AnswerTooLarge{};
    if (v.size() + k > v.capacity()) v.reserve(std::min(limit, std::max(v.size() + k, 2 * v.capacity())));
    v.insert(v.end(), d, d + k);
  }
};

// A request body as an Input (the library's readers take an Input): a memfd
// holding a copy, never a name the client chose.
class BodyInput {
 public:
  explicit BodyInput(const Bytes& body) {
    fd_ = ::memfd_create("fpga-remote-body", MFD_CLOEXEC);
    if (fd_ < 0) throw_errno("memfd_create", errno);
    full_write(fd_, body.data(), body.size(), "request body");
    ::lseek(fd_, 0, SEEK_SET);
    in_ = std::make_unique<Input>("/proc/self/fd/" + std::to_string(fd_));
  }
  ~BodyInput() {
    in_.reset();
    ::close(fd_);
  }
  Input& input() { return *in_; }

 private:
  int fd_ = -1;
  std::unique_ptr<Input> in_;
};


std::string json_escape(const std::string& s) {
  std::string q = json::quote(s);
  return q.substr(1, q.size() - 2);
}

// The kind of work a job path needs from a device (Device::kernels).
const char* job_kernel(const std::string& path) {
  if (path == "/v1/gzip/compress") return "deflate";
  if (path == "/v1/infer") return "bnn";
  return "inflate";
}

Response text(int status, const std::string& type, const std::string& body) {
  Response r;
  r.status = status;
  r.content_type = type;
  r.body.assign(body.begin(), body.end());
  return r;
}

const char* kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::usage: return "usage";
    case ErrorKind::io: return "io";
    case ErrorKind::corrupt: return "corrupt";
    case ErrorKind::device: return "device";
  }
  return "io";
}

}  // namespace

std::uint64_t query_number(const std::map<std::string, std::string>& q, const std::string& key, std::uint64_t lo,
                           std::uint64_t hi, std::uint64_t dflt) {
  auto it = q.find(key);
  if (it == q.end()) return dflt;
  const std::string& s = it->second;
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
    throw Error(ErrorKind::usage, "parameter '" + key + "' is not a number");
  std::uint64_t v = std::stoull(s);
  if (v < lo || v > hi)
    throw Error(ErrorKind::usage, "parameter '" + key + "' must be between " + std::to_string(lo) + " and " +
                                      std::to_string(hi));
  return v;
}

// ---- Protocol helpers -------------------------------------------------------

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
  // As the HTTP server reads a query (server.cpp's unescape): the two
  // transports must not read one request two ways (a repeated level, a
  // percent-encoded name, "%00" were each read differently over SSH).
  auto unescape = [](const std::string& raw) {
    std::string v;
    for (std::size_t j = 0; j < raw.size(); ++j) {
      if (raw[j] == '%' && j + 2 < raw.size() && std::isxdigit(static_cast<unsigned char>(raw[j + 1])) &&
          std::isxdigit(static_cast<unsigned char>(raw[j + 2])) && raw.compare(j + 1, 2, "00") != 0) {
        v += static_cast<char>(std::stoi(raw.substr(j + 1, 2), nullptr, 16));
        j += 2;
      } else if (raw[j] == '+') {
        v += ' ';
      } else {
        v += raw[j];
      }
    }
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

Response error_response(int status, const std::string& kind, const std::string& message,
                        std::optional<std::uint64_t> member, std::optional<std::uint64_t> offset) {
  std::string j = "{\"error\":\"" + json_escape(kind) + "\",\"message\":\"" + json_escape(message) + "\"";
  if (member) j += ",\"member\":" + std::to_string(*member);
  if (offset) j += ",\"offset\":" + std::to_string(*offset);
  j += "}\n";
  return text(status, "application/json", j);
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
  if (v.empty() || v.size() > 10 || v.find_first_not_of("0123456789") != std::string::npos ||
      std::stoull(v) > 0xffffffffu)
    throw TransportError("bad answer (its body-crc is not a CRC-32)");
  if (crc32(0, r.body.data(), r.body.size()) != std::stoull(v))
    throw TransportError("answer damaged on the way (its body is not the one the server sent: CRC-32)");
}

std::optional<std::string> json_value(const std::string& j, const std::string& key) {
  std::string pat = "\"" + key + "\":";
  auto p = j.find(pat);
  if (p == std::string::npos) return std::nullopt;
  p += pat.size();
  if (p < j.size() && j[p] == '"') {
    std::string v;
    for (++p; p < j.size() && j[p] != '"'; ++p) {
      if (j[p] == '\\' && p + 1 < j.size()) {
        ++p;
        if (j[p] == 'u' && p + 4 < j.size()) {
          // Four hex digits, else read as plain letters (a lying
          // server's "\uZZZZ" made std::stoi throw out of the client).
          std::string hex = j.substr(p + 1, 4);
          if (hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos) {
            v += static_cast<char>(std::stoul(hex, nullptr, 16));
            p += 4;
            continue;
          }
        }
      }
      v += j[p];
    }
    return v;
  }
  std::size_t e = j.find_first_of(",}", p);
  return j.substr(p, e == std::string::npos ? std::string::npos : e - p);
}

std::string server_text(std::string s) {
  for (char& c : s)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) c = '?';
  return s;
}

Error error_from_response(const Response& r) {
  std::string body(r.body.begin(), r.body.end());
  auto kind = json_value(body, "error").value_or("");
  auto msg = server_text(json_value(body, "message").value_or("HTTP status " + std::to_string(r.status)));
  ErrorKind k = kind == "corrupt" ? ErrorKind::corrupt
                : kind == "usage" ? ErrorKind::usage
                : kind == "device" ? ErrorKind::device
                                   : ErrorKind::io;
  Error e(k, msg);
  try {
    if (auto m = json_value(body, "member")) e.member = std::stoull(*m);
    if (auto o = json_value(body, "offset")) e.offset = std::stoull(*o);
    if (auto d = json_value(body, "damage")) {
      int v = std::stoi(*d);
      if (v > 0 && v <= static_cast<int>(Damage::method)) e.damage = static_cast<Damage>(v);
    }
  } catch (const std::exception&) {
  }
  return e;
}

std::string log_text(const std::string& s, std::size_t max) {
  std::string o;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      o += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  if (s.size() > max) o += "...";
  return o;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  // Length leaks, content does not: every byte of the longer is looked at.
  std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

// ---- Service ----------------------------------------------------------------

struct Service::Counters {
  std::mutex mu;
  std::map<std::string, std::uint64_t> requests;  // "path,status"
  std::uint64_t bytes_in = 0, bytes_out = 0, errors = 0, refused_full = 0;
  // latency histogram buckets in seconds
  std::vector<double> bounds{0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30};
  std::vector<std::uint64_t> buckets = std::vector<std::uint64_t>(8, 0);
  std::uint64_t latency_count = 0;
  double latency_sum = 0;
};

Service::Service(ServerConfig cfg) : cfg_(std::move(cfg)), counters_(std::make_unique<Counters>()) {
  devices_ = std::make_unique<DevicePool>(cfg_.devices, cfg_.slots, &device_warnings_);
  slots_ = std::max(1u, devices_->slots());
  queue_ = cfg_.queue ? cfg_.queue : 4 * slots_;
  models_ = std::make_unique<ModelStore>(cfg_.models_dir, cfg_.default_model);
}

void Service::log(const std::string& line) const {
  if (cfg_.log) cfg_.log(line);
}

Response Service::run_leased(const std::string& kernel, const std::function<Response(DevicePool::Lease&)>& job,
                             std::string* device, bool cpu_only) {
  auto guarded = [&](DevicePool::Lease& lease) -> Response {
    Response r;
    // On the slot's own thread (DevicePool::Lease::run): what it throws
    // comes back here.
    try {
      lease.run([&] { r = job(lease); });
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::device && !lease.is_cpu()) throw;  // the caller's fallback
      return error_response(e);
    } catch (const std::bad_alloc&) {
      return error_response(500, "io", "out of memory");
    } catch (const std::exception& e) {
      return error_response(500, "io", e.what());
    }
    return r;
  };
  std::optional<DevicePool::Lease> lease;
  try {
    lease = devices_->acquire(kernel, queue_, cpu_only);
  } catch (const Error& e) {
    return host_scope(error_response(e));  // no device of this server runs it: another host's may
  }
  if (!lease) {
    Response r = error_response(503, "busy", "all slots busy and the queue is full");
    r.retry_after = 1;
    std::lock_guard<std::mutex> ck(counters_->mu);
    counters_->refused_full++;
    return r;
  }
  std::string failed = lease->device().name;
  if (device) *device = failed;
  try {
    return guarded(*lease);
  } catch (const Error& e) {
    // A card (or csim) failed the job: out of service; the job again on the
    // CPU when the server has one, else the job's error.
    lease->fail(e.what());
    // The unit's name ("xrt:0/cu1.2: ...") already names the device.
    std::string what = std::string(e.what()).rfind(failed, 0) == 0 ? e.what() : failed + ": " + e.what();
    if (!devices_->runs(kernel, true)) {
      log(what + "; " + failed + " is out of service");
      return host_scope(error_response(e));  // the card's failure, not the job's
    }
    lease->count_redone();
    lease.reset();
    log(what + "; " + failed + " is out of service, the job runs again on the CPU");
    std::optional<DevicePool::Lease> cpu;
    try {
      cpu = devices_->acquire(kernel, UINT_MAX, true);
    } catch (const Error& e2) {
      return error_response(e2);
    }
    if (device) *device = cpu->device().name;
    try {
      return guarded(*cpu);
    } catch (const Error& e2) {
      return error_response(e2);
    }
  }
}

Service::~Service() = default;

bool Service::authorized(const std::string& h) const {
  if (cfg_.token.empty()) return true;
  const std::string prefix = "Bearer ";
  if (h.compare(0, prefix.size(), prefix) != 0) return false;
  return constant_time_equal(h.substr(prefix.size()), cfg_.token);
}

void Service::count_refused(int status) {
  std::lock_guard<std::mutex> lk(counters_->mu);
  counters_->requests["refused," + std::to_string(status)]++;
  counters_->errors++;
  if (status == 503) counters_->refused_full++;
}

Response Service::handle(const Request& req, const std::string& peer) {
  auto t0 = std::chrono::steady_clock::now();
  Response r;
  std::string ran_on;  // the device that answered a job
  const std::string& p = req.path;
  if (!req.repeated.empty()) {
    // One value a parameter: which of two would count is not guessed.
    r = error_response(400, "usage", "parameter '" + server_text(req.repeated.substr(0, 64)) + "' is given twice");
  } else if (req.method == "GET" && p == "/v1/health") {
    // Ready while some device is in service (a card-only server whose cards
    // all failed is live, not ready).
    unsigned in_service = devices_->slots();
    r = text(200, "application/json",
             std::string("{\"live\":true,\"ready\":") + (in_service ? "true" : "false") + ",\"version\":\"" +
                 version() + "\",\"protocol\":" + std::to_string(kProtocolVersion) +
                 ",\"slots\":" + std::to_string(in_service) + "}\n");
  } else if (req.method == "GET" && p == "/v1/devices") {
    r = text(200, "application/json", devices_json());
  } else if (req.method == "GET" && p == "/metrics") {
    r = metrics();
  } else if (req.method == "GET" && p == "/v1/models") {
    try {
      r = models_response(*models_, req);
    } catch (const Error& e) {
      r = error_response(e);
    }
  } else if (p == "/v1/health" || p == "/v1/devices" || p == "/metrics" || p == "/v1/models") {
    // A path that is there, asked with another method (RFC 9110, 15.5.6).
    r = error_response(405, "usage", "method not allowed: use GET");
    r.allow = "GET";
  } else if (p == "/v1/gzip/compress" || p == "/v1/gzip/decompress" || p == "/v1/gzip/test" || p == "/v1/infer") {
    if (req.method != "POST") {
      r = error_response(405, "usage", "method not allowed: use POST");
      r.allow = "POST";
    } else {
      // One job a slot (a card's, a core's); a bounded queue behind them; 503 beyond.
      // Scores come from the CPU engine only (a FINN device gives classes).
      auto sc = req.query.find("scores");
      bool cpu_only = p == "/v1/infer" && sc != req.query.end() && sc->second == "1";
      r = run_leased(job_kernel(p), [&](DevicePool::Lease& lease) { return run_job(req, lease); }, &ran_on,
                     cpu_only);
    }
  } else {
    r = error_response(404, "usage", "no such resource: " + p);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard<std::mutex> lk(counters_->mu);
    bool known = p == "/v1/health" || p == "/v1/devices" || p == "/metrics" || p.rfind("/v1/gzip/", 0) == 0 ||
                 p == "/v1/models" || p == "/v1/infer";
    counters_->requests[(known ? p : std::string("other")) + "," + std::to_string(r.status)]++;
    counters_->bytes_in += req.body.size();
    counters_->bytes_out += r.body.size();
    if (r.status >= 400) counters_->errors++;
    counters_->latency_count++;
    counters_->latency_sum += secs;
    for (std::size_t i = 0; i < counters_->bounds.size(); ++i)
      if (secs <= counters_->bounds[i]) counters_->buckets[i]++;
  }
  if (cfg_.log) {
    // The method and path are the client's: escaped, so that they cannot
    // end the line or reach the terminal (protocol: "Logs").
    char tail[128];
    std::snprintf(tail, sizeof tail, " %d %zu %zu %.3f %s", r.status, req.body.size(), r.body.size(), secs,
                  ran_on.empty() ? "-" : ran_on.c_str());
    cfg_.log(peer + " " + log_text(req.method, 16) + " " + log_text(p, 64) + tail);
  }
  return r;
}

Response Service::run_job(const Request& req, DevicePool::Lease& lease) {
  const auto& q = req.query;
  // Tests only: makes every job hold its slot this long (queue-full tests).
  if (const char* d = std::getenv("FPGA_REMOTE_TEST_JOB_DELAY_MS"); d && *d)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::strtoul(d, nullptr, 10)));
  if (req.path == "/v1/infer") return infer_response(*models_, req, &lease);
  if (req.path == "/v1/gzip/compress") {
    gzip::CompressOptions co;
    co.level = static_cast<int>(query_number(q, "level", 0, 12, kDefaultLevel));
    co.block_size = query_number(q, "block", 1024, gzip::max_block_size(), 1 << 20);
    co.threads = 1;  // one job a slot
    // A card's job runs on all the card's units (one job at a time per
    // card), a core's on its one thread. Named devices never fall back
    // inside a job: a unit's device error ends it (run_leased decides).
    if (!lease.is_cpu()) co.units = &card_deflate_units(lease);
    co.end_marker = query_number(q, "end", 0, 1, 1) == 1;
    // A chunk's answer need not be the whole stream: always the end marker
    // (clients before FT version 2 check for it; ours fold a whole stream
    // of one member themselves, gzip::fold_end_marker).
    co.one_member = false;
    co.rsyncable = query_number(q, "rsyncable", 0, 1, 0) == 1;
    if (auto it = q.find("name"); it != q.end()) {
      if (it->second.find('\0') != std::string::npos) throw Error(ErrorKind::usage, "name holds a NUL byte");
      co.name = it->second;
    }
    co.mtime = static_cast<std::uint32_t>(query_number(q, "mtime", 0, 0xffffffffu, 0));
    if (auto it = q.find("comment"); it != q.end()) {
      if (it->second.find('\0') != std::string::npos) throw Error(ErrorKind::usage, "comment holds a NUL byte");
      co.comment = it->second;
    }
    if (auto it = q.find("part"); it != q.end()) {
      co.part = parse_part(it->second);
      if (!co.part) throw Error(ErrorKind::usage, "parameter 'part' must be INDEX/COUNT OFFSET");
    }
    if (auto it = q.find("strategy"); it != q.end()) {
      if (it->second == "huffman") co.strategy = Strategy::huffman_only;
      else if (it->second == "rle") co.strategy = Strategy::rle;
      else if (it->second != "normal") throw Error(ErrorKind::usage, "parameter 'strategy' must be normal, huffman or rle");
    }
    // From the body where it lies, in this thread (one job a slot).
    VecSink out;
    out.v.reserve(req.body.size() / 2 + 4096);
    gzip::compress(req.body.data(), req.body.size(), out, co);
    Response r;
    r.content_type = "application/gzip";
    r.body = std::move(out.v);
    return r;
  }
  // decompress, test: whole members; the client splits a stream at member
  // boundaries and sends the end-of-stream check with the last chunk. The
  // other formats fpga-gzip reads (.Z, pack, zip, zlib) and data passed
  // through (-cdf) come whole, in one request.
  bool test = req.path == "/v1/gzip/test";
  BodyInput in(req.body);
  gzip::DecompressOptions dopt;
  dopt.threads = 1;
  dopt.pass_through = query_number(q, "pass", 0, 1, 0) == 1;
  dopt.detect_zlib = query_number(q, "zlib", 0, 1, 1) == 1;
  bool salvage = !test && query_number(q, "salvage", 0, 1, 0) == 1;
  dopt.list_only = test && query_number(q, "list", 0, 1, 0) == 1;  // -l: sizes from the headers where they are
  gzip::Decoder dec(in.input(), dopt);
  // fpga-gzip's words, without a member or an offset.
  if (!dec.format() && !dopt.pass_through) {
    bool cut = dec.shorter_than_magic();
    Error e(ErrorKind::corrupt, cut ? "unexpected end of file" : "not in gzip format");
    e.damage = cut ? Damage::truncated : Damage::not_gzip;
    throw e;
  }
  Response r;
  gzip::DecompressResult res;
  BoundedSink out(cfg_.max_answer);
  try {
    if (test) {
      NullSink sink;
      res = dec.run(sink);
    } else {
      res = dec.run(out);
    }
  } catch (const AnswerTooLarge&) {
    // A bomb, or a stream the client could not cut (foreign members, other
    // formats): refused whole, salvage or not (protocol: "Limits").
    return error_response(413, "too-large", "the data would be over the server's limit of " +
                                                std::to_string(cfg_.max_answer) +
                                                " bytes an answer (--max-answer); decompress it locally");
  } catch (const Error& e) {
    if (!salvage) throw;
    // What was decoded before the damage, after the error's JSON, as a
    // local -dc writes it (protocol: "salvage").
    r = error_response(e);
    r.content_type += "; salvage=" + std::to_string(out.v.size());
    r.body.insert(r.body.end(), out.v.begin(), out.v.end());
    return r;
  }
  if (test) {
    r.content_type = "application/json";
    std::string j = "{\"bytes\":" + std::to_string(res.stats.out_bytes) + "}\n";
    r.body.assign(j.begin(), j.end());
  } else {
    r.body = std::move(out.v);
  }
  // What -l and -v show: bytes read, the content's CRC-32, the format.
  static const char* const formats[] = {"gzip", "zlib", "zip", "lzw", "pack"};
  r.content_type += "; in=" + std::to_string(res.stats.in_bytes) + "; crc=" + std::to_string(res.crc) +
                    "; format=" + formats[static_cast<int>(res.format)];
  if (res.trailing_garbage) r.content_type += "; trailing-garbage=1";  // a warning, as gzip
  if (res.zip_more_entries) r.content_type += "; zip-more-entries=1";
  for (const auto& w : res.warnings) r.content_type += "; warning=" + encode_query({{"w", w}}).substr(2);
  return r;
}

std::string Service::devices_json() const {
  auto kind = [](DeviceKind k) { return k == DeviceKind::cpu ? "cpu" : k == DeviceKind::xrt ? "xrt" : "csim"; };
  std::string j = "{\"devices\":[";
  bool first = true;
  for (const auto& d : devices_->status()) {
    if (!first) j += ',';
    first = false;
    j += "{\"name\":\"" + json_escape(d.device.name) + "\",\"kind\":\"" + kind(d.device.kind) +
         "\",\"slots\":" + std::to_string(d.in_service ? d.slots : 0u) + ",\"busy\":" + std::to_string(d.busy) +
         ",\"jobs\":" + std::to_string(d.jobs) + ",\"errors\":" + std::to_string(d.errors) +
         ",\"redone_on_cpu\":" + std::to_string(d.redone) +
         ",\"state\":\"" + (d.in_service ? "ready" : "failed") + "\"";
    if (!d.problem.empty()) j += ",\"problem\":\"" + json_escape(d.problem) + "\"";
    j += ",\"description\":\"" + json_escape(d.device.description) + "\",\"kernels\":[";
    for (std::size_t i = 0; i < d.device.kernels.size(); ++i)
      j += (i ? ",\"" : "\"") + json_escape(d.device.kernels[i]) + "\"";
    j += "]}";
  }
  j += "],\"slots\":" + std::to_string(devices_->slots()) + ",\"busy\":" + std::to_string(devices_->busy()) +
       ",\"waiting\":" + std::to_string(devices_->waiting()) + ",\"queue\":" + std::to_string(queue_) + "}\n";
  return j;
}

namespace {

// A Prometheus label value: backslash, double quote and newline escaped.
std::string label(const std::string& v) {
  std::string o;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      o += '\\';
      o += c;
    } else if (c == '\n') {
      o += "\\n";
    } else {
      o += c;
    }
  }
  return o;
}

}  // namespace

Response Service::metrics() const {
  std::string m;
  auto& c = *counters_;
  auto devs = devices_->status();
  unsigned busy = 0, waiting = devices_->waiting(), slots = 0;
  for (const auto& d : devs) {
    busy += d.busy;
    if (d.in_service) slots += d.slots;
  }
  std::lock_guard<std::mutex> lk(c.mu);
  m += "# HELP fpga_remote_requests_total Requests by path and status.\n# TYPE fpga_remote_requests_total counter\n";
  for (const auto& [k, v] : c.requests) {
    auto comma = k.find(',');
    m += "fpga_remote_requests_total{path=\"" + k.substr(0, comma) + "\",status=\"" + k.substr(comma + 1) +
         "\"} " + std::to_string(v) + "\n";
  }
  m += "# HELP fpga_remote_received_bytes_total Request body bytes.\n# TYPE fpga_remote_received_bytes_total counter\n";
  m += "fpga_remote_received_bytes_total " + std::to_string(c.bytes_in) + "\n";
  m += "# HELP fpga_remote_sent_bytes_total Response body bytes.\n# TYPE fpga_remote_sent_bytes_total counter\n";
  m += "fpga_remote_sent_bytes_total " + std::to_string(c.bytes_out) + "\n";
  m += "# HELP fpga_remote_errors_total Answers with status 400 or above.\n# TYPE fpga_remote_errors_total counter\n";
  m += "fpga_remote_errors_total " + std::to_string(c.errors) + "\n";
  m += "# HELP fpga_remote_queue_full_total Jobs refused with 503.\n# TYPE fpga_remote_queue_full_total counter\n";
  m += "fpga_remote_queue_full_total " + std::to_string(c.refused_full) + "\n";
  m += "# HELP fpga_remote_busy_slots Jobs running.\n# TYPE fpga_remote_busy_slots gauge\n";
  m += "fpga_remote_busy_slots " + std::to_string(busy) + "\n";
  m += "# HELP fpga_remote_slots Jobs that can run at once.\n# TYPE fpga_remote_slots gauge\n";
  m += "fpga_remote_slots " + std::to_string(slots) + "\n";
  m += "# HELP fpga_remote_queue_depth Jobs waiting for a slot.\n# TYPE fpga_remote_queue_depth gauge\n";
  m += "fpga_remote_queue_depth " + std::to_string(waiting) + "\n";
  // Per device (label device="xrt:0", "csim:0", "cpu").
  auto per_device = [&](const char* name, const char* type, const char* help, auto value) {
    m += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& d : devs)
      m += std::string(name) + "{device=\"" + label(d.device.name) + "\"} " + std::to_string(value(d)) + "\n";
  };
  per_device("fpga_remote_device_slots", "gauge", "Jobs the device runs at once (0: out of service).",
             [](const DeviceStatus& d) { return d.in_service ? d.slots : 0u; });
  per_device("fpga_remote_device_busy", "gauge", "Jobs running on the device.",
             [](const DeviceStatus& d) { return d.busy; });
  per_device("fpga_remote_device_busy_max", "gauge", "Most jobs that ran on the device at once since the start.",
             [](const DeviceStatus& d) { return d.busy_max; });
  per_device("fpga_remote_device_jobs_total", "counter", "Jobs run on the device.",
             [](const DeviceStatus& d) { return d.jobs; });
  per_device("fpga_remote_device_errors_total", "counter",
             "Jobs the device failed (device errors; corrupt input is not the device's).",
             [](const DeviceStatus& d) { return d.errors; });
  per_device("fpga_remote_device_redone_total", "counter", "Jobs the device failed that ran again on the CPU.",
             [](const DeviceStatus& d) { return d.redone; });
  per_device("fpga_remote_device_up", "gauge", "1 while the device is in service, 0 after it failed.",
             [](const DeviceStatus& d) { return d.in_service ? 1u : 0u; });
  m += "# HELP fpga_remote_request_seconds Request latency.\n# TYPE fpga_remote_request_seconds histogram\n";
  for (std::size_t i = 0; i < c.bounds.size(); ++i) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", c.bounds[i]);
    m += std::string("fpga_remote_request_seconds_bucket{le=\"") + b + "\"} " + std::to_string(c.buckets[i]) + "\n";
  }
  m += "fpga_remote_request_seconds_bucket{le=\"+Inf\"} " + std::to_string(c.latency_count) + "\n";
  char s[64];
  std::snprintf(s, sizeof s, "%.6f", c.latency_sum);
  m += std::string("fpga_remote_request_seconds_sum ") + s + "\n";
  m += "fpga_remote_request_seconds_count " + std::to_string(c.latency_count) + "\n";
  return text(200, "text/plain; version=0.0.4", m);
}

}  // namespace fpgaio::remote
