// The HTTP server (libmicrohttpd) and the stdio server (for ssh) in front of
// a Service.
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <thread>

#include "fpgaio/remote.hpp"
#include "fpgaio/remote_tls.hpp"

namespace fpgaio::remote {

namespace {

bool is_loopback(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(&a);
    return (ntohl(s->sin_addr.s_addr) >> 24) == 127;
  }
  if (a.ss_family == AF_INET6) {
    auto* s = reinterpret_cast<const sockaddr_in6*>(&a);
    return IN6_IS_ADDR_LOOPBACK(&s->sin6_addr);
  }
  return false;
}

std::string peer_text(const sockaddr* a) {
  if (!a) return "-";
  char buf[INET6_ADDRSTRLEN] = "-";
  if (a->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a)->sin_addr, buf, sizeof buf);
  else if (a->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr, buf, sizeof buf);
  return buf;
}

// ADDR:PORT, [V6]:PORT, or PORT alone (127.0.0.1).
sockaddr_storage parse_listen(const std::string& s) {
  sockaddr_storage ss{};
  std::string host = "127.0.0.1", port = s;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      throw Error(ErrorKind::usage, "bad listen address '" + s + "': expected [ADDR]:PORT");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else if (auto colon = s.rfind(':'); colon != std::string::npos) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    throw Error(ErrorKind::usage, "bad listen address '" + s + "': the port must be 0-65535");
  auto p = static_cast<std::uint16_t>(std::stoul(port));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(p);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(p);
  } else {
    throw Error(ErrorKind::usage, "bad listen address '" + s + "': give a numeric IPv4 or IPv6 address");
  }
  return ss;
}

// Request bodies kept for the next requests: a fresh buffer costs a page
// fault every 4 KiB of it (a tenth of the server's time on loopback). At most
// `keep` buffers, none larger than `largest`; the rest are freed.
class BodyPool {
 public:
  BodyPool(std::size_t keep, std::size_t largest) : keep_(keep), largest_(largest) {}
  Bytes take(std::size_t n) {
    Bytes b;
    {
      std::lock_guard<std::mutex> lk(mu_);
      // The smallest kept buffer that holds n, else any (it grows).
      std::size_t pick = free_.size();
      for (std::size_t i = 0; i < free_.size(); ++i)
        if (free_[i].capacity() >= n && (pick == free_.size() || free_[i].capacity() < free_[pick].capacity()))
          pick = i;
      if (pick == free_.size() && !free_.empty()) pick = 0;
      if (pick < free_.size()) {
        b = std::move(free_[pick]);
        free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(pick));
      }
    }
    b.clear();
    b.reserve(n);
    return b;
  }
  void give(Bytes&& b) {
    if (b.capacity() == 0 || b.capacity() > largest_) return;
    std::lock_guard<std::mutex> lk(mu_);
    if (free_.size() < keep_) free_.push_back(std::move(b));
  }

 private:
  std::mutex mu_;
  std::vector<Bytes> free_;
  std::size_t keep_, largest_;
};

constexpr std::size_t kConnectionMemory = std::size_t{256} << 10;

// Percent-decoding of the path and the query, in place: the protocol's
// (percent_decode: as libmicrohttpd's own, except that %00 stays as it is:
// MHD hands values on as C strings, so a decoded NUL would cut "conv%00.x"
// to "conv" unseen; kept, it is a '%' that no name or number accepts).
size_t unescape(void*, MHD_Connection*, char* s) {
  std::size_t n = percent_decode(s, std::strlen(s));
  s[n] = 0;
  return n;
}

const char* refusal_kind(int status) {
  return status == 401 ? "unauthorized" : status == 403 ? "forbidden" : status == 503 ? "busy" : "too-large";
}

// What one connection's request gathers while its body arrives.
struct Pending {
  Request req;
  int refuse = 0;  // status answered (413, 401)
  std::string why;
  bool late = false;        // answered when the body ends (413 found mid-body,
                            // or 401/403 with a body to drop)
  std::uint64_t dropped = 0;
  std::uint64_t reserved = 0;  // of Impl::body_bytes, given back when the request ends
};

}  // namespace

