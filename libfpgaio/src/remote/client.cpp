// The client side: host names, the HTTP transport (libcurl), the SSH
// transport (the system ssh running `fpga-remote serve --stdio`), failover.
#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <thread>

#include "fpgaio/remote.hpp"
#include "fpgaio/version.hpp"

#include "../util.hpp"

namespace fpgaio::remote {

namespace {

// The slowest transfer that is not stalled, in bytes a second (--timeout).
constexpr std::size_t kMinRate = 1024;

// A TCP port: 1-65535 in decimal digits.
bool valid_port(const std::string& s) {
  return util::all_digits(s) && s.size() <= 5 && std::stoul(s) != 0 && std::stoul(s) <= 65535;
}

// The health answer must name our version and protocol: every host runs the
// same release, or byte-identity is not guaranteed.
void check_health(const Response& r, const std::string& host) {
  std::string body(r.body.begin(), r.body.end());
  if (r.status != 200) throw TransportError("health check answered " + std::to_string(r.status));
  auto v = json_value(body, "version");
  auto p = json_value(body, "protocol");
  if (!v || !p) throw TransportError("not an fpga-remote server (no version in its health answer)");
  if (*v != version() || *p != std::to_string(kProtocolVersion))
    throw TransportError("version mismatch: " + host + " runs fpga-remote " + *v + " (protocol " + *p +
                         "), this is " + version() + "; install the same release on every host");
}

// A host that cannot do this request whoever asks again (its certificate
// does not verify): passed over, never tried again for it (HostPool::call).
struct HostCannot : TransportError {
  using TransportError::TransportError;
};

// A certificate that does not verify, in words that say the fix: the CA
// (--cacert), or the name the host is given by.
std::string certificate_refusal(const std::string& what, const ClientConfig& cfg, const std::string& host) {
  std::string s = "the server's certificate does not verify (" + what + "): ";
  if (what.find("does not match target host name") != std::string::npos ||
      what.find("no alternative certificate subject name") != std::string::npos)
    return s + "it does not name " + host + "; give the host by a name or address its certificate names";
  if (cfg.cacert.empty()) return s + "give the CA that signed it with --cacert FILE";
  return s + "no CA of " + cfg.cacert + " signed it, or it is not valid now, or it does not name " + host;
}

// A 401 (the token is missing or wrong) as the answer the caller reports,
// its message saying how to give the right one.
Response unauthorized(const Response& r, const ClientConfig& cfg) {
  std::string body(r.body.begin(), r.body.end());
  std::string msg = server_text(json_value(body.substr(0, body.find('\n')), "message").value_or("HTTP status 401"));
  if (cfg.token.empty()) msg += ": give it with --token-file FILE or FPGA_REMOTE_TOKEN";
  else msg += ": the token of " + (cfg.token_from.empty() ? "--token-file or FPGA_REMOTE_TOKEN" : cfg.token_from) +
              " is not this server's";
  return error_response(401, "unauthorized", msg);
}

// The first request on every connection.
Request health_request() {
  Request h;
  h.method = "GET";
  h.path = "/v1/health";
  return h;
}

// ---- HTTP -------------------------------------------------------------------

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

class HttpTransport : public Transport {
 public:
  HttpTransport(const Endpoint& ep, const ClientConfig& cfg) : ep_(ep), cfg_(cfg) {
    static CurlGlobal global;
    curl_ = curl_easy_init();
    if (!curl_) throw TransportError("cannot start libcurl");
    base_ = std::string(ep.scheme == Endpoint::Scheme::https ? "https://" : "http://") +
            (ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host) + ":" +
            std::to_string(ep.port);
    Response r;
    try {
      r = call(health_request());
    } catch (const TransportError& e) {
      // The first answer on a connection: a scheme that does not match the
      // server's shows here, as nothing (http to https) or a record that is
      // not TLS (https to http).
      std::string what = e.what();
      if (ep.scheme == Endpoint::Scheme::http && what == "Empty reply from server")
        throw TransportError(what + " (an https server? give https://)");
      if (ep.scheme == Endpoint::Scheme::https &&
          (what.find("unexpected TLS packet") != std::string::npos ||
           what.find("handshake() failed: The TLS connection was non-properly terminated") != std::string::npos ||
           what.find("wrong version number") != std::string::npos))
        throw TransportError(what + " (not an https server? give http://)");
      throw;
    }
    check_health(r, ep.text);
  }
  ~HttpTransport() override { curl_easy_cleanup(curl_); }

