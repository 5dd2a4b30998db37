// Unit tests of the gzip module: format, cross-reading with zlib, errors.
#include <gtest/gtest.h>
#include <zlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <thread>

#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "helpers.hpp"

using namespace fpgaio;
using testutil::decode;
using testutil::zlib_gzip;

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
  Bytes with_fc;
  gzip::write_header(with_fc, 1234567, 2, std::string("big.log"), 5000, 777, 0, std::nullopt, std::nullopt, 0xdeadbeef);
  EXPECT_EQ(with_fc.size(), gzip::header_size(std::string("big.log"), std::nullopt, std::nullopt, true));
  auto q = gzip::parse_header(with_fc.data(), with_fc.size());
  ASSERT_TRUE(q && q->data_crc);
  EXPECT_EQ(*q->data_crc, 0xdeadbeefu);
  EXPECT_EQ(q->member_size, 5000u);
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
    // One block: one member that ends the stream itself; more: data
    // members plus the end marker.
    EXPECT_EQ(r.stats.members, n <= bs ? 1 : (n + bs - 1) / bs + 1) << n;
  }
}

// Issue 21 item 7: an input that fits in one block is one member carrying
// the end flag (FT version 2), read by zlib and our decoder; a cut anywhere
// in it is found, as a cut at any member boundary of a longer stream is.
TEST(Compress, OneBlockIsOneMemberThatEndsTheStream) {
  const std::size_t bs = 4096;
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{100}, bs - 1, bs}) {
    Bytes in = testutil::text_data(n);
    for (unsigned threads : {1u, 3u}) {
      auto o = opts(6, threads, bs);
      o.name = "tiny";
      Bytes gz = gzip::compress_buffer(in.data(), in.size(), o);
      auto h = gzip::parse_header(gz.data(), gz.size());
      ASSERT_TRUE(h);
      EXPECT_EQ(h->member_size, gz.size()) << n;
      EXPECT_TRUE(h->end_of_stream);
      EXPECT_EQ(h->ft_version, gzip::kSubfieldVersionEnds);
      EXPECT_EQ(h->isize, n);
      EXPECT_EQ(zlib_gunzip(gz), in);
      Bytes back;
      decode(gz, back);
      EXPECT_EQ(back, in);
      // 36 bytes (and the name) smaller than before: no end marker, and no
      // FC subfield (4 + 5 bytes), which the members of longer streams carry.
      o.one_member = false;
      Bytes old = gzip::compress_buffer(in.data(), in.size(), o);
      EXPECT_EQ(old.size(), gz.size() + 36 + 4 + gzip::kCheckLen) << n;
      EXPECT_FALSE(h->data_crc);
      auto oh = gzip::parse_header(old.data(), old.size());
      ASSERT_TRUE(oh && oh->data_crc);
      // fpga-remote's client makes the old layout the new one.
      EXPECT_TRUE(gzip::fold_end_marker(old));
      EXPECT_EQ(old, gz);
      EXPECT_FALSE(gzip::fold_end_marker(old));
    }
  }
  // Nothing: the end marker alone, as before.
  Bytes empty = gzip::compress_buffer(nullptr, 0, opts(6, 1, bs));
  auto e = gzip::parse_header(empty.data(), empty.size());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->ft_version, gzip::kSubfieldVersion);
  EXPECT_EQ(e->member_size, empty.size());
  // Without an end (end_marker false, fpga-remote's chunks): a plain data member.
  auto o = opts(6, 1, bs);
  o.end_marker = false;
  Bytes in = testutil::text_data(100);
  Bytes open = gzip::compress_buffer(in.data(), in.size(), o);
  auto h = gzip::parse_header(open.data(), open.size());
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->end_of_stream);
  EXPECT_EQ(h->ft_version, gzip::kSubfieldVersion);
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

// --- Issue 8: the decoder loses no data --------------------------------------

