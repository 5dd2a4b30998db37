// Streaming raw inflate with ISA-L, the fastest inflater measured here.
#include <isa-l/igzip_lib.h>

#include <cstring>
#include <optional>
#include <string>

#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"

namespace fpgaio {

namespace {
// Which of the trailer's fields is wrong: the trailer is the last 8 bytes of
// `held` (read in an earlier step) followed by in[0, used).
Damage trailer_damage(const std::uint8_t* held, std::size_t held_n, const std::uint8_t* in, std::size_t used,
                      std::uint32_t crc, std::uint64_t total_out) {
  std::uint8_t t[8];
  if (held_n + used < 8) return Damage::crc_and_length;
  for (std::size_t i = 0; i < 8; ++i) {
    std::size_t k = held_n + used - 8 + i;  // index in held ++ in
    t[i] = k < held_n ? held[k] : in[k - held_n];
  }
  auto le = [](const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
  };
  bool bad_crc = le(t) != crc, bad_len = le(t + 4) != static_cast<std::uint32_t>(total_out);
  if (bad_crc && !bad_len) return Damage::crc;
  if (bad_len && !bad_crc) return Damage::length;
  return Damage::crc_and_length;  // (or the trailer was not where it was looked for)
}
}  // namespace

struct StreamInflater::State {
  inflate_state s;
  std::optional<Error> failed;  // found after some output: thrown by the next step
};

StreamInflater::StreamInflater(Mode mode) : mode_(mode), st_(std::make_unique<State>()) { reset(); }
StreamInflater::~StreamInflater() = default;

void StreamInflater::reset() {
  st_->failed.reset();
  isal_inflate_init(&st_->s);
  // ISA-L reads and checks the gzip trailer itself and pushes back the bytes
  // it read ahead, so the next member starts exactly after the trailer.
  st_->s.crc_flag = mode_ == Mode::gzip_member ? ISAL_GZIP_NO_HDR_VER
                    : mode_ == Mode::zlib_body   ? ISAL_ZLIB_NO_HDR_VER
                                                 : ISAL_DEFLATE;
}

std::uint32_t StreamInflater::crc() const { return st_->s.crc; }

StreamInflater::Step StreamInflater::step(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap) {
  if (st_->failed) throw *st_->failed;
  auto& s = st_->s;
  // The start of a trailer that an earlier step read ahead (tmp_in_buffer):
  // a checksum error is told apart (CRC-32 or ISIZE, as gzip reports) from
  // the trailer's bytes, which may span two steps.
  std::uint8_t held[sizeof s.tmp_in_buffer];
  std::size_t held_n = s.tmp_in_size > 0 ? static_cast<std::size_t>(s.tmp_in_size) : 0;
  std::memcpy(held, s.tmp_in_buffer, held_n);
  s.next_in = const_cast<std::uint8_t*>(in);
  s.avail_in = static_cast<uint32_t>(n);
  s.next_out = out;
  s.avail_out = static_cast<uint32_t>(cap);
  int r = isal_inflate(&s);
  if (r < 0) {
    std::string why;
    Damage damage = Damage::format;
    switch (r) {
      case ISAL_INVALID_BLOCK: why = "invalid deflate block"; break;
      case ISAL_INVALID_SYMBOL: why = "invalid deflate symbol"; break;
      case ISAL_INVALID_LOOKBACK: why = "invalid distance"; break;
      case ISAL_INCORRECT_CHECKSUM: {
        if (mode_ == Mode::zlib_body) {
          damage = Damage::crc;
          why = "Adler-32 mismatch";
          break;
        }
        damage = trailer_damage(held, held_n, in, n - s.avail_in, s.crc, s.total_out);
        why = damage == Damage::crc ? "CRC-32 mismatch"
              : damage == Damage::length ? "length mismatch"
                                         : "CRC-32 and length mismatch";
        break;
      }
      default: why = "invalid deflate data (" + std::to_string(r) + ")";
    }
    // What was decoded before the error goes out first (as gzip writes it).
    // The input is not read again after an error, and ISA-L's input count
    // is not to be trusted then: report none used.
    if (s.avail_out == cap) throw_corrupt(why, damage);
    st_->failed.emplace(ErrorKind::corrupt, why);
    st_->failed->damage = damage;
    return {0, cap - s.avail_out, false};
  }
  std::ptrdiff_t consumed = static_cast<std::ptrdiff_t>(n) - static_cast<std::ptrdiff_t>(s.avail_in);
  bool finished = s.block_state == ISAL_BLOCK_FINISH;
  if (finished && mode_ == Mode::raw && s.read_in_length >= 8) {
    // Raw deflate has no trailer for ISA-L to read, so the whole bytes it
    // read ahead into its bit buffer are still there: hand them back.
    std::ptrdiff_t back = s.read_in_length / 8;
    consumed -= back;
    s.read_in_length %= 8;
    s.read_in &= (std::uint64_t{1} << s.read_in_length) - 1;
  }
  return {consumed, cap - s.avail_out, finished};
}

}  // namespace fpgaio
