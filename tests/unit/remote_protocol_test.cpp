// The protocol's one encoder and decoder a message (remote_protocol.hpp):
// every job round-trips through its request, the query strings are the
// ones every release has sent, the two ends' percent-decoding is one
// function, and the client's JSON is the real parser read leniently.
#include <gtest/gtest.h>

#include <cstring>

#include "fpgaio/gzip.hpp"
#include "fpgaio/json.hpp"
#include "fpgaio/remote_protocol.hpp"
#include "helpers.hpp"

namespace rm = fpgaio::remote;

namespace {

// A request as it travels: its query encoded, then decoded by the server.
rm::Request over_the_wire(const rm::Request& r) {
  rm::Request back = r;
  back.query = rm::decode_query(rm::encode_query(r.query), &back.repeated);
  return back;
}

}  // namespace

TEST(RemoteProtocol, CompressJobRoundTripsAndKeepsItsQuery) {
  rm::GzipCompressJob j;
  j.level = 9;
  j.block_size = 4096;
  j.name = "a b&c";
  j.mtime = 1614834367;
  j.comment = "note";
  j.part = fpgaio::PartOf{2, 5, 12345};
  j.strategy = fpgaio::Strategy::rle;
  j.rsyncable = true;
  j.end_marker = false;
  rm::Request r = rm::encode(j);
  EXPECT_EQ(r.path, "/v1/gzip/compress");
  // The query every release has sent (names sorted: std::map).
  EXPECT_EQ(rm::encode_query(r.query),
            "block=4096&comment=note&end=0&level=9&mtime=1614834367&name=a%20b%26c&part=2%2F5%2012345&"
            "rsyncable=1&strategy=rle");
  rm::GzipCompressJob back = rm::decode_gzip_compress(over_the_wire(r));
  EXPECT_EQ(back.level, 9);
  EXPECT_EQ(back.block_size, 4096u);
  EXPECT_EQ(back.name, j.name);
  EXPECT_EQ(back.mtime, j.mtime);
  EXPECT_EQ(back.comment, j.comment);
  ASSERT_TRUE(back.part);
  EXPECT_EQ(fpgaio::format_part(*back.part), fpgaio::format_part(*j.part));
  EXPECT_EQ(back.strategy, fpgaio::Strategy::rle);
  EXPECT_TRUE(back.rsyncable);
  EXPECT_FALSE(back.end_marker);
  // Defaults: only level, block and end go.
  EXPECT_EQ(rm::encode_query(rm::encode(rm::GzipCompressJob{}).query), "block=2097152&end=1&level=6");
  // and a request without them gets the same defaults
  rm::Request bare;
  bare.path = "/v1/gzip/compress";
  EXPECT_EQ(rm::decode_gzip_compress(bare).block_size, fpgaio::gzip::kDefaultBlockSize);
  EXPECT_EQ(rm::decode_gzip_compress(bare).level, 6);
  // The job is the library's own settings: a local run's options send as they are.
  fpgaio::gzip::CompressOptions co;
  static_cast<fpgaio::gzip::MemberSettings&>(co) = j;
  co.threads = 4;
  EXPECT_EQ(rm::encode(co).query, r.query);
  // The first bad parameter is named, in the order the server has always read them.
  rm::Request bad;
  bad.query = {{"level", "13"}, {"strategy", "x"}};
  try {
    rm::decode_gzip_compress(bad);
    FAIL();
  } catch (const fpgaio::Error& e) {
    EXPECT_STREQ(e.what(), "parameter 'level' must be between 0 and 12");
  }
}

TEST(RemoteProtocol, DecodeJobRoundTripsAndKeepsItsQuery) {
  rm::GzipDecodeJob d;
  d.pass_through = true;
  d.detect_zlib = false;
  d.salvage = true;
  d.list_only = true;  // not for decompress
  rm::Request r = rm::encode(d);
  EXPECT_EQ(r.path, "/v1/gzip/decompress");
  EXPECT_EQ(rm::encode_query(r.query), "pass=1&salvage=1&zlib=0");
  auto back = rm::decode_gzip_decode(over_the_wire(r));
  EXPECT_FALSE(back.test);
  EXPECT_TRUE(back.pass_through);
  EXPECT_FALSE(back.detect_zlib);
  EXPECT_TRUE(back.salvage);
  EXPECT_FALSE(back.list_only);
  d.test = true;
  r = rm::encode(d);
  EXPECT_EQ(r.path, "/v1/gzip/test");
  EXPECT_EQ(rm::encode_query(r.query), "list=1&pass=1&zlib=0");
  back = rm::decode_gzip_decode(over_the_wire(r));
  EXPECT_TRUE(back.test);
  EXPECT_TRUE(back.list_only);
  EXPECT_FALSE(back.salvage);
}

