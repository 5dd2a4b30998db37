// The other formats of the gzip module: compress (.Z), pack (.z), zip, zlib,
// their writers (pigz -z, -K), and how the Decoder treats what follows a
// member. (The CLI suite tests/cli/gzip/formats.bats checks the same against
// ncompress, zip, pigz and GNU gzip.)
#include <gtest/gtest.h>
#include <zlib.h>

#include <map>

#include "fpgaio/error.hpp"
#include "fpgaio/formats.hpp"
#include "fpgaio/gzip.hpp"
#include "helpers.hpp"

namespace {

using fpgaio::Bytes;
using fpgaio::Error;
using fpgaio::ErrorKind;
namespace gz = fpgaio::gzip;
using testutil::VecSink;

// --- An LZW encoder with compress's conventions, for round trips -------------
// Codes LSB first from 9 bits; groups of eight codes, padded when the width
// grows or after CLEAR; entries numbered as the decoder numbers them (one
// code behind the encoder).
Bytes lzw_encode(const Bytes& in, unsigned maxbits, bool block_mode, std::size_t clear_every = 0) {
  Bytes out = {0x1f, 0x9d, static_cast<std::uint8_t>(maxbits | (block_mode ? 0x80 : 0))};
  std::uint64_t acc = 0;
  unsigned nacc = 0, n_bits = 9, in_group = 0;
  auto put = [&](unsigned code) {
    acc |= static_cast<std::uint64_t>(code) << nacc;
    nacc += n_bits;
    while (nacc >= 8) {
      out.push_back(static_cast<std::uint8_t>(acc));
      acc >>= 8;
      nacc -= 8;
    }
    in_group = (in_group + 1) & 7;
  };
  auto pad = [&] {
    while (in_group != 0) put(0);
  };
  const std::uint32_t maxmaxcode = 1u << maxbits;
  auto maxcode_for = [&](unsigned b) { return b == maxbits && b > 9 ? maxmaxcode : (1u << b) - 1; };
  std::map<std::pair<unsigned, std::uint8_t>, unsigned> dict;
  const unsigned base = block_mode ? 257 : 256;
  std::uint32_t enc_free = base, dec_free = base;
  bool first = true;
  std::size_t emitted = 0;
  auto emit = [&](unsigned code) {
    if (dec_free > maxcode_for(n_bits)) {
      pad();
      ++n_bits;
    }
    put(code);
    if (!first && dec_free < maxmaxcode) ++dec_free;
    first = false;
    ++emitted;
  };
  std::size_t i = 0;
  while (i < in.size()) {
    unsigned w = in[i++];
    while (i < in.size()) {
      auto it = dict.find({w, in[i]});
      if (it == dict.end()) break;
      w = it->second;
      ++i;
    }
    emit(w);
    if (i < in.size() && enc_free < maxmaxcode) dict[{w, in[i]}] = enc_free++;
    if (block_mode && clear_every && emitted % clear_every == 0 && i < in.size()) {
      emit(256);
      pad();
      n_bits = 9;
      dict.clear();
      enc_free = 257;
      dec_free = 256;
      first = false;  // the decoder's next entry lands on 256 (CLEAR's own number)
    }
  }
  if (nacc) out.push_back(static_cast<std::uint8_t>(acc));
  return out;
}

Bytes run_lzw(const Bytes& z) {
  gz::BufferReader r(z.data(), z.size());
  VecSink s;
  gz::decode_lzw(r, s);
  return s.v;
}

TEST(Lzw, RoundTripsEveryWidthBlockModeOrNot) {
  Bytes text = testutil::text_data(300000), rnd = testutil::random_data(100000);
  for (unsigned bits = 10; bits <= 16; ++bits)
    for (bool block : {false, true})
      for (const Bytes* d : {&text, &rnd}) {
        EXPECT_EQ(run_lzw(lzw_encode(*d, bits, block)), *d) << bits << " bits, block " << block;
      }
  Bytes small = testutil::text_data(100);
  EXPECT_EQ(run_lzw(lzw_encode(small, 9, true)), small);
  EXPECT_EQ(run_lzw(lzw_encode(Bytes{}, 16, true)), Bytes{});
}

TEST(Lzw, ClearCodesRestartTheTable) {
  Bytes text = testutil::text_data(200000);
  for (std::size_t every : {1u, 7u, 8u, 1000u}) EXPECT_EQ(run_lzw(lzw_encode(text, 12, true, every)), text) << every;
}

TEST(Lzw, EveryTruncationGivesAPrefixAndEveryFlipIsSafe) {
  Bytes text = testutil::text_data(2000);
  Bytes z = lzw_encode(text, 16, true, 300);
  for (std::size_t n = 0; n < z.size(); ++n) {
    gz::BufferReader r(z.data(), n);
    VecSink s;
    try {
      gz::decode_lzw(r, s);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::corrupt);
      EXPECT_LT(n, 3u) << "only a cut header is an error; a cut code stream just ends";
    }
    ASSERT_LE(s.v.size(), text.size());
    EXPECT_TRUE(std::equal(s.v.begin(), s.v.end(), text.begin())) << n;
  }
  for (std::size_t i = 0; i < z.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      Bytes d = z;
      d[i] ^= static_cast<std::uint8_t>(1 << bit);
      gz::BufferReader r(d.data(), d.size());
      VecSink s;
      try {
        gz::decode_lzw(r, s);
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::corrupt);
      }
      // No check value: a flip may decode to other bytes, but never to
      // more than the longest string per code allows.
      EXPECT_LE(s.v.size(), d.size() * 8 / 9 * 65536 + 1);
    }
}

