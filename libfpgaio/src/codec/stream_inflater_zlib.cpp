// Streaming raw inflate with zlib, for builds without ISA-L (armhf: Debian
// ships no static libisal there). The same contract as the ISA-L one
// (stream_inflater.cpp): the member's trailer is read and checked here, and
// zlib never reads past the end of the deflate data, so nothing is handed
// back (consumed is never negative).
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"

namespace fpgaio {

namespace {
std::uint32_t le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
std::uint32_t be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[3]) | static_cast<std::uint32_t>(p[2]) << 8 |
         static_cast<std::uint32_t>(p[1]) << 16 | static_cast<std::uint32_t>(p[0]) << 24;
}

// zlib's messages, in the words the ISA-L build uses for the same faults.
std::string why_of(const char* msg) {
  std::string m = msg ? msg : "";
  if (m == "invalid block type" || m == "invalid stored block lengths" || m == "too many length or distance symbols")
    return "invalid deflate block";
  if (m.find("distance too far back") != std::string::npos) return "invalid distance";
  if (m.rfind("invalid", 0) == 0) return "invalid deflate symbol";
  return "invalid deflate data (" + m + ")";
}
}  // namespace

struct StreamInflater::State {
  z_stream z{};
  bool open = false;
  bool in_trailer = false;     // the deflate data has ended; reading the trailer
  std::uint8_t trailer[8]{};   // gzip: CRC-32, ISIZE (LE); zlib: Adler-32 (BE)
  std::size_t trailer_n = 0;
  std::uint32_t crc = 0, adler = 1;
  std::uint64_t total = 0;
  std::optional<Error> failed;  // found after some output: thrown by the next step
  ~State() {
    if (open) inflateEnd(&z);
  }
};

StreamInflater::StreamInflater(Mode mode) : mode_(mode), st_(std::make_unique<State>()) { reset(); }
StreamInflater::~StreamInflater() = default;

void StreamInflater::reset() {
  auto& st = *st_;
  st.failed.reset();
  if (!st.open) {
    if (inflateInit2(&st.z, -15) != Z_OK) throw Error(ErrorKind::io, "zlib: inflateInit2 failed (out of memory)");
    st.open = true;
  } else {
    inflateReset(&st.z);
  }
  st.in_trailer = false;
  st.trailer_n = 0;
  st.crc = 0;
  st.adler = 1;
  st.total = 0;
}

std::uint32_t StreamInflater::crc() const { return st_->crc; }

StreamInflater::Step StreamInflater::step(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap) {
  auto& st = *st_;
  if (st.failed) throw *st.failed;
  std::size_t used = 0, produced = 0;
  // An error after some output of this step: the output goes out first (as
  // gzip writes it), the error comes with the next step, and the input is
  // not read again (none reported used).
  auto fail = [&](const std::string& why, Damage damage) -> Step {
    if (produced == 0) throw_corrupt(why, damage);
    st.failed.emplace(ErrorKind::corrupt, why);
    st.failed->damage = damage;
    return {0, produced, false};
  };
  if (!st.in_trailer) {
    st.z.next_in = const_cast<Bytef*>(in);
    st.z.avail_in = static_cast<uInt>(n);
    st.z.next_out = out;
    st.z.avail_out = static_cast<uInt>(cap);
    int r = inflate(&st.z, Z_NO_FLUSH);
    used = n - st.z.avail_in;
    produced = cap - st.z.avail_out;
    if (mode_ == Mode::gzip_member) st.crc = crc32(st.crc, out, produced);
    if (mode_ == Mode::zlib_body)
      st.adler = static_cast<std::uint32_t>(::adler32(st.adler, out, static_cast<uInt>(produced)));
    st.total += produced;
    if (r == Z_DATA_ERROR) return fail(why_of(st.z.msg), Damage::format);
    if (r == Z_MEM_ERROR) throw Error(ErrorKind::io, "zlib: out of memory");
    if (r != Z_STREAM_END) return {static_cast<std::ptrdiff_t>(used), produced, false};
    if (mode_ == Mode::raw) return {static_cast<std::ptrdiff_t>(used), produced, true};
    st.in_trailer = true;
  }
  const std::size_t size = mode_ == Mode::gzip_member ? 8 : 4;
  std::size_t take = std::min(size - st.trailer_n, n - used);
  std::memcpy(st.trailer + st.trailer_n, in + used, take);
  st.trailer_n += take;
  used += take;
  if (st.trailer_n < size) return {static_cast<std::ptrdiff_t>(used), produced, false};
  if (mode_ == Mode::zlib_body) {
    if (be32(st.trailer) != st.adler) return fail("Adler-32 mismatch", Damage::crc);
  } else {
    bool bad_crc = le32(st.trailer) != st.crc, bad_len = le32(st.trailer + 4) != static_cast<std::uint32_t>(st.total);
    if (bad_crc && bad_len) return fail("CRC-32 and length mismatch", Damage::crc_and_length);
    if (bad_crc) return fail("CRC-32 mismatch", Damage::crc);
    if (bad_len) return fail("length mismatch", Damage::length);
  }
  return {static_cast<std::ptrdiff_t>(used), produced, true};
}

}  // namespace fpgaio
