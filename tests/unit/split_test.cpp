// Unit tests of splitting: chunk plans, the stream cutter (checked against
// the file planner), IDX headers, names, the manifest, byte ranges, and the
// gzip join (byte-identical to one-process compression when cuts align).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <gtest/gtest.h>

#include <zlib.h>

#include <cstdlib>
#include <memory>

#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/split.hpp"
#include "helpers.hpp"
#include "sweep.hpp"

using namespace fpgaio;
using namespace fpgaio::split;
using testutil::MemFile;
using testutil::text_data;
using testutil::VecSink;

namespace {

std::vector<Chunk> plan_of(const Bytes& data, const CutOptions& o) {
  MemFile f(data);
  return plan(f.fd, "mem", 0, data.size(), o);
}

// The cuts the stream cutter makes, fed in pieces of `piece` bytes.
std::vector<std::uint64_t> stream_lengths(const Bytes& data, const CutOptions& o, std::size_t piece) {
  StreamCutter c(o);
  std::vector<std::uint64_t> out;
  std::uint64_t cur = 0;
  for (std::size_t pos = 0; pos < data.size();) {
    std::size_t n = std::min(piece, data.size() - pos);
    std::size_t off = 0;
    while (off < n) {
      bool ends = false;
      std::uint64_t carry = 0;
      std::size_t t = c.take(data.data() + pos + off, n - off, ends, carry);
      cur += t;
      off += t;
      if (ends) {  // -C: the last `carry` bytes start the next chunk
        out.push_back(cur - carry);
        cur = carry;
      }
    }
    pos += n;
  }
  if (cur) out.push_back(cur);
  return out;
}

void expect_covers(const std::vector<Chunk>& cs, std::uint64_t size) {
  std::uint64_t pos = 0;
  for (std::size_t i = 0; i < cs.size(); ++i) {
    EXPECT_EQ(cs[i].index, i);
    EXPECT_EQ(cs[i].offset, pos);
    pos += cs[i].length;
  }
  EXPECT_EQ(pos, size);
}

}  // namespace

TEST(Plan, CountAlignsToBlocksWhenEveryChunkGetsOne) {
  Bytes d = text_data((5u << 20) + 12345);
  CutOptions o;
  o.count = 2;
  o.align = 1 << 20;
  auto cs = plan_of(d, o);
  ASSERT_EQ(cs.size(), 2u);
  expect_covers(cs, d.size());
  EXPECT_EQ(cs[1].offset % (1 << 20), 0u);
  EXPECT_EQ(cs[1].offset, 3u << 20);  // 6 blocks: 3 and 3
  o.count = 7;                        // more chunks than blocks: plain byte split
  cs = plan_of(d, o);
  ASSERT_EQ(cs.size(), 7u);
  expect_covers(cs, d.size());
  EXPECT_NE(cs[1].offset % (1 << 20), 0u);
}

TEST(Plan, CountLargerThanTheInputMakesEmptyChunks) {
  Bytes d = text_data(3);
  CutOptions o;
  o.count = 5;
  auto cs = plan_of(d, o);
  ASSERT_EQ(cs.size(), 5u);
  expect_covers(cs, 3);
  int empty = 0;
  for (auto& c : cs) empty += c.length == 0;
  EXPECT_EQ(empty, 2);
}

TEST(Plan, LinesNeverCutALine) {
  Bytes d = text_data(200000, 7);
  for (std::uint64_t n : {1, 2, 3, 7, 50}) {
    CutOptions o;
    o.count = n;
    o.lines = true;
    auto cs = plan_of(d, o);
    ASSERT_EQ(cs.size(), n);
    expect_covers(cs, d.size());
    for (auto& c : cs)
      if (c.length && c.offset + c.length < d.size()) {
        EXPECT_EQ(d[c.offset + c.length - 1], '\n');
      }
  }
}

TEST(Plan, RecordsStayWholeAndAPartialRecordIsAnError) {
  Bytes d = text_data(3073 * 10);
  CutOptions o;
  o.count = 3;
  o.record_size = 3073;
  auto cs = plan_of(d, o);
  expect_covers(cs, d.size());
  for (auto& c : cs) EXPECT_EQ(c.length % 3073, 0u);
  CutOptions b;
  b.size = 10000;
  b.record_size = 3073;
  cs = plan_of(d, b);
  for (auto& c : cs) EXPECT_EQ(c.length % 3073, 0u);
  EXPECT_EQ(cs[0].length, 3u * 3073);
  d.push_back('x');
  EXPECT_THROW(plan_of(d, o), Error);
  b.size = 100;
  d.pop_back();
  EXPECT_THROW(plan_of(d, b), Error);  // smaller than one record
}