struct HttpServer::Impl {
  Service& svc;
  MHD_Daemon* daemon = nullptr;
  // As many bodies as jobs can run or wait, of the usual sizes (16 MiB).
  BodyPool bodies{std::size_t{svc.slots()} + svc.queue_limit(), std::size_t{16} << 20};
  std::string last_log;  // libmicrohttpd's last message (why it cannot listen)

  static void on_log(void* cls, const char* fmt, va_list ap) {
    auto* self = static_cast<Impl*>(cls);
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    std::string line = buf;
    while (!line.empty() && (line.back() == '\n' || line.back() == '.')) line.pop_back();
    std::lock_guard<std::mutex> lk(self->mu);
    self->last_log = line;
    if (self->daemon && self->svc.config().log) self->svc.config().log("libmicrohttpd: " + log_text(line, 512));
  }
  std::mutex mu;
  std::condition_variable cv;
  unsigned in_flight = 0;
  // Request bodies held in memory (declared lengths, reserved at the
  // headers; a chunked body's buffer as it grows, see hold()), at most
  // (slots + queue) x max_body: a body beyond that is read and dropped and
  // answered 503, so connections uploading at once cannot hold more memory
  // than the jobs the server would take.
  std::uint64_t body_bytes = 0;

  std::uint64_t body_budget() const {
    return std::uint64_t{svc.slots() + svc.queue_limit()} * svc.config().max_body;
  }

  explicit Impl(Service& s) : svc(s) {}

  bool reserve_body(Pending* p, std::uint64_t n) {
    std::lock_guard<std::mutex> lk(mu);
    if (body_bytes + n > body_budget()) return false;
    body_bytes += n;
    p->reserved = n;
    return true;
  }

  // Before a request's body grows to `need` bytes: whatever its headers
  // said, the bytes it holds stay within what it reserved. A body of a
  // declared length reserved it all at its headers; one of no declared
  // length (chunked) reserves as it arrives, in steps (twice what it has,
  // at least 64 KiB, never past --max-body; just what it needs when the
  // step does not fit). False when the budget has no room.
  //
  // Its buffer is allocated once, --max-body of address space whose pages
  // are touched only as bytes arrive: grown by copying instead (64 KiB,
  // 128 KiB, ... 4 MiB), each body left its smaller buffers free in its
  // thread's malloc arena, and 10 chunked 4 MB bodies held 85 MB.
  bool hold(Pending* p, std::size_t need) {
    Bytes& b = p->req.body;
    if (need > p->reserved) {
      const std::size_t max_body = svc.config().max_body;
      std::size_t step = std::max({need, 2 * static_cast<std::size_t>(p->reserved), std::size_t{64} << 10});
      step = std::min(step, std::max(need, max_body));
      std::lock_guard<std::mutex> lk(mu);
      if (body_bytes + (step - p->reserved) > body_budget()) step = need;
      if (body_bytes + (step - p->reserved) > body_budget()) return false;
      body_bytes += step - p->reserved;
      p->reserved = step;
    }
    if (b.capacity() < need) b.reserve(std::max<std::size_t>(need, svc.config().max_body));
    return true;
  }

  // Gives back a refused request's body and what it reserved.
  void release(Pending* p) {
    bodies.give(std::move(p->req.body));
    p->req.body = Bytes();
    std::lock_guard<std::mutex> lk(mu);
    body_bytes -= p->reserved;
    p->reserved = 0;
  }

