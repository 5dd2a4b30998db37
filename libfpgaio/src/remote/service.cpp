// The generic server: requests routed to their jobs (gzip_service.cpp,
// infer_service.cpp), one job a slot, a bounded queue, health, devices and
// Prometheus metrics.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <climits>
#include <cstring>
#include <thread>

#include "fpgaio/device.hpp"
#include "fpgaio/json.hpp"
#include "fpgaio/remote.hpp"
#include "fpgaio/remote_gzip.hpp"
#include "fpgaio/remote_infer.hpp"
#include "fpgaio/version.hpp"

namespace fpgaio::remote {

namespace {

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

}  // namespace

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
      if (device && !r.ran_on.empty()) *device = r.ran_on;
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
      // Scores come from the CPU engine only (a FINN device gives classes),
      // or from the Pynq-Z1 overlay (pynq:0), whose scores are the CPU's.
      auto sc = req.query.find("scores");
      bool cpu_only = p == "/v1/infer" && sc != req.query.end() && sc->second == "1";
      if (cpu_only)
        for (const auto& d : devices_->status())
          if (d.device.kind == DeviceKind::pynq && d.in_service) cpu_only = false;
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
  // Tests only: makes every job hold its slot this long (queue-full tests).
  if (const char* d = std::getenv("FPGA_REMOTE_TEST_JOB_DELAY_MS"); d && *d)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::strtoul(d, nullptr, 10)));
  if (req.path == "/v1/infer") return infer_response(*models_, req, &lease);
  return gzip_response(req, lease, cfg_.max_answer);  // gzip_service.cpp
}

std::string Service::devices_json() const {
  auto kind = [](DeviceKind k) {
    return k == DeviceKind::cpu ? "cpu" : k == DeviceKind::xrt ? "xrt" : k == DeviceKind::pynq ? "pynq" : "csim";
  };
  std::string j = "{\"devices\":[";
  bool first = true;
  for (const auto& d : devices_->status()) {
    if (!first) j += ',';
    first = false;
    j += "{\"name\":" + json::quote(d.device.name) + ",\"kind\":\"" + kind(d.device.kind) +
         "\",\"slots\":" + std::to_string(d.in_service ? d.slots : 0u) + ",\"busy\":" + std::to_string(d.busy) +
         ",\"jobs\":" + std::to_string(d.jobs) + ",\"errors\":" + std::to_string(d.errors) +
         ",\"redone_on_cpu\":" + std::to_string(d.redone) +
         ",\"state\":\"" + (d.in_service ? "ready" : "failed") + "\"";
    if (!d.problem.empty()) j += ",\"problem\":" + json::quote(d.problem);
    j += ",\"description\":" + json::quote(d.device.description) + ",\"kernels\":[";
    for (std::size_t i = 0; i < d.device.kernels.size(); ++i)
      j += (i ? "," : "") + json::quote(d.device.kernels[i]);
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
