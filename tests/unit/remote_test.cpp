// fpga-remote's library: query coding, endpoints, host files, error bodies,
// the service's jobs (chunks joined equal a local compression), the stdio
// framing, and the HTTP server and client on a loopback port.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "fpgaio/remote.hpp"
#include "fpgaio/remote_gzip.hpp"
#include "fpgaio/version.hpp"
#include "helpers.hpp"

namespace rm = fpgaio::remote;
using fpgaio::Bytes;
using testutil::MemFile;

TEST(RemoteQuery, RoundTripsAnyBytes) {
  std::map<std::string, std::string> q{{"name", "a b&c=d%e/\xff\x01"}, {"level", "6"}, {"empty", ""}};
  EXPECT_EQ(rm::decode_query(rm::encode_query(q)), q);
  EXPECT_EQ(rm::encode_query({{"n", "a b"}}), "n=a%20b");
  // Malformed escapes are kept as they are, never read past the end.
  auto d = rm::decode_query("a=%4&b=%zz&c");
  EXPECT_EQ(d["a"], "%4");
  EXPECT_EQ(d["b"], "%zz");
  EXPECT_EQ(d["c"], "");
}

TEST(RemoteEndpoint, ParsesEveryForm) {
  auto e = rm::parse_endpoint("ssh://me@node7:2222");
  EXPECT_EQ(e.scheme, rm::Endpoint::Scheme::ssh);
  EXPECT_EQ(e.user, "me");
  EXPECT_EQ(e.host, "node7");
  EXPECT_EQ(e.port, 2222u);
  e = rm::parse_endpoint("node7");
  EXPECT_EQ(e.scheme, rm::Endpoint::Scheme::ssh);
  EXPECT_EQ(e.port, 0u);
  e = rm::parse_endpoint("https://[::1]:8443/");
  EXPECT_EQ(e.scheme, rm::Endpoint::Scheme::https);
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 8443u);
  for (const char* bad : {"http://h", "http://h:0", "http://h:99999", "http://u@h:1", "http://h:1/x", "ftp://h",
                          "-oProxyCommand=x", "a;b", "a b", "", "ssh://", "ssh://h:x", "me@-h"})
    EXPECT_THROW(rm::parse_endpoint(bad), fpgaio::Error) << bad;
}

TEST(RemoteEndpoint, HostsFileWithJobCountsAndComments) {
  char path[] = "/tmp/hostsXXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = "# fleet\n2/node1\n\n  http://127.0.0.1:8437  # local\n3/ssh://me@node2:22\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  auto h = rm::read_hosts_file(path);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].host, "node1");
  EXPECT_EQ(h[0].jobs, 2u);
  EXPECT_EQ(h[1].scheme, rm::Endpoint::Scheme::http);
  EXPECT_EQ(h[1].jobs, 1u);
  EXPECT_EQ(h[2].jobs, 3u);
  std::ofstream(path) << "node1\nbad host\n";
  try {
    rm::read_hosts_file(path);
    FAIL();
  } catch (const fpgaio::Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos);
  }
  std::ofstream(path) << "# nothing\n";
  EXPECT_THROW(rm::read_hosts_file(path), fpgaio::Error);
  unlink(path);
}

TEST(RemoteSsh, GcmFirstOnlyWhenTheUserDidNotChoose) {
  const std::string d =
      "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com";
  EXPECT_EQ(rm::gcm_first(d, d), std::optional<std::string>("aes128-gcm@openssh.com,aes256-gcm@openssh.com,"
                                                             "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,"
                                                             "aes256-ctr"));
  EXPECT_EQ(rm::gcm_first(d, "aes256-ctr"), std::nullopt);  // ssh_config's Ciphers
  EXPECT_EQ(rm::gcm_first(d, ""), std::nullopt);            // ssh -G failed
  EXPECT_EQ(rm::gcm_first("aes128-ctr,aes256-ctr", "aes128-ctr,aes256-ctr"), std::nullopt);  // no GCM
  EXPECT_EQ(rm::gcm_first("aes256-gcm@openssh.com,aes128-ctr", "aes256-gcm@openssh.com,aes128-ctr"),
            std::nullopt);  // already first
}

