// The protocol's messages under mutation (tests/cli/remote/protocol-mutations.bats has
// the same against the real binaries): the stdio server fed every bit of
// every byte of a request stream flipped, and every cut; queries read alike
// by both transports; the answers' body-crc.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <regex>

#include "fpgaio/codec.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/remote.hpp"
#include "helpers.hpp"

namespace rm = fpgaio::remote;
using fpgaio::Bytes;

namespace {

// serve_stdio on `in`; its output, and the error it ended with ("" for none).
std::pair<std::string, std::string> serve(rm::Service& svc, const std::string& in) {
  int i = ::memfd_create("in", 0), o = ::memfd_create("out", 0);
  EXPECT_EQ(::write(i, in.data(), in.size()), static_cast<ssize_t>(in.size()));
  ::lseek(i, 0, SEEK_SET);
  std::string err;
  try {
    rm::serve_stdio(svc, i, o);
  } catch (const fpgaio::Error& e) {
    err = e.what();
    err = (e.path.empty() ? "" : e.path + ": ") + err;
  }
  std::string out(static_cast<std::size_t>(::lseek(o, 0, SEEK_END)), '\0');
  EXPECT_EQ(::pread(o, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
  ::close(i);
  ::close(o);
  return {out, err};
}

// The answers in a server's output: whole frames, each with its body's
// CRC-32, and nothing after the last; "" when it is not that.
std::string check_frames(const std::string& out, std::size_t* count) {
  static const std::regex line(R"((\d{3}) (\d+) ([ -~]*); body-crc=(\d+))");
  std::size_t pos = 0;
  *count = 0;
  while (pos < out.size()) {
    auto nl = out.find('\n', pos);
    std::smatch m;
    std::string head = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (nl == std::string::npos || !std::regex_match(head, m, line)) return "bad answer line '" + head + "'";
    std::size_t n = std::stoull(m[2]);
    if (nl + 1 + n > out.size()) return "answer cut short";
    if (fpgaio::crc32(0, out.data() + nl + 1, n) != std::stoull(m[4])) return "body-crc wrong";
    if (m[1] == "200" && m[3] == "application/octet-stream" && n == 0) return "200 with nothing";
    pos = nl + 1 + n;
    ++*count;
  }
  return "";
}

std::string request(const std::string& method, const std::string& target, const Bytes& body) {
  return method + " " + target + " " + std::to_string(body.size()) + "\n" + std::string(body.begin(), body.end());
}

}  // namespace

TEST(RemoteFrames, StdioServerSurvivesEveryBitFlipAndCutOfARequestStream) {
  rm::ServerConfig cfg;
  cfg.slots = 1;
  cfg.max_body = 4096;
  rm::Service svc(cfg);
  Bytes data = testutil::text_data(300);
  Bytes gz = fpgaio::gzip::compress_buffer(data.data(), data.size(), {});
  const std::vector<std::string> reqs = {
      request("GET", "/v1/health", {}), request("POST", "/v1/gzip/compress?block=1024&end=1&level=6&name=t", data),
      request("POST", "/v1/gzip/test?list=1", gz), request("POST", "/v1/gzip/decompress", gz)};
  std::string good;
  std::vector<bool> head;          // a byte of a request line
  std::vector<std::size_t> ends;   // where a frame ends
  for (const auto& q : reqs) {
    std::size_t line = q.find('\n') + 1;
    for (std::size_t k = 0; k < q.size(); ++k) head.push_back(k < line);
    good += q;
    ends.push_back(good.size());
  }
  std::size_t n = 0;
  auto [out, err] = serve(svc, good);
  ASSERT_EQ(err, "");
  ASSERT_EQ(check_frames(out, &n), "");
  ASSERT_EQ(n, 4u);
  // Every bit of every byte of the request lines, and of every 97th byte of
  // the bodies (theirs are the library's decoders, fuzzed elsewhere).
  for (std::size_t at = 0; at < good.size(); ++at) {
    if (!head[at] && at % 97 != 0) continue;
    for (int bit = 0; bit < 8; ++bit) {
      std::string in = good;
      in[at] = static_cast<char>(in[at] ^ (1 << bit));
      auto [o, e] = serve(svc, in);
      EXPECT_EQ(check_frames(o, &n), "") << "bit " << bit << " of byte " << at << ": " << e;
      EXPECT_LE(n, 4u);
      EXPECT_TRUE(e.empty() || e.rfind("stdin: ", 0) == 0) << e;
    }
  }
  // Every cut: between frames a clean end, inside one an error naming stdin.
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    auto [o, e] = serve(svc, good.substr(0, cut));
    EXPECT_EQ(check_frames(o, &n), "") << "cut at " << cut;
    bool between = cut == 0 || std::find(ends.begin(), ends.end(), cut) != ends.end();
    if (between) EXPECT_EQ(e, "") << "cut at " << cut;
    else EXPECT_EQ(e.rfind("stdin: request", 0), 0u) << "cut at " << cut << ": " << e;
  }
}

TEST(RemoteFrames, StdioServerRefusesARequestWithoutAMethod) {
  rm::Service svc(rm::ServerConfig{});
  // It was taken for a request answered already: 200 and nothing, a job
  // never run.
  auto [out, err] = serve(svc, " /v1/gzip/compress 0\n");
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "stdin: bad request line");
  std::tie(out, err) = serve(svc, "GET /v1/health 0\nPOST /v1/gzip/compress 10\nabc");
  EXPECT_EQ(err, "stdin: request body cut short (3 of 10 bytes)");
  EXPECT_EQ(out.rfind("200 ", 0), 0u) << out;
}