namespace {

struct Partial {
  Bytes out;
  std::optional<Error> error;
};

Partial run_decoder(Input& in, unsigned threads) {
  gzip::DecompressOptions o;
  o.threads = threads;
  gzip::Decoder d(in, o);
  testutil::VecSink s;
  Partial p;
  try {
    d.run(s);
  } catch (const Error& e) {
    p.error = e;
  }
  p.out = std::move(s.v);
  return p;
}

// Decodes what it can, keeping the output written before an error.
Partial decode_partial(const Bytes& gz, unsigned threads = 2) {
  testutil::MemFile f(gz);
  Input in(f.path());
  return run_decoder(in, threads);
}

// The same through a pipe, read as it comes (as from standard input).
Partial decode_partial_from_pipe(const Bytes& gz, unsigned threads = 2) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    for (std::size_t i = 0; i < gz.size(); i += 4096) {
      std::size_t n = std::min<std::size_t>(4096, gz.size() - i);
      if (::write(fds[1], gz.data() + i, n) != static_cast<ssize_t>(n)) break;
    }
    ::close(fds[1]);
  });
  Partial p;
  {
    Input in("/proc/self/fd/" + std::to_string(fds[0]));
    p = run_decoder(in, threads);
  }
  writer.join();
  ::close(fds[0]);
  return p;
}

bool is_prefix(const Bytes& part, const Bytes& whole) {
  return part.size() <= whole.size() && std::equal(part.begin(), part.end(), whole.begin());
}

// Offsets of the members of one of our streams, from the headers.
std::vector<std::size_t> member_offsets(const Bytes& gz) {
  std::vector<std::size_t> offs;
  for (std::size_t off = 0; off < gz.size();) {
    offs.push_back(off);
    auto h = gzip::parse_header(gz.data() + off, gz.size() - off);
    if (!h || h->member_size == 0) break;
    off += h->member_size;
  }
  return offs;
}

// Raw deflate of `data` in stored blocks (no compression, any size quickly).
Bytes stored_deflate(const Bytes& data) {
  Bytes out;
  std::size_t i = 0;
  do {
    std::size_t n = std::min<std::size_t>(65535, data.size() - i);
    out.push_back(i + n == data.size() ? 1 : 0);
    out.push_back(static_cast<std::uint8_t>(n));
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(~n));
    out.push_back(static_cast<std::uint8_t>(~n >> 8));
    out.insert(out.end(), data.begin() + static_cast<std::ptrdiff_t>(i),
               data.begin() + static_cast<std::ptrdiff_t>(i + n));
    i += n;
  } while (i < data.size());
  return out;
}

void put_le32(Bytes& v, std::uint32_t x) {
  for (int i = 0; i < 4; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}

// An FT member around raw deflate data, with the header's sizes as given.
Bytes ft_member(const Bytes& deflate, std::uint32_t isize, std::uint8_t ft_flags, std::uint32_t trailer_crc,
                std::uint32_t trailer_isize) {
  Bytes m;
  std::size_t total = gzip::header_size(std::nullopt) + deflate.size() + 8;
  gzip::write_header(m, 0, 0, std::nullopt, total, isize, ft_flags);
  m.insert(m.end(), deflate.begin(), deflate.end());
  put_le32(m, trailer_crc);
  put_le32(m, trailer_isize);
  return m;
}

}  // namespace

TEST(Header, EndOfStreamMarkerMustBeEmpty) {
  Bytes h;
  gzip::write_header(h, 0, 0, std::nullopt, 100, 5, gzip::kFlagEndOfStream);
  // A flagged member with data is FT version 2, which may hold data...
  ASSERT_EQ(h[16], gzip::kSubfieldVersionEnds);
  auto v2 = gzip::parse_header(h.data(), h.size());
  ASSERT_TRUE(v2);
  EXPECT_TRUE(v2->end_of_stream);
  EXPECT_EQ(v2->isize, 5u);
  // ... but in version 1 the flag marks the empty end marker.
  h[16] = gzip::kSubfieldVersion;
  try {
    gzip::parse_header(h.data(), h.size());
    ADD_FAILURE() << "an end marker that declares data was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
  }
  h.clear();
  gzip::write_header(h, 0, 0, std::nullopt, 100, 0, gzip::kFlagEndOfStream);
  auto p = gzip::parse_header(h.data(), h.size());
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->end_of_stream);
}