  Response call(const Request& req) override {
    CURL* c = curl_;
    curl_easy_reset(c);
    std::string url = base_ + req.path;
    if (!req.query.empty()) url += "?" + encode_query(req.query);
    Response r;
    std::string ctype;
    struct Ctx {
      Response* r;
      std::size_t limit;
      CURL* curl;
      bool over = false;
    } ctx{&r, req.max_answer ? req.max_answer : std::size_t{1} << 31, c};
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(std::min(10u, cfg_.timeout_seconds)));
    // A transfer that moves less than kMinRate bytes a second for the
    // timeout is stalled: a server trickling a byte at a time cannot hold
    // the run forever.
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(kMinRate));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(cfg_.timeout_seconds));
    if (!cfg_.cacert.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, cfg_.cacert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    if (!cfg_.cert.empty()) {
      // Paths, checked by load_key_pair before any connection; a key in the
      // certificate's file when no other is given.
      curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(c, CURLOPT_SSLCERT, cfg_.cert.c_str());
      curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
      curl_easy_setopt(c, CURLOPT_SSLKEY, (cfg_.key.empty() ? cfg_.cert : cfg_.key).c_str());
    }
    curl_slist* headers = nullptr;
    std::string auth;
    if (!cfg_.token.empty()) {
      auth = "Authorization: Bearer " + cfg_.token;
      headers = curl_slist_append(headers, auth.c_str());
    }
    headers = curl_slist_append(headers, "Expect:");  // no 1 s wait for 100-continue
    if (req.method == "POST") {
      headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    // Large pieces: a body goes out in 1 MiB sends (not 64 KiB), an answer
    // comes in in 512 KiB reads, into a buffer sized from Content-Length.
    curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L << 10);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char* p, size_t, size_t n, void* u) -> size_t {
      auto* x = static_cast<Ctx*>(u);
      if (x->r->body.size() + n > x->limit) {
        x->over = true;
        return 0;
      }
      if (x->r->body.empty()) {
        curl_off_t len = -1;
        if (curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) == CURLE_OK && len > 0 &&
            static_cast<std::size_t>(len) <= x->limit)
          x->r->body.reserve(static_cast<std::size_t>(len));
      }
      // As bytes: from char pointers, vector<uint8_t>::insert copies one
      // element at a time instead of with memmove.
      auto* b = reinterpret_cast<const std::uint8_t*>(p);
      x->r->body.insert(x->r->body.end(), b, b + n);
      return n;
    });
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(headers);
    if (ctx.over) throw TransportError("answer over " + std::to_string(ctx.limit) + " bytes, more than the request can have");
    // Asking again cannot make a certificate verify.
    if (rc == CURLE_PEER_FAILED_VERIFICATION)
      throw HostCannot(certificate_refusal(errbuf[0] ? errbuf : curl_easy_strerror(rc), cfg_, ep_.host));
    if (rc != CURLE_OK)
      // A cut body is CURLE_PARTIAL_FILE: an error, never a short output.
      throw TransportError(curl_reason(errbuf[0] ? errbuf : curl_easy_strerror(rc)));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    r.status = static_cast<int>(status);
    char* ct = nullptr;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) r.content_type = ct;
    if (status == 503) {
      curl_off_t ra = 0;
      curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra);
      TransportError e("busy (503: all slots busy and the queue is full)");
      e.retry_after = static_cast<unsigned>(std::min<curl_off_t>(ra, 30));
      throw e;
    }
    if (status >= 500 && status != 500) throw TransportError("HTTP status " + std::to_string(status));
    check_body_crc(r);
    return r;
  }

 private:
  Endpoint ep_;
  ClientConfig cfg_;
  CURL* curl_ = nullptr;
  std::string base_;
};

// ---- SSH --------------------------------------------------------------------

// Runs argv and returns what it wrote on stdout (stderr dropped); empty when
// it cannot run.
std::string run_capture(const std::vector<std::string>& argv) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return "";
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return "";
  }
  if (pid == 0) {
    ::dup2(p[1], 1);
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 2);
    }
    std::vector<char*> a;
    for (auto& x : argv) a.push_back(const_cast<char*>(x.c_str()));
    a.push_back(nullptr);
    ::execvp(a[0], a.data());
    _exit(127);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(p[0]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? out : "";
}