TEST(StreamCutter, AgreesWithTheFilePlannerForEveryPieceSize) {
  Bytes d = text_data(300000, 3);
  for (bool lines : {false, true}) {
    for (std::uint64_t rec : {0, 7}) {
      if (lines && rec) continue;
      CutOptions o;
      o.size = 10000;
      o.lines = lines;
      o.record_size = rec;
      Bytes data = d;
      if (rec) data.resize(data.size() - data.size() % rec);
      std::vector<std::uint64_t> want;
      for (auto& c : plan_of(data, o)) want.push_back(c.length);
      for (std::size_t piece : {1u, 13u, 4096u, 1u << 20})
        EXPECT_EQ(stream_lengths(data, o, piece), want) << "lines " << lines << " rec " << rec << " piece " << piece;
    }
  }
}

TEST(StreamCutter, LineCountsAgreeWithThePlannerAndAreWholeLines) {
  Bytes d = text_data(100000, 5);
  CutOptions o;
  o.line_count = 37;
  std::vector<std::uint64_t> want;
  for (auto& c : plan_of(d, o)) {
    want.push_back(c.length);
    if (c.offset + c.length < d.size()) {
      EXPECT_EQ(d[c.offset + c.length - 1], '\n');
      EXPECT_EQ(std::count(d.begin() + static_cast<std::ptrdiff_t>(c.offset),
                           d.begin() + static_cast<std::ptrdiff_t>(c.offset + c.length), '\n'),
                37);
    }
  }
  for (std::size_t piece : {1u, 13u, 4096u}) EXPECT_EQ(stream_lengths(d, o, piece), want);
}

TEST(Plan, GnuSplitsCutsOnSmallCases) {
  // What GNU split 9.1 makes of these (checked by hand against it).
  auto lengths = [](const std::string& text, CutOptions o) {
    Bytes d(text.begin(), text.end());
    std::vector<std::uint64_t> v;
    for (auto& c : plan_of(d, o)) v.push_back(c.length);
    return v;
  };
  CutOptions n4;
  n4.count = 4;
  EXPECT_EQ(lengths("0123456789", n4), (std::vector<std::uint64_t>{2, 2, 2, 4}));
  CutOptions n5;
  n5.count = 5;
  EXPECT_EQ(lengths("abc", n5), (std::vector<std::uint64_t>{1, 1, 1, 0, 0}));
  CutOptions l5 = n5;
  l5.lines = true;
  EXPECT_EQ(lengths("a\nbb\nccccccccccccc\nd\ne\n", l5), (std::vector<std::uint64_t>{5, 14, 0, 0, 4}));
  EXPECT_EQ(lengths("abc", l5), (std::vector<std::uint64_t>{3, 0, 0, 0, 0}));
  CutOptions c4;
  c4.size = 4;
  c4.lines = true;
  EXPECT_EQ(lengths("abcdefgh\nij\nklmnopqrstu\n", c4), (std::vector<std::uint64_t>{4, 4, 4, 4, 4, 4}));
  EXPECT_EQ(lengths("a\nbcdefgh", c4), (std::vector<std::uint64_t>{2, 4, 3}));
  CutOptions c5;
  c5.size = 5;
  c5.lines = true;
  EXPECT_EQ(lengths("ab\ncd", c5), (std::vector<std::uint64_t>{3, 2}));
}

TEST(Sizes, GnuUnitsAndNothingElse) {
  EXPECT_EQ(fpgaio::parse_size("1024"), 1024u);
  EXPECT_EQ(fpgaio::parse_size("1K"), 1024u);
  EXPECT_EQ(fpgaio::parse_size("1k"), 1024u);
  EXPECT_EQ(fpgaio::parse_size("1KiB"), 1024u);
  EXPECT_EQ(fpgaio::parse_size("1KB"), 1000u);
  EXPECT_EQ(fpgaio::parse_size("3MB"), 3000000u);
  EXPECT_EQ(fpgaio::parse_size("2GiB"), 2ull << 30);
  EXPECT_EQ(fpgaio::parse_size("1b"), 512u);
  EXPECT_EQ(fpgaio::parse_size("1T"), 1ull << 40);
  EXPECT_EQ(fpgaio::parse_size("16E"), std::nullopt);  // 2^64: overflow
  EXPECT_EQ(fpgaio::parse_size("15E"), 15ull << 60);
  EXPECT_EQ(fpgaio::parse_size("64", 1024), 65536u);
  // A unit alone is one of it, as GNU split reads `-b K` (issue 21, item 10).
  EXPECT_EQ(fpgaio::parse_size("K"), 1024u);
  EXPECT_EQ(fpgaio::parse_size("b"), 512u);
  EXPECT_EQ(fpgaio::parse_size("KB"), 1000u);
  EXPECT_EQ(fpgaio::parse_size("MiB"), 1u << 20);
  EXPECT_EQ(fpgaio::parse_size("K", 1024), 1024u);
  for (const char* bad : {"", "B", "iB", "Kb", "1.5K", "1Kb", "1B", "0x10", "-1", " 5", "+5", "1KiBB", "99999999999999999999"})
    EXPECT_EQ(fpgaio::parse_size(bad), std::nullopt) << bad;
}