TEST(Header, ParsesFromPiecesOfAnySize) {
  Bytes h = {0x1f, 0x8b, 8, gzip::FEXTRA | gzip::FNAME | gzip::FCOMMENT | gzip::FHCRC, 1, 2, 3, 4, 2, 3};
  Bytes ft;
  gzip::write_header(ft, 0, 0, std::nullopt, 5000, 777, 0);
  Bytes extra = {'A', 'p', 2, 0, 'h', 'i'};
  extra.insert(extra.end(), ft.begin() + 12, ft.end());  // the FT subfield
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
  const std::size_t length = h.size();
  h.insert(h.end(), {9, 9, 9});  // the body that follows is not taken
  for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{4096}}) {
    gzip::HeaderParser p;
    std::size_t used = 0;
    for (std::size_t i = 0; i < h.size() && !p.done(); i += piece)
      used += p.feed(h.data() + i, std::min(piece, h.size() - i));
    ASSERT_TRUE(p.done()) << piece;
    EXPECT_EQ(used, length) << piece;
    const gzip::Header& r = p.header();
    EXPECT_EQ(r.length, length);
    EXPECT_EQ(r.mtime, 0x04030201u);
    EXPECT_EQ(*r.name, "name.txt");
    EXPECT_EQ(*r.comment, "a comment");
    EXPECT_EQ(r.index, gzip::Index::ft);
    EXPECT_EQ(r.member_size, 5000u);
    EXPECT_EQ(r.isize, 777u);
  }
}

TEST(Header, LongNamesAreReadWholeAndKeptCut) {
  for (std::size_t len : {gzip::kMaxHeaderString, gzip::kMaxHeaderString + 10}) {
    Bytes h = {0x1f, 0x8b, 8, gzip::FNAME, 0, 0, 0, 0, 0, 3};
    h.insert(h.end(), len, 'n');
    h.push_back(0);
    auto p = gzip::parse_header(h.data(), h.size());
    ASSERT_TRUE(p) << len;
    EXPECT_EQ(p->length, h.size());
    EXPECT_EQ(p->name->size(), gzip::kMaxHeaderString);
    EXPECT_EQ(p->strings_cut, len > gzip::kMaxHeaderString);
  }
}

TEST(Decompress, AnEightMiBNameDecodes) {
  // gzip has no limit on names; neither do we (we keep the first MiB).
  Bytes in = testutil::text_data(300000);
  auto o = opts(1, 2);
  o.name = std::string(8 << 20, 'a');
  Bytes gz = gzip::compress_buffer(in.data(), in.size(), o);
  Bytes back;
  auto r = decode(gz, back);
  EXPECT_EQ(back, in);
  ASSERT_TRUE(r.first && r.first->name);
  EXPECT_EQ(r.first->name->size(), gzip::kMaxHeaderString);
  EXPECT_TRUE(r.first->strings_cut);
  // A foreign member with such a name, streamed: the same.
  Bytes g = zlib_gzip(in, 6);
  Bytes named(g.begin(), g.begin() + 10);
  named[3] |= gzip::FNAME;
  named.insert(named.end(), 8 << 20, 'b');
  named.push_back(0);
  named.insert(named.end(), g.begin() + 10, g.end());
  r = decode(named, back);
  EXPECT_EQ(back, in);
}

TEST(Decompress, EndOfStreamFlagOnADataMemberIsCorrupt) {
  Bytes in = testutil::text_data(300000);
  Bytes gz = gzip::compress_buffer(in.data(), in.size(), opts(6, 1, 64 << 10));
  auto offs = member_offsets(gz);
  ASSERT_GE(offs.size(), 3u);
  for (std::size_t m : {0, 1}) {
    Bytes bad = gz;
    std::size_t flags = offs[m] + 17;  // 10 fixed + XLEN + "FT" + LEN + version
    ASSERT_EQ(bad[flags - 1], gzip::kSubfieldVersion);
    ASSERT_EQ(bad[flags], 0);
    bad[flags] = gzip::kFlagEndOfStream;
    for (unsigned threads : {1u, 3u}) {
      Partial p = decode_partial(bad, threads);
      ASSERT_TRUE(p.error) << m;
      EXPECT_EQ(p.error->kind(), ErrorKind::corrupt);
      EXPECT_EQ(p.error->member.value_or(0), m + 1);
      EXPECT_EQ(p.error->offset.value_or(1), offs[m]);
      EXPECT_EQ(p.out, Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(m * (64 << 10))));
    }
  }
}

