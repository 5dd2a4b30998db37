// The server side of the job protocol: parameters checked, one job a slot,
// a bounded queue, health, devices and Prometheus metrics.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "fpgaio/device.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/remote.hpp"
#include "fpgaio/version.hpp"

namespace fpgaio::remote {

namespace {

struct VecSink : Sink {
  Bytes v;
  void write(const std::uint8_t* d, std::size_t k) override { v.insert(v.end(), d, d + k); }
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

std::uint64_t number(const std::map<std::string, std::string>& q, const std::string& key, std::uint64_t lo,
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

std::string json_escape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o;
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

std::map<std::string, std::string> decode_query(const std::string& s) {
  std::map<std::string, std::string> q;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t amp = s.find('&', i);
    if (amp == std::string::npos) amp = s.size();
    std::string part = s.substr(i, amp - i);
    std::size_t eq = part.find('=');
    std::string k = part.substr(0, eq), raw = eq == std::string::npos ? "" : part.substr(eq + 1), v;
    for (std::size_t j = 0; j < raw.size(); ++j) {
      if (raw[j] == '%' && j + 2 < raw.size() + 0 && std::isxdigit(static_cast<unsigned char>(raw[j + 1])) &&
          std::isxdigit(static_cast<unsigned char>(raw[j + 2]))) {
        v += static_cast<char>(std::stoi(raw.substr(j + 1, 2), nullptr, 16));
        j += 2;
      } else if (raw[j] == '+') {
        v += ' ';
      } else {
        v += raw[j];
      }
    }
    if (!k.empty()) q[k] = v;
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
          v += static_cast<char>(std::stoi(j.substr(p + 1, 4), nullptr, 16));
          p += 4;
          continue;
        }
      }
      v += j[p];
    }
    return v;
  }
  std::size_t e = j.find_first_of(",}", p);
  return j.substr(p, e == std::string::npos ? std::string::npos : e - p);
}

Error error_from_response(const Response& r) {
  std::string body(r.body.begin(), r.body.end());
  auto kind = json_value(body, "error").value_or("");
  auto msg = json_value(body, "message").value_or("HTTP status " + std::to_string(r.status));
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
  slots_ = cfg_.slots ? cfg_.slots : static_cast<unsigned>(std::max<std::size_t>(1, job_slots("deflate").size()));
  queue_ = cfg_.queue ? cfg_.queue : 4 * slots_;
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
}

Response Service::handle(const Request& req, const std::string& peer) {
  auto t0 = std::chrono::steady_clock::now();
  Response r;
  const std::string& p = req.path;
  if (req.method == "GET" && p == "/v1/health") {
    r = text(200, "application/json",
             std::string("{\"live\":true,\"ready\":true,\"version\":\"") + version() +
                 "\",\"protocol\":" + std::to_string(kProtocolVersion) + ",\"slots\":" + std::to_string(slots_) +
                 "}\n");
  } else if (req.method == "GET" && p == "/v1/devices") {
    std::string j = "{\"devices\":[";
    bool first = true;
    for (const auto& d : list_devices()) {
      if (!first) j += ',';
      first = false;
      j += "{\"name\":\"" + json_escape(d.name) + "\",\"slots\":" + std::to_string(d.slots) +
           ",\"description\":\"" + json_escape(d.description) + "\",\"kernels\":[";
      for (std::size_t i = 0; i < d.kernels.size(); ++i) j += (i ? ",\"" : "\"") + json_escape(d.kernels[i]) + "\"";
      j += "]}";
    }
    j += "],\"slots\":" + std::to_string(slots_) + ",\"queue\":" + std::to_string(queue_) + "}\n";
    r = text(200, "application/json", j);
  } else if (req.method == "GET" && p == "/metrics") {
    r = metrics();
  } else if (p == "/v1/gzip/compress" || p == "/v1/gzip/decompress" || p == "/v1/gzip/test") {
    if (req.method != "POST") {
      r = error_response(405, "usage", "method not allowed: use POST");
    } else {
      // One job a slot; a bounded queue behind them; 503 beyond.
      std::unique_lock<std::mutex> lk(mu_);
      if (busy_ >= slots_ && waiting_ >= queue_) {
        lk.unlock();
        r = error_response(503, "busy", "all slots busy and the queue is full");
        r.retry_after = 1;
        std::lock_guard<std::mutex> ck(counters_->mu);
        counters_->refused_full++;
      } else {
        ++waiting_;
        cv_.wait(lk, [&] { return busy_ < slots_; });
        --waiting_;
        ++busy_;
        lk.unlock();
        try {
          r = run_job(req);
        } catch (const Error& e) {
          r = error_response(e);
        } catch (const std::bad_alloc&) {
          r = error_response(500, "io", "out of memory");
        } catch (const std::exception& e) {
          r = error_response(500, "io", e.what());
        }
        lk.lock();
        --busy_;
        lk.unlock();
        cv_.notify_one();
      }
    }
  } else {
    r = error_response(404, "usage", "no such resource: " + p);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard<std::mutex> lk(counters_->mu);
    bool known = p == "/v1/health" || p == "/v1/devices" || p == "/metrics" || p.rfind("/v1/gzip/", 0) == 0;
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
    char line[512];
    std::snprintf(line, sizeof line, "%s %s %s %d %zu %zu %.3f", peer.c_str(), req.method.c_str(),
                  p.size() > 64 ? (p.substr(0, 64) + "...").c_str() : p.c_str(), r.status, req.body.size(),
                  r.body.size(), secs);
    cfg_.log(line);
  }
  return r;
}