TEST(Lzw, FlagsAndWidths) {
  Bytes z = lzw_encode(testutil::text_data(100), 16, true);
  z[2] = 0x91;  // 17 bits
  EXPECT_THROW(run_lzw(z), Error);
  z[2] = 0x90 | 0x60;  // reserved bits: a warning
  gz::BufferReader r(z.data(), z.size());
  VecSink s;
  auto res = gz::decode_lzw(r, s);
  ASSERT_EQ(res.warnings.size(), 1u);
  EXPECT_NE(res.warnings[0].find("unknown flags 0x60"), std::string::npos);
  Bytes bad = {0x1f, 0x9d, 0x90, 0x00, 0x03};  // first code 256+ with nothing before: corrupt
  bad[3] = 0xff;
  bad[4] = 0xff;
  EXPECT_THROW(run_lzw(bad), Error);
}

// --- pack ------------------------------------------------------------------------

// "hello hello hello\n", written by tests/cli/fixtures/pack.py (and read by gzip).
const Bytes kPackHello = {0x1f, 0x1e, 0x00, 0x00, 0x00, 0x12, 0x04, 0x00, 0x02, 0x03, 0x00, 0x6c,
                          0x6f, 0x20, 0x65, 0x68, 0x0a, 0x6a, 0xb2, 0xd5, 0x65, 0xaa, 0xc0, 0x40};

Bytes run_pack(const Bytes& z, std::size_t* used = nullptr) {
  gz::BufferReader r(z.data(), z.size());
  VecSink s;
  gz::decode_pack(r, s);
  if (used) *used = r.position();
  return s.v;
}

TEST(Pack, DecodesAndEndsAtTheMembersEnd) {
  std::string want = "hello hello hello\n";
  std::size_t used = 0;
  Bytes two = kPackHello;
  two.insert(two.end(), kPackHello.begin(), kPackHello.end());
  EXPECT_EQ(run_pack(two, &used), Bytes(want.begin(), want.end()));
  EXPECT_EQ(used, kPackHello.size());
}

TEST(Pack, EveryTruncationIsRefusedAndEveryFlipKeepsTheDeclaredLength) {
  for (std::size_t n = 0; n < kPackHello.size(); ++n) {
    Bytes d(kPackHello.begin(), kPackHello.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(run_pack(d), Error) << n;
  }
  for (std::size_t i = 0; i < kPackHello.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      Bytes d = kPackHello;
      d[i] ^= static_cast<std::uint8_t>(1 << bit);
      try {
        Bytes out = run_pack(d);
        std::uint32_t declared = static_cast<std::uint32_t>(d[2] << 24 | d[3] << 16 | d[4] << 8 | d[5]);
        EXPECT_EQ(out.size(), declared) << "byte " << i << " bit " << bit;
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::corrupt);
      }
    }
}

TEST(Pack, SizesAndTreesOutOfRangeAreRefused) {
  Bytes d = kPackHello;
  d[2] = d[3] = d[4] = d[5] = 0xff;  // 4 GiB declared: a length error, nothing allocated for it
  try {
    run_pack(d);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.damage, fpgaio::Damage::length) << e.what();  // gzip's "invalid compressed data--length error"
  }
  for (std::uint8_t len : {0, 26, 255}) {
    d = kPackHello;
    d[6] = len;
    EXPECT_THROW(run_pack(d), Error) << int(len);
  }
  d = kPackHello;
  d[7] = 0xff;  // 255 leaves of length 1: not a tree
  EXPECT_THROW(run_pack(d), Error);
}

// --- zip and zlib, written by our writers ----------------------------------------