TEST(RemoteErrors, JsonBodyRoundTrip) {
  fpgaio::Error e(fpgaio::ErrorKind::corrupt, "invalid \"distance\"\n");
  e.member = 3;
  e.offset = 12345;
  e.damage = fpgaio::Damage::crc;
  auto r = rm::error_response(e);
  EXPECT_EQ(r.status, 422);
  auto back = rm::error_from_response(r);
  EXPECT_EQ(back.kind(), fpgaio::ErrorKind::corrupt);
  // Quotes survive; a control character arrives as '?' (a server's words
  // never carry terminal escapes or line breaks to the client's stderr).
  EXPECT_EQ(std::string(back.what()), "invalid \"distance\"?");
  EXPECT_EQ(back.member, 3u);
  EXPECT_EQ(back.offset, 12345u);
  EXPECT_EQ(back.damage, fpgaio::Damage::crc);
  fpgaio::Error plain(fpgaio::ErrorKind::corrupt, "invalid \"distance\"?");
  plain.member = 3;
  plain.offset = 12345;
  plain.damage = fpgaio::Damage::crc;
  EXPECT_EQ(back.describe_as_gzip(), plain.describe_as_gzip());
  // A broken \u escape from a lying server is read as letters, not a crash.
  rm::Response bad;
  bad.status = 422;
  std::string j = "{\"error\":\"corrupt\",\"message\":\"x\\uZZZZ \\u001b[31m\"}";
  bad.body.assign(j.begin(), j.end());
  EXPECT_EQ(std::string(rm::error_from_response(bad).what()), "xuZZZZ ?[31m");
  // Garbage is an io error with the status, not a crash.
  rm::Response g;
  g.status = 500;
  g.body = {'<', 'h', '>'};
  EXPECT_EQ(rm::error_from_response(g).kind(), fpgaio::ErrorKind::io);
}

TEST(RemoteLog, ClientStringsCannotBreakTheLine) {
  EXPECT_EQ(rm::log_text("/v1/gzip/compress"), "/v1/gzip/compress");
  EXPECT_EQ(rm::log_text("/v1/x\nforged \x1b[31m"), "/v1/x\\x0aforged \\x1b[31m");
  EXPECT_EQ(rm::log_text("a\\x0a\r\x7f\xc3\xa9"), "a\\\\x0a\\x0d\\x7f\\xc3\\xa9");
  EXPECT_EQ(rm::log_text(std::string(200, 'a'), 64), std::string(64, 'a') + "...");
  for (int c = 0; c < 256; ++c) {
    std::string t = rm::log_text(std::string(1, static_cast<char>(c)));
    for (unsigned char o : t) EXPECT_TRUE(o >= 0x20 && o < 0x7f) << c;
  }
}

