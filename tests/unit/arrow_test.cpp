// Unit tests of Arrow IPC chunks: the split of streams and files into whole
// record batches with the dictionaries each needs, the join back (byte for
// byte), and the reader's hardening: every truncation and every bit flip of
// the framing and metadata of a valid stream is a one-line error or a
// correct result, and declared sizes past the data are refused.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "arrow_builder.hpp"
#include "files.hpp"
#include "fpgaio/arrow.hpp"
#include "fpgaio/error.hpp"
#include "helpers.hpp"

namespace ar = fpgaio::arrow;
using fpgaio::Bytes;
using testutil::MemFile;
using testutil::VecSink;

namespace {

Bytes table(const arrowtest::Options& o) {
  auto v = arrowtest::make(o);
  return Bytes(v.begin(), v.end());
}

ar::Layout scan_of(const Bytes& b, bool headless = false) {
  MemFile f(b);
  return ar::scan(f.fd, 0, b.size(), "t", headless);
}

// Chunks of `data` as written by split, one Bytes each.
std::vector<Bytes> split(const Bytes& data, const ar::CutOptions& cut, bool file = false) {
  MemFile f(data);
  auto l = ar::scan(f.fd, 0, data.size(), "t");
  auto chunks = ar::plan(l, cut);
  std::vector<Bytes> out;
  for (const auto& c : chunks) {
    VecSink s;
    ar::write_chunk(f.fd, l, c, c.index + 1 == chunks.size(), file, s, "t");
    out.push_back(std::move(s.v));
  }
  return out;
}

Bytes join(const std::vector<Bytes>& parts, bool file = false) {
  std::vector<std::unique_ptr<MemFile>> files;
  std::vector<ar::JoinPart> jp;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    files.push_back(std::make_unique<MemFile>(parts[i]));
    jp.push_back(ar::JoinPart{files.back()->fd, 0, parts[i].size(), "part" + std::to_string(i)});
  }
  VecSink s;
  ar::join(jp, file, s);
  return s.v;
}

std::vector<arrowtest::Options> shapes() {
  std::vector<arrowtest::Options> v;
  arrowtest::Options o;
  v.push_back(o);
  o.dict = true;
  v.push_back(o);
  o.delta = true;
  o.batches = 5;
  v.push_back(o);
  o.replace = true;
  v.push_back(o);
  o.legacy = true;
  v.push_back(o);
  o.legacy = false;
  o.eos = false;
  v.push_back(o);
  return v;
}

// What a one-line error looks like.
void expect_one_line(const fpgaio::Error& e) {
  EXPECT_EQ(e.kind(), fpgaio::ErrorKind::corrupt) << e.what();
  EXPECT_EQ(std::string(e.describe()).find('\n'), std::string::npos);
  EXPECT_EQ(e.path, "t");
}

}  // namespace

TEST(Arrow, ScanFindsEveryMessage) {
  arrowtest::Options o;
  o.dict = o.delta = o.replace = true;
  o.batches = 5;
  auto l = scan_of(table(o));
  EXPECT_EQ(l.batches, 5u);
  EXPECT_EQ(l.rows, 20u);
  EXPECT_EQ(l.messages.size(), 8u);  // 3 dictionaries, 5 batches
  EXPECT_EQ(l.eos_len, 8u);
}

TEST(Arrow, SplitJoinIsByteIdenticalForEveryCount) {
  for (const auto& o : shapes()) {
    Bytes in = table(o);
    for (std::uint64_t n = 1; n <= 7; ++n) {
      ar::CutOptions cut;
      cut.count = n;
      auto chunks = split(in, cut);
      ASSERT_EQ(chunks.size(), n);
      for (const auto& c : chunks) EXPECT_NO_THROW(scan_of(c));
      EXPECT_EQ(join(chunks), in) << "n=" << n << " dict=" << o.dict << " legacy=" << o.legacy;
    }
    for (std::uint64_t rows : {1, 4, 7, 100}) {
      ar::CutOptions cut;
      cut.rows = rows;
      EXPECT_EQ(join(split(in, cut)), in) << "rows=" << rows;
    }
  }
}

TEST(Arrow, EachChunkCarriesTheDictionariesInForce) {
  arrowtest::Options o;
  o.dict = o.delta = o.replace = true;
  o.batches = 5;
  ar::CutOptions cut;
  cut.rows = 4;  // a batch a chunk
  auto chunks = split(table(o), cut);
  ASSERT_EQ(chunks.size(), 5u);
  auto kinds = [](const ar::Layout& l) {
    std::string s;
    for (const auto& m : l.messages) s += m.kind == ar::Kind::record_batch ? "B" : m.delta ? "d" : "D";
    return s;
  };
  EXPECT_EQ(kinds(scan_of(chunks[0])), "DB");
  EXPECT_EQ(kinds(scan_of(chunks[1])), "DdB");   // the delta came before batch 1
  EXPECT_EQ(kinds(scan_of(chunks[2])), "DB");    // the replacement resets it
  EXPECT_EQ(kinds(scan_of(chunks[3])), "DB");
}

