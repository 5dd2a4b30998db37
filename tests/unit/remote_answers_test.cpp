// fpga-remote's client check of compress answers (check_compress_answer):
// an answer is accepted only when every member inflates to its part of the
// chunk sent, not when its headers, sizes and trailers merely agree.
#include <gtest/gtest.h>

#include <string>

#include "fpgaio/codec.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/remote.hpp"
#include "fpgaio/remote_gzip.hpp"

namespace rm = fpgaio::remote;
using fpgaio::Bytes;

namespace {

constexpr const char* kHost = "http://liar:1";

Bytes text(std::size_t n) {
  Bytes b;
  for (std::size_t i = 0; b.size() < n; ++i) {
    std::string line = std::to_string(i * 7919 % 100003) + " line\n";
    b.insert(b.end(), line.begin(), line.end());
  }
  b.resize(n);
  return b;
}

// What an honest server answers: our members of `chunk` in 8 KiB blocks.
Bytes honest(const Bytes& chunk, bool last) {
  fpgaio::gzip::CompressOptions co;
  co.block_size = 8192;
  co.end_marker = last;
  return fpgaio::gzip::compress_buffer(chunk.data(), chunk.size(), co);
}

std::uint32_t get32(const Bytes& b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) | static_cast<std::uint32_t>(b[at + 1]) << 8 |
         static_cast<std::uint32_t>(b[at + 2]) << 16 | static_cast<std::uint32_t>(b[at + 3]) << 24;
}
void put32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) b[at + k] = static_cast<std::uint8_t>(v >> (8 * k));
}

// The answer with member `which` (0-based) rebuilt: `deflate` replaces its
// deflate data, the FT member size follows, header and trailer are kept.
Bytes with_member_data(const Bytes& answer, std::size_t which, const Bytes& deflate) {
  std::size_t pos = 0;
  for (std::size_t k = 0; k < which; ++k) pos += get32(answer, pos + 18);
  auto h = fpgaio::gzip::parse_header(answer.data() + pos, answer.size() - pos);
  EXPECT_TRUE(h && h->index == fpgaio::gzip::Index::ft);
  std::size_t size = h->member_size;
  Bytes m(answer.begin() + static_cast<std::ptrdiff_t>(pos),
          answer.begin() + static_cast<std::ptrdiff_t>(pos + h->length));
  m.insert(m.end(), deflate.begin(), deflate.end());
  m.insert(m.end(), answer.begin() + static_cast<std::ptrdiff_t>(pos + size - 8),
           answer.begin() + static_cast<std::ptrdiff_t>(pos + size));
  put32(m, 18, static_cast<std::uint32_t>(m.size()));
  Bytes out(answer.begin(), answer.begin() + static_cast<std::ptrdiff_t>(pos));
  out.insert(out.end(), m.begin(), m.end());
  out.insert(out.end(), answer.begin() + static_cast<std::ptrdiff_t>(pos + size), answer.end());
  return out;
}

Bytes deflate(const std::uint8_t* d, std::size_t n, int level) {
  auto z = fpgaio::make_deflater(fpgaio::Engine::zlib, level);
  Bytes out(fpgaio::Deflater::bound(n));
  out.resize(z->compress(d, n, out.data(), out.size()));
  return out;
}

std::string refusal(const Bytes& answer, const Bytes& chunk, bool last) {
  try {
    rm::check_compress_answer(answer, chunk, last, kHost);
  } catch (const rm::TransportError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(RemoteCompressAnswer, HonestAnswersPass) {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{8192}, std::size_t{50000}})
    for (bool last : {false, true}) {
      Bytes chunk = text(n);
      if (n == 0 && !last) continue;  // an empty chunk is only ever the last
      EXPECT_EQ(refusal(honest(chunk, last), chunk, last), "") << n << " " << last;
    }
}

// The lie of issue 20: one byte of a member's data changed and deflated
// again; the FT size fits the new data, the trailer is the chunk's (right
// CRC-32 and size), so only inflating shows it.
TEST(RemoteCompressAnswer, OtherDataUnderTheRightTrailerIsRefused) {
  Bytes chunk = text(50000);
  Bytes answer = honest(chunk, true);
  for (std::size_t which : {0u, 3u}) {
    Bytes part(chunk.begin() + static_cast<std::ptrdiff_t>(which * 8192),
               chunk.begin() + static_cast<std::ptrdiff_t>(which * 8192 + 8192));
    part[4000] ^= 1;
    Bytes lie = with_member_data(answer, which, deflate(part.data(), part.size(), 6));
    // Sizes and trailers still agree with the chunk: gzip -t would report
    // a CRC error, the old check saw nothing.
    std::string why = refusal(lie, chunk, true);
    EXPECT_NE(why.find("answer from http://liar:1 is not what was asked for (a member does not inflate"),
              std::string::npos)
        << why;
  }
  // The same data deflated otherwise (another level) is the same content:
  // accepted (the check is of content, byte-identity is the server's).
  Bytes part(chunk.begin(), chunk.begin() + 8192);
  EXPECT_EQ(refusal(with_member_data(answer, 0, deflate(part.data(), part.size(), 1)), chunk, true), "");
}

TEST(RemoteCompressAnswer, BytesBetweenDeflateAndTrailerAreRefused) {
  Bytes chunk = text(20000);
  Bytes answer = honest(chunk, false);
  Bytes part(chunk.begin(), chunk.begin() + 8192);
  Bytes d = deflate(part.data(), part.size(), 6);
  d.push_back(0);  // after the final block: gzip would read it as the trailer
  EXPECT_NE(refusal(with_member_data(answer, 0, d), chunk, false).find("between a member's deflate data and its trailer"),
            std::string::npos);
  // Deflate data cut short, or not deflate at all.
  Bytes cut(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2));
  EXPECT_NE(refusal(with_member_data(answer, 0, cut), chunk, false).find("a member's deflate data"), std::string::npos);
  EXPECT_NE(refusal(with_member_data(answer, 0, Bytes(40, 0xff)), chunk, false).find("a member's deflate data"),
            std::string::npos);
}

TEST(RemoteCompressAnswer, FramingSizesAndEndMarker) {
  Bytes chunk = text(20000);
  // The end marker where it does not belong, or missing.
  EXPECT_NE(refusal(honest(chunk, true), chunk, false).find("end marker"), std::string::npos);
  EXPECT_NE(refusal(honest(chunk, false), chunk, true).find("end marker"), std::string::npos);
  // Members of another chunk, a member missing, one more.
  Bytes other = text(20001);
  EXPECT_NE(refusal(honest(other, true), chunk, true), "");
  Bytes answer = honest(chunk, true);
  Bytes first_only(answer.begin(), answer.begin() + get32(answer, 18));
  EXPECT_NE(refusal(first_only, chunk, true), "");
  Bytes doubled = answer;
  doubled.insert(doubled.begin(), answer.begin(), answer.begin() + get32(answer, 18));
  EXPECT_NE(refusal(doubled, chunk, true), "");
  // Cut by a byte.
  Bytes cut(answer.begin(), answer.end() - 1);
  EXPECT_NE(refusal(cut, chunk, true), "");
}