TEST(RemoteProtocol, DecodeAnswerRoundTripsInTheContentType) {
  rm::GzipDecodeAnswer a;
  a.in = 12345;
  a.crc = 0xdeadbeef;
  a.format = fpgaio::gzip::Format::lzw;
  a.trailing_garbage = true;
  a.zip_more_entries = true;
  a.warnings = {"a; b=c", "\x1b[31m"};
  std::string t = rm::encode_type("application/octet-stream", a);
  EXPECT_EQ(t, "application/octet-stream; in=12345; crc=3735928559; format=lzw; trailing-garbage=1; "
               "zip-more-entries=1; warning=a%3B%20b%3Dc; warning=%1B%5B31m");
  auto b = rm::decode_gzip_answer(t + "; body-crc=1");
  EXPECT_EQ(b.in, a.in);
  EXPECT_EQ(b.crc, a.crc);
  EXPECT_EQ(b.format, a.format);
  EXPECT_TRUE(b.trailing_garbage);
  EXPECT_TRUE(b.zip_more_entries);
  EXPECT_EQ(b.warnings, a.warnings);
  // Malformed or repeated: unknown, for the client's checks to judge.
  auto c = rm::decode_gzip_answer("x; in=12a; crc=99999999999; format=rar; in=1");
  EXPECT_FALSE(c.in);
  EXPECT_FALSE(c.crc);
  EXPECT_FALSE(c.format);
  EXPECT_EQ(rm::salvage_size("application/json; salvage=17"), std::optional<std::size_t>(17));
  EXPECT_FALSE(rm::salvage_size("application/json; salvage=-1"));
  EXPECT_FALSE(rm::salvage_size("application/json; salvage=1; salvage=2"));
  std::string body = rm::test_answer_body(99);
  EXPECT_EQ(body, "{\"bytes\":99}\n");
  EXPECT_EQ(rm::read_test_answer(fpgaio::Bytes(body.begin(), body.end())), std::optional<std::uint64_t>(99));
  std::string lie = "{\"bytes\":-1}";
  EXPECT_FALSE(rm::read_test_answer(fpgaio::Bytes(lie.begin(), lie.end())));
}

TEST(RemoteProtocol, InferJobRoundTrips) {
  rm::InferJob j;
  j.model = "conv";
  j.crc = 0x0000abcd;
  j.scores = true;
  rm::Request r = rm::encode(j);
  EXPECT_EQ(r.path, "/v1/infer");
  EXPECT_EQ(rm::encode_query(r.query), "crc=0000abcd&model=conv&scores=1");
  auto back = rm::decode_infer(over_the_wire(r));
  EXPECT_EQ(back.model, j.model);
  EXPECT_EQ(back.crc, j.crc);
  EXPECT_TRUE(back.scores);
  rm::Request bad;
  bad.query = {{"crc", "0000ABCD"}};
  EXPECT_THROW(rm::decode_infer(bad), fpgaio::Error);
  bad.query = {{"model", ""}};
  EXPECT_THROW(rm::decode_infer(bad), fpgaio::Error);
  EXPECT_FALSE(rm::decode_infer(rm::Request{}).model);
}

TEST(RemoteProtocol, OnePercentDecoderForBothTransports) {
  // As libmicrohttpd calls it (a C string, in place) and as decode_query uses it.
  for (std::string s : {"a%20b", "%00", "%4", "%zz%41", "100%", "%2B+", "%%41"}) {
    std::string c = s;
    std::size_t n = rm::percent_decode(c.data(), c.size());
    c.resize(n);
    std::string q = rm::decode_query("k=" + s)["k"];
    // decode_query turns '+' into a space first, as libmicrohttpd does.
    std::string plus = s;
    for (char& ch : plus)
      if (ch == '+') ch = ' ';
    plus.resize(rm::percent_decode(plus.data(), plus.size()));
    EXPECT_EQ(q, plus) << s;
    if (s.find('+') == std::string::npos) {
      EXPECT_EQ(q, c) << s;
    }
  }
  std::string v = "a%20b%00c%41";
  v.resize(rm::percent_decode(v.data(), v.size()));
  EXPECT_EQ(v, "a b%00cA");
}

TEST(RemoteProtocol, TheClientReadsJsonWithTheRealParserLeniently) {
  // Our server's error bodies, a salvage answer's data after the JSON.
  auto e = rm::error_response(422, "corrupt", "bad \"x\"\n", 3, 7);
  std::string j(e.body.begin(), e.body.end());
  auto v = rm::read_json(j + "\x1f\x8b binary after it");
  ASSERT_TRUE(v);
  EXPECT_EQ(rm::json_text(*v, "message"), std::optional<std::string>("bad \"x\"\n"));
  EXPECT_EQ(rm::json_text(*v, "member"), std::optional<std::string>("3"));
  // As clients have always read a server's escapes: \n is 'n', a broken
  // \u its letters, \u001b the byte.
  auto w = fpgaio::json::parse_lenient("{\"m\":\"a\\nb\\uZZ\\u001b\\/\"}");
  EXPECT_EQ(w.get("m")->s, "anbuZZ\x1b/");
  // The strict reader is unchanged.
  EXPECT_THROW(fpgaio::json::parse("{\"m\":\"\\uZZZZ\"}"), std::runtime_error);
  EXPECT_THROW(fpgaio::json::parse("{} x"), std::runtime_error);
  EXPECT_FALSE(rm::read_json("<html>"));
  EXPECT_EQ(rm::json_value("{\"version\":\"0.1.0\",\"protocol\":1}", "protocol"), std::optional<std::string>("1"));
}