TEST(Decompress, EndMarkerWithDataIsCorrupt) {
  // Header ISIZE 0, but deflate data that produces bytes: whatever the
  // trailer says, and whether the member is inflated whole or streamed.
  Bytes abc = {'a', 'b', 'c'};
  Bytes deflate = stored_deflate(abc);
  std::uint32_t crc = fpgaio::crc32(0, abc.data(), abc.size());
  Bytes data = testutil::text_data(1000);
  auto two_members = opts(6, 1);
  two_members.one_member = false;  // a data member and an end marker (the layout before FT version 2)
  Bytes good = gzip::compress_buffer(data.data(), data.size(), two_members);
  Bytes big(66 << 20, 0);  // above the size held whole: streamed
  std::uint32_t big_crc = fpgaio::crc32(0, big.data(), big.size());
  for (const Bytes& marker :
       {ft_member(deflate, 0, gzip::kFlagEndOfStream, crc, 3), ft_member(deflate, 0, gzip::kFlagEndOfStream, 0, 0),
        ft_member(stored_deflate(big), 0, gzip::kFlagEndOfStream, big_crc, static_cast<std::uint32_t>(big.size()))}) {
    Bytes gz = good;
    gz.insert(gz.end(), marker.begin(), marker.end());
    Partial p = decode_partial(gz);
    ASSERT_TRUE(p.error);
    EXPECT_EQ(p.error->kind(), ErrorKind::corrupt);
    EXPECT_EQ(p.error->member.value_or(0), 3u);  // after the data member and the end marker
    EXPECT_EQ(p.error->offset.value_or(0), good.size());
    EXPECT_EQ(p.out, data) << "nothing of the marker's data is written";
  }
}

TEST(Decompress, WritesEverythingBeforeACut) {
  const std::size_t block = 64 << 10;
  Bytes in = testutil::text_data(16 * block);
  Bytes gz = gzip::compress_buffer(in.data(), in.size(), opts(6, 2, block));
  auto offs = member_offsets(gz);
  ASSERT_GE(offs.size(), 17u);
  std::size_t m9 = offs[8], size9 = offs[9] - offs[8];
  for (unsigned threads : {1u, 2u, 7u}) {
    // In the middle of member 9: members 1-8, then what inflates of 9.
    Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(m9 + size9 / 2));
    Partial p = decode_partial(cut, threads);
    ASSERT_TRUE(p.error);
    EXPECT_EQ(p.error->kind(), ErrorKind::corrupt);
    EXPECT_EQ(p.error->member.value_or(0), 9u);
    EXPECT_EQ(p.error->offset.value_or(0), m9);
    EXPECT_TRUE(is_prefix(p.out, in));
    EXPECT_GT(p.out.size(), 8 * block + block / 4) << threads;
    EXPECT_LT(p.out.size(), 9 * block);
    // From a pipe: the same bytes.
    Partial q = decode_partial_from_pipe(cut, threads);
    ASSERT_TRUE(q.error);
    EXPECT_EQ(q.out, p.out) << threads;
    // In member 9's header: exactly members 1-8.
    cut.resize(m9 + 20);
    p = decode_partial(cut, threads);
    ASSERT_TRUE(p.error);
    EXPECT_EQ(p.error->member.value_or(0), 9u);
    EXPECT_EQ(p.out, Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(8 * block)));
    // At a member boundary (no end marker): everything, then the error.
    cut.resize(m9);
    p = decode_partial(cut, threads);
    ASSERT_TRUE(p.error);
    EXPECT_EQ(p.out, Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(8 * block)));
  }
  // A foreign single member cut in half: what inflates, as zlib gives it.
  Bytes g = zlib_gzip(in, 6);
  Bytes gcut(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(g.size() / 2));
  Partial p = decode_partial(gcut);
  ASSERT_TRUE(p.error);
  EXPECT_TRUE(is_prefix(p.out, in));
  EXPECT_GT(p.out.size(), in.size() / 3);
  EXPECT_EQ(decode_partial_from_pipe(gcut).out, p.out);
}