Bytes make_zip(const Bytes& data, std::size_t block) {
  std::uint32_t dt = gz::dos_time(1700000000);
  Bytes z = gz::zip_local_header("data.txt", dt);
  std::uint64_t deflated = 0;
  for (std::size_t i = 0; i < data.size(); i += block) {
    Bytes b = gz::deflate_open_block(data.data() + i, std::min(block, data.size() - i), 6);
    z.insert(z.end(), b.begin(), b.end());
    deflated += b.size();
  }
  z.insert(z.end(), gz::kFinalEmptyBlock, gz::kFinalEmptyBlock + 2);
  Bytes t = gz::zip_trailer("data.txt", dt, fpgaio::crc32(0, data.data(), data.size()), deflated + 2, data.size());
  z.insert(z.end(), t.begin(), t.end());
  return z;
}

Bytes run_zip(const Bytes& z, gz::ForeignResult* res = nullptr) {
  gz::BufferReader r(z.data(), z.size());
  VecSink s;
  auto x = gz::decode_zip(r, s);
  if (res) *res = x;
  return s.v;
}

TEST(Zip, OurZipRoundTripsAndZlibReadsItsDeflate) {
  Bytes data = testutil::text_data(500000);
  for (std::size_t block : {1024u, 65536u, 1u << 20}) {
    Bytes z = make_zip(data, block);
    gz::ForeignResult res;
    EXPECT_EQ(run_zip(z, &res), data);
    EXPECT_FALSE(res.more_entries);
  }
  EXPECT_EQ(run_zip(make_zip(Bytes{}, 1024)), Bytes{});
}