TEST(Parts, TextRangesAndGzipSubfieldRoundTrip) {
  fpgaio::PartOf p{2, 4, 1048576};
  EXPECT_EQ(fpgaio::format_part(p), "2/4 1048576");
  EXPECT_EQ(fpgaio::parse_part("2/4 1048576"), p);
  EXPECT_EQ(fpgaio::parse_part("2/0 5")->count, 0u);  // a stream chunk, not the last
  for (const char* bad : {"4/4 0", "2/4", "2 4 0", "a/4 0", "2/4 0 ", "", "2/4  0"})
    EXPECT_EQ(fpgaio::parse_part(bad), std::nullopt) << bad;
  auto r = fpgaio::parse_range("big.log@002/4:100+50");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->index, "002");
  EXPECT_EQ(r->count, 4u);
  EXPECT_EQ(r->operand(), "big.log@002/4:100+50");
  EXPECT_FALSE(fpgaio::parse_range("big.log@002/:100+50"));
  EXPECT_THROW(fpgaio::parse_range("big.log@4/4:100+50"), Error);
  // Our member header carries it after FT, which stays at offset 12.
  Bytes h;
  fpgaio::gzip::write_header(h, 0, 0, std::string("big.log.002"), 100, 7, 0, std::nullopt, p);
  EXPECT_EQ(h.size(), fpgaio::gzip::header_size(std::string("big.log.002"), std::nullopt, p));
  EXPECT_EQ(h[12], 'F');
  EXPECT_EQ(h[13], 'T');
  auto parsed = fpgaio::gzip::parse_header(h.data(), h.size());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->part, p);
  EXPECT_EQ(parsed->name, "big.log.002");
  EXPECT_EQ(parsed->isize, 7u);
}

TEST(StreamCutter, NeedsASize) {
  CutOptions o;
  o.count = 2;
  EXPECT_THROW(StreamCutter{o}, Error);
}

// Issue 21, item 9: -n r/N deals records out as GNU split does, however
// the input is cut into buffers.
TEST(RoundRobin, RecordJGoesToChunkJModN) {
  const std::string text = "a\nbb\n\nccc\ndddd\ne";  // the last record has no newline
  for (std::size_t piece : {1, 2, 3, 64}) {
    RoundRobinCutter rr(3, '\n');
    std::vector<std::string> chunks(3);
    const auto* d = reinterpret_cast<const std::uint8_t*>(text.data());
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t n = std::min(piece, text.size() - pos);
      for (std::size_t at = 0; at < n;) {
        std::uint64_t c = rr.chunk();
        std::size_t t = rr.take(d + pos + at, n - at);
        chunks[c].append(text, pos + at, t);
        at += t;
      }
      pos += n;
    }
    EXPECT_EQ(chunks, (std::vector<std::string>{"a\nccc\n", "bb\ndddd\n", "\ne"})) << piece;
  }
  EXPECT_THROW(RoundRobinCutter(0, '\n'), Error);
}

TEST(Idx, ParsesChecksAndReencodes) {
  Bytes h = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28};
  auto x = parse_idx(h.data(), h.size(), "f", 16 + 2 * 784);
  EXPECT_EQ(x.item_bytes(), 784u);
  EXPECT_EQ(x.header_bytes(), 16u);
  Bytes e = x.encode(1);
  EXPECT_EQ(e[7], 1);
  EXPECT_EQ(Bytes(e.begin() + 8, e.end()), Bytes(h.begin() + 8, h.end()));
  EXPECT_THROW(parse_idx(h.data(), h.size(), "f", 16 + 784), Error);  // size disagrees
  h[2] = 7;
  EXPECT_THROW(parse_idx(h.data(), h.size(), "f", std::nullopt), Error);
}

// Issue 8: items of no bytes made every item count a division by zero
// (SIGFPE in fpga-split and fpga-infer); sizes that wrap around 2^64 could
// make them 0 too.
TEST(Idx, EmptyItemsAndSizesPast2To63AreRefused) {
  auto expect_error = [](const Bytes& h, std::optional<std::uint64_t> size, const std::string& what) {
    try {
      parse_idx(h.data(), h.size(), "z-idx", size);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::corrupt);
      EXPECT_EQ(e.path, "z-idx");
      EXPECT_EQ(std::string(e.what()), what);
    }
  };
  Bytes h = {0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 28};
  expect_error(h, 16, "IDX dimension 2 of 3 is 0 (items of no bytes)");
  expect_error(h, std::nullopt, "IDX dimension 2 of 3 is 0 (items of no bytes)");
  h[11] = 28;
  h[15] = 0;
  expect_error(h, std::nullopt, "IDX dimension 3 of 3 is 0 (items of no bytes)");
  // 2^16 four times: 2^64 bytes, 0 in 64 bits.
  Bytes o = {0, 0, 8, 5, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0};
  expect_error(o, std::nullopt, "not an IDX file: items larger than 2^63 bytes");
  // Items that fit, but not 2^32-1 of them.
  Bytes n = {0, 0, 0x0E, 3, 0xff, 0xff, 0xff, 0xff, 0, 0x10, 0, 0, 0, 0x10, 0, 0};
  expect_error(n, std::nullopt, "not an IDX file: data larger than 2^63 bytes");
  // No items at all is an empty set, not an error.
  Bytes e = {0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28};
  EXPECT_EQ(parse_idx(e.data(), e.size(), "e", 16).data_bytes(), 0u);
  EXPECT_EQ(parse_idx(e.data(), e.size(), "e", 16).item_bytes(), 784u);
}