  // `close`: the connection is closed after the answer (Connection: close).
  static MHD_Result send(MHD_Connection* c, Response r, bool close = false) {
    // The body's CRC-32 in the type (protocol: "Integrity").
    const std::string ctype = with_body_crc(r);
    // MHD sends the body from our buffer and frees it when done (no copy).
    auto* body = new Bytes(std::move(r.body));
    MHD_Response* resp = MHD_create_response_from_buffer_with_free_callback_cls(
        body->size(), body->data(), [](void* p) { delete static_cast<Bytes*>(p); }, body);
    if (!resp) {
      delete body;
      return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype.c_str());
    if (r.retry_after) MHD_add_response_header(resp, "Retry-After", std::to_string(r.retry_after).c_str());
    if (r.status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    if (!r.allow.empty()) MHD_add_response_header(resp, "Allow", r.allow.c_str());
    if (close) MHD_add_response_header(resp, "Connection", "close");
    MHD_Result ok = MHD_queue_response(c, static_cast<unsigned>(r.status), resp);
    MHD_destroy_response(resp);
    return ok;
  }

  static MHD_Result on_request(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                               const char* upload, size_t* upload_size, void** con_cls) {
    auto* self = static_cast<Impl*>(cls);
    auto* p = static_cast<Pending*>(*con_cls);
    if (!p) {
      p = new Pending;
      *con_cls = p;
      {
        std::lock_guard<std::mutex> lk(self->mu);
        ++self->in_flight;
      }
      p->req.method = method;
      p->req.path = url;
      MHD_get_connection_values(
          c, MHD_GET_ARGUMENT_KIND,
          [](void* q, MHD_ValueKind, const char* k, const char* v) -> MHD_Result {
            auto* r = static_cast<Request*>(q);
            if (!r->query.emplace(k, v ? v : "").second && r->repeated.empty()) r->repeated = k;
            return MHD_YES;
          },
          &p->req);
      // The request line and headers: at most max_header bytes (431). The
      // query counts too (it did not: a 200 KiB name went through over HTTP,
      // while serve --stdio refused a line over 8 KiB).
      std::size_t head = std::strlen(url) + std::strlen(method);
      for (const auto& [k, v] : p->req.query) head += k.size() + v.size() + 2;
      MHD_get_connection_values(
          c, MHD_HEADER_KIND,
          [](void* n, MHD_ValueKind, const char* k, const char* v) -> MHD_Result {
            *static_cast<std::size_t*>(n) += std::strlen(k) + (v ? std::strlen(v) : 0) + 4;
            return MHD_YES;
          },
          &head);
      if (head > self->svc.config().max_header) {
        p->refuse = 431;
        p->why = "request headers over the limit of " + std::to_string(self->svc.config().max_header) + " bytes";
        self->svc.count_refused(431);
        Response e = error_response(431, "too-large", p->why);
        return send(c, e);
      }
      // Content-Length given twice with other values: the body's end is
      // unknowable (RFC 9112, 6.3: 400, and the connection closed);
      // libmicrohttpd would take the first and go on.
      struct Lengths {
        const char* first = nullptr;
        bool differ = false;
      } lengths;
      MHD_get_connection_values(
          c, MHD_HEADER_KIND,
          [](void* l, MHD_ValueKind, const char* k, const char* v) -> MHD_Result {
            auto* x = static_cast<Lengths*>(l);
            if (::strcasecmp(k, "Content-Length") != 0) return MHD_YES;
            if (!x->first) x->first = v ? v : "";
            else if (std::strcmp(x->first, v ? v : "") != 0) x->differ = true;
            return MHD_YES;
          },
          &lengths);
      if (lengths.differ) {
        p->refuse = 400;
        p->why = "Content-Length given twice with different values";
        self->svc.count_refused(400);
        return send(c, error_response(400, "usage", p->why));
      }
      // Content-Length and Transfer-Encoding together: which one ends the
      // body is the smuggler's question (RFC 9112, 6.3: a server may reject
      // it, and must close the connection). libmicrohttpd 0.9.75 reads the
      // body chunked and leaves the length to us: the budget reserved the
      // declared 1 byte while megabytes came in. 400, closed, body unread.
      if (lengths.first && MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding")) {
        p->refuse = 400;
        p->why = "Content-Length and Transfer-Encoding together";
        self->svc.count_refused(400);
        if (self->svc.config().log) {
          const MHD_ConnectionInfo* ai = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
          self->svc.config().log(peer_text(ai ? ai->client_addr : nullptr) + " " + log_text(p->req.method, 16) +
                                 " " + log_text(p->req.path, 64) + " 400 refused: " + p->why);
        }
        return send(c, error_response(400, "usage", p->why), true);
      }
      const char* auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
      bool public_path = p->req.path == "/v1/health";
      if (!public_path && !self->svc.config().tls_client_ca_pem.empty()) {
        // Checked on every request: a verification costs little next to a
        // job, and no per-connection state has to follow the session.
        const MHD_ConnectionInfo* ti = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        if (auto why = detail::client_cert_refusal(ti ? ti->tls_session : nullptr, self->svc.config().tls_client_names)) {
          p->refuse = 403;
          p->why = *why;
        }
      }
      if (!p->refuse && !public_path && !self->svc.authorized(auth ? auth : "")) {
        p->refuse = 401;
        p->why = auth ? "wrong token" : "a token is required (Authorization: Bearer)";
      }
      const char* len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
      if (!p->refuse && len) {
        errno = 0;
        char* end = nullptr;
        unsigned long long n = std::strtoull(len, &end, 10);
        if (errno || *end || n > self->svc.config().max_body) {
          p->refuse = 413;
          p->why = "request body over the limit of " + std::to_string(self->svc.config().max_body) + " bytes";
        } else if (n && !self->reserve_body(p, n)) {
          p->refuse = 503;
          p->why = "the bodies of the jobs running and queued fill the server's memory budget";
        } else if (n) {
          p->req.body = self->bodies.take(n);
        }
      }
      // A body of no declared length (chunked) is counted as its bytes
      // come (hold(), below): nothing reserved for it yet.
      if (p->refuse) {
        self->svc.count_refused(p->refuse);
        if (p->refuse != 413 && self->svc.config().log) {
          // Who was turned away and why (an expired certificate, a wrong token).
          const MHD_ConnectionInfo* ai = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
          self->svc.config().log(peer_text(ai ? ai->client_addr : nullptr) + " " + log_text(p->req.method, 16) +
                                 " " + log_text(p->req.path, 64) + " " + std::to_string(p->refuse) +
                                 " refused: " + log_text(p->why, 256));
        }
        // A refused client still sending a body within the limit: the body is
        // read and dropped first, and the answer follows it. Answered at once,
        // MHD would close on the unread bytes, and the client, still writing,
        // would see a reset connection instead of the reason.
        const char* te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
        bool body_within_limit = false;
        if (len) {
          errno = 0;
          char* end = nullptr;
          unsigned long long n = std::strtoull(len, &end, 10);
          body_within_limit = !errno && !*end && n > 0 && n <= self->svc.config().max_body;
        }
        if (p->refuse != 413 && (body_within_limit || te)) {
          // (503 too: the client learns it should try later, or elsewhere.)
          p->late = true;
          return MHD_YES;
        }
        // Answered at once: MHD drops the rest of the body and closes.
        return send(c, error_response(p->refuse, refusal_kind(p->refuse), p->why));
      }
      return MHD_YES;
    }
    if (*upload_size) {
      if (!p->refuse && p->req.body.size() + *upload_size > self->svc.config().max_body) {
        // A body without a declared length that grows over the limit: MHD
        // cannot answer mid-upload, so the rest is read and dropped, up to
        // as much again, and 413 follows; a client sending more is cut off.
        p->refuse = 413;
        p->why = "request body over the limit of " + std::to_string(self->svc.config().max_body) + " bytes";
        p->late = true;
        self->release(p);
      }
      if (p->late) {
        p->dropped += *upload_size;
        *upload_size = 0;
        return p->dropped > self->svc.config().max_body ? MHD_NO : MHD_YES;
      }
      if (!p->refuse && !self->hold(p, p->req.body.size() + *upload_size)) {
        // The budget is full: as for a body refused at its headers, the
        // rest is read and dropped (up to --max-body) and 503 follows.
        p->refuse = 503;
        p->why = "the bodies of the jobs running and queued fill the server's memory budget";
        p->late = true;
        self->svc.count_refused(503);
        if (self->svc.config().log) {
          const MHD_ConnectionInfo* ai = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
          self->svc.config().log(peer_text(ai ? ai->client_addr : nullptr) + " " + log_text(p->req.method, 16) +
                                 " " + log_text(p->req.path, 64) + " 503 refused after " +
                                 std::to_string(p->req.body.size()) + " bytes of its body: " + p->why);
        }
        self->release(p);
        p->dropped += *upload_size;
        *upload_size = 0;
        return MHD_YES;
      }
      if (!p->refuse) {
        // As bytes: from char pointers, vector<uint8_t>::insert copies one
        // element at a time instead of with memmove.
        auto* b = reinterpret_cast<const std::uint8_t*>(upload);
        p->req.body.insert(p->req.body.end(), b, b + *upload_size);
      }
      *upload_size = 0;
      return MHD_YES;
    }
    if (p->late) {
      if (p->refuse == 413) self->svc.count_refused(413);  // the others were counted when refused
      p->late = false;
      Response r = error_response(p->refuse, refusal_kind(p->refuse), p->why);
      if (p->refuse == 503) r.retry_after = 1;
      return send(c, r);
    }
    if (p->refuse) return MHD_YES;  // already answered
    const MHD_ConnectionInfo* ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    std::string peer = peer_text(ci ? ci->client_addr : nullptr);
    Response r = self->svc.handle(p->req, peer);
    self->bodies.give(std::move(p->req.body));
    p->req.body = Bytes();
    return send(c, std::move(r));
  }

  // A request counts as in flight from its first byte until MHD has sent
  // the answer (or given up): SIGTERM waits for that.
  static void on_completed(void* cls, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
    auto* self = static_cast<Impl*>(cls);
    if (*con_cls) {
      auto* p = static_cast<Pending*>(*con_cls);
      std::uint64_t reserved = p->reserved;
      self->bodies.give(std::move(p->req.body));  // an upload cut short
      delete p;
      *con_cls = nullptr;
      {
        std::lock_guard<std::mutex> lk(self->mu);
        --self->in_flight;
        self->body_bytes -= reserved;
      }
      self->cv.notify_all();
    }
  }
};

HttpServer::HttpServer(Service& svc) : impl_(std::make_unique<Impl>(svc)) {
  const ServerConfig& cfg = svc.config();
  sockaddr_storage addr = parse_listen(cfg.listen);
  bool tls = !cfg.tls_cert_pem.empty();
  if (tls != !cfg.tls_key_pem.empty()) throw Error(ErrorKind::usage, "--tls-cert and --tls-key go together");
  bool client_certs = !cfg.tls_client_ca_pem.empty();
  if (client_certs && !tls) throw Error(ErrorKind::usage, "--tls-client-ca needs --tls-cert and --tls-key");
  if (!cfg.tls_client_names.empty() && !client_certs)
    throw Error(ErrorKind::usage, "--tls-client-name needs --tls-client-ca");
  if (!is_loopback(addr) && cfg.token.empty() && !client_certs)
    throw Error(ErrorKind::usage, "refusing to listen on " + cfg.listen +
                                      " without a token (--token-file) or client certificates (--tls-client-ca): "
                                      "only loopback addresses may go without");
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  if (tls) flags |= MHD_USE_TLS;
  std::vector<MHD_OptionItem> opts = {
      {MHD_OPTION_SOCK_ADDR, 0, &addr},
      {MHD_OPTION_CONNECTION_LIMIT, cfg.max_connections, nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg.max_per_address, nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, cfg.timeout_seconds, nullptr},
      // A connection's memory holds its headers, then its read buffer while
      // a body arrives: 256 KiB reads a 2 MiB body in 8 recv(2) calls, not
      // 260 (each with a select(2)). Headers over max_header get 431 from
      // on_request, whatever this size.
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(kConnectionMemory), nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_INCREMENT, static_cast<intptr_t>(kConnectionMemory / 4), nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Impl::on_completed), impl_.get()},
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&Impl::on_log), impl_.get()},
      {MHD_OPTION_UNESCAPE_CALLBACK, reinterpret_cast<intptr_t>(&unescape), nullptr},
  };
  if (tls) {
    opts.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(cfg.tls_cert_pem.c_str())});
    opts.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(cfg.tls_key_pem.c_str())});
    opts.push_back({MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(kTlsPriorities)});
  }
  if (client_certs) {
    // MHD then asks every client for a certificate but lets one without
    // through (GNUTLS_CERT_REQUEST): on_request checks it, so that
    // /v1/health stays open and a refusal is an answer saying why.
    opts.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(cfg.tls_client_ca_pem.c_str())});
  }
  opts.push_back({MHD_OPTION_END, 0, nullptr});
  std::uint16_t port = addr.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port)
                                                  : ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  impl_->daemon = MHD_start_daemon(flags, port, nullptr, nullptr, &Impl::on_request, impl_.get(),
                                   MHD_OPTION_ARRAY, opts.data(), MHD_OPTION_END);
  if (!impl_->daemon) {
    std::string why = impl_->last_log;
    if (auto colon = why.rfind(": "); colon != std::string::npos) why = why.substr(colon + 2);
    throw Error(ErrorKind::io, "cannot listen on " + cfg.listen +
                                   (why.empty() ? std::string(tls ? " (or the TLS key and certificate do not load)" : "")
                                                : ": " + why));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(impl_->daemon, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info ? info->port : port;
}

HttpServer::~HttpServer() {
  if (impl_->daemon) MHD_stop_daemon(impl_->daemon);
}

void HttpServer::stop_accepting() {
  if (impl_->daemon) {
    MHD_socket s = MHD_quiesce_daemon(impl_->daemon);
    if (s != MHD_INVALID_SOCKET) ::close(s);
  }
}

void HttpServer::wait_idle() {
  std::unique_lock<std::mutex> lk(impl_->mu);
  impl_->cv.wait(lk, [&] { return impl_->in_flight == 0; });
}

// ---- stdio ------------------------------------------------------------------

void serve_stdio(Service& svc, int in_fd, int out_fd) {
  // Requests are read ahead while earlier ones run (up to the slots, plus
  // one arriving), and answered in order by a writer thread: one ssh
  // connection keeps every slot busy, as several HTTP connections do.
  const std::size_t window = std::size_t{svc.slots()} + 2;
  struct Job {
    Request req;
    Response r;
    bool answered = false;  // refused as it was read (413): r is the answer
    bool done = false;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Job>> order;  // read, not yet answered
  std::deque<std::shared_ptr<Job>> todo;   // read, not yet started
  std::vector<Bytes> spare;                // bodies kept for the next requests
  bool input_ended = false, failed = false;
  auto workers_body = [&] {
    for (;;) {
      std::shared_ptr<Job> j;
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return !todo.empty() || input_ended || failed; });
        if (todo.empty()) return;
        j = todo.front();
        todo.pop_front();
      }
      Response r = j->answered ? j->r : svc.handle(j->req, "ssh");
      std::lock_guard<std::mutex> lk(mu);
      j->r = std::move(r);
      j->done = true;
      if (j->req.body.capacity() && spare.size() < window) spare.push_back(std::move(j->req.body));
      cv.notify_all();
    }
  };
  auto writer_body = [&] {
    for (;;) {
      std::shared_ptr<Job> j;
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return failed || (!order.empty() && order.front()->done) || (input_ended && order.empty()); });
        if (failed || order.empty()) return;
        j = order.front();
      }
      const Response& r = j->r;
      std::string head =
          std::to_string(r.status) + " " + std::to_string(r.body.size()) + " " + with_body_crc(r) + "\n";
      try {
        full_write(out_fd, head.data(), head.size(), "stdout");
        full_write(out_fd, r.body.data(), r.body.size(), "stdout");
      } catch (const Error&) {
        std::lock_guard<std::mutex> lk(mu);
        failed = true;  // the client went away
        cv.notify_all();
        return;
      }
      std::lock_guard<std::mutex> lk(mu);
      order.pop_front();
      cv.notify_all();
    }
  };
  std::vector<std::thread> workers;
  for (unsigned i = 0; i < svc.slots(); ++i) workers.emplace_back(workers_body);
  std::thread writer(writer_body);
  auto finish = [&] {
    {
      std::lock_guard<std::mutex> lk(mu);
      input_ended = true;
    }
    cv.notify_all();
    for (auto& t : workers) t.join();
    writer.join();
  };
  try {
    // Lines are read a byte at a time (they are short); bodies in one go.
    // The stream may end between requests (the client is done), never
    // inside one: that is a client or a connection that died, said on
    // stderr (exit 1), not taken for a clean end.
    auto bad = [](const std::string& why) { return Error(ErrorKind::usage, why).with_path("stdin"); };
    auto read_line = [&](std::string& line) {
      line.clear();
      char ch;
      while (true) {
        std::size_t n = full_read(in_fd, &ch, 1, "stdin");
        if (n == 0) {
          if (!line.empty()) throw bad("request line cut short");
          return false;
        }
        if (ch == '\n') return true;
        line += ch;
        if (line.size() > svc.config().max_header) throw bad("request line too long");
      }
    };
    std::string line;
    while (read_line(line)) {
      // METHOD TARGET LENGTH; the method is never empty (an empty one
      // was taken for a request answered already: 200 and no body).
      auto sp1 = line.find(' '), sp2 = line.rfind(' ');
      if (sp1 == std::string::npos || sp1 == 0 || sp2 == sp1) throw bad("bad request line");
      auto job = std::make_shared<Job>();
      Request& req = job->req;
      req.method = line.substr(0, sp1);
      std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      std::string len = line.substr(sp2 + 1);
      if (len.empty() || len.size() > 19 || len.find_first_not_of("0123456789") != std::string::npos)
        throw bad("bad request length");
      std::uint64_t n = std::stoull(len);
      auto qm = target.find('?');
      req.path = target.substr(0, qm);
      if (qm != std::string::npos) req.query = decode_query(target.substr(qm + 1), &req.repeated);
      {
        // At most `window` requests read and not answered: memory stays
        // bounded by window x (body + answer).
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return failed || order.size() < window; });
        if (failed) break;
        if (!spare.empty() && n <= svc.config().max_body) {
          req.body = std::move(spare.back());
          spare.pop_back();
        }
      }
      std::uint64_t got = 0;
      if (n > svc.config().max_body) {
        // Read and drop it, so the stream stays in step.
        std::uint8_t buf[65536];
        while (got < n) {
          std::size_t k = full_read(in_fd, buf, std::min<std::uint64_t>(n - got, sizeof buf), "stdin");
          if (k == 0) break;
          got += k;
        }
        svc.count_refused(413);
        job->r = error_response(413, "too-large", "request body over the limit of " +
                                                      std::to_string(svc.config().max_body) + " bytes");
        job->answered = true;  // the worker passes it on
      } else {
        req.body.resize(n);
        got = full_read(in_fd, req.body.data(), n, "stdin");
      }
      if (got != n)
        throw bad("request body cut short (" + std::to_string(got) + " of " + std::to_string(n) + " bytes)");
      std::lock_guard<std::mutex> lk(mu);
      order.push_back(job);
      todo.push_back(job);
      cv.notify_all();
    }
  } catch (...) {
    finish();
    throw;
  }
  finish();
}

}  // namespace fpgaio::remote
