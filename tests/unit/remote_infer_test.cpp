// fpga-infer over fpga-remote, library side: the JSON reader, model names,
// the model directory (default, reload on change), the models and infer
// answers, and the client over a loopback server against the local engine;
// and infer.hpp's shared output lines.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <random>

#include "fpgaio/finn.hpp"
#include "fpgaio/infer.hpp"
#include "fpgaio/json.hpp"
#include "fpgaio/remote_infer.hpp"
#include "helpers.hpp"

namespace rm = fpgaio::remote;
namespace bnn = fpgaio::bnn;
namespace json = fpgaio::json;
using fpgaio::Bytes;
using fpgaio::Error;
using fpgaio::ErrorKind;

namespace {

// A small model: 4x4x1 8-bit input, one hidden layer, `classes` classes.
bnn::Model small_model(unsigned seed, std::vector<std::string> names) {
  std::mt19937 rng(seed);
  bnn::Model m;
  m.input = bnn::Shape{4, 4, 1};
  m.mode = bnn::InputMode::fixed8;
  m.classes = std::move(names);
  bnn::Layer l1;
  l1.kind = bnn::LayerKind::fc;
  l1.in = 16;
  l1.out = 8;
  for (unsigned o = 0; o < 8; ++o) l1.weights.push_back(rng() & 0xffff);
  for (unsigned o = 0; o < 8; ++o) l1.thresholds.push_back(static_cast<std::int32_t>(rng() % 2000) - 1000);
  bnn::Layer l2;
  l2.kind = bnn::LayerKind::fc;
  l2.in = 8;
  l2.out = static_cast<std::uint32_t>(m.classes.size());
  for (std::size_t o = 0; o < m.classes.size(); ++o) l2.weights.push_back(rng() & 0xff);
  m.layers = {l1, l2};
  m.validate();
  return m;
}

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/remote-infer-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  void write(const std::string& name, const Bytes& b) const {
    std::ofstream(path + "/" + name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                                               static_cast<std::streamsize>(b.size()));
  }
};

}  // namespace

TEST(Json, ParsesWhatTheProtocolUses) {
  auto v = json::parse(R"( {"a":[1,-2,"x\u00e9\ud83d\ude00\n"],"b":{"c":true,"d":null},"e":false} )");
  ASSERT_EQ(v.type, json::Value::Type::object);
  const json::Value* a = v.get("a");
  ASSERT_TRUE(a && a->a.size() == 3);
  EXPECT_EQ(a->a[0].n, 1);
  EXPECT_EQ(a->a[1].n, -2);
  EXPECT_EQ(a->a[2].s, "x\xc3\xa9\xf0\x9f\x98\x80\n");
  EXPECT_TRUE(v.get("b")->get("c")->b);
  EXPECT_EQ(v.get("b")->get("d")->type, json::Value::Type::null);
  EXPECT_EQ(v.get("zz"), nullptr);
  for (const char* bad : {"", "{", "[1,]", "{\"a\":1,}", "\"\\x\"", "\"\\ud800\"", "1.5", "1e3", "{} x", "\"a\nb\"",
                          "tru", "[1 2]", "99999999999999999999", "{\"a\" 1}"})
    EXPECT_THROW(json::parse(bad), std::runtime_error) << bad;
  EXPECT_THROW(json::parse(std::string(100, '[') + std::string(100, ']')), std::runtime_error);
  EXPECT_NO_THROW(json::parse(std::string(60, '[') + std::string(60, ']')));
}