std::string ssh_g_value(const std::string& g, const std::string& key) {
  std::size_t pos = 0;
  while (pos < g.size()) {
    std::size_t nl = g.find('\n', pos);
    if (nl == std::string::npos) nl = g.size();
    if (g.compare(pos, key.size() + 1, key + " ") == 0) return g.substr(pos + key.size() + 1, nl - pos - key.size() - 1);
    pos = nl + 1;
  }
  return "";
}

}  // namespace

bool cpu_has_aes() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("flags", 0) == 0 || line.rfind("Features", 0) == 0)
      return (line + " ").find(" aes ") != std::string::npos;
  return false;
}

std::optional<std::string> gcm_first(const std::string& defaults, const std::string& effective) {
  if (effective.empty() || effective != defaults) return std::nullopt;  // the user chose
  std::vector<std::string> list, first, rest;
  for (std::size_t pos = 0; pos <= effective.size();) {
    std::size_t comma = effective.find(',', pos);
    if (comma == std::string::npos) comma = effective.size();
    list.push_back(effective.substr(pos, comma - pos));
    pos = comma + 1;
  }
  for (const char* g : {"aes128-gcm@openssh.com", "aes256-gcm@openssh.com"})
    if (std::find(list.begin(), list.end(), g) != list.end()) first.emplace_back(g);
  if (first.empty()) return std::nullopt;
  for (const auto& c : list)
    if (std::find(first.begin(), first.end(), c) == first.end()) rest.push_back(c);
  std::string out;
  for (const auto& c : first) out += (out.empty() ? "" : ",") + c;
  for (const auto& c : rest) out += "," + c;
  if (out == effective) return std::nullopt;
  return out;
}

namespace {

// The ciphers to ask ssh for: the user's own choice (ssh_config, -c or
// -o Ciphers in FPGA_REMOTE_SSH) is kept; ssh's defaults are reordered with
// AES-GCM first where this CPU has AES instructions (several times less CPU
// a byte than chacha20-poly1305 there).
std::optional<std::string> preferred_ciphers(const std::vector<std::string>& ssh, const std::string& target) {
  if (!cpu_has_aes()) return std::nullopt;
  std::vector<std::string> eff = ssh;
  eff.insert(eff.end(), {"-G", target});
  std::string effective = ssh_g_value(run_capture(eff), "ciphers");
  std::string defaults = ssh_g_value(run_capture({ssh.front(), "-G", "-F", "none", target}), "ciphers");
  return gcm_first(defaults, effective);
}


class SshTransport : public Transport {
 public:
  SshTransport(const Endpoint& ep, const ClientConfig& cfg) : ep_(ep), cfg_(cfg) {
    std::vector<std::string> argv = cfg.ssh_command;
    argv.insert(argv.end(), {"-o", "BatchMode=yes", "-e", "none"});
    if (ep.port) argv.insert(argv.end(), {"-p", std::to_string(ep.port)});
    std::string target = ep.user.empty() ? ep.host : ep.user + "@" + ep.host;
    if (auto c = preferred_ciphers(argv, target)) argv.insert(argv.end(), {"-o", "Ciphers=" + *c});
    argv.push_back(target);
    argv.push_back("--");
    argv.push_back(cfg.remote_command + " serve --stdio");
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw TransportError("pipe: " + std::string(std::strerror(errno)));
    err_fd_ = ::memfd_create("ssh-stderr", MFD_CLOEXEC);
    pid_ = ::fork();
    if (pid_ < 0) throw TransportError("fork: " + std::string(std::strerror(errno)));
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      if (err_fd_ >= 0) ::dup2(err_fd_, 2);
      signal(SIGPIPE, SIG_DFL);
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      ::execvp(a[0], a.data());
      _exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_ = in[1];
    from_ = out[0];
    Response r;
    try {
      r = call(health_request());
    } catch (const TransportError& e) {
      int st = finish();
      if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        throw TransportError(cfg.remote_command + " not found on the remote host (exit 127)" + ssh_said());
      // lost() already quotes what ssh said; other errors do not.
      std::string what = e.what(), said = ssh_said();
      if (what.size() < said.size() || what.compare(what.size() - said.size(), said.size(), said) != 0) what += said;
      throw TransportError(what);
    }
    check_health(r, ep.text);
  }

  ~SshTransport() override {
    finish();
    if (err_fd_ >= 0) ::close(err_fd_);
  }

  // Several threads call at once: requests go out one after the other on
  // the one connection, and the answers, which come back in the same order,
  // each to the thread that asked.
  bool concurrent() const override { return true; }