TEST(RemoteErrors, ConstantTimeEqual) {
  EXPECT_TRUE(rm::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(rm::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(rm::constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(rm::constant_time_equal("", "a"));
  EXPECT_TRUE(rm::constant_time_equal("", ""));
}

namespace {

rm::Response compress_chunk(rm::Service& s, const Bytes& data, std::size_t off, std::size_t len, bool first,
                            bool end, std::size_t block) {
  rm::Request r;
  r.path = "/v1/gzip/compress";
  r.query = {{"level", "6"}, {"block", std::to_string(block)}, {"end", end ? "1" : "0"}};
  if (first) r.query.insert({{"name", "big.log"}, {"mtime", "1600000000"}});
  r.body.assign(data.begin() + static_cast<std::ptrdiff_t>(off),
                data.begin() + static_cast<std::ptrdiff_t>(off + len));
  return s.handle(r, "test");
}

// Our gzip of `data` in 8 KiB blocks: several members for a small input.
Bytes gzip_8k_blocks(const Bytes& data) {
  fpgaio::gzip::CompressOptions co;
  co.block_size = 8192;
  return fpgaio::gzip::compress_buffer(data.data(), data.size(), co);
}

}  // namespace

TEST(RemoteService, ChunksOfWholeBlocksJoinToTheLocalBytes) {
  rm::ServerConfig cfg;
  cfg.slots = 2;
  rm::Service svc(cfg);
  const std::size_t block = 4096;
  Bytes data = testutil::text_data(5 * block * 3 + 1000);
  fpgaio::gzip::CompressOptions co;
  co.block_size = block;
  co.name = "big.log";
  co.mtime = 1600000000;
  Bytes local = fpgaio::gzip::compress_buffer(data.data(), data.size(), co);
  for (std::size_t chunk_blocks : {1, 2, 5, 100}) {
    Bytes joined;
    std::size_t chunk = chunk_blocks * block;
    for (std::size_t off = 0; off < data.size(); off += chunk) {
      std::size_t len = std::min(chunk, data.size() - off);
      auto r = compress_chunk(svc, data, off, len, off == 0, off + len == data.size(), block);
      ASSERT_EQ(r.status, 200);
      joined.insert(joined.end(), r.body.begin(), r.body.end());
    }
    EXPECT_EQ(joined, local) << chunk_blocks;
  }
  // An empty file: one request, first and last.
  Bytes empty;
  auto r = compress_chunk(svc, empty, 0, 0, true, true, block);
  EXPECT_EQ(r.body, fpgaio::gzip::compress_buffer(nullptr, 0, co));
}

TEST(RemoteService, RefusesBadParametersAndPaths) {
  rm::Service svc(rm::ServerConfig{});
  rm::Request r;
  r.path = "/v1/gzip/compress";
  for (auto q : std::vector<std::map<std::string, std::string>>{
           {{"level", "13"}}, {{"level", "x"}}, {{"block", "10"}}, {{"end", "2"}}, {{"mtime", "99999999999"}},
           {{"level", "99999999999999999999999"}}}) {
    r.query = q;
    EXPECT_EQ(svc.handle(r, "t").status, 400);
  }
  r.query.clear();
  r.path = "/v1/gzip/compress/../../etc/passwd";
  EXPECT_EQ(svc.handle(r, "t").status, 404);
  r.path = "/v1/gzip/decompress";
  r.body = {1, 2, 3};
  EXPECT_EQ(svc.handle(r, "t").status, 422);
  r.method = "GET";
  r.path = "/v1/gzip/test";
  EXPECT_EQ(svc.handle(r, "t").status, 405);
}

TEST(RemoteService, DecompressErrorsNameTheMemberInTheChunk) {
  rm::Service svc(rm::ServerConfig{});
  Bytes data = testutil::text_data(50000);
  Bytes gz = gzip_8k_blocks(data);
  rm::Request r;
  r.path = "/v1/gzip/decompress";
  r.body = gz;
  auto ok = svc.handle(r, "t");
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, data);
  r.body[gz.size() / 2] ^= 0x55;
  auto bad = svc.handle(r, "t");
  EXPECT_EQ(bad.status, 422);
  auto e = rm::error_from_response(bad);
  EXPECT_TRUE(e.member.has_value());
}

TEST(RemoteStdio, FramedRequestsAnsweredInOrder) {
  rm::Service svc(rm::ServerConfig{});
  int in[2], out[2];
  ASSERT_EQ(pipe(in), 0);
  ASSERT_EQ(pipe(out), 0);
  std::thread t([&] {
    rm::serve_stdio(svc, in[0], out[1]);
    close(out[1]);
  });
  std::string reqs = "GET /v1/health 0\nPOST /v1/gzip/compress?level=99 0\nGET /nowhere 0\n";
  ASSERT_EQ(write(in[1], reqs.data(), reqs.size()), static_cast<ssize_t>(reqs.size()));
  close(in[1]);
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  t.join();
  close(in[0]);
  close(out[0]);
  auto a = got.find("200 "), b = got.find("400 "), c = got.find("404 ");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

// Requests read ahead and run on two slots at once still get their answers
// in the order asked, each the bytes of its own chunk: a large chunk first,
// small ones after it (which finish first), answers read while requests are
// still being written.
TEST(RemoteStdio, PipelinedRequestsRunTogetherAnswersInOrder) {
  rm::ServerConfig cfg;
  cfg.slots = 2;
  rm::Service svc(cfg);
  int in[2], out[2];
  ASSERT_EQ(pipe(in), 0);
  ASSERT_EQ(pipe(out), 0);
  std::thread server([&] {
    rm::serve_stdio(svc, in[0], out[1]);
    close(out[1]);
  });
  std::vector<Bytes> chunks;
  for (std::size_t k = 0; k < 9; ++k)
    chunks.push_back(testutil::text_data(k % 3 == 0 ? (3u << 20) : 1000 + 77 * k, static_cast<unsigned>(k + 1)));
  std::thread client([&] {
    for (const auto& c : chunks) {
      std::string head = "POST /v1/gzip/compress?level=6&block=65536&end=0 " + std::to_string(c.size()) + "\n";
      fpgaio::full_write(in[1], head.data(), head.size(), "pipe");
      fpgaio::full_write(in[1], c.data(), c.size(), "pipe");
    }
    close(in[1]);
  });
  for (const auto& c : chunks) {
    std::string line;
    char ch;
    while (fpgaio::full_read(out[0], &ch, 1, "pipe") == 1 && ch != '\n') line += ch;
    ASSERT_EQ(line.rfind("200 ", 0), 0u) << line;
    std::size_t n = std::stoull(line.substr(4));
    Bytes got(n);
    ASSERT_EQ(fpgaio::full_read(out[0], got.data(), n, "pipe"), n);
    fpgaio::gzip::CompressOptions o;
    o.level = 6;
    o.block_size = 65536;
    o.end_marker = false;
    EXPECT_EQ(got, fpgaio::gzip::compress_buffer(c.data(), c.size(), o));
  }
  char extra;
  EXPECT_EQ(read(out[0], &extra, 1), 0);  // nothing after the last answer
  client.join();
  server.join();
  close(in[0]);
  close(out[0]);
}

TEST(RemoteHttp, ClientAndServerOnLoopbackGiveTheLocalBytes) {
  rm::ServerConfig cfg;
  cfg.listen = "127.0.0.1:0";
  cfg.token = "t0ken";
  rm::Service svc(cfg);
  rm::HttpServer server(svc);
  ASSERT_NE(server.port(), 0u);
  rm::ClientConfig cc;
  cc.token = "t0ken";
  rm::HostPool pool({rm::parse_endpoint("http://127.0.0.1:" + std::to_string(server.port()))}, cc, 0, 2);
  Bytes data = testutil::text_data(300000);
  MemFile mf(data);
  fpgaio::Input in(mf.path());
  testutil::VecSink sink;
  rm::RemoteGzipOptions o;
  o.block_size = 16384;
  o.chunk_bytes = 50000;
  o.name = "x";
  o.mtime = 7;
  rm::compress(pool, in, sink, o);
  fpgaio::gzip::CompressOptions co;
  co.block_size = 16384;
  co.name = "x";
  co.mtime = 7;
  EXPECT_EQ(sink.v, fpgaio::gzip::compress_buffer(data.data(), data.size(), co));
  // And back, in chunks of members.
  MemFile gz(sink.v);
  fpgaio::Input gin(gz.path());
  testutil::VecSink plain;
  o.chunk_bytes = 20000;
  rm::decompress(pool, gin, &plain, o);
  EXPECT_EQ(plain.v, data);
  // A wrong token is the run's error (401), not a reason to try elsewhere;
  // the message says where the token came from.
  cc.token = "nope";
  rm::HostPool bad({rm::parse_endpoint("http://127.0.0.1:" + std::to_string(server.port()))}, cc, 0, 2);
  rm::Request h;
  h.path = "/v1/gzip/compress";
  rm::Response r = bad.call(h).first;
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(std::string(rm::error_from_response(r).what()),
            "wrong token: the token of --token-file or FPGA_REMOTE_TOKEN is not this server's");
  server.stop_accepting();
  server.wait_idle();
}

// What a local decoder writes of `gz` before it fails, and its error.
static std::pair<Bytes, std::string> local_salvage(const Bytes& gz) {
  MemFile f(gz);
  fpgaio::Input in(f.path());
  fpgaio::gzip::DecompressOptions o;
  fpgaio::gzip::Decoder d(in, o);
  testutil::VecSink s;
  try {
    d.run(s);
  } catch (const fpgaio::Error& e) {
    return {s.v, e.describe_as_gzip()[0]};
  }
  return {s.v, ""};
}

TEST(RemoteService, SalvageSendsWhatDecodesBeforeTheDamageAfterTheError) {
  rm::Service svc(rm::ServerConfig{});
  Bytes data = testutil::text_data(60000);
  Bytes gz = gzip_8k_blocks(data);
  for (std::size_t at : {gz.size() / 2, gz.size() - 20, std::size_t{40}}) {
    Bytes bad = gz;
    bad[at] ^= 0x55;
    auto [want, msg] = local_salvage(bad);
    ASSERT_FALSE(msg.empty());
    rm::Request r;
    r.path = "/v1/gzip/decompress";
    r.query["salvage"] = "1";
    r.body = bad;
    auto a = svc.handle(r, "t");
    EXPECT_EQ(a.status, 422);
    auto p = a.content_type.find("; salvage=");
    ASSERT_NE(p, std::string::npos) << a.content_type;
    std::size_t n = std::stoull(a.content_type.substr(p + 10));
    ASSERT_LE(n, a.body.size());
    EXPECT_EQ(Bytes(a.body.end() - static_cast<std::ptrdiff_t>(n), a.body.end()), want);
    // The JSON before it reads as ever (an old client ignores the rest).
    a.body.resize(a.body.size() - n);
    EXPECT_EQ(rm::error_from_response(a).describe_as_gzip()[0], msg);
    // Without the parameter: the error alone, as protocol 1 had it.
    r.query.clear();
    auto b = svc.handle(r, "t");
    EXPECT_EQ(b.content_type, "application/json");
    EXPECT_EQ(b.body, a.body);
  }
}

TEST(RemoteHttp, DamagedStreamDecompressedRemotelyWritesWhatALocalRunWrites) {
  rm::ServerConfig cfg;
  cfg.listen = "127.0.0.1:0";
  rm::Service svc(cfg);
  rm::HttpServer server(svc);
  rm::HostPool pool({rm::parse_endpoint("http://127.0.0.1:" + std::to_string(server.port()))}, {}, 0, 2);
  Bytes data = testutil::text_data(200000);
  Bytes gz = gzip_8k_blocks(data);
  // Damage in a later chunk, and a stream cut inside a member.
  Bytes flipped = gz;
  flipped[gz.size() * 3 / 4] ^= 0x55;
  Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() * 2 / 3));
  for (const Bytes& bad : {flipped, cut}) {
    auto [want, msg] = local_salvage(bad);
    MemFile f(bad);
    fpgaio::Input in(f.path());
    testutil::VecSink out;
    rm::RemoteGzipOptions o;
    o.chunk_bytes = 20000;
    o.salvage = true;
    o.shown = "x.gz";
    try {
      rm::decompress(pool, in, &out, o);
      ADD_FAILURE() << "no error";
    } catch (const fpgaio::Error& e) {
      EXPECT_EQ(e.describe_as_gzip()[0], msg);
    }
    EXPECT_EQ(out.v.size(), want.size());
    EXPECT_EQ(out.v, want);
  }
  server.stop_accepting();
  server.wait_idle();
}

TEST(RemoteService, OtherFormatsAndPassThroughAsTheLocalDecoder) {
  rm::Service svc(rm::ServerConfig{});
  Bytes text = testutil::text_data(5000);
  rm::Request r;
  r.path = "/v1/gzip/decompress";
  r.body = text;
  auto a = svc.handle(r, "t");
  EXPECT_EQ(a.status, 422);
  EXPECT_EQ(rm::error_from_response(a).describe_as_gzip()[0], "not in gzip format");
  r.query["pass"] = "1";
  a = svc.handle(r, "t");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, text);
  r.query.clear();
  r.body = {0x1f};
  EXPECT_EQ(rm::error_from_response(svc.handle(r, "t")).describe_as_gzip()[0], "unexpected end of file");
  // A zlib stream (pigz -z) at the start, unless zlib=0.
  fpgaio::gzip::CompressOptions co;
  co.container = fpgaio::gzip::Container::zlib;
  r.body = fpgaio::gzip::compress_buffer(text.data(), text.size(), co);
  a = svc.handle(r, "t");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, text);
  r.query["zlib"] = "0";
  EXPECT_EQ(svc.handle(r, "t").status, 422);
}