TEST(RemoteFrames, BothTransportsReadAQueryAlike) {
  std::string rep;
  auto q = rm::decode_query("%6eame=a+b%20c&level=1&level=9&z=%00x&%zz=1", &rep);
  EXPECT_EQ(q["name"], "a b c");  // names are percent-decoded, as libmicrohttpd does
  EXPECT_EQ(q["level"], "1");     // the first of a repeated name, and it is reported
  EXPECT_EQ(rep, "level");
  EXPECT_EQ(q["z"], "%00x");      // %00 kept, as the HTTP server's unescape keeps it
  EXPECT_EQ(q["%zz"], "1");
  rm::Service svc(rm::ServerConfig{});
  rm::Request r;
  r.path = "/v1/gzip/compress";
  r.query = q;
  r.repeated = rep;
  auto a = svc.handle(r, "t");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(rm::error_from_response(a).what(), std::string("parameter 'level' is given twice"));
}

TEST(RemoteFrames, BodyCrcChecksTheBodyOnly) {
  rm::Response r;
  r.content_type = "application/gzip";
  r.body = {1, 2, 3};
  r.content_type = rm::with_body_crc(r);
  EXPECT_NO_THROW(rm::check_body_crc(r));
  r.body[1] ^= 4;
  EXPECT_THROW(rm::check_body_crc(r), rm::TransportError);
  r.body[1] ^= 4;
  r.content_type += "; x=1";  // parameters after it are fine
  EXPECT_NO_THROW(rm::check_body_crc(r));
  for (const char* bad : {"; body-crc=", "; body-crc=12x", "; body-crc=99999999999", "; body-crc=-1"}) {
    rm::Response b = r;
    b.content_type = std::string("application/gzip") + bad;
    EXPECT_THROW(rm::check_body_crc(b), rm::TransportError) << bad;
  }
  rm::Response none;  // not there: not checked (an older server)
  none.body = {9};
  EXPECT_NO_THROW(rm::check_body_crc(none));
  rm::Response metrics;
  metrics.content_type = "text/plain; version=0.0.4";
  EXPECT_EQ(rm::with_body_crc(metrics), metrics.content_type);
}