Response Service::run_job(const Request& req) {
  const auto& q = req.query;
  // Tests only: makes every job hold its slot this long (queue-full tests).
  if (const char* d = std::getenv("FPGA_REMOTE_TEST_JOB_DELAY_MS"); d && *d)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::strtoul(d, nullptr, 10)));
  if (req.path == "/v1/gzip/compress") {
    gzip::CompressOptions co;
    co.level = static_cast<int>(number(q, "level", 1, 12, kDefaultLevel));
    co.block_size = number(q, "block", 1024, gzip::max_block_size(), 1 << 20);
    co.threads = 1;  // one job a slot
    co.end_marker = number(q, "end", 0, 1, 1) == 1;
    co.rsyncable = number(q, "rsyncable", 0, 1, 0) == 1;
    if (auto it = q.find("name"); it != q.end()) {
      if (it->second.find('\0') != std::string::npos) throw Error(ErrorKind::usage, "name holds a NUL byte");
      co.name = it->second;
    }
    co.mtime = static_cast<std::uint32_t>(number(q, "mtime", 0, 0xffffffffu, 0));
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
  // boundaries and sends the end-of-stream check with the last chunk.
  bool test = req.path == "/v1/gzip/test";
  BodyInput in(req.body);
  gzip::DecompressOptions dopt;
  dopt.threads = 1;
  gzip::Decoder dec(in.input(), dopt);
  if (!dec.is_gzip()) throw Error(ErrorKind::corrupt, "not in gzip format");
  Response r;
  gzip::DecompressResult res;
  if (test) {
    NullSink sink;
    res = dec.run(sink);
    r.content_type = "application/json";
    std::string j = "{\"bytes\":" + std::to_string(res.stats.out_bytes) + "}\n";
    r.body.assign(j.begin(), j.end());
  } else {
    VecSink out;
    res = dec.run(out);
    r.body = std::move(out.v);
  }
  if (res.trailing_garbage) r.content_type += "; trailing-garbage=1";  // a warning, as gzip
  return r;
}

Response Service::metrics() const {
  std::string m;
  auto& c = *counters_;
  unsigned busy, waiting;
  {
    std::lock_guard<std::mutex> lk(const_cast<std::mutex&>(mu_));
    busy = busy_;
    waiting = waiting_;
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
  m += "fpga_remote_slots " + std::to_string(slots_) + "\n";
  m += "# HELP fpga_remote_queue_depth Jobs waiting for a slot.\n# TYPE fpga_remote_queue_depth gauge\n";
  m += "fpga_remote_queue_depth " + std::to_string(waiting) + "\n";
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