TEST(RemoteService, ListReadsHeadersAndSaysBytesCrcAndFormat) {
  rm::Service svc(rm::ServerConfig{});
  Bytes data = testutil::text_data(40000);
  Bytes gz = gzip_8k_blocks(data);
  gz[gz.size() / 2] ^= 0x55;  // in deflate data: -t sees it, -l (headers only) does not
  rm::Request r;
  r.path = "/v1/gzip/test";
  r.body = gz;
  EXPECT_EQ(svc.handle(r, "t").status, 422);
  r.query["list"] = "1";
  auto a = svc.handle(r, "t");
  ASSERT_EQ(a.status, 200);
  EXPECT_NE(a.content_type.find("; in=" + std::to_string(gz.size()) + ";"), std::string::npos) << a.content_type;
  EXPECT_NE(a.content_type.find("; format=gzip"), std::string::npos);
  EXPECT_NE(a.content_type.find("; crc="), std::string::npos);
  EXPECT_EQ(rm::json_value(std::string(a.body.begin(), a.body.end()), "bytes"), std::to_string(data.size()));
}

// A lying server behind the SSH framing: `ssh` replaced by a script that
// answers health properly and then each job as ANSWER says. The client
// refuses, naming why, and never holds more than the request's bound.
namespace {
rm::ClientConfig lying_ssh(const std::string& answer_line, const std::string& body, unsigned timeout = 5,
                           const std::string& trickle = "") {
  rm::ClientConfig cfg;
  cfg.timeout_seconds = timeout;
  std::string health = std::string("{\"live\":true,\"ready\":true,\"version\":\"") + fpgaio::version() +
                       "\",\"protocol\":1,\"slots\":1}";
  cfg.ssh_command = {"/usr/bin/python3", "-c",
                     "import sys\n"
                     "i, o = sys.stdin.buffer, sys.stdout.buffer\n"
                     "def req():\n"
                     "    l = i.readline()\n"
                     "    if not l: sys.exit(0)\n"
                     "    i.read(int(l.split()[2]))\n"
                     "req()\n"
                     "h = b'" + health + "'\n"
                     "o.write(b'200 %d application/json\\n' % len(h) + h); o.flush()\n"
                     "while True:\n"
                     "    req()\n"
                     "    o.write(b'" + answer_line + "\\n' + b'" + body + "'); o.flush()\n" + trickle,
                     "--"};
  return cfg;
}
}  // namespace