TEST(Decompress, WritesEverythingBeforeACorruptMember) {
  const std::size_t block = 64 << 10;
  Bytes in = testutil::text_data(16 * block);
  Bytes gz = gzip::compress_buffer(in.data(), in.size(), opts(6, 2, block));
  auto offs = member_offsets(gz);
  ASSERT_GE(offs.size(), 17u);
  auto upto = [&](std::size_t members) {
    return Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(members * block));
  };
  for (unsigned threads : {1u, 2u, 7u}) {
    // Member 5's CRC: its data inflates whole before the check, as in gzip.
    Bytes bad = gz;
    bad[offs[5] - 8] ^= 0x55;
    Partial p = decode_partial(bad, threads);
    ASSERT_TRUE(p.error);
    EXPECT_EQ(p.error->member.value_or(0), 5u);
    EXPECT_EQ(p.out, upto(5)) << threads;
    // Member 5's deflate data: members 1-4 at least.
    bad = gz;
    bad[offs[4] + (offs[5] - offs[4]) / 2] ^= 0xff;
    p = decode_partial(bad, threads);
    ASSERT_TRUE(p.error);
    EXPECT_EQ(p.error->member.value_or(0), 5u);
    ASSERT_GE(p.out.size(), 4 * block);
    EXPECT_TRUE(std::equal(in.begin(), in.begin() + 4 * block, p.out.begin()));
    // Damage in member 3 and a cut in member 9: member 3's error, and
    // nothing after member 3.
    bad = gz;
    bad[offs[3] - 8] ^= 0x55;
    bad.resize(offs[8] + 100);
    p = decode_partial(bad, threads);
    ASSERT_TRUE(p.error);
    EXPECT_EQ(p.error->member.value_or(0), 3u);
    EXPECT_EQ(p.out, upto(3)) << threads;
  }
  // A foreign member with a bad CRC: all its data, then the error.
  Bytes g = zlib_gzip(in, 6);
  g[g.size() - 8] ^= 0x55;
  Partial p = decode_partial(g);
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.out, in);
}

// compress() from memory (blocks compressed where they lie, inline on one
// thread) writes exactly the bytes compress() from an Input writes, for
// every way of cutting blocks and every container.
TEST(Compress, FromMemorySameBytesAsFromAnInput) {
  Bytes text = testutil::text_data((3u << 20) + 12345, 7);
  Bytes rnd = testutil::random_data(200000, 8);
  for (const Bytes* data : {&text, &rnd}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{65536}, std::size_t{65537}, data->size()}) {
      for (unsigned threads : {1u, 2u}) {
        for (int variant = 0; variant < 5; ++variant) {
          gzip::CompressOptions o = opts(6, threads, 64 << 10);
          if (variant == 1) o.rsyncable = true;
          if (variant == 2) {
            o.name = "a.txt";
            o.mtime = 1234567;
            o.comment = "c";
            o.end_marker = false;
          }
          if (variant == 3) o.container = gzip::Container::zlib;
          if (variant == 4) o.strategy = Strategy::rle;
          testutil::MemFile f(Bytes(data->begin(), data->begin() + static_cast<std::ptrdiff_t>(n)));
          Input in(f.path());
          testutil::VecSink from_input, from_memory;
          gzip::Stats a = gzip::compress(in, from_input, o);
          gzip::Stats b = gzip::compress(data->data(), n, from_memory, o);
          SCOPED_TRACE("n=" + std::to_string(n) + " threads=" + std::to_string(threads) +
                       " variant=" + std::to_string(variant));
          EXPECT_EQ(from_input.v, from_memory.v);
          EXPECT_EQ(a.in_bytes, b.in_bytes);
          EXPECT_EQ(a.out_bytes, b.out_bytes);
          EXPECT_EQ(a.members, b.members);
          EXPECT_EQ(b.in_bytes, n);
        }
      }
    }
  }
}

// One thread from memory compresses in the calling thread: a server's slot
// thread keeps its engine from job to job and starts no thread of its own.
TEST(Compress, FromMemoryOnOneThreadStartsNoThread) {
  Bytes text = testutil::text_data(1u << 20, 9);
  auto threads_now = [] {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) n += e.is_directory() ? 1 : 0;
    return n;
  };
  gzip::CompressOptions o = opts(6, 1, 64 << 10);
  std::size_t before = threads_now(), most = 0;
  o.progress = [&](std::uint64_t, std::uint64_t) { most = std::max(most, threads_now()); };
  testutil::VecSink s;
  gzip::compress(text.data(), text.size(), s, o);
  EXPECT_EQ(most, before);
  // Two threads (or from an Input) still use a pool of workers.
  o.threads = 2;
  most = 0;
  testutil::VecSink s2;
  gzip::compress(text.data(), text.size(), s2, o);
  EXPECT_GT(most, before);
  EXPECT_EQ(s.v, s2.v);
  Bytes back;
  decode(s.v, back);
  EXPECT_EQ(back, text);
}