TEST(Names, ChunkNamesAndPartNamesRoundTrip) {
  EXPECT_EQ(index_width(2), 3u);
  EXPECT_EQ(index_width(1000), 3u);
  EXPECT_EQ(index_width(1001), 4u);
  EXPECT_EQ(chunk_name("d/big.log", 7, 3), "d/big.log.007");
  auto p = parse_part_name("d/big.log.007.gz");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->stem, "d/big.log");
  EXPECT_EQ(p->index, 7u);
  EXPECT_EQ(p->index_text, "007");
  EXPECT_EQ(p->suffix, ".gz");
  p = parse_part_name("data.2024.log.12");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->stem, "data.2024.log");
  EXPECT_EQ(p->index, 12u);
  EXPECT_FALSE(parse_part_name("big.log.gz"));
  EXPECT_FALSE(parse_part_name("123"));
}

TEST(Manifest, RoundTripsAndRejectsDamage) {
  Manifest m;
  m.input = "in put.log";
  m.input_size = 30;
  m.chunks = {{0, 0, 10, 10, 0xdeadbeef, "a.000"}, {1, 10, 20, 20, 0x1, "a\t001"}};
  std::string t = format_manifest(m);
  auto r = parse_manifest(t, "m");
  EXPECT_EQ(r.input, m.input);
  ASSERT_EQ(r.chunks.size(), 2u);
  EXPECT_EQ(r.chunks[0].crc, 0xdeadbeefu);
  EXPECT_EQ(r.chunks[1].name, "a\t001");
  EXPECT_THROW(parse_manifest(t.substr(0, t.size() - 1), "m"), Error);  // cut short
  std::string swapped = t;
  swapped.replace(swapped.find("chunk\t1"), 7, "chunk\t2");
  EXPECT_THROW(parse_manifest(swapped, "m"), Error);
  EXPECT_THROW(parse_manifest("fpga-split-manifest\t2\n", "m"), Error);
  try {
    parse_manifest("hello\n", "m.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.path, "m.txt");
    EXPECT_NE(e.describe().find("line 1"), std::string::npos);
  }
}

TEST(Ranges, ParseOnlyTheRangeSyntax) {
  ::unsetenv("FPGA_NO_RANGES");
  auto r = parse_range("dir/big.log@007:1048576+42");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "dir/big.log");
  EXPECT_EQ(r->index, "007");
  EXPECT_EQ(r->offset, 1048576u);
  EXPECT_EQ(r->length, 42u);
  EXPECT_EQ(r->operand(), "dir/big.log@007:1048576+42");
  EXPECT_EQ(r->stem(), "dir/big.log.007");
  for (const char* s : {"big.log", "a@b", "a@1:2", "a@1:2+", "@1:2+3", "a@1:2+3x", "a@1:2+3+4", "a@x:2+3"})
    EXPECT_FALSE(parse_range(s)) << s;
  EXPECT_THROW(parse_range("a@1:18446744073709551615+2"), Error);
  ::setenv("FPGA_NO_RANGES", "1", 1);
  EXPECT_FALSE(parse_range("a@1:2+3"));
  ::unsetenv("FPGA_NO_RANGES");
}

TEST(Ranges, InputReadsExactlyTheRangeAndRejectsOneBeyondTheEnd) {
  Bytes d = text_data(100000);
  MemFile f(d);
  Input in(ByteRange{f.path(), "001", 1000, 5000, std::nullopt});
  EXPECT_EQ(in.stat().st_size, 5000);
  Bytes got(9000);
  EXPECT_EQ(in.read(got.data(), got.size()), 5000u);
  EXPECT_TRUE(std::equal(got.begin(), got.begin() + 5000, d.begin() + 1000));
  EXPECT_EQ(in.read(got.data(), got.size()), 0u);
  EXPECT_THROW(Input(ByteRange{f.path(), "1", 99999, 2, std::nullopt}), Error);
}

