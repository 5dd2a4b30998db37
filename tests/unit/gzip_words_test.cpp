// Unit tests of what damaged gzip data is called (gzip's words), the CRC-32
// of a whole multi-member stream, and pigz's compression options (-0, -C,
// -H, -U).
#include <gtest/gtest.h>
#include <zlib.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "helpers.hpp"

using namespace fpgaio;
using testutil::decode;

namespace {

// One gzip member from zlib (no name: a 10-byte header).
Bytes zlib_member(const Bytes& in) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&z, in.size()));
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// The Error that decoding `gz` throws (FAIL if none).
Error decode_error(const Bytes& gz, unsigned threads = 2) {
  Bytes out;
  try {
    decode(gz, out, threads);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(ErrorKind::usage, "none");
}

// Feeds a member body to a StreamInflater `chunk` bytes at a time (the
// first piece `first` bytes, when given) and returns the damage of the error
// it throws (nullopt when it finishes).
std::optional<Damage> stream_damage(const Bytes& body, std::size_t chunk, std::size_t first = 0) {
  StreamInflater inf;
  Bytes out(1 << 20);
  std::size_t pos = 0;
  try {
    for (int guard = 0; guard < 1000000 && pos < body.size(); ++guard) {
      std::size_t want = pos == 0 && first ? first : chunk;
      auto s = inf.step(body.data() + pos, std::min(want, body.size() - pos), out.data(), out.size());
      pos = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(pos) + s.consumed);
      if (s.finished) return std::nullopt;
    }
    // Fed everything without finishing: the next step reports what is wrong.
    inf.step(body.data() + pos, 0, out.data(), out.size());
  } catch (const Error& e) {
    return e.damage;
  }
  return std::nullopt;
}

}  // namespace

TEST(GzipWords, ATrailerFieldIsNamedWhereverTheStepsCutIt) {
  Bytes data = testutil::text_data(5000);
  Bytes gz = zlib_member(data);
  Bytes body(gz.begin() + 10, gz.end());
  std::size_t t = body.size() - 8;
  Bytes crc = body, len = body, both = body;
  crc[t] ^= 1;
  len[t + 5] ^= 1;
  both[t + 1] ^= 4;
  both[t + 4] ^= 2;
  for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{8},
                            std::size_t{9}, std::size_t{100}, t - 3, t, t + 3, body.size()}) {
    EXPECT_EQ(stream_damage(body, chunk), std::nullopt) << chunk;
    EXPECT_EQ(stream_damage(crc, chunk), Damage::crc) << chunk;
    EXPECT_EQ(stream_damage(len, chunk), Damage::length) << chunk;
    EXPECT_EQ(stream_damage(both, chunk), Damage::crc_and_length) << chunk;
  }
  // Two steps, cut anywhere near the trailer (ISA-L reads ahead into its
  // bit buffer and its tmp_in_buffer, so the trailer's bytes come from both).
  for (std::size_t k = t > 64 ? t - 64 : 1; k < body.size(); ++k) {
    EXPECT_EQ(stream_damage(body, body.size(), k), std::nullopt) << k;
    EXPECT_EQ(stream_damage(crc, body.size(), k), Damage::crc) << k;
    EXPECT_EQ(stream_damage(len, body.size(), k), Damage::length) << k;
    EXPECT_EQ(stream_damage(both, body.size(), k), Damage::crc_and_length) << k;
  }
}