TEST(RemoteSsh, AnswerLargerThanTheRequestCanHaveIsCutOff) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no python3";
  rm::Endpoint ep = rm::parse_endpoint("ssh://lying");
  // 1 TiB declared: refused before a byte of it is read or allocated.
  auto t = rm::connect(ep, lying_ssh("200 1099511627776 application/gzip", ""));
  rm::Request r;
  r.path = "/v1/gzip/compress";
  r.body = fpgaio::Bytes(100, 'x');
  r.max_answer = 4096;
  try {
    t->call(r);
    FAIL() << "accepted";
  } catch (const rm::TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("answer over 4096 bytes"), std::string::npos) << e.what();
  }
}

TEST(RemoteSsh, StatusOrLengthOutOfRangeIsABadAnswer) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no python3";
  rm::Endpoint ep = rm::parse_endpoint("ssh://lying");
  for (const char* line : {"99999999999999999999 3 x", "200 99999999999999999999999 x", "abc 3 x"}) {
    auto t = rm::connect(ep, lying_ssh(line, "abc"));
    rm::Request r;
    r.path = "/v1/gzip/compress";
    EXPECT_THROW(t->call(r), rm::TransportError) << line;
  }
}

TEST(RemoteSsh, AnAnswerTrickledAByteAtATimeTimesOut) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no python3";
  rm::Endpoint ep = rm::parse_endpoint("ssh://lying");
  // A 100000-byte answer, a byte every 0.2 s: never silent for the timeout,
  // far under 1 KiB a second.
  auto t = rm::connect(ep, lying_ssh("200 100000 application/gzip", "", 1,
                                     "    import time\n"
                                     "    for _ in range(100000):\n"
                                     "        o.write(b'x'); o.flush(); time.sleep(0.2)\n"));
  rm::Request r;
  r.path = "/v1/gzip/compress";
  // (Before the fix this call hung for hours: each byte reset the timeout.)
  try {
    t->call(r);
    FAIL() << "accepted";
  } catch (const rm::TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  }
}