// fpga-cat reads a range through the descriptor it holds (issue 20): by
// pread, the descriptor's offset untouched and the descriptor left open.
TEST(Ranges, InputOverAHeldDescriptorReadsByPread) {
  Bytes d = text_data(100000);
  MemFile f(d);
  int fd = ::open(f.path().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  {
    Input in(fd, 1000, 5000, "shown");
    EXPECT_EQ(in.stat().st_size, 5000);
    Bytes got(9000);
    EXPECT_EQ(in.read_some(got.data(), 10), 10u);
    EXPECT_EQ(in.read(got.data() + 10, got.size() - 10), 4990u);
    EXPECT_TRUE(std::equal(got.begin(), got.begin() + 5000, d.begin() + 1000));
    EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), 0);
  }
  EXPECT_NE(::fcntl(fd, F_GETFD), -1) << "the descriptor is the caller's";
  // A file that ends inside the range is an error naming `shown`.
  try {
    Input in(fd, 99000, 5000, "shown");
    Bytes got(5000);
    in.read(got.data(), got.size());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.path, "shown");
  }
  ::close(fd);
}

namespace {
// scan_part of `b` as a file of its own, named "p" in errors.
gzip::PartInfo scan_bytes(const Bytes& b, gzip::Check check, unsigned threads) {
  MemFile f(b);
  return gzip::scan_part(f.path(), 0, b.size(), "p", check, threads);
}

Bytes concat_join(const std::vector<Bytes>& parts, gzip::Check verify) {
  std::vector<std::unique_ptr<MemFile>> files;
  std::vector<gzip::JoinPart> jp;
  for (const auto& p : parts) {
    files.push_back(std::make_unique<MemFile>(p));
    gzip::JoinPart j;
    j.path = files.back()->path();
    j.info = gzip::scan_part(j.path, 0, p.size(), "part", verify, 2);
    jp.push_back(std::move(j));
  }
  VecSink out;
  gzip::join(jp, out, nullptr);
  return out.v;
}
}  // namespace

TEST(Join, AlignedPartsJoinByteIdenticalToOneProcess) {
  Bytes d = text_data((3u << 20) + 777);
  gzip::CompressOptions o;
  o.threads = 2;
  Bytes whole = gzip::compress_buffer(d.data(), d.size(), o);
  Bytes a = gzip::compress_buffer(d.data(), 2u << 20, o);
  Bytes b = gzip::compress_buffer(d.data() + (2u << 20), d.size() - (2u << 20), o);
  EXPECT_EQ(concat_join({a, b}, gzip::Check::framing), whole);
  EXPECT_EQ(concat_join({a, b}, gzip::Check::inflate), whole);
  // An empty last part (an empty chunk) adds nothing.
  Bytes e = gzip::compress_buffer(d.data(), 0, o);
  EXPECT_EQ(concat_join({a, b, e}, gzip::Check::framing), whole);
}

// Issue 21 item 7: parts that are one member each (FT version 2, carrying
// the end flag) join into one stream whose inner members lost the flag and
// which ends with one end marker: byte for byte what one process writes,
// and every cut at a member boundary is still found.
TEST(Join, OneMemberPartsJoinIntoOneStreamWithOneEnd) {
  Bytes d = text_data((2u << 20) + 100);
  gzip::CompressOptions o;
  o.threads = 2;
  o.block_size = 1u << 20;  // parts of one block each (the default at -6 is 2 MiB)
  Bytes whole = gzip::compress_buffer(d.data(), d.size(), o);
  std::vector<Bytes> parts;
  for (std::size_t at = 0; at < d.size(); at += 1u << 20)
    parts.push_back(gzip::compress_buffer(d.data() + at, std::min<std::size_t>(1u << 20, d.size() - at), o));
  for (const auto& p : parts) {
    auto h = gzip::parse_header(p.data(), p.size());
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->end_of_stream);
    EXPECT_EQ(h->ft_version, gzip::kSubfieldVersionEnds);
    EXPECT_EQ(h->member_size, p.size());
  }
  for (gzip::Check verify : {gzip::Check::framing, gzip::Check::checksums, gzip::Check::inflate}) {
    Bytes j = concat_join(parts, verify);
    EXPECT_EQ(j, whole);
    // One end: only the last member is flagged, and it is the empty marker.
    std::size_t pos = 0, ends = 0;
    while (pos < j.size()) {
      auto h = gzip::parse_header(j.data() + pos, j.size() - pos);
      ASSERT_TRUE(h);
      EXPECT_EQ(h->ft_version, gzip::kSubfieldVersion);
      ends += h->end_of_stream;
      pos += h->member_size;
      if (pos < j.size()) {
        Bytes cut(j.begin(), j.begin() + static_cast<std::ptrdiff_t>(pos));
        Bytes back;
        EXPECT_THROW(testutil::decode(cut, back), Error) << "a cut at " << pos << " was not found";
        MemFile f(cut);
        EXPECT_THROW(gzip::scan_part(f.path(), 0, cut.size(), "cut", gzip::Check::framing, 1), Error);
      }
    }
    EXPECT_EQ(ends, 1u);
  }
  // One part of one member joins to itself, flag and all; with an empty
  // chunk after it, still one member.
  EXPECT_EQ(concat_join({parts[2]}, gzip::Check::inflate), parts[2]);
  Bytes empty = gzip::compress_buffer(d.data(), 0, o);
  EXPECT_EQ(concat_join({parts[2], empty}, gzip::Check::inflate), parts[2]);
  // Old parts (a data member and an end marker) with new ones: one stream.
  gzip::CompressOptions old = o;
  old.one_member = false;
  Bytes a_old = gzip::compress_buffer(d.data(), 1u << 20, old);
  EXPECT_EQ(concat_join({a_old, parts[1], parts[2]}, gzip::Check::inflate), whole);
}