TEST(GzipWords, ForeignMembersGetGzipsMessages) {
  Bytes data = testutil::text_data(20000);
  Bytes gz = zlib_member(data);
  std::size_t t = gz.size() - 8;

  Bytes crc = gz;
  crc[t + 2] ^= 0x40;
  EXPECT_EQ(decode_error(crc).describe_as_gzip(),
            std::vector<std::string>{"invalid compressed data--crc error (member 1, offset 0)"});
  Bytes len = gz;
  len[t + 4] ^= 1;
  EXPECT_EQ(decode_error(len).describe_as_gzip(),
            std::vector<std::string>{"invalid compressed data--length error (member 1, offset 0)"});
  Bytes both = gz;
  both[t] ^= 1;
  both[t + 7] ^= 1;
  EXPECT_EQ(decode_error(both).describe_as_gzip(),
            (std::vector<std::string>{"invalid compressed data--crc error (member 1, offset 0)",
                                      "invalid compressed data--length error (member 1, offset 0)"}));

  // A second member: its number and offset follow gzip's words.
  Bytes two = gz;
  two.insert(two.end(), crc.begin(), crc.end());
  EXPECT_EQ(decode_error(two).describe_as_gzip(),
            std::vector<std::string>{"invalid compressed data--crc error (member 2, offset " +
                                     std::to_string(gz.size()) + ")"});

  // A reserved block type (BTYPE 11) violates the format.
  Bytes bad(gz.begin(), gz.begin() + 10);
  bad.insert(bad.end(), {0x07, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0});
  auto fmt = decode_error(bad).describe_as_gzip();
  ASSERT_EQ(fmt.size(), 1u);
  EXPECT_EQ(fmt[0].rfind("invalid compressed data--format violated (member 1, offset 0: ", 0), 0u) << fmt[0];

  Bytes method = gz;
  method[2] = 9;
  EXPECT_EQ(decode_error(method).describe_as_gzip(),
            std::vector<std::string>{"unknown method 9 -- not supported (member 1, offset 0)"});

  Bytes plain = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(decode_error(plain).describe_as_gzip(), std::vector<std::string>{"not in gzip format"});
}

TEST(GzipWords, EveryCutIsAnUnexpectedEndOfFile) {
  Bytes gz = zlib_member(testutil::text_data(3000));
  for (std::size_t n = 1; n < gz.size(); ++n) {
    Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(n));
    if (n == 1) continue;  // one byte is not even the magic: "not in gzip format"
    Error e = decode_error(cut, 1);
    EXPECT_EQ(e.damage, Damage::truncated) << n << ": " << e.describe();
    auto lines = e.describe_as_gzip();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].rfind("unexpected end of file (member 1, offset 0", 0), 0u) << lines[0];
  }
}

TEST(GzipWords, OurIndexedMembersToo) {
  Bytes data = testutil::text_data(300000);
  gzip::CompressOptions o;
  o.block_size = 64 << 10;
  o.threads = 2;
  Bytes gz = gzip::compress_buffer(data.data(), data.size(), o);
  auto first = gzip::parse_header(gz.data(), gz.size());
  ASSERT_TRUE(first);
  std::size_t end1 = first->member_size;
  Bytes crc = gz;
  crc[end1 - 8] ^= 1;  // the first member's CRC-32
  EXPECT_EQ(decode_error(crc).describe_as_gzip(),
            std::vector<std::string>{"invalid compressed data--crc error (member 1, offset 0)"});
  Bytes len = gz;
  len[end1 - 4] ^= 1;  // its ISIZE, which the FT subfield also gives
  auto l = decode_error(len).describe_as_gzip();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].rfind("invalid compressed data--length error (member 1, offset 0: ", 0), 0u) << l[0];
  Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(end1));
  EXPECT_EQ(decode_error(cut).damage, Damage::truncated);  // the end marker is missing
}

TEST(GzipWords, DamageWithoutGzipWordsKeepsDescribe) {
  Error e(ErrorKind::corrupt, "manifest line 3: bad size");
  e.at(17);
  EXPECT_EQ(e.describe_as_gzip(), std::vector<std::string>{e.describe()});
  Error io(ErrorKind::io, "No space left on device");
  EXPECT_EQ(io.describe_as_gzip(), std::vector<std::string>{"No space left on device"});
}