// "This host cannot do this job" (protocol: Errors, scope): marked answers,
// older servers' unmarked ones, and nothing else.
TEST(RemoteErrors, HostScopeMarksWhatAnotherHostMayDo) {
  auto body = [](const rm::Response& r) { return std::string(r.body.begin(), r.body.end()); };
  rm::Response model = rm::host_scope(rm::error_response(404, "not-found", "no model 'cnv' on this host"));
  EXPECT_EQ(body(model), "{\"error\":\"not-found\",\"message\":\"no model 'cnv' on this host\",\"scope\":\"host\"}\n");
  EXPECT_EQ(rm::host_cannot(model), "no model 'cnv' on this host");
  // The status and the error stay what older clients read.
  EXPECT_EQ(rm::error_from_response(model).what(), std::string("no model 'cnv' on this host"));
  // A card-only server asked to inflate, marked or not (an older server).
  const std::string nodev = "no device of this server in service runs 'inflate' (its devices: csim:0)";
  EXPECT_EQ(rm::host_cannot(rm::host_scope(rm::error_response(500, "device", nodev))), nodev);
  EXPECT_EQ(rm::host_cannot(rm::error_response(500, "device", nodev)), nodev);
  EXPECT_EQ(rm::host_cannot(rm::error_response(404, "not-found", "no model 'x'")), "no model 'x'");
  // The job's own errors are not the host's.
  EXPECT_FALSE(rm::host_cannot(rm::error_response(400, "usage", "parameter 'level' must be between 0 and 12")));
  EXPECT_FALSE(rm::host_cannot(rm::error_response(422, "corrupt", "invalid distance")));
  EXPECT_FALSE(rm::host_cannot(rm::error_response(500, "device", "xrt:0/cu1.1: block 1: returned CRC-32 ffffffff")));
  EXPECT_FALSE(rm::host_cannot(rm::error_response(404, "usage", "no such resource: /v1/x")));
  rm::Response ok;
  ok.body = {'{', '"', 's', 'c', 'o', 'p', 'e', '"', ':', '"', 'h', 'o', 's', 't', '"', '}'};
  EXPECT_FALSE(rm::host_cannot(ok));
  // Salvaged data after an error's JSON is data, whatever it says; a
  // message cannot forge the member either.
  rm::Response salvage = rm::error_response(422, "corrupt", "invalid distance");
  const std::string data = "{\"scope\":\"host\"}";
  salvage.body.insert(salvage.body.end(), data.begin(), data.end());
  EXPECT_FALSE(rm::host_cannot(salvage));
  EXPECT_FALSE(rm::host_cannot(rm::error_response(422, "corrupt", "\"scope\":\"host\"")));
  // Control characters from the server are not printed as they are.
  EXPECT_EQ(rm::host_cannot(rm::host_scope(rm::error_response(500, "io", "bad\x1b[2J"))), "bad?[2J");
}

