// fpga-remote: the job protocol (docs/PROTOCOL.md), the server side that runs
// jobs on this host's devices, and the client transports (SSH, HTTP/HTTPS)
// with failover across hosts. Built as libfpgaio_remote (libcurl and
// libmicrohttpd), linked only by fpga-remote.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fpgaio/error.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/remote_devices.hpp"
#include "fpgaio/remote_protocol.hpp"

namespace fpgaio::remote {

// The messages (Request, Response, the jobs and their coding) are in
// remote_protocol.hpp, shared by the client and the server.

// A client-controlled string made safe for the one-line-a-request log:
// every byte outside printable ASCII (newlines, terminal escapes, UTF-8) as
// \xNN, a backslash as \\, at most `max` bytes of input (then "...").
std::string log_text(const std::string& s, std::size_t max = 128);

// Compares two strings in time that depends only on their lengths.
bool constant_time_equal(const std::string& a, const std::string& b);

// ---- Server -----------------------------------------------------------------

struct ServerConfig {
  std::string listen = "127.0.0.1:8437";
  std::string token;          // empty: no token required (loopback only)
  std::string tls_cert_pem;   // contents, not paths
  std::string tls_key_pem;
  std::string tls_client_ca_pem;  // non-empty: every request but /v1/health needs a
                                  // client certificate signed by one of these CAs
  std::vector<std::string> tls_client_names;  // and, if any, whose name matches one
                                              // of these patterns (fnmatch)
  std::string devices;        // --device LIST ("xrt:0,cpu", "csim:0"); "": what fpga-gzip picks
  unsigned slots = 0;         // the CPU's job slots; 0: its online cores
  unsigned queue = 0;         // jobs waiting for a slot; 0: 4 x slots
  std::size_t max_body = (std::size_t{64} << 20) + (std::size_t{1} << 20);
  std::size_t max_header = 8192;
  // A decompress answer (data, or salvaged data) over this is refused with
  // 413: a request of max_body bytes can inflate 1032 times as much.
  std::size_t max_answer = std::size_t{256} << 20;
  unsigned max_connections = 64;
  unsigned max_per_address = 16;
  unsigned timeout_seconds = 30;  // a connection silent this long is closed
  std::string models_dir;     // fpga-infer models served by name (NAME.fbnn); empty: the default only
  std::string default_model;  // a name in models_dir; empty: fpga-infer's default on this host
  std::function<void(const std::string&)> log;  // one line a request
};

class ModelStore;  // remote_infer.hpp

// Runs requests: the jobs, health, devices, metrics. Thread-safe.
class Service {
 public:
  explicit Service(ServerConfig cfg);
  ~Service();
  // `peer` is the client's address (for logs).
  Response handle(const Request& req, const std::string& peer);
  // Counts a request refused before it reached handle() (413, 431, 401).
  void count_refused(int status);
  const ServerConfig& config() const { return cfg_; }
  unsigned slots() const { return slots_; }
  unsigned queue_limit() const { return queue_; }
  bool authorized(const std::string& authorization_header) const;
  DevicePool& devices() { return *devices_; }
  // What was passed over when the devices were opened (busy or failing cards).
  const std::vector<std::string>& device_warnings() const { return device_warnings_; }

  // Runs `job` on a leased slot of a device that runs `kernel` (a job kind:
  // "deflate", "inflate", "bnn"): a free slot, cards first, else a wait in
  // the queue, else 503 with Retry-After. A device error from a card or
  // csim takes the device out of service and, when the server's list has
  // the CPU and the CPU runs `kernel`, the job runs again on a CPU slot
  // (logged, counted); otherwise it is the job's error answer (500
  // "device"). Errors thrown by `job` become error answers. `device` gets
  // the name of the device that answered ("" when none did). `cpu_only`:
  // a CPU slot whatever else runs `kernel` (inference with scores, which a
  // FINN device does not give).
  Response run_leased(const std::string& kernel, const std::function<Response(DevicePool::Lease&)>& job,
                      std::string* device = nullptr, bool cpu_only = false);

