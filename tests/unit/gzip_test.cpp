// Unit tests of the gzip module: format, cross-reading with zlib, errors.
#include <gtest/gtest.h>
#include <zlib.h>

#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "helpers.hpp"

using namespace fpgaio;
using testutil::decode;

namespace {

gzip::CompressOptions opts(int level, unsigned threads, std::size_t block = 64 << 10) {
  gzip::CompressOptions o;
  o.level = level;
  o.threads = threads;
  o.block_size = block;
  return o;
}

// zlib's own multi-member gzip reader, as zcat and Python use.
Bytes zlib_gunzip(const Bytes& gz) {
  Bytes out;
  z_stream z{};
  inflateInit2(&z, 16 + 15);
  z.next_in = const_cast<Bytef*>(gz.data());
  z.avail_in = static_cast<uInt>(gz.size());
  std::uint8_t buf[65536];
  for (;;) {
    z.next_out = buf;
    z.avail_out = sizeof buf;
    int r = inflate(&z, Z_NO_FLUSH);
    out.insert(out.end(), buf, buf + (sizeof buf - z.avail_out));
    if (r == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      inflateReset(&z);
      continue;
    }
    if (r != Z_OK) {
      ADD_FAILURE() << "zlib error " << r;
      break;
    }
  }
  inflateEnd(&z);
  return out;
}

Bytes zlib_gzip(const Bytes& in, int level) {
  Bytes out(compressBound(static_cast<uLong>(in.size())) + 64);
  z_stream z{};
  deflateInit2(&z, level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

Error decode_error(const Bytes& gz) {
  try {
    Bytes out;
    decode(gz, out);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(ErrorKind::usage, "none");
}

}  // namespace

TEST(Header, RoundTripWithNameAndSubfield) {
  Bytes h;
  gzip::write_header(h, 1234567, 2, std::string("big.log"), 5000, 777, 0);
  EXPECT_EQ(h.size(), gzip::header_size(std::string("big.log")));
  auto p = gzip::parse_header(h.data(), h.size());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mtime, 1234567u);
  EXPECT_EQ(*p->name, "big.log");
  EXPECT_EQ(p->index, gzip::Index::ft);
  EXPECT_EQ(p->member_size, 5000u);
  EXPECT_EQ(p->isize, 777u);
  EXPECT_FALSE(p->end_of_stream);
  EXPECT_EQ(p->length, h.size());
  // Every prefix asks for more bytes rather than failing.
  for (std::size_t n = 0; n < h.size(); ++n) EXPECT_FALSE(gzip::parse_header(h.data(), n)) << n;
}

TEST(Header, RejectsBadMagicMethodAndFlags) {
  Bytes h;
  gzip::write_header(h, 0, 0, std::nullopt, 100, 1, 0);
  Bytes bad = h;
  bad[0] = 'x';
  EXPECT_THROW(gzip::parse_header(bad.data(), bad.size()), Error);
  bad = h;
  bad[2] = 7;
  EXPECT_THROW(gzip::parse_header(bad.data(), bad.size()), Error);
  bad = h;
  bad[3] |= 0x80;
  EXPECT_THROW(gzip::parse_header(bad.data(), bad.size()), Error);
}

TEST(Compress, ReadableByZlibAtEveryLevel) {
  Bytes in = testutil::text_data(200000);
  for (int l = 1; l <= 12; ++l) {
    if (l == 11 || l == 12) continue;  // slow; covered by the CLI tests on small inputs
    Bytes gz = gzip::compress_buffer(in.data(), in.size(), opts(l, 2));
    EXPECT_EQ(zlib_gunzip(gz), in) << "level " << l;
    Bytes back;
    auto r = decode(gz, back);
    EXPECT_EQ(back, in) << "level " << l;
    EXPECT_TRUE(r.indexed);
  }
}

TEST(Compress, SameOutputWhateverTheThreadCount) {
  Bytes in = testutil::text_data(1 << 20);
  Bytes a = gzip::compress_buffer(in.data(), in.size(), opts(6, 1));
  Bytes b = gzip::compress_buffer(in.data(), in.size(), opts(6, 2));
  Bytes c = gzip::compress_buffer(in.data(), in.size(), opts(6, 7));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
}

TEST(Compress, SizesAroundBlockBoundaries) {
  const std::size_t bs = 4096;
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, bs - 1, bs, bs + 1, 2 * bs, 3 * bs + 17}) {
    Bytes in = testutil::random_data(n, static_cast<unsigned>(n));
    Bytes gz = gzip::compress_buffer(in.data(), in.size(), opts(1, 2, bs));
    EXPECT_EQ(zlib_gunzip(gz), in) << n;
    Bytes back;
    auto r = decode(gz, back);
    EXPECT_EQ(back, in) << n;
    EXPECT_EQ(r.stats.members, (n + bs - 1) / bs + 1) << "data members plus the end marker, n=" << n;
  }
}

TEST(Compress, RsyncableResynchronisesAfterAnEdit) {
  Bytes in = testutil::random_data(1 << 20, 5);
  Bytes edited = in;
  edited.insert(edited.begin() + 1000, {'x', 'y', 'z'});
  auto o = opts(1, 2, 64 << 10);
  o.rsyncable = true;
  Bytes a = gzip::compress_buffer(in.data(), in.size(), o);
  Bytes b = gzip::compress_buffer(edited.data(), edited.size(), o);
  EXPECT_EQ(zlib_gunzip(b), edited);
  // The tails match: only the members near the edit differ.
  std::size_t common = 0;
  while (common < a.size() && common < b.size() && a[a.size() - 1 - common] == b[b.size() - 1 - common]) ++common;
  EXPECT_GT(common, a.size() * 3 / 4);
}