TEST(Decompress, CrcIsOfTheWholeContent) {
  Bytes a = testutil::text_data(70000, 3), b = testutil::random_data(50000, 4);
  Bytes all = a;
  all.insert(all.end(), b.begin(), b.end());
  std::uint32_t want = fpgaio::crc32(0, all.data(), all.size());
  Bytes foreign = zlib_member(a);
  Bytes mb = zlib_member(b);
  foreign.insert(foreign.end(), mb.begin(), mb.end());
  gzip::CompressOptions o;
  o.block_size = 16 << 10;
  o.threads = 3;
  Bytes ours = gzip::compress_buffer(all.data(), all.size(), o);
  for (const Bytes* gz : {&foreign, &ours}) {
    for (bool list_only : {false, true}) {
      testutil::MemFile f(*gz);
      Input in(f.path());
      gzip::DecompressOptions d;
      d.threads = 2;
      d.list_only = list_only;
      gzip::Decoder dec(in, d);
      testutil::VecSink s;
      auto r = dec.run(s);
      EXPECT_EQ(r.crc, want) << list_only;
      EXPECT_EQ(r.stats.out_bytes, all.size());
    }
  }
}

TEST(Compress, CommentGoesInTheFirstHeaderOnly) {
  Bytes data = testutil::text_data(100000);
  gzip::CompressOptions o;
  o.block_size = 16 << 10;
  o.name = "notes.txt";
  o.comment = "made by a test";
  Bytes gz = gzip::compress_buffer(data.data(), data.size(), o);
  auto h = gzip::parse_header(gz.data(), gz.size());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->comment, std::optional<std::string>("made by a test"));
  EXPECT_EQ(h->name, std::optional<std::string>("notes.txt"));
  EXPECT_EQ(h->length, gzip::header_size(o.name, o.comment, std::nullopt, true));  // with FC: one of several members
  auto second = gzip::parse_header(gz.data() + h->member_size, gz.size() - h->member_size);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->comment);
  Bytes back;
  decode(gz, back);
  EXPECT_EQ(back, data);
  // Nothing to compress: the end marker carries it.
  Bytes empty = gzip::compress_buffer(nullptr, 0, o);
  auto e = gzip::parse_header(empty.data(), empty.size());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->comment, std::optional<std::string>("made by a test"));
  EXPECT_TRUE(e->end_of_stream);
}

TEST(Compress, StoredHuffmanOnlyAndRle) {
  // Text with runs of one byte, which RLE (matches at distance 1) finds.
  Bytes data = testutil::text_data(200000);
  for (std::size_t i = 0; i < 20000; ++i) data.insert(data.end(), i % 7 + 3, static_cast<std::uint8_t>('a' + i % 26));
  auto with = [&](int level, Strategy s) {
    gzip::CompressOptions o;
    o.level = level;
    o.strategy = s;
    o.threads = 2;
    Bytes gz = gzip::compress_buffer(data.data(), data.size(), o);
    Bytes back;
    decode(gz, back);
    EXPECT_EQ(back, data) << level;
    return gz;
  };
  Bytes stored = with(0, Strategy::normal), normal = with(6, Strategy::normal);
  Bytes huffman = with(6, Strategy::huffman_only), rle = with(6, Strategy::rle);
  EXPECT_GT(stored.size(), data.size());  // stored blocks: the data, plus framing
  EXPECT_LT(normal.size(), huffman.size());  // no matches at all
  EXPECT_LT(rle.size(), huffman.size());
  EXPECT_LT(rle.size(), stored.size());
  // The strategies are zlib's: another engine refuses them.
  EXPECT_THROW(make_deflater(Engine::libdeflate, 6, Strategy::rle), Error);
  EXPECT_NO_THROW(make_deflater(Engine::zlib, 9, Strategy::huffman_only));
}

TEST(OutputFile, SynchronousCommitGivesTheSameFile) {
  char dir[] = "/tmp/fpgaio-sync-XXXXXX";
  ASSERT_TRUE(::mkdtemp(dir));
  std::string path = std::string(dir) + "/out";
  {
    OutputFile out(path, false, OutputName::chosen);
    full_write(out.fd(), "hello", 5, path);
    out.commit(nullptr, true);
  }
  Input in(path);
  char buf[8] = {};
  EXPECT_EQ(in.read(reinterpret_cast<std::uint8_t*>(buf), sizeof buf), 5u);
  EXPECT_EQ(std::string(buf), "hello");
  ::unlink(path.c_str());
  ::rmdir(dir);
}