TEST(Arrow, RowsAndBytesCapsKeepBatchesWhole) {
  arrowtest::Options o;
  o.batches = 6;
  Bytes in = table(o);
  auto l = scan_of(in);
  ar::CutOptions rows;
  rows.rows = 9;  // two batches of 4 rows a chunk
  auto p = ar::plan(l, rows);
  ASSERT_EQ(p.size(), 3u);
  for (const auto& c : p) EXPECT_EQ(c.rows, 8u);
  ar::CutOptions bytes;
  bytes.bytes = 1;  // every batch larger than the cap: each alone
  EXPECT_EQ(ar::plan(l, bytes).size(), 6u);
}

TEST(Arrow, FileChunksHaveAFooterThatIndexesThem) {
  for (auto o : shapes()) {
    o.file = true;
    Bytes in = table(o);
    auto whole = scan_of(in);
    EXPECT_TRUE(whole.file);
    ar::CutOptions cut;
    cut.count = 3;
    auto chunks = split(in, cut, true);
    for (const auto& c : chunks) {
      auto l = scan_of(c);  // checks the footer's blocks against the messages
      EXPECT_TRUE(l.file);
    }
    // Joined as a file: the same as the input rewritten by us in one piece.
    ar::CutOptions one;
    one.count = 1;
    EXPECT_EQ(join(chunks, true), split(in, one, true)[0]);
    // And as a stream: the same messages.
    auto s = scan_of(join(chunks, false));
    EXPECT_FALSE(s.file);
    EXPECT_EQ(s.rows, whole.rows);
  }
}

TEST(Arrow, JoinRefusesDifferentSchemas) {
  arrowtest::Options a, b;
  b.name = "y";
  try {
    join({table(a), table(b)});
    FAIL();
  } catch (const fpgaio::Error& e) {
    EXPECT_EQ(e.path, "part1");
    EXPECT_NE(std::string(e.what()).find("schema differs"), std::string::npos);
  }
}

TEST(Arrow, StreamSplitMatchesTheFilePlan) {
  for (const auto& o : shapes()) {
    Bytes in = table(o);
    for (std::uint64_t rows : {1, 5, 8, 1000}) {
      ar::CutOptions cut;
      cut.rows = rows;
      MemFile f(in);
      fpgaio::Input input(f.path());
      std::vector<VecSink> sinks;
      sinks.reserve(64);
      ar::StreamChunks sc;
      bool ended = false;
      sc.open = [&](std::uint64_t) -> fpgaio::Sink& { return sinks.emplace_back(); };
      sc.close = [&](const ar::Chunk&, bool last) { ended = last; };
      ar::split_stream(input, "t", cut, false, sc);
      EXPECT_TRUE(ended);
      auto want = split(in, cut);
      ASSERT_EQ(sinks.size(), want.size());
      for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(sinks[i].v, want[i]) << i;
    }
  }
}

