// Deflate engines (ISA-L, libdeflate, zlib) behind one small interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fpgaio/io.hpp"

// On 32-bit targets with 64-bit file offsets (armhf) zlib.h renames
// crc32_combine to crc32_combine64 with a macro, which would rename ours in
// every file that includes zlib.h: zlib.h is included here, once, and the
// macro dropped.
#if defined(_FILE_OFFSET_BITS) && _FILE_OFFSET_BITS == 64 && __SIZEOF_POINTER__ == 4
#include <zlib.h>
#undef crc32_combine
#endif

namespace fpgaio {

enum class Engine { isal, libdeflate, zlib };

const char* engine_name(Engine e);
Engine parse_engine(const std::string& name);  // throws Error(usage)

constexpr int kMinLevel = 0;  // 0: stored blocks, no compression (pigz -0)
constexpr int kMaxLevel = 12;
constexpr int kDefaultLevel = 6;

// The engine and engine-level that serve a user-facing level 1..12. The table
// was chosen by measurement (see man/fpga-gzip.1 and bench/RESULTS.md): every
// level is on the measured speed/ratio front.
// zlib's strategies that pigz offers (-H, -U); only the zlib engine has them.
enum class Strategy { normal, huffman_only, rle };

struct LevelPlan {
  Engine engine;
  int engine_level;
  Strategy strategy = Strategy::normal;
};
LevelPlan plan_for_level(int level);  // throws Error(usage) outside 0..12

// The CRC-32 of gzip (fastest available implementation).
std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n);
// The CRC-32 of A followed by B, from crc(A), crc(B) and B's length.
std::uint32_t crc32_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t len_b);

// Computes the CRC-32 and length of what passes through, and hands it on to
// `next` when there is one. (No splice_from: the bytes must be seen.)
class CrcSink : public Sink {
 public:
  explicit CrcSink(Sink* next = nullptr) : next_(next) {}
  void write(const std::uint8_t* d, std::size_t n) override {
    crc = crc32(crc, d, n);
    bytes += n;
    if (next_) next_->write(d, n);
  }
  void flush() override {
    if (next_) next_->flush();
  }
  std::uint32_t crc = 0;
  std::uint64_t bytes = 0;

 private:
  Sink* next_;
};

// Compresses whole buffers to raw deflate. Not thread-safe: one per thread.
class Deflater {
 public:
  virtual ~Deflater() = default;
  // Returns the compressed size; `cap` must be at least bound(n).
  virtual std::size_t compress(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap) = 0;
  static std::size_t bound(std::size_t n) { return n + n / 64 + 1024; }
};
// Throws Error(usage) for a level the engine lacks, and for a strategy on
// an engine other than zlib.
std::unique_ptr<Deflater> make_deflater(Engine engine, int engine_level, Strategy strategy = Strategy::normal);
inline std::unique_ptr<Deflater> make_deflater(const LevelPlan& p) {
  return make_deflater(p.engine, p.engine_level, p.strategy);
}

// Inflates one whole raw-deflate stream whose uncompressed size is known
// exactly. Throws Error(corrupt) unless the stream decodes to exactly
// out_size bytes; returns the compressed bytes consumed.
std::size_t inflate_whole(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t out_size);

// Streaming inflate of one gzip member body (deflate data, then the 8-byte
// trailer, whose CRC-32 and ISIZE it checks) with ISA-L, for input whose sizes
// are not known ahead.
class StreamInflater {
 public:
  // What follows the deflate data: a gzip trailer (checked), nothing (raw,
  // for zip entries; crc() is then not computed), or a zlib trailer (its
  // Adler-32 checked; the 2-byte zlib header is the caller's).
  enum class Mode { gzip_member, raw, zlib_body };
  explicit StreamInflater(Mode mode = Mode::gzip_member);
  ~StreamInflater();
  StreamInflater(const StreamInflater&) = delete;
  StreamInflater& operator=(const StreamInflater&) = delete;

  void reset();
  struct Step {
    // Input bytes used. Negative when the member ended and ISA-L handed
    // back read-ahead bytes it had taken in an earlier step of the same
    // buffer (the next member starts there).
    std::ptrdiff_t consumed;
    std::size_t produced;  // output bytes written
    bool finished;         // the trailer has been read and checked
  };
  // Decodes as much as fits; throws Error(corrupt) on invalid data. Bytes
  // decoded before the error are returned first, and the next call throws.
  Step step(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap);
  std::uint32_t crc() const;  // CRC-32 of the output so far (gzip_member mode)

 private:
  Mode mode_;
  struct State;
  std::unique_ptr<State> st_;
};

}  // namespace fpgaio