  Response call(const Request& req) override {
    std::string target = req.path;
    if (!req.query.empty()) target += "?" + encode_query(req.query);
    std::string head = req.method + " " + target + " " + std::to_string(req.body.size()) + "\n";
    std::uint64_t ticket;
    try {
      std::lock_guard<std::mutex> wl(write_mu_);
      if (broken()) throw TransportError("connection closed");
      ticket = next_ticket_++;
      // The server reads requests while it answers earlier ones, so writing
      // a whole body while answers wait cannot deadlock.
      write_all(head.data(), head.size());
      write_all(req.body.data(), req.body.size());
    } catch (const TransportError&) {
      fail();
      throw TransportError(lost());
    }
    std::unique_lock<std::mutex> rl(read_mu_);
    read_cv_.wait(rl, [&] { return broken() || next_read_ == ticket; });
    if (broken()) throw TransportError(lost());
    // This answer's turn: its --timeout window starts now.
    start_ = std::chrono::steady_clock::now();
    moved_ = 0;
    Response r;
    try {
      std::string line;
      char ch;
      while (true) {
        read_exact(&ch, 1);
        if (ch == '\n') break;
        line += ch;
        if (line.size() > 4096) throw std::invalid_argument("line");
      }
      // STATUS LENGTH TYPE: a status of three digits, a length of digits
      // alone (std::stoull would take "-1", "+5", " 5" or "5x" too).
      auto sp1 = line.find(' ');
      auto sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string::npos) throw std::invalid_argument("line");
      std::string status = line.substr(0, sp1), len = line.substr(sp1 + 1, sp2 - sp1 - 1);
      if (status.size() != 3 || status[0] < '1' || status[0] > '5' ||
          status.find_first_not_of("0123456789") != std::string::npos || len.empty() || len.size() > 19 ||
          len.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument("line");
      r.status = std::stoi(status);
      std::uint64_t n = std::stoull(len);
      const std::uint64_t limit = req.max_answer ? req.max_answer : std::uint64_t{1} << 31;
      if (n > limit)
        throw TransportError("answer over " + std::to_string(limit) + " bytes, more than the request can have");
      r.content_type = line.substr(sp2 + 1);
      r.body.resize(n);
      read_exact(r.body.data(), n);
    } catch (const TransportError& e) {
      rl.unlock();
      fail();
      // A stream that ended is ssh gone; an answer refused or stalled says so.
      std::string why = e.what();
      throw TransportError(why == "end of stream" ? lost() : why + ssh_said());
    } catch (const std::invalid_argument&) {
      rl.unlock();
      fail();
      throw TransportError("bad answer from the remote fpga-remote");
    } catch (const std::out_of_range&) {
      rl.unlock();
      fail();
      throw TransportError("bad answer from the remote fpga-remote");
    }
    // A body that is not the one sent (its length may be wrong too, and
    // the answers after it out of step): the connection is given up, the
    // requests on it go to the next host.
    try {
      check_body_crc(r);
    } catch (const TransportError&) {
      rl.unlock();
      fail();
      throw;
    }
    ++next_read_;
    rl.unlock();
    read_cv_.notify_all();
    if (r.status != 503) return r;
    TransportError e("busy (503)");  // the connection stays usable
    e.retry_after = 1;
    throw e;
  }

 private:
  bool broken() const { return broken_.load(); }
  // The connection is unusable: every waiting call fails, the next ones too.
  void fail() {
    broken_ = true;
    {
      std::lock_guard<std::mutex> lk(read_mu_);
    }
    read_cv_.notify_all();
  }
  std::string lost() { return "connection lost (ssh exited)" + ssh_said(); }

