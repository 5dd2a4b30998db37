// fpga-remote serve's body budget over real sockets on loopback (issue 20,
// item 5): Content-Length with Transfer-Encoding is 400 and closed; a
// chunked body is counted as it arrives, 503 when it finds no room.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "fpgaio/remote.hpp"

namespace rm = fpgaio::remote;

namespace {

// A client connection that sends what it is told and reads the answer.
class Raw {
 public:
  explicit Raw(unsigned port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Raw() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }
  bool send(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Everything until the server closes, or until `until` appears (at most
  // 20 s); `closed` tells which.
  std::string read(const std::string& until = "", bool* closed = nullptr) {
    std::string got;
    char buf[65536];
    for (int waited = 0; waited < 200;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) == 0) {
        ++waited;
        continue;
      }
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        if (closed) *closed = true;
        return got;
      }
      got.append(buf, static_cast<std::size_t>(n));
      if (!until.empty() && got.find(until) != std::string::npos) break;
    }
    if (closed) *closed = false;
    return got;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

const std::string kHead = "POST /v1/gzip/compress?level=1 HTTP/1.1\r\nHost: x\r\n";

std::string chunk(std::size_t n) {
  char len[32];
  std::snprintf(len, sizeof len, "%zx\r\n", n);
  return len + std::string(n, 'a') + "\r\n";
}

int status_of(const std::string& answer) {
  if (answer.compare(0, 9, "HTTP/1.1 ") != 0 || answer.size() < 12) return 0;
  return std::stoi(answer.substr(9, 3));
}

// One slot, one queued: a budget of 2 x 256 KiB.
rm::ServerConfig small_budget() {
  rm::ServerConfig cfg;
  cfg.listen = "127.0.0.1:0";
  cfg.devices = "cpu";
  cfg.slots = 1;
  cfg.queue = 1;
  cfg.max_body = 256 << 10;
  return cfg;
}

}  // namespace

TEST(RemoteBodyBudget, ContentLengthWithTransferEncodingIs400AndClosed) {
  rm::Service svc(small_budget());
  rm::HttpServer server(svc);
  for (const char* hs : {"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n",
                         "Transfer-Encoding: chunked\r\nContent-Length: 10\r\n",
                         "content-length: 0\r\ntransfer-encoding: chunked\r\n"}) {
    Raw c(server.port());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send(kHead + hs + "\r\n"));
    bool closed = false;
    std::string a = c.read("", &closed);
    EXPECT_EQ(status_of(a), 400) << a;
    EXPECT_NE(a.find("Content-Length and Transfer-Encoding together"), std::string::npos) << a;
    EXPECT_NE(a.find("Connection: close"), std::string::npos) << a;
    EXPECT_TRUE(closed) << hs;
  }
}

TEST(RemoteBodyBudget, ChunkedBodiesAreCountedAsTheyArrive) {
  rm::ServerConfig cfg = small_budget();
  // Refusals on the way, from the server's log: the bodies held are ended
  // only once the server has refused one (it reads them in threads of its
  // own; ended earlier, a job could finish and make room for the last).
  std::atomic<int> refused{0};
  cfg.log = [&refused](const std::string& line) {
    if (line.find(" 503 refused after ") != std::string::npos) ++refused;
  };
  rm::Service svc(cfg);
  rm::HttpServer server(svc);
  // Five small chunked uploads at once fit the 512 KiB budget (each was
  // charged --max-body at its headers: the third got 503).
  {
    std::vector<std::unique_ptr<Raw>> cs;
    for (int i = 0; i < 5; ++i) {
      cs.push_back(std::make_unique<Raw>(server.port()));
      ASSERT_TRUE(cs.back()->ok());
      ASSERT_TRUE(cs.back()->send(kHead + "Transfer-Encoding: chunked\r\n\r\n" + chunk(10000)));
    }
    for (auto& c : cs) {
      ASSERT_TRUE(c->send("0\r\n\r\n"));
      EXPECT_EQ(status_of(c->read("\r\n\r\n")), 200);
    }
  }
  // Three of 200 KiB held at once: at most two fit, the others are read,
  // dropped and answered 503 (with Retry-After) when they end.
  auto held = [&](int n, int wait_refusals) {
    std::vector<std::unique_ptr<Raw>> cs;
    std::string body;
    for (int k = 0; k < 5; ++k) body += chunk(40000);
    for (int i = 0; i < n; ++i) {
      cs.push_back(std::make_unique<Raw>(server.port()));
      EXPECT_TRUE(cs.back()->ok() && cs.back()->send(kHead + "Transfer-Encoding: chunked\r\n\r\n" + body));
    }
    for (int w = 0; w < 3000 && refused < wait_refusals; ++w) usleep(10000);
    std::vector<int> st;
    for (auto& c : cs) {
      EXPECT_TRUE(c->send("0\r\n\r\n"));
      std::string a = c->read("\r\n\r\n");
      st.push_back(status_of(a));
      if (st.back() == 503) {
        EXPECT_NE(a.find("Retry-After: 1"), std::string::npos) << a;
      }
    }
    return st;
  };
  server.wait_idle();  // the small ones' bodies given back
  std::vector<int> st = held(3, 1);
  int ok = 0, busy = 0;
  for (int s : st) {
    ok += s == 200;
    busy += s == 503;
  }
  EXPECT_EQ(ok + busy, 3);
  EXPECT_GE(busy, 1);
  EXPECT_GE(ok, 1);
  // Nothing stays counted: two held at once fit again.
  server.wait_idle();
  EXPECT_EQ(held(2, 0), (std::vector<int>{200, 200}));
}