// The reason a host failed reads the same each time it fails the same way
// (the count in "tried HOST (WHY) 3 times" depends on it): curl's times go.
TEST(RemoteErrors, CurlReasonsWithoutTheirTimes) {
  EXPECT_EQ(rm::curl_reason("Failed to connect to 127.0.0.1 port 42425 after 11 ms: Couldn't connect to server"),
            "Failed to connect to 127.0.0.1 port 42425: Couldn't connect to server");
  EXPECT_EQ(rm::curl_reason("Failed to connect to 127.0.0.1 port 42425 after 0 ms: Couldn't connect to server"),
            "Failed to connect to 127.0.0.1 port 42425: Couldn't connect to server");
  EXPECT_EQ(rm::curl_reason("Connection timed out after 2001 milliseconds"), "Connection timed out");
  EXPECT_EQ(rm::curl_reason("Operation timed out after 2000 milliseconds with 0 bytes received"),
            "Operation timed out with 0 bytes received");
  // Anything else as it is.
  EXPECT_EQ(rm::curl_reason("Recv failure: Connection reset by peer"), "Recv failure: Connection reset by peer");
  EXPECT_EQ(rm::curl_reason("after 5 ms"), "after 5 ms");
  EXPECT_EQ(rm::curl_reason("the host after 12 msgs"), "the host after 12 msgs");
}