TEST(Decompress, ForeignSingleMemberAndConcatenation) {
  Bytes in = testutil::text_data(300000);
  Bytes g = zlib_gzip(in, 6);
  Bytes back;
  auto r = decode(g, back);
  EXPECT_EQ(back, in);
  EXPECT_FALSE(r.indexed);
  // ours + foreign + ours, as `cat` makes it
  Bytes ours = gzip::compress_buffer(in.data(), 1000, opts(6, 1));
  Bytes cat = ours;
  cat.insert(cat.end(), g.begin(), g.end());
  cat.insert(cat.end(), ours.begin(), ours.end());
  decode(cat, back);
  Bytes want(in.begin(), in.begin() + 1000);
  want.insert(want.end(), in.begin(), in.end());
  want.insert(want.end(), in.begin(), in.begin() + 1000);
  EXPECT_EQ(back, want);
}

TEST(Decompress, TruncatedAtAMemberBoundaryIsDetected) {
  Bytes in = testutil::text_data(20000);
  Bytes gz = gzip::compress_buffer(in.data(), in.size(), opts(6, 1, 4096));
  // Find the second member boundary from the headers alone.
  auto h = gzip::parse_header(gz.data(), gz.size());
  ASSERT_TRUE(h);
  Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(h->member_size));
  Error e = decode_error(cut);
  EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  EXPECT_EQ(e.member.value_or(0), 2u);
  EXPECT_EQ(e.offset.value_or(0), h->member_size);
  // Cut anywhere else: also an error.
  for (std::size_t n : {gz.size() - 1, gz.size() / 2, std::size_t{5}}) {
    Bytes c(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(decode_error(c).kind(), ErrorKind::corrupt) << n;
  }
}

TEST(Decompress, CorruptionNamesTheMember) {
  Bytes in = testutil::text_data(40000);
  Bytes gz = gzip::compress_buffer(in.data(), in.size(), opts(6, 1, 8192));
  auto h1 = gzip::parse_header(gz.data(), gz.size());
  auto h2 = gzip::parse_header(gz.data() + h1->member_size, gz.size() - h1->member_size);
  std::size_t m3 = h1->member_size + h2->member_size;
  Bytes bad = gz;
  bad[m3 - 6] ^= 0x55;  // member 2's CRC
  Error e = decode_error(bad);
  EXPECT_EQ(e.member.value_or(0), 2u);
  EXPECT_EQ(e.offset.value_or(0), h1->member_size);
  EXPECT_NE(e.describe().find("member 2"), std::string::npos);
}

TEST(Decompress, TrailingZerosIgnoredGarbageFlagged) {
  Bytes in = testutil::text_data(1000);
  Bytes gz = zlib_gzip(in, 6);
  Bytes z = gz;
  z.resize(z.size() + 512, 0);
  Bytes back;
  EXPECT_FALSE(decode(z, back).trailing_garbage);
  EXPECT_EQ(back, in);
  Bytes g = gz;
  for (char c : std::string("garbage")) g.push_back(static_cast<std::uint8_t>(c));
  EXPECT_TRUE(decode(g, back).trailing_garbage);
  EXPECT_EQ(back, in);
}

TEST(Decompress, HeaderFieldsOfOtherTools) {
  // FNAME, FCOMMENT, FHCRC and a foreign FEXTRA subfield.
  Bytes in = testutil::text_data(5000);
  Bytes body = zlib_gzip(in, 6);
  Bytes h = {0x1f, 0x8b, 8, gzip::FEXTRA | gzip::FNAME | gzip::FCOMMENT | gzip::FHCRC, 0, 0, 0, 0, 0, 3};
  Bytes extra = {'A', 'p', 2, 0, 'h', 'i'};
  h.push_back(static_cast<std::uint8_t>(extra.size()));
  h.push_back(0);
  h.insert(h.end(), extra.begin(), extra.end());
  for (char c : std::string("name.txt")) h.push_back(static_cast<std::uint8_t>(c));
  h.push_back(0);
  for (char c : std::string("a comment")) h.push_back(static_cast<std::uint8_t>(c));
  h.push_back(0);
  std::uint32_t crc = fpgaio::crc32(0, h.data(), h.size());
  h.push_back(static_cast<std::uint8_t>(crc));
  h.push_back(static_cast<std::uint8_t>(crc >> 8));
  h.insert(h.end(), body.begin() + 10, body.end());
  Bytes back;
  auto r = decode(h, back);
  EXPECT_EQ(back, in);
  EXPECT_EQ(*r.first->name, "name.txt");
  EXPECT_EQ(*r.first->comment, "a comment");
  h[h.size() - body.size() + 10 - 1] ^= 1;  // break the header CRC
  EXPECT_EQ(decode_error(h).kind(), ErrorKind::corrupt);
}

TEST(Decompress, NotGzip) {
  Bytes junk = {'h', 'e', 'l', 'l', 'o', '\n'};
  Error e = decode_error(junk);
  EXPECT_EQ(std::string(e.what()), "not in gzip format");
}