TEST(Zip, EveryTruncationAndEveryEditedCheckIsRefused) {
  Bytes data = testutil::text_data(3000);
  Bytes z = make_zip(data, 1024);
  std::size_t end_of_descriptor = z.size() - 22 - (46 + 8);  // end record, central entry with its name
  for (std::size_t n = 0; n < end_of_descriptor; ++n) {
    Bytes d(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(run_zip(d), Error) << n;
  }
  // The descriptor: signature, CRC-32, sizes.
  std::size_t desc = end_of_descriptor - 16;
  for (std::size_t off : {desc + 4, desc + 12}) {
    for (std::uint32_t v : {0u, 1u, 0x7fffffffu, 0xffffffffu}) {
      Bytes d = z;
      for (int k = 0; k < 4; ++k) d[off + static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(v >> (8 * k));
      EXPECT_THROW(run_zip(d), Error) << off << " " << v;
    }
  }
}

TEST(Zip, HugeDeclaredSizesAllocateNothing) {
  // A stored entry declaring 2^63 bytes in its Zip64 field: read until the
  // input ends, then refused.
  Bytes d = {'P', 'K', 3, 4, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
             0xff, 0xff, 0xff, 0xff, 1, 0, 20, 0, 'x', 1, 0, 16, 0};
  for (int k = 0; k < 2; ++k)
    for (int b = 0; b < 8; ++b) d.push_back(b == 7 ? 0x80 : 0);
  d.insert(d.end(), {'a', 'b', 'c'});
  try {
    run_zip(d);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected end of file"), std::string::npos) << e.what();
  }
}

TEST(Zip, RefusesEncryptedAndOtherMethods) {
  Bytes z = make_zip(testutil::text_data(100), 1024);
  Bytes d = z;
  d[6] |= 1;
  EXPECT_THROW(run_zip(d), Error);
  d = z;
  d[8] = 12;  // bzip2
  EXPECT_THROW(run_zip(d), Error);
}

TEST(Zlib, CompressWritesWhatZlibReads) {
  Bytes data = testutil::text_data(700000);
  gz::CompressOptions co;
  co.container = gz::Container::zlib;
  co.block_size = 64 << 10;
  co.threads = 3;
  for (int level : {1, 6, 9, 12}) {
    co.level = level;
    Bytes z = gz::compress_buffer(data.data(), data.size(), co);
    Bytes back(data.size());
    uLongf n = back.size();
    ASSERT_EQ(::uncompress(back.data(), &n, z.data(), z.size()), Z_OK) << level;
    back.resize(n);
    EXPECT_EQ(back, data);
    gz::BufferReader r(z.data(), z.size());
    VecSink s;
    gz::decode_zlib(r, s);
    EXPECT_EQ(s.v, data);
    EXPECT_EQ(r.position(), z.size());
  }
  co.container = gz::Container::zip;
  Bytes z = gz::compress_buffer(data.data(), data.size(), co);
  EXPECT_EQ(run_zip(z), data);
}

TEST(Zlib, EveryTruncationAndAFlippedAdlerIsRefused) {
  Bytes data = testutil::text_data(5000);
  gz::CompressOptions co;
  co.container = gz::Container::zlib;
  co.block_size = 1024;
  Bytes z = gz::compress_buffer(data.data(), data.size(), co);
  for (std::size_t n = 0; n < z.size(); ++n) {
    gz::BufferReader r(z.data(), n);
    VecSink s;
    EXPECT_THROW(gz::decode_zlib(r, s), Error) << n;
  }
  z.back() ^= 1;
  gz::BufferReader r(z.data(), z.size());
  VecSink s;
  EXPECT_THROW(gz::decode_zlib(r, s), Error);
}

// --- What follows a member, in the Decoder ---------------------------------------

struct Outcome {
  bool error = false;
  bool garbage = false;
  Bytes out;
};

Outcome decode_with(const Bytes& in, bool pass_through) {
  testutil::MemFile f(in);
  fpgaio::Input input(f.path());
  gz::DecompressOptions o;
  o.pass_through = pass_through;
  gz::Decoder d(input, o);
  VecSink s;
  Outcome r;
  try {
    r.garbage = d.run(s).trailing_garbage;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    r.error = true;
  }
  r.out = s.v;
  return r;
}

TEST(Trailing, GzipsOutcomes) {
  Bytes text = testutil::text_data(1000);
  gz::CompressOptions co;
  Bytes member = gz::compress_buffer(text.data(), text.size(), co);
  auto with = [&](std::initializer_list<std::uint8_t> tail) {
    Bytes b = member;
    b.insert(b.end(), tail);
    return b;
  };
  auto r = decode_with(with({0, 0, 0}), false);
  EXPECT_FALSE(r.error);
  EXPECT_FALSE(r.garbage);
  r = decode_with(with({1}), false);  // one byte: gzip's unexpected end of file
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.out, text);
  r = decode_with(with({1, 2}), false);
  EXPECT_FALSE(r.error);
  EXPECT_TRUE(r.garbage);
  r = decode_with(with({0, 0, 1}), false);
  EXPECT_TRUE(r.garbage);
  r = decode_with(with({0x1f, 0x8b}), false);
  EXPECT_TRUE(r.error);
  // Pass-through: everything after the members, zeros too, unchanged.
  r = decode_with(with({0, 1, 'x'}), true);
  EXPECT_FALSE(r.error);
  Bytes want = text;
  want.insert(want.end(), {0, 1, 'x'});
  EXPECT_EQ(r.out, want);
  Bytes plain = testutil::text_data(3000, 9);
  EXPECT_EQ(decode_with(plain, true).out, plain);
  EXPECT_TRUE(decode_with(plain, false).error);
}

TEST(Trailing, OtherFormatsAfterAMemberAreDecoded) {
  Bytes a = testutil::text_data(1000), b = testutil::text_data(2000, 5);
  gz::CompressOptions co;
  Bytes in = gz::compress_buffer(a.data(), a.size(), co);
  in.insert(in.end(), kPackHello.begin(), kPackHello.end());
  Bytes z = lzw_encode(b, 16, true);
  in.insert(in.end(), z.begin(), z.end());
  Bytes want = a;
  std::string hello = "hello hello hello\n";
  want.insert(want.end(), hello.begin(), hello.end());
  want.insert(want.end(), b.begin(), b.end());
  auto r = decode_with(in, false);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.out, want);
  // zip and zlib are read only at the start (as gzip and pigz read them).
  Bytes zip = make_zip(b, 1024);
  Bytes after = gz::compress_buffer(a.data(), a.size(), co);
  after.insert(after.end(), zip.begin(), zip.end());
  r = decode_with(after, false);
  EXPECT_TRUE(r.garbage);
  EXPECT_EQ(r.out, a);
}

TEST(Formats, DetectsEachMagic) {
  auto det = [](Bytes b, bool start, bool zlib) { return gz::detect_format(b.data(), b.size(), start, zlib); };
  EXPECT_EQ(det({0x1f, 0x8b}, false, false), gz::Format::gzip);
  EXPECT_EQ(det({0x1f, 0x9d}, false, false), gz::Format::lzw);
  EXPECT_EQ(det({0x1f, 0x1e}, false, false), gz::Format::pack);
  EXPECT_EQ(det({'P', 'K', 3, 4}, true, false), gz::Format::zip);
  EXPECT_EQ(det({'P', 'K', 3, 4}, false, false), std::nullopt);
  EXPECT_EQ(det({0x78, 0x9c}, true, true), gz::Format::zlib);
  EXPECT_EQ(det({0x78, 0x9c}, true, false), std::nullopt);
  EXPECT_EQ(det({0x78, 0xbb}, true, true), std::nullopt);  // FDICT: not read
  EXPECT_EQ(det({0x1f}, true, true), std::nullopt);
}

}  // namespace