TEST(Decompress, ACutAnywhereInAOneMemberStreamIsFound) {
  Bytes in = testutil::text_data(3000);
  Bytes gz = gzip::compress_buffer(in.data(), in.size(), opts(6, 1));
  for (std::size_t n = 1; n < gz.size(); ++n) {
    Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(n));
    for (unsigned threads : {1u, 2u}) {
      Partial p = decode_partial(cut, threads);
      ASSERT_TRUE(p.error) << "a cut at " << n << " was not found";
      EXPECT_EQ(p.error->kind(), ErrorKind::corrupt);
    }
  }
  // The old layout cut before its end marker: still cut short.
  auto o = opts(6, 1);
  o.one_member = false;
  Bytes old = gzip::compress_buffer(in.data(), in.size(), o);
  Bytes before_end(old.begin(), old.begin() + static_cast<std::ptrdiff_t>(gz.size()));
  Partial p = decode_partial(before_end);
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.error->damage, Damage::truncated);
  EXPECT_EQ(p.out, in);
  // Old and new streams concatenated (cat a.gz b.gz) read as one.
  Bytes both = old;
  both.insert(both.end(), gz.begin(), gz.end());
  both.insert(both.end(), old.begin(), old.end());
  Bytes back;
  decode(both, back);
  Bytes want = in;
  want.insert(want.end(), in.begin(), in.end());
  want.insert(want.end(), in.begin(), in.end());
  EXPECT_EQ(back, want);
  EXPECT_EQ(zlib_gunzip(both), want);
}

// --- Issue 26: CPU around the engine ------------------------------------------

// A streamed member's output reaches the sink in pieces of 512 KiB: each is
// a write(2) and a hand-off to the writer thread (they were 256 KiB).
TEST(Decompress, StreamedOutputGoesOutInHalfMiBPieces) {
  struct CountingSink : Sink {
    Bytes v;
    std::size_t writes = 0;
    void write(const std::uint8_t* d, std::size_t n) override {
      v.insert(v.end(), d, d + n);
      ++writes;
    }
  };
  Bytes in = testutil::text_data(4 << 20);
  Bytes g = zlib_gzip(in, 6);
  for (unsigned threads : {1u, 2u}) {
    testutil::MemFile f(g);
    Input i(f.path());
    gzip::DecompressOptions o;
    o.threads = threads;
    gzip::Decoder d(i, o);
    CountingSink s;
    d.run(s);
    EXPECT_EQ(s.v, in);
    EXPECT_LE(s.writes, (4u << 20) / (512u << 10) + 1) << threads;
  }
}

// Our own members are inflated with ISA-L (checking the CRC-32 as it goes);
// a damaged one is decoded again the old way, so its error reads as before.
TEST(Decompress, DamagedOwnMembersAreWordedAsBefore) {
  Bytes data = testutil::text_data(300000);
  Bytes def = stored_deflate(data);
  const std::uint32_t n = static_cast<std::uint32_t>(data.size());
  const std::uint32_t crc = fpgaio::crc32(0, data.data(), data.size());
  auto message = [](const Bytes& gz) { return std::string(decode_error(gz).what()); };
  // Sound: the data (then the missing end marker).
  EXPECT_EQ(decode_partial(ft_member(def, n, 0, crc, n)).out, data);
  EXPECT_EQ(message(ft_member(def, n, 0, crc ^ 1, n)), "CRC-32 mismatch");
  Bytes longer = def;
  longer.insert(longer.end(), {1, 2, 3});
  EXPECT_EQ(message(ft_member(longer, n, 0, crc, n)), "member size in header does not match its deflate data");
  EXPECT_EQ(message(ft_member(def, n + 10, 0, crc, n + 10)),
            "size mismatch: " + std::to_string(n) + " bytes decoded, " + std::to_string(n + 10) + " declared");
  Bytes cut(def.begin(), def.end() - 1000);
  EXPECT_EQ(message(ft_member(cut, n, 0, crc, n)), "invalid deflate data");
}