  void write_all(const void* p, std::size_t n) {
    auto* c = static_cast<const char*>(p);
    while (n) {
      pollfd pf{to_, POLLOUT, 0};
      int k = ::poll(&pf, 1, static_cast<int>(cfg_.timeout_seconds * 1000));
      if (k == 0) throw TransportError("timed out");
      if (k < 0 && errno == EINTR) continue;
      ssize_t w = ::write(to_, c, n);
      if (w < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        throw TransportError(std::strerror(errno));
      }
      c += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  // As libcurl's low-speed check: in every --timeout seconds of an answer
  // (its status line included), at least kMinRate bytes a second, else the
  // answer stalled. The window starts when the request has been sent.
  std::chrono::steady_clock::time_point start_;
  std::size_t moved_ = 0;
  void read_exact(void* p, std::size_t n) {
    auto* c = static_cast<char*>(p);
    using clock = std::chrono::steady_clock;
    const auto window = std::chrono::seconds(cfg_.timeout_seconds);
    auto& start = start_;
    auto& moved = moved_;
    while (n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(start + window - clock::now()).count();
      if (left <= 0) {
        if (moved < kMinRate * cfg_.timeout_seconds) throw TransportError("timed out");
        start = clock::now();
        moved = 0;
        continue;
      }
      pollfd pf{from_, POLLIN, 0};
      int k = ::poll(&pf, 1, static_cast<int>(left));
      if (k == 0) continue;  // the window's end decides
      if (k < 0 && errno == EINTR) continue;
      ssize_t r = ::read(from_, c, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) throw TransportError("end of stream");
      c += r;
      n -= static_cast<std::size_t>(r);
      moved += static_cast<std::size_t>(r);
    }
  }
  int finish() {
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
    to_ = from_ = -1;
    if (pid_ > 0) {
      int st = 0;
      // ssh ends when its input closes; a hung one is killed.
      for (int i = 0; i < 110; ++i) {
        pid_t w = ::waitpid(pid_, &st, WNOHANG);
        if (w == pid_) {
          pid_ = -1;
          status_ = st;
          return st;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(i < 10 ? 5 : 50));
      }
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &st, 0);
      pid_ = -1;
      status_ = st;
    }
    return status_;
  }
  // ssh's last line on stderr ("Connection refused", "Permission denied").
  std::string ssh_said() {
    if (err_fd_ < 0) return "";
    std::string s;
    char buf[4096];
    ssize_t n = ::pread(err_fd_, buf, sizeof buf, 0);
    if (n > 0) s.assign(buf, static_cast<std::size_t>(n));
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    auto nl = s.rfind('\n');
    if (nl != std::string::npos) s = s.substr(nl + 1);
    return s.empty() ? "" : ": " + s;
  }

  Endpoint ep_;
  ClientConfig cfg_;
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1, err_fd_ = -1;
  int status_ = 0;
  std::mutex write_mu_, read_mu_;
  std::condition_variable read_cv_;
  std::uint64_t next_ticket_ = 0, next_read_ = 0;
  std::atomic<bool> broken_{false};
};

}  // namespace

Endpoint parse_endpoint(const std::string& s) {
  Endpoint ep;
  ep.text = s;
  std::string rest = s;
  auto bad = [&](const std::string& why) { return Error(ErrorKind::usage, "bad host '" + s + "': " + why); };
  if (rest.rfind("http://", 0) == 0 || rest.rfind("https://", 0) == 0) {
    ep.scheme = rest[4] == 's' ? Endpoint::Scheme::https : Endpoint::Scheme::http;
    rest = rest.substr(rest.find("//") + 2);
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (rest.find('/') != std::string::npos || rest.find('@') != std::string::npos)
      throw bad("give http[s]://HOST:PORT (no path, no user)");
    std::string host = rest, port;
    if (!rest.empty() && rest[0] == '[') {
      auto close = rest.find(']');
      if (close == std::string::npos) throw bad("unclosed '['");
      host = rest.substr(1, close - 1);
      if (close + 1 < rest.size()) {
        if (rest[close + 1] != ':') throw bad("expected ':' after ']'");
        port = rest.substr(close + 2);
      }
    } else if (auto c = rest.rfind(':'); c != std::string::npos) {
      host = rest.substr(0, c);
      port = rest.substr(c + 1);
    }
    if (host.empty()) throw bad("no host name");
    if (port.empty()) throw bad("give the port (http://HOST:PORT)");
    if (!valid_port(port)) throw bad("bad port");
    ep.host = host;
    ep.port = static_cast<unsigned>(std::stoul(port));
    return ep;
  }
  if (rest.rfind("ssh://", 0) == 0) {
    rest = rest.substr(6);
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (auto c = rest.rfind(':'); c != std::string::npos && rest.find(']') == std::string::npos) {
      std::string port = rest.substr(c + 1);
      if (!valid_port(port)) throw bad("bad port");
      ep.port = static_cast<unsigned>(std::stoul(port));
      rest = rest.substr(0, c);
    }
  } else if (rest.find("://") != std::string::npos) {
    throw bad("unknown scheme (use ssh://, http:// or https://)");
  }
  if (auto at = rest.find('@'); at != std::string::npos) {
    ep.user = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  if (rest.empty()) throw bad("no host name");
  // Never an ssh option or anything a shell would read.
  if (rest[0] == '-' || rest.find_first_of(" \t\n'\"`$;&|<>\\/") != std::string::npos ||
      ep.user.find_first_of(" \t\n'\"`$;&|<>\\/") != std::string::npos || (!ep.user.empty() && ep.user[0] == '-'))
    throw bad("not a host name");
  ep.host = rest;
  return ep;
}

std::vector<Endpoint> read_hosts_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw_errno("cannot read hosts file", errno, path);
  struct stat st;  // a directory opens, then reads as no lines
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) throw_errno("cannot read hosts file", EISDIR, path);
  std::vector<Endpoint> hosts;
  std::string line;
  unsigned lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    auto hash = line.find('#');
    if (hash != std::string::npos) line = line.substr(0, hash);
    auto b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
    if (b == std::string::npos) continue;
    line = line.substr(b, e - b + 1);
    unsigned jobs = 1;
    auto slash = line.find('/');
    if (slash != std::string::npos && slash > 0 && line.find("://") > slash && slash <= 5 && util::all_digits(line.substr(0, slash))) {
      jobs = static_cast<unsigned>(std::stoul(line.substr(0, slash)));
      if (jobs == 0) jobs = 1;
      line = line.substr(slash + 1);
    }
    try {
      Endpoint ep = parse_endpoint(line);
      ep.jobs = jobs;
      hosts.push_back(ep);
    } catch (Error& err) {
      Error e2(ErrorKind::usage, "line " + std::to_string(lineno) + ": " + err.what());
      e2.path = path;
      throw e2;
    }
  }
  if (hosts.empty()) throw Error(ErrorKind::usage, "no hosts in the file").with_path(path);
  return hosts;
}