 private:
  Response run_job(const Request& req, DevicePool::Lease& lease);
  Response metrics() const;
  std::string devices_json() const;
  void log(const std::string& line) const;
  ServerConfig cfg_;
  std::vector<std::string> device_warnings_;
  std::unique_ptr<DevicePool> devices_;
  unsigned slots_, queue_;
  struct Counters;
  std::unique_ptr<Counters> counters_;
  std::unique_ptr<ModelStore> models_;  // fpga-infer's models (remote_infer.hpp)
};

// The HTTP server (libmicrohttpd, one thread a connection). Refuses a
// non-loopback address without a token or client certificates.
class HttpServer {
 public:
  HttpServer(Service& service);  // throws Error(usage / io)
  ~HttpServer();
  unsigned port() const { return port_; }
  void stop_accepting();  // SIGTERM: no new connections
  void wait_idle();       // until no request is in flight
 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  unsigned port_ = 0;
};

// The same protocol over a pair of descriptors (ssh HOST fpga-remote serve
// --stdio): "METHOD PATH?QUERY LENGTH\n" + body, answered by
// "STATUS LENGTH CONTENT-TYPE\n" + body. Returns at end of input.
void serve_stdio(Service& service, int in_fd, int out_fd);

// ---- Client -----------------------------------------------------------------

struct Endpoint {
  enum class Scheme { ssh, http, https } scheme = Scheme::ssh;
  std::string user, host;
  unsigned port = 0;  // 0: the scheme's default
  std::string text;   // as given, for messages
  unsigned jobs = 1;  // from an "N/" prefix of a --hosts line
};
// ssh://[user@]host[:port], a bare [user@]host, http://host:port, https://host:port.
Endpoint parse_endpoint(const std::string& s);  // throws Error(usage)
// A --hosts file: one host a line, "N/" prefixes, '#' comments, blank lines.
std::vector<Endpoint> read_hosts_file(const std::string& path);

struct ClientConfig {
  std::string token;
  std::string cacert;                      // https: CA bundle (default: the system's)
  std::string cert, key;                   // https: client certificate and key files (PEM)
  std::vector<std::string> ssh_command{"ssh"};  // FPGA_REMOTE_SSH splits on blanks
  std::string remote_command = "fpga-remote";
  unsigned timeout_seconds = 60;           // a transfer that stalls this long fails
  std::string token_from;                  // where the token came from, for a 401's message
  // Called when a request passes a host over for another one (host, why,
  // the next host); fpga-remote prints it unless -q. Called from the
  // threads of the requests in flight.
  std::function<void(const std::string&, const std::string&, const std::string&)> on_skip;
};

// A failure of the transport or the host (down, refused, 503, cut short,
// wrong version): the work can go to another host.
struct TransportError : std::runtime_error {
  using std::runtime_error::runtime_error;
  unsigned retry_after = 0;
};
// libcurl's reason for a failed transfer without the times it puts in it
// ("Failed to connect to h port 1 after 11 ms: Couldn't connect to
// server" is "Failed to connect to h port 1: Couldn't connect to server"):
// a host that fails the same way each time reads the same, and HostPool
// names each host and reason once, with the count, by their text.
std::string curl_reason(std::string what);

class Transport {
 public:
  virtual ~Transport() = default;
  // An answer with any status (the caller reads error bodies), or
  // TransportError. 503 is a TransportError.
  virtual Response call(const Request& req) = 0;
  // True when several threads may call at once (SSH: requests pipelined on
  // one connection); false: one call at a time (HTTP: a connection each).
  virtual bool concurrent() const { return false; }
};
std::unique_ptr<Transport> connect(const Endpoint& ep, const ClientConfig& cfg);

// SSH ciphers: `defaults` and `effective` are the "ciphers" lines of
// `ssh -G -F none HOST` and `ssh [the user's options] -G HOST`. When they
// differ the user chose (ssh_config, -c, -o Ciphers): nullopt, ssh's choice
// stands. Otherwise the same list with AES-GCM first (nullopt when it
// already is, or has none). The client asks for it where cpu_has_aes().
std::optional<std::string> gcm_first(const std::string& defaults, const std::string& effective);
bool cpu_has_aes();  // /proc/cpuinfo: AES instructions (x86 "aes", Arm "aes")

// Sends each request to one host of a list; on TransportError, or an answer
// that says the host cannot do it (host_cannot) or a certificate that does
// not verify, the request goes to the next host, at most `max_attempts`
// times in all (a host that cannot do it is not tried again for it), then
// Error(device) naming every host tried (a single host's own answer or
// certificate error when it was the only one tried). A 401 is answered at
// once, its message saying how to give the token. Thread-safe: idle HTTP connections
// are kept per host and reused; an SSH host has one connection that carries
// every request in flight.
class HostPool {
 public:
  HostPool(std::vector<Endpoint> hosts, ClientConfig cfg, std::size_t first, unsigned max_attempts);
  ~HostPool();
  // The answer and the host that gave it.
  std::pair<Response, std::string> call(const Request& req);
  std::string first_host() const;
  std::size_t size() const { return hosts_.size(); }

 private:
  std::shared_ptr<Transport> take(std::size_t i);
  void give_back(std::size_t i, std::shared_ptr<Transport> t);
  std::vector<Endpoint> hosts_;
  ClientConfig cfg_;
  unsigned max_attempts_;
  std::mutex mu_;
  std::size_t current_;
  std::vector<std::vector<std::shared_ptr<Transport>>> idle_;
  std::vector<std::shared_ptr<Transport>> shared_;  // a concurrent transport a host (SSH)
  std::vector<std::unique_ptr<std::mutex>> connecting_;
};

}  // namespace fpgaio::remote