TEST(Join, ScanFindsCrcAndSizeWithoutInflating) {
  Bytes d = text_data(2500000);
  gzip::CompressOptions o;
  Bytes gz = gzip::compress_buffer(d.data(), d.size(), o);
  MemFile f(gz);
  auto info = gzip::scan_part(f.path(), 0, gz.size(), "p", gzip::Check::framing, 1);
  EXPECT_TRUE(info.indexed);
  EXPECT_EQ(info.data_bytes, d.size());
  EXPECT_EQ(info.crc, fpgaio::crc32(0, d.data(), d.size()));
  EXPECT_TRUE(info.has_end_marker);
}

// The default check (fpga-cat without --verify): every data member carries
// the CRC-32 of its bytes after the header (FC), checked by reading them, so
// a flip in deflate data or a trailer is found without inflating; end
// markers carry none (the join drops them).
TEST(Join, DefaultCheckFindsDamageFromTheCompressedBytesCrc) {
  Bytes d = text_data(2500000);
  gzip::CompressOptions o;
  o.block_size = 1 << 20;
  Bytes gz = gzip::compress_buffer(d.data(), d.size(), o);
  auto scan = [](const Bytes& b, gzip::Check check) { return scan_bytes(b, check, 1); };
  auto info = scan(gz, gzip::Check::checksums);
  ASSERT_EQ(info.members.size(), 4u);  // three blocks and the end marker
  EXPECT_EQ(info.crc, fpgaio::crc32(0, d.data(), d.size()));
  for (std::size_t k = 0; k < 3; ++k) {
    const auto& m = info.members[k];
    ASSERT_TRUE(m.header.data_crc) << k;
    EXPECT_EQ(*m.header.data_crc, fpgaio::crc32(0, gz.data() + m.offset + m.header.length, m.size - m.header.length));
  }
  EXPECT_FALSE(info.members[3].header.data_crc);
  // Every byte after the second member's header, its trailer included: the
  // framing alone passes, the default check names the member.
  const auto& m = info.members[1];
  for (std::uint64_t at = m.offset + m.header.length; at < m.offset + m.size; at += 997) {
    Bytes bad = gz;
    bad[at] ^= 0x10;
    EXPECT_NO_THROW(scan(bad, gzip::Check::framing)) << at;
    try {
      scan(bad, gzip::Check::checksums);
      ADD_FAILURE() << "a flip at " << at << " passed the default check";
    } catch (const Error& e) {
      EXPECT_EQ(e.member.value_or(0), 2u);
      EXPECT_NE(std::string(e.what()).find("does not match the CRC-32 in its header"), std::string::npos) << e.what();
    }
  }
  // The last trailer byte too (the loop's step may miss it).
  Bytes bad = gz;
  bad[m.offset + m.size - 1] ^= 1;
  EXPECT_THROW(scan(bad, gzip::Check::checksums), Error);
  // A wrong FC with intact data is refused by the default check, and the
  // full check (which inflates and does not use FC) accepts the data.
  Bytes wrong_fc = gz;
  std::size_t fc = 12 + 4 + gzip::kSubfieldLen;  // FC after FT (no FP here)
  ASSERT_EQ(wrong_fc[fc], gzip::kCheckId1);
  ASSERT_EQ(wrong_fc[fc + 1], gzip::kCheckId2);
  wrong_fc[fc + 5] ^= 1;
  EXPECT_THROW(scan(wrong_fc, gzip::Check::checksums), Error);
  EXPECT_NO_THROW(scan(wrong_fc, gzip::Check::inflate));
  // A stream of one member has no FC: inflated, so damage is still found.
  Bytes small(d.begin(), d.begin() + 1000);
  Bytes one = gzip::compress_buffer(small.data(), small.size(), o);
  EXPECT_FALSE(scan(one, gzip::Check::checksums).members[0].header.data_crc);
  Bytes one_bad = one;
  one_bad[one.size() - 9] ^= 0x40;
  EXPECT_THROW(scan(one_bad, gzip::Check::checksums), Error);
}