std::unique_ptr<Transport> connect(const Endpoint& ep, const ClientConfig& cfg) {
  if (ep.scheme == Endpoint::Scheme::ssh) return std::make_unique<SshTransport>(ep, cfg);
  return std::make_unique<HttpTransport>(ep, cfg);
}

HostPool::HostPool(std::vector<Endpoint> hosts, ClientConfig cfg, std::size_t first, unsigned max_attempts)
    : hosts_(std::move(hosts)), cfg_(std::move(cfg)), max_attempts_(max_attempts ? max_attempts : 1),
      current_(hosts_.empty() ? 0 : first % hosts_.size()), idle_(hosts_.size()), shared_(hosts_.size()) {
  for (std::size_t i = 0; i < hosts_.size(); ++i) connecting_.push_back(std::make_unique<std::mutex>());
}

HostPool::~HostPool() = default;

std::string HostPool::first_host() const { return hosts_.empty() ? "" : hosts_[current_].text; }

std::shared_ptr<Transport> HostPool::take(std::size_t i) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (shared_[i]) return shared_[i];
    if (!idle_[i].empty()) {
      auto t = std::move(idle_[i].back());
      idle_[i].pop_back();
      return t;
    }
  }
  if (hosts_[i].scheme == Endpoint::Scheme::ssh) {
    // One ssh connection a host carries every request in flight: the
    // threads that ask while it is being made wait for it.
    std::lock_guard<std::mutex> ck(*connecting_[i]);
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (shared_[i]) return shared_[i];
    }
    std::shared_ptr<Transport> t = connect(hosts_[i], cfg_);
    std::lock_guard<std::mutex> lk(mu_);
    if (t->concurrent()) shared_[i] = t;
    return t;
  }
  return connect(hosts_[i], cfg_);
}

void HostPool::give_back(std::size_t i, std::shared_ptr<Transport> t) {
  if (t->concurrent()) return;  // it stays in shared_
  std::lock_guard<std::mutex> lk(mu_);
  idle_[i].push_back(std::move(t));
}