TEST(Arrow, EveryTruncationIsAnErrorOrAValidPrefix) {
  arrowtest::Options o;
  o.dict = o.delta = o.replace = true;
  o.batches = 4;
  for (bool file : {false, true}) {
    o.file = file;
    Bytes in = table(o);
    for (std::size_t n = 0; n < in.size(); ++n) {
      Bytes cut(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
      try {
        auto l = scan_of(cut);
        // Only a stream cut at a message boundary reads, and then as the
        // messages before the cut.
        EXPECT_FALSE(file) << n;
        EXPECT_EQ(l.end, n);
        EXPECT_EQ(join({cut}), cut);
      } catch (const fpgaio::Error& e) {
        expect_one_line(e);
      }
    }
  }
}

TEST(Arrow, EveryBitFlipOfTheMetadataIsAnErrorOrReadable) {
  arrowtest::Options o;
  o.dict = o.delta = true;
  o.batches = 3;
  Bytes in = table(o);
  auto l = scan_of(in);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> meta{{l.schema.offset, l.schema.meta_len}};
  for (const auto& m : l.messages) meta.push_back({m.offset, m.meta_len});
  std::size_t errors = 0, read = 0;
  auto flip = [&](std::size_t bit) {
    Bytes b = in;
    b[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    try {
      auto got = scan_of(b);
      ++read;
      // Whatever still reads splits and joins without failing.
      ar::CutOptions cut;
      cut.count = 2;
      EXPECT_EQ(join(split(b, cut)).size() > 0, true);
      (void)got;
    } catch (const fpgaio::Error& e) {
      expect_one_line(e);
      ++errors;
    }
  };
  for (const auto& [at, len] : meta)
    for (std::size_t bit = at * 8; bit < (at + len) * 8; ++bit) flip(bit);
  // Bodies are not read: a sample of their bits reads as before.
  for (const auto& m : l.messages)
    for (std::size_t bit = (m.offset + m.meta_len) * 8; bit < (m.offset + m.size()) * 8; bit += 61) {
      std::size_t before = read;
      flip(bit);
      EXPECT_EQ(read, before + 1);
    }
  EXPECT_GT(errors, 100u);
}

TEST(Arrow, HugeDeclaredSizesAreRefusedBeforeAllocation) {
  Bytes in = table({});
  // A metadata length of 2^31 - 8 in a file of a few hundred bytes.
  Bytes big = in;
  big[4] = 0xf8, big[5] = 0xff, big[6] = 0xff, big[7] = 0x7f;
  try {
    scan_of(big);
    FAIL();
  } catch (const fpgaio::Error& e) {
    expect_one_line(e);
    EXPECT_NE(std::string(e.what()).find("runs past the end"), std::string::npos) << e.what();
  }
  // Negative.
  big[7] = 0xff;
  EXPECT_THROW(scan_of(big), fpgaio::Error);
  // The same on a stream: an error when the stream ends, having held only
  // what it read.
  big[7] = 0x7f;
  MemFile f(big);
  fpgaio::Input input(f.path());
  ar::StreamReader r(input, "t");
  Bytes meta;
  try {
    r.next(meta);
    FAIL();
  } catch (const fpgaio::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut short"), std::string::npos) << e.what();
    EXPECT_LT(meta.capacity(), std::size_t{4} << 20);
  }
  // A file footer length past the file.
  arrowtest::Options fo;
  fo.file = true;
  Bytes file = table(fo);
  file[file.size() - 10 + 3] = 0x7f;
  EXPECT_THROW(scan_of(file), fpgaio::Error);
}

TEST(Arrow, FooterVerifiesAndPointsAtTheSchema) {
  arrowtest::Options o;
  o.dict = true;
  Bytes in = table(o);
  auto l = scan_of(in);
  Bytes fbs(in.begin() + 8, in.begin() + l.schema.meta_len);
  auto footer = ar::encode_footer(fbs.data(), fbs.size(), 4, {{8, 16, 24}}, {{48, 16, 32}, {96, 16, 32}});
  flatbuffers::Verifier v(footer.data(), footer.size());
  ASSERT_TRUE(v.VerifyBuffer<ar::fb::Footer>(nullptr));
  const auto* f = flatbuffers::GetRoot<ar::fb::Footer>(footer.data());
  ASSERT_EQ(f->record_batches()->size(), 2u);
  EXPECT_EQ(f->record_batches()->Get(1)->offset(), 96);
  ASSERT_TRUE(f->schema() && f->schema()->fields());
  EXPECT_EQ(f->schema()->fields()->size(), 2u);
  EXPECT_EQ(f->schema()->fields()->Get(0)->name()->str(), "x");
  EXPECT_EQ(f->schema()->fields()->Get(1)->dictionary()->id(), 0);
}

TEST(Arrow, JoinResetsADictionaryAPartHoldsLessOf) {
  // Part 1 holds the dictionary and a delta; part 2 (another writer's
  // chunk) only the dictionary: its batch must not see the delta, so the
  // join writes the dictionary again (a replacement) before it.
  arrowtest::Options o;
  o.dict = o.delta = true;
  o.batches = 2;
  ar::CutOptions cut;
  cut.rows = 4;
  Bytes first = split(table(o), cut)[1];  // D d B
  arrowtest::Options plain;
  plain.dict = true;
  plain.batches = 1;
  Bytes second = table(plain);  // D B
  auto l = scan_of(join({first, second}));
  std::string kinds;
  for (const auto& m : l.messages) kinds += m.kind == ar::Kind::record_batch ? "B" : m.delta ? "d" : "D";
  EXPECT_EQ(kinds, "DdBDB");
  // The same dictionary in force: nothing repeated.
  l = scan_of(join({second, second}));
  kinds.clear();
  for (const auto& m : l.messages) kinds += m.kind == ar::Kind::record_batch ? "B" : m.delta ? "d" : "D";
  EXPECT_EQ(kinds, "DBB");
}

TEST(Arrow, JoinKeepsTheOrderOfAPartsDictionaryBatches) {
  // Dictionary 1 replaced by the bytes it had before its delta, then
  // dictionary 0 replaced: the chunk that starts there holds both
  // replacements in that order (apache-arrow's replace table, -n 4). The
  // join learns only at the record batch that the first one must be
  // written (the part holds less of dictionary 1 than is in force), and
  // must still write it first: the join is the input byte for byte.
  arrowtest::Writer w;
  w.schema_message();
  w.dictionary({"a"}, false, 0);
  w.dictionary({"b"}, false, 1);
  w.dictionary({"c"}, true, 1);
  w.batch(0, 1);
  w.dictionary({"b"}, false, 1);
  w.dictionary({"e"}, false, 0);
  w.batch(4, 1);
  w.out.insert(w.out.end(), {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0});
  const Bytes in(w.out.begin(), w.out.end());
  ar::CutOptions cut;
  cut.rows = 4;
  auto chunks = split(in, cut);
  ASSERT_EQ(chunks.size(), 2u);
  const Bytes joined = join(chunks);
  std::string ids;
  for (const auto& m : scan_of(joined).messages)
    ids += m.kind == ar::Kind::record_batch ? "B" : std::to_string(m.dict_id) + (m.delta ? "d" : "D");
  EXPECT_EQ(ids, "0D1D1dB1D0DB");
  EXPECT_EQ(joined, in);
}

TEST(Arrow, FooterOnlyFileIsReadFromItsFooter) {
  // apache-arrow writes a file's schema in its footer alone: no schema
  // message after the magic. Its batches are those of the footer's blocks;
  // its chunks carry a schema message made from the footer's schema, and
  // join into the stream of the same table byte for byte (the footer-only
  // file itself is given back value for value: its join is a file with a
  // schema message).
  for (int batches : {0, 1, 5}) {
    arrowtest::Options o;
    o.dict = o.delta = true;
    o.batches = batches;
    const Bytes stream = table(o);
    o.file = o.footer_only = true;
    const Bytes file = table(o);
    auto l = scan_of(file);
    EXPECT_TRUE(l.file);
    EXPECT_EQ(l.batches, static_cast<std::uint64_t>(batches));
    EXPECT_EQ(l.eos_len, 8u);
    ASSERT_EQ(l.messages.size(), scan_of(stream).messages.size());
    // Past the schema message: the stream's messages and marker.
    auto after_schema = [](const Bytes& s) {
      return Bytes(s.begin() + static_cast<std::ptrdiff_t>(scan_of(s).schema.size()), s.end());
    };
    const Bytes one_file = split(file, {1, {}, {}}, true)[0];
    for (std::uint64_t n = 1; n <= 4; ++n) {
      ar::CutOptions cut;
      cut.count = n;
      auto chunks = split(file, cut);
      ASSERT_EQ(chunks.size(), n);
      for (const auto& c : chunks) EXPECT_NO_THROW(scan_of(c));
      const Bytes joined = join(chunks);
      EXPECT_EQ(after_schema(joined), after_schema(stream)) << "batches=" << batches << " n=" << n;
      // The schema message, made from the footer's: the builder's Schema
      // table, every field of it.
      ar::Layout jl = scan_of(joined);
      Bytes fbs(joined.begin() + 8, joined.begin() + jl.schema.meta_len);
      const auto* msg = flatbuffers::GetRoot<ar::fb::Message>(fbs.data());
      ASSERT_EQ(msg->header_type(), ar::fb::MessageHeader::Schema);
      EXPECT_EQ(msg->version(), 4);
      const auto* sch = msg->header_as_Schema();
      ASSERT_TRUE(sch && sch->fields() && sch->fields()->size() == 2u);
      EXPECT_EQ(sch->fields()->Get(0)->name()->str(), "x");
      EXPECT_EQ(sch->fields()->Get(1)->dictionary()->id(), 0);
      // File chunks: joined into the file fpga-split -n 1 makes of it.
      EXPECT_EQ(join(split(file, cut, true), true), one_file) << "batches=" << batches << " n=" << n;
    }
  }
  // A block that does not match the message at its offset, or that leaves
  // a gap: one-line errors.
  arrowtest::Options o;
  o.file = o.footer_only = true;
  o.batches = 2;
  arrowtest::Writer w;
  w.o = o;
  Bytes good;
  {
    auto v = w.build();
    good.assign(v.begin(), v.end());
  }
  // The second batch's block: its metadata length, then its offset.
  const std::int64_t second = w.batches[1].offset;
  for (std::int64_t change : {std::int64_t{8}, std::int64_t{-8}}) {
    Bytes bad = good;
    const std::size_t footer_at = bad.size() - 10 - (bad[bad.size() - 10] | bad[bad.size() - 9] << 8);
    bool found = false;
    for (std::size_t i = footer_at; i + 8 <= bad.size() - 10; i += 8) {
      std::int64_t v;
      std::memcpy(&v, bad.data() + i, 8);
      if (v != second) continue;
      v += change;
      std::memcpy(bad.data() + i, &v, 8);
      found = true;
      break;
    }
    ASSERT_TRUE(found);
    try {
      scan_of(bad);
      ADD_FAILURE() << "a block moved by " << change << " was taken";
    } catch (const fpgaio::Error& e) {
      expect_one_line(e);
    }
  }
}