TEST(Join, TruncatedCorruptAndGarbagePartsAreRefusedWithTheirMember) {
  Bytes d = text_data(2500000);
  gzip::CompressOptions o;
  o.block_size = 1 << 20;
  Bytes gz = gzip::compress_buffer(d.data(), d.size(), o);
  auto scan = [](const Bytes& b, gzip::Check check) { return scan_bytes(b, check, 2); };
  Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  EXPECT_THROW(scan(cut, gzip::Check::framing), Error);
  // Cut exactly before the end marker: only the missing marker tells.
  auto info = scan(gz, gzip::Check::framing);
  const auto& last = info.members.back();
  Bytes no_marker(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(last.offset));
  try {
    scan(no_marker, gzip::Check::framing);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.member.value_or(0), info.members.size());
    EXPECT_NE(std::string(e.what()).find("end-of-stream"), std::string::npos);
  }
  Bytes flipped = gz;
  flipped[gz.size() / 2] ^= 0x55;
  EXPECT_NO_THROW(scan(flipped, gzip::Check::framing));  // structure is intact
  EXPECT_THROW(scan(flipped, gzip::Check::inflate), Error);
  Bytes garbage = gz;
  garbage.push_back('x');
  garbage.push_back('y');
  EXPECT_THROW(scan(garbage, gzip::Check::framing), Error);
}

TEST(Join, ForeignGzipPartsAreInflatedToCheckThem) {
  Bytes d = text_data(100000);
  Bytes gz = fpgaio::gzip::compress_buffer(d.data(), d.size(), {});
  // A zlib-made single member, no index: checked by inflating, copied as is.
  Bytes z(compressBound(d.size()) + 64);
  z_stream zs{};
  ASSERT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = const_cast<std::uint8_t*>(d.data());
  zs.avail_in = static_cast<uInt>(d.size());
  zs.next_out = z.data();
  zs.avail_out = static_cast<uInt>(z.size());
  ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  z.resize(zs.total_out);
  deflateEnd(&zs);
  MemFile f(z);
  auto info = gzip::scan_part(f.path(), 0, z.size(), "p", gzip::Check::framing, 1);
  EXPECT_FALSE(info.indexed);
  EXPECT_EQ(info.data_bytes, d.size());
  EXPECT_EQ(info.crc, fpgaio::crc32(0, d.data(), d.size()));
  Bytes joined = concat_join({gz, z}, gzip::Check::framing);
  Bytes back;
  testutil::decode(joined, back);
  Bytes twice = d;
  twice.insert(twice.end(), d.begin(), d.end());
  EXPECT_EQ(back, twice);
}

// Issue 8, item 1: an end-of-stream flag flipped on a data member made the
// join skip the member. The scan refuses such a part, and the join itself
// checks what it writes: were the scan wrong, the written CRC-32 and length
// would differ from the parts' and nothing would be committed.
TEST(Join, AnEndOfStreamMemberWithDataIsCorruptAndTheJoinChecksWhatItWrites) {
  Bytes d = text_data(2500000);
  gzip::CompressOptions o;
  Bytes gz = gzip::compress_buffer(d.data(), d.size(), o);
  MemFile good(gz);
  auto info = gzip::scan_part(good.path(), 0, gz.size(), "p", gzip::Check::framing, 1);
  ASSERT_GE(info.members.size(), 3u);
  // The FT flags byte of the first member: header fixed part (10), XLEN (2),
  // subfield id and length (4), version (1).
  Bytes flipped = gz;
  ASSERT_EQ(flipped[17], 0);
  flipped[17] = gzip::kFlagEndOfStream;
  MemFile bad(flipped);
  for (gzip::Check verify : {gzip::Check::framing, gzip::Check::checksums, gzip::Check::inflate}) {
    try {
      gzip::scan_part(bad.path(), 0, flipped.size(), "p", verify, 2);
      FAIL() << "a data member flagged as the end of the stream was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.member.value_or(0), 1u);
      EXPECT_NE(std::string(e.what()).find("end-of-stream member"), std::string::npos) << e.what();
    }
  }
  // A scan that got it wrong (simulated): the join refuses to drop the member.
  gzip::JoinPart jp;
  jp.path = good.path();
  jp.info = info;
  jp.info.members[1].header.end_of_stream = true;
  VecSink out;
  EXPECT_THROW(gzip::join({jp}, out, nullptr), Error);
  // A real end marker with data behind a zero ISIZE is refused as well.
  gzip::Header h = info.members.back().header;
  EXPECT_TRUE(gzip::empty_end_marker(h, 0, 0));
  EXPECT_FALSE(gzip::empty_end_marker(h, 0x1234, 0));
  h.member_size += 1000;
  EXPECT_FALSE(gzip::empty_end_marker(h, 0, 0));
}

