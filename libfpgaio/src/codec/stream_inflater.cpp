// Streaming raw inflate with ISA-L, the fastest inflater measured here.
#include <isa-l/igzip_lib.h>

#include <optional>
#include <string>

#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"

namespace fpgaio {

struct StreamInflater::State {
  inflate_state s;
  std::optional<Error> failed;  // found after some output: thrown by the next step
};

StreamInflater::StreamInflater() : st_(std::make_unique<State>()) { reset(); }
StreamInflater::~StreamInflater() = default;

void StreamInflater::reset() {
  st_->failed.reset();
  isal_inflate_init(&st_->s);
  // ISA-L reads and checks the gzip trailer itself and pushes back the bytes
  // it read ahead, so the next member starts exactly after the trailer.
  st_->s.crc_flag = ISAL_GZIP_NO_HDR_VER;
}

std::uint32_t StreamInflater::crc() const { return st_->s.crc; }

StreamInflater::Step StreamInflater::step(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap) {
  if (st_->failed) throw *st_->failed;
  auto& s = st_->s;
  s.next_in = const_cast<std::uint8_t*>(in);
  s.avail_in = static_cast<uint32_t>(n);
  s.next_out = out;
  s.avail_out = static_cast<uint32_t>(cap);
  int r = isal_inflate(&s);
  if (r < 0) {
    std::string why;
    switch (r) {
      case ISAL_INVALID_BLOCK: why = "invalid deflate block"; break;
      case ISAL_INVALID_SYMBOL: why = "invalid deflate symbol"; break;
      case ISAL_INVALID_LOOKBACK: why = "invalid distance"; break;
      case ISAL_INCORRECT_CHECKSUM: why = "CRC-32 or length mismatch"; break;
      default: why = "invalid deflate data (" + std::to_string(r) + ")";
    }
    // What was decoded before the error goes out first (as gzip writes it).
    // The input is not read again after an error, and ISA-L's input count
    // is not to be trusted then: report none used.
    if (s.avail_out == cap) throw_corrupt(why);
    st_->failed.emplace(ErrorKind::corrupt, why);
    return {0, cap - s.avail_out, false};
  }
  return {static_cast<std::ptrdiff_t>(n) - static_cast<std::ptrdiff_t>(s.avail_in), cap - s.avail_out,
          s.block_state == ISAL_BLOCK_FINISH};
}

}  // namespace fpgaio