std::pair<Response, std::string> HostPool::call(const Request& req) {
  std::vector<std::string> tried;
  // Hosts that cannot do this request (no model, no device that runs it, a
  // certificate that does not verify): not tried again for it.
  std::vector<bool> cannot(hosts_.size());
  std::optional<Response> cannot_answer;  // the last host's, when it was one
  std::string last_why;
  std::size_t i;
  {
    std::lock_guard<std::mutex> lk(mu_);
    i = current_;
  }
  for (unsigned attempt = 0; attempt < max_attempts_; ++attempt) {
    unsigned retry_after = 0;
    bool drop = true;  // the host's connections are given up
    cannot_answer.reset();
    try {
      auto t = take(i);
      Response r = t->call(req);
      give_back(i, std::move(t));
      if (r.status == 401) return {unauthorized(r, cfg_), hosts_[i].text};  // the run's error, not the host's
      auto why = host_cannot(r);
      if (!why) return {std::move(r), hosts_[i].text};
      // Its connection is fine; the job is for another host.
      last_why = *why;
      cannot[i] = true;
      cannot_answer = std::move(r);
      drop = false;
    } catch (const HostCannot& e) {
      last_why = e.what();
      cannot[i] = true;
    } catch (const TransportError& e) {
      last_why = e.what();
      retry_after = e.retry_after;
    }
    tried.push_back(hosts_[i].text + " (" + last_why + ")");
    std::optional<std::size_t> next;
    {
      // The next requests go to the next host too, until it fails.
      std::lock_guard<std::mutex> lk(mu_);
      if (drop) {
        idle_[i].clear();
        shared_[i].reset();
      }
      if (current_ == i) current_ = (i + 1) % hosts_.size();
      for (std::size_t k = 0; k < hosts_.size() && !next; ++k)
        if (!cannot[(current_ + k) % hosts_.size()]) next = (current_ + k) % hosts_.size();
    }
    if (!next || attempt + 1 >= max_attempts_) break;
    // Said once a host, by the tool (unless -q); a host tried again is not
    // passed over.
    if (*next != i && cfg_.on_skip) cfg_.on_skip(hosts_[i].text, server_text(last_why), hosts_[*next].text);
    if (retry_after) std::this_thread::sleep_for(std::chrono::seconds(std::min(retry_after, 5u)));
    i = *next;
  }
  // The only host tried cannot do it: its own answer (the job's error as
  // the tool reports it) or the reason, as with no other host to try.
  if (tried.size() == 1 && cannot[i]) {
    if (cannot_answer) return {std::move(*cannot_answer), hosts_[i].text};
    throw Error(ErrorKind::io, last_why).with_path(hosts_[i].text);
  }
  // Each host and reason once, in the order first tried, with how often:
  // "tried http://a:1 (Couldn't connect to server) 3 times".
  std::vector<std::pair<std::string, unsigned>> seen;
  for (const auto& t : tried) {
    auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == t; });
    if (it == seen.end()) seen.emplace_back(t, 1);
    else ++it->second;
  }
  std::string msg = "no host could do the work; tried ";
  for (std::size_t k = 0; k < seen.size(); ++k) {
    msg += (k ? ", " : "") + seen[k].first;
    if (seen[k].second > 1) msg += " " + std::to_string(seen[k].second) + " times";
  }
  throw Error(ErrorKind::device, msg);
}

std::string curl_reason(std::string what) {
  // " after N ms" (connect) and " after N milliseconds" (timeouts).
  for (const std::string unit : {" ms", " milliseconds"}) {
    for (std::size_t at = what.find(" after "); at != std::string::npos; at = what.find(" after ", at + 1)) {
      std::size_t digits = at + 7, end = digits;
      while (end < what.size() && what[end] >= '0' && what[end] <= '9') ++end;
      if (end > digits && what.compare(end, unit.size(), unit) == 0 &&
          (end + unit.size() == what.size() || what[end + unit.size()] == ':' || what[end + unit.size()] == ' ')) {
        what.erase(at, end + unit.size() - at);
        break;
      }
    }
  }
  return what;
}

std::optional<std::string> host_cannot(const Response& r) {
  if (r.status < 400) return std::nullopt;
  // The JSON alone (a salvage answer has data after its line).
  std::string body(r.body.begin(), r.body.end());
  body = body.substr(0, body.find('\n'));
  auto kind = json_value(body, "error").value_or("");
  auto msg = json_value(body, "message");
  bool cannot = json_value(body, "scope") == std::optional<std::string>("host") ||
                // Servers before the scope member: no model of that name,
                // no device in service that runs the job.
                (r.status == 404 && kind == "not-found") ||
                (r.status == 500 && kind == "device" && msg && msg->find(" in service runs '") != std::string::npos);
  if (!cannot) return std::nullopt;
  return server_text(msg.value_or("HTTP status " + std::to_string(r.status)));
}

}  // namespace fpgaio::remote