// fpga-cat reads a part by its descriptor (/proc/self/fd/N, the file it
// opened, never the name again): errors name the part as the user gave it.
TEST(Join, ErrorsNameThePartAsShownNotTheDescriptorPath) {
  Bytes d = text_data(5000);
  gzip::CompressOptions o;
  o.block_size = 1024;
  Bytes gz = gzip::compress_buffer(d.data(), d.size(), o);
  MemFile f(gz);
  // A flipped CRC-32 in the first trailer: only inflating finds it.
  Bytes bad = gz;
  auto info = gzip::scan_part(f.path(), 0, gz.size(), "big.log.001.gz", gzip::Check::framing, 2);
  bad[info.members[0].size - 8] ^= 0xff;
  MemFile b(bad);
  EXPECT_NO_THROW(gzip::scan_part(b.path(), 0, bad.size(), "big.log.001.gz", gzip::Check::framing, 2));
  try {
    gzip::scan_part(b.path(), 0, bad.size(), "big.log.001.gz", gzip::Check::inflate, 2);
    FAIL() << "a flipped CRC-32 in a trailer passed the verifying scan";
  } catch (const Error& e) {
    EXPECT_EQ(e.path, "big.log.001.gz");
  }
  // The part cut short between the scan and the copy: the copy's error names it.
  gzip::JoinPart jp;
  jp.path = f.path();
  jp.shown = "big.log.001.gz";
  jp.info = gzip::scan_part(f.path(), 0, gz.size(), jp.shown, gzip::Check::inflate, 2);
  ASSERT_EQ(::ftruncate(f.fd, static_cast<off_t>(gz.size() / 2)), 0);
  VecSink out;
  try {
    gzip::join({jp}, out, nullptr);
    FAIL() << "a part cut short during the join was copied";
  } catch (const Error& e) {
    EXPECT_EQ(e.path, "big.log.001.gz") << e.what();
  }
}

// Single-bit flips (every one in make test-long) and every truncation of a
// small part: fpga-cat's checks (scan_part with verify, as --rm implies)
// either refuse the part, or the join writes a stream whose content is
// exactly the parts' content.
// With FP subfields (chunks of a split, issue 13) the FP bytes are mutated
// too, and the join must still drop FP from what it writes.
class JoinMutations : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(Join, JoinMutations, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "PartsWithFP" : "PlainParts"; });

TEST_P(JoinMutations, EveryBitFlipAndTruncationIsRefusedOrJoinsIntoExactlyTheContent) {
  const bool fp = GetParam();
  Bytes d = text_data(3000);
  gzip::CompressOptions o;
  o.block_size = 1024;  // three data members and the end marker
  if (fp) o.part = fpgaio::PartOf{1, 2, 1000};
  Bytes part = gzip::compress_buffer(d.data(), d.size(), o);
  if (fp) o.part = fpgaio::PartOf{0, 2, 0};
  Bytes first = gzip::compress_buffer(d.data(), 1000, o);
  if (fp) {
    ASSERT_TRUE(gzip::parse_header(part.data(), part.size())->part);
  }
  MemFile head(first);
  auto check = [&](const Bytes& mutated, const std::string& what) {
    MemFile f(mutated);
    std::vector<gzip::JoinPart> jp(2);
    jp[0].path = head.path();
    jp[0].info = gzip::scan_part(head.path(), 0, first.size(), "p0", gzip::Check::inflate, 1);
    jp[1].path = f.path();
    try {
      jp[1].info = gzip::scan_part(f.path(), 0, mutated.size(), "p1", gzip::Check::inflate, 1);
    } catch (const Error&) {
      return 0;  // refused
    }
    VecSink out;
    try {
      gzip::join(jp, out, nullptr);
    } catch (const Error&) {
      return 0;  // refused while writing: nothing is committed
    }
    Bytes back, want(d.begin(), d.begin() + 1000), got_part;
    testutil::decode(out.v, back);
    testutil::decode(mutated, got_part);
    want.insert(want.end(), got_part.begin(), got_part.end());
    EXPECT_EQ(back, want) << what;
    auto h = gzip::parse_header(out.v.data(), out.v.size());
    EXPECT_TRUE(h && !h->part) << what << ": the joined stream keeps an FP subfield";
    return 1;
  };
  // make test flips every bit of each member's header (its first 48 bytes:
  // FEXTRA with FT and FP) and of the trailer before it and at the end, and
  // one bit of every other byte, the bit going round with the offset;
  // make test-long (FPGA_LONG=1) every bit of every byte.
  const bool every_bit = testutil::long_or(0, 1) != 0;
  std::vector<bool> whole(part.size(), every_bit);
  for (std::size_t i = 0; i + 3 <= part.size(); ++i)
    if (part[i] == 0x1f && part[i + 1] == 0x8b && part[i + 2] == 8)
      for (std::size_t j = i >= 8 ? i - 8 : 0; j < std::min(part.size(), i + 48); ++j) whole[j] = true;
  for (std::size_t j = part.size() >= 8 ? part.size() - 8 : 0; j < part.size(); ++j) whole[j] = true;
  int accepted = 0;
  for (std::size_t i = 0; i < part.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      if (!whole[i] && bit != static_cast<int>(i % 8)) continue;
      Bytes m = part;
      m[i] ^= static_cast<std::uint8_t>(1u << bit);
      accepted += check(m, "flip byte " + std::to_string(i) + " bit " + std::to_string(bit));
    }
  for (std::size_t n = 0; n < part.size(); ++n)
    accepted += check(Bytes(part.begin(), part.begin() + static_cast<std::ptrdiff_t>(n)), "cut at " + std::to_string(n));
  // Flips in names, times and OS bytes are harmless and accepted; the
  // content must then be the part's own.
  EXPECT_GT(accepted, 0);
}