TEST(Json, QuoteRoundTripsEveryByte) {
  std::string all;
  for (int c = 1; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(json::parse(json::quote(all)).s, all);
  EXPECT_EQ(json::quote("a\"b\\c\x01"), "\"a\\\"b\\\\c\\u0001\"");
}

TEST(RemoteInfer, ModelNamesAreNeverPaths) {
  for (const char* ok : {"cnv", "fashion-cnv", "lfc_W1A1", "v1.2", "a+b", "0"}) EXPECT_TRUE(rm::valid_model_name(ok)) << ok;
  for (const std::string& bad : std::vector<std::string>{"", ".", "..", ".hidden", "-x", "a/b", "/etc/passwd", "../x", "x..y", "a b", "a\\b", "a%2f",
                          std::string("a\0b", 3), std::string(129, 'a'), "caf\xc3\xa9"})
    EXPECT_FALSE(rm::valid_model_name(bad)) << bad;
}

TEST(RemoteInfer, ModelStoreFindsByNameReloadsOnChangeAndRefusesPaths) {
  TempDir d;
  bnn::Model a = small_model(1, {"x", "y", "z"}), b = small_model(2, {"x", "y", "z"});
  d.write("m.fbnn", a.serialize());
  d.write(".hidden.fbnn", a.serialize());
  d.write("notes.txt", Bytes{'h', 'i'});
  rm::ModelStore store(d.path, "m");
  auto m = store.find("m");
  EXPECT_EQ(m->crc, bnn::model_crc(a));
  EXPECT_TRUE(m->is_default);
  EXPECT_EQ(store.find("")->crc, m->crc);
  EXPECT_EQ(store.names(), std::vector<std::string>{"m"});
  // Replaced on disk (a new file renamed over it, as installs do): read
  // again, with its own CRC-32.
  d.write("m.new", b.serialize());
  ASSERT_EQ(::rename((d.path + "/m.new").c_str(), (d.path + "/m.fbnn").c_str()), 0);
  EXPECT_EQ(store.find("m")->crc, bnn::model_crc(b));
  try {
    store.find("../m");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
  }
  try {
    store.find("nonesuch");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_number(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("(models: m)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(store.find(".hidden"), Error);
  EXPECT_THROW(rm::ModelStore(d.path + "/nonesuch", ""), Error);
  EXPECT_THROW(rm::ModelStore(d.path, "other"), Error);
}

TEST(RemoteInfer, AnswersMatchTheLocalEngineAndRefuseAnotherCrc) {
  TempDir d;
  bnn::Model a = small_model(3, {"cat", "dog", "a,\"b\"", "x"});
  d.write("m.fbnn", a.serialize());
  rm::ServerConfig cfg;
  cfg.listen = "127.0.0.1:0";
  cfg.models_dir = d.path;
  cfg.default_model = "m";
  rm::Service svc(cfg);
  rm::HttpServer server(svc);
  rm::HostPool pool({rm::parse_endpoint("http://127.0.0.1:" + std::to_string(server.port()))}, rm::ClientConfig{}, 0, 2);
  rm::RemoteModel rmodel = rm::fetch_model(pool, "m");
  EXPECT_EQ(rmodel.classes, a.classes);
  EXPECT_EQ(rmodel.crc, bnn::model_crc(a));
  EXPECT_EQ(rm::fetch_model(pool, "").name, "m");
  // Every possible first pixel, the rest random: classes and scores as the engine's.
  std::mt19937 rng(9);
  fpgaio::images::Batch b;
  b.count = 300;
  b.pixels.resize(b.count * 16);
  for (auto& p : b.pixels) p = static_cast<std::uint8_t>(rng());
  for (std::size_t i = 0; i < 256; ++i) b.pixels[i * 16] = static_cast<std::uint8_t>(i);
  auto ans = rm::infer_batch(pool, rmodel, b, true);
  bnn::Engine engine(a, bnn::Isa::portable);
  std::vector<std::int32_t> s(4);
  for (std::size_t i = 0; i < b.count; ++i) {
    engine.classify(b.pixels.data() + i * 16, s.data());
    EXPECT_EQ(ans.classes[i], bnn::argmax(s.data(), 4));
    EXPECT_EQ(std::vector<std::int32_t>(ans.scores.begin() + static_cast<std::ptrdiff_t>(i * 4),
                                        ans.scores.begin() + static_cast<std::ptrdiff_t>(i * 4 + 4)),
              s);
  }
  EXPECT_TRUE(rm::infer_batch(pool, rmodel, b, false).scores.empty());
  // The file changes under the same name (here: on the same host): refused.
  rm::RemoteModel stale = rmodel;
  stale.crc ^= 1;
  try {
    rm::infer_batch(pool, stale, b, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("changed on http://127.0.0.1:"), std::string::npos) << e.what();
  }
  // Images of the wrong size are a 400, not a crash.
  rm::Request r;
  r.path = "/v1/infer";
  r.query["model"] = "m";
  r.body.assign(17, 0);
  EXPECT_EQ(svc.handle(r, "test").status, 400);
  r.body.assign(16 * 3, 0);
  r.query["scores"] = "2";
  EXPECT_EQ(svc.handle(r, "test").status, 400);
  r.query.erase("scores");
  r.query["crc"] = "XYZ";
  EXPECT_EQ(svc.handle(r, "test").status, 400);
  r.query.erase("crc");
  EXPECT_EQ(svc.handle(r, "test").status, 200);
  EXPECT_EQ(svc.handle(r, "test").body.size(), 3u * 2);
  server.stop_accepting();
  server.wait_idle();
}

TEST(Infer, LinesInEveryFormat) {
  std::vector<std::string> names = {"plain", "a,\"b\"", "t\x01"};
  std::int32_t s[3] = {5, -1, 7};
  using fpgaio::infer::OutFormat;
  EXPECT_EQ(fpgaio::infer::format_line(names, OutFormat::tsv, false, 12, nullptr, 0), "12\t0\tplain\n");
  EXPECT_EQ(fpgaio::infer::format_line(names, OutFormat::tsv, true, 12, s, 2), "12\t2\tt\x01\t5\t-1\t7\n");
  EXPECT_EQ(fpgaio::infer::format_line(names, OutFormat::csv, true, 0, s, 1), "0,1,\"a,\"\"b\"\"\",5,-1,7\n");
  EXPECT_EQ(fpgaio::infer::format_line(names, OutFormat::jsonl, true, 3, s, 2),
            "{\"index\":3,\"class\":2,\"name\":\"t\\u0001\",\"scores\":[5,-1,7]}\n");
  EXPECT_EQ(fpgaio::infer::format_line(names, OutFormat::jsonl, false, 3, nullptr, 1),
            "{\"index\":3,\"class\":1,\"name\":\"a,\\\"b\\\"\"}\n");
}

TEST(Infer, ABatchWithTheWrongNumberOfClassesIsAnError) {
  Bytes raw(16 * 5, 9);
  testutil::MemFile f(raw);
  fpgaio::infer::Settings set;
  set.shape = bnn::Shape{4, 4, 1};
  fpgaio::infer::Run run(set, bnn::Shape{4, 4, 1}, {"a", "b"});
  testutil::VecSink out;
  auto short_answer = [](const fpgaio::images::Batch& b) {
    fpgaio::infer::Answer a;
    a.classes.assign(b.count - 1, 0);
    return a;
  };
  EXPECT_THROW(run.classify(f.path(), out, short_answer, 2, 1), Error);
  fpgaio::infer::Run run2(set, bnn::Shape{4, 4, 1}, {"a", "b"});
  auto ok = [](const fpgaio::images::Batch& b) {
    fpgaio::infer::Answer a;
    a.classes.assign(b.count, 1);
    return a;
  };
  run2.classify(f.path(), out, ok, 2, 2);
  EXPECT_EQ(std::string(out.v.begin(), out.v.end()), "0\t1\tb\n1\t1\tb\n2\t1\tb\n3\t1\tb\n4\t1\tb\n");
  EXPECT_EQ(run2.images(), 5u);
}

TEST(Infer, InputsAreNumberedAcrossCallsAndLabelsFollowTheNumbers) {
  // Three images, then two: numbered 0-4, as one input of five would be, and
  // --labels looked up by those numbers (the classes given are the five
  // labels in order, so every one is right; with the second input numbered
  // from 0 again, 4 of 5 were).
  testutil::MemFile a(Bytes(16 * 3, 9)), b(Bytes(16 * 2, 9));
  testutil::MemFile labels(Bytes{0, 0, 8, 1, 0, 0, 0, 5, 0, 1, 0, 1, 1});
  fpgaio::infer::Settings set;
  set.shape = bnn::Shape{4, 4, 1};
  set.labels = std::make_shared<fpgaio::images::Labels>(labels.path());
  fpgaio::infer::Run run(set, bnn::Shape{4, 4, 1}, {"a", "b"});
  testutil::VecSink out;
  const std::vector<std::uint16_t> truth = {0, 1, 0, 1, 1};
  std::size_t next = 0;  // one thread: batches come in order
  auto fn = [&](const fpgaio::images::Batch& bt) {
    fpgaio::infer::Answer ans;
    for (std::size_t i = 0; i < bt.count; ++i) ans.classes.push_back(truth.at(next++));
    return ans;
  };
  run.classify(a.path(), out, fn, 2, 1);
  run.classify(b.path(), out, fn, 2, 1);
  EXPECT_EQ(std::string(out.v.begin(), out.v.end()), "0\t0\ta\n1\t1\tb\n2\t0\ta\n3\t1\tb\n4\t1\tb\n");
  EXPECT_EQ(run.correct(), 5u);
  EXPECT_EQ(run.labelled(), 5u);
  // --start numbers the first input; the next goes on from it.
  set.start = 1;
  fpgaio::infer::Run from1(set, bnn::Shape{4, 4, 1}, {"a", "b"});
  testutil::VecSink out1;
  auto none = [](const fpgaio::images::Batch& bt) {
    fpgaio::infer::Answer ans;
    ans.classes.assign(bt.count, 0);
    return ans;
  };
  from1.classify(b.path(), out1, none, 2, 1);
  from1.classify(b.path(), out1, none, 2, 1);
  EXPECT_EQ(std::string(out1.v.begin(), out1.v.end()), "1\t0\ta\n2\t0\ta\n3\t0\ta\n4\t0\ta\n");
}

TEST(RemoteInfer, OnACsimLeaseClassesComeFromTheFinnDriverAndScoresAreRefused) {
  TempDir d;
  bnn::Model a = small_model(4, {"a", "b", "c"});
  d.write("m.fbnn", a.serialize());
  rm::ModelStore store(d.path, "m");
  rm::DevicePool pool("csim:0", 0);
  auto lease = pool.acquire("bnn", 4);
  ASSERT_TRUE(lease);
  ASSERT_FALSE(lease->is_cpu());
  rm::Request r;
  r.path = "/v1/infer";
  r.query["model"] = "m";
  std::mt19937 rng(11);
  r.body.resize(16 * 50);
  for (auto& p : r.body) p = static_cast<std::uint8_t>(rng());
  rm::Response ans = rm::infer_response(store, r, &*lease);
  ASSERT_EQ(ans.status, 200);
  ASSERT_EQ(ans.body.size(), 50u * 2);
  bnn::Engine engine(a, bnn::Isa::portable);
  std::vector<std::int32_t> s(3);
  for (std::size_t i = 0; i < 50; ++i) {
    engine.classify(r.body.data() + i * 16, s.data());
    EXPECT_EQ(ans.body[2 * i] | ans.body[2 * i + 1] << 8, static_cast<int>(bnn::argmax(s.data(), 3)));
  }
  r.query["scores"] = "1";
  EXPECT_EQ(rm::infer_response(store, r, &*lease).status, 400);
}
