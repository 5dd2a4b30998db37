// The other formats that gzip and pigz read (part of the gzip module):
// compress (.Z, LZW), pack (.z), the first entry of a zip file, and zlib
// streams; and the zlib and zip containers that pigz writes (-z, -K).
// gzip::Decoder recognises them by their magic and calls these decoders.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fpgaio/codec.hpp"
#include "fpgaio/io.hpp"

namespace fpgaio::gzip {

enum class Format { gzip, zlib, zip, lzw, pack };
const char* format_name(Format f);

// What starts data[0, n): a gzip member, compress's magic 1f 9d, pack's
// 1f 1e, a zip local header (PK 3 4, only at the start of the input, as gzip
// reads it), or a zlib header (only at the start and only when `zlib` is
// allowed: a zlib header is two bytes that plain text can begin with).
// nullopt when none, or when n is too short to tell.
std::optional<Format> detect_format(const std::uint8_t* data, std::size_t n, bool at_start, bool zlib);

// The input a decoder reads from, at the first byte of its magic; the
// decoder consumes exactly its own bytes (LZW: everything to the end).
class ByteReader {
 public:
  virtual ~ByteReader() = default;
  // Makes at least n bytes available unless the input ends first; returns
  // how many are available.
  virtual std::size_t fill(std::size_t n) = 0;
  virtual const std::uint8_t* data() const = 0;
  virtual std::size_t avail() const = 0;
  virtual void consume(std::size_t n) = 0;
};

// What a decoder found besides its output.
struct ForeignResult {
  std::uint64_t out_bytes = 0;
  std::uint32_t crc = 0;              // CRC-32 of the output (zip: checked; others: computed)
  std::vector<std::string> warnings;  // gzip's warnings (exit status 2), e.g. unknown LZW flags
  bool more_entries = false;          // zip: another local header follows the first entry

  // Writes decoded bytes to `out`, counting them in out_bytes and crc.
  void emit(Sink& out, const std::uint8_t* p, std::size_t n) {
    crc = crc32(crc, p, n);
    out_bytes += n;
    out.write(p, n);
  }
};

// Each throws Error(corrupt) on data it cannot decode, after writing what
// decoded before the damage (as gzip does). Output is written in pieces of
// at most 1 MiB; memory does not depend on the sizes the data declares.
ForeignResult decode_lzw(ByteReader& in, Sink& out);   // compress, 9 to 16 bits, block mode or not
ForeignResult decode_pack(ByteReader& in, Sink& out);  // one pack member
ForeignResult decode_zip(ByteReader& in, Sink& out);   // the first entry (stored or deflated)
ForeignResult decode_zlib(ByteReader& in, Sink& out);  // one zlib stream, Adler-32 checked

// A ByteReader over a buffer (for tests and tools).
class BufferReader : public ByteReader {
 public:
  BufferReader(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  std::size_t fill(std::size_t) override { return avail(); }
  const std::uint8_t* data() const override { return d_ + pos_; }
  std::size_t avail() const override { return n_ - pos_; }
  void consume(std::size_t k) override { pos_ += k; }
  std::size_t position() const { return pos_; }

 private:
  const std::uint8_t* d_;
  std::size_t n_, pos_ = 0;
};

// --- Writing (pigz -z, -K) ---------------------------------------------------

// The container gzip::compress writes around its deflate blocks.
enum class Container { gzip, zlib, zip };

// Non-final deflate of one independent block (byte-aligned, BFINAL clear),
// so that blocks concatenate into one stream; the stream ends with
// kFinalEmptyBlock. zlib's deflate with a sync flush, level 1-9.
Bytes deflate_open_block(const std::uint8_t* data, std::size_t n, int level);
constexpr std::uint8_t kFinalEmptyBlock[2] = {0x03, 0x00};

std::uint32_t adler32_combine(std::uint32_t a, std::uint32_t b, std::uint64_t len_b);

// Framing pieces, for compress() and the tests.
Bytes zlib_header(int level);
// A zip local header with a data descriptor to follow (sizes unknown while
// streaming); `name` is the entry's name, `dos_time` the MS-DOS date and time.
Bytes zip_local_header(const std::string& name, std::uint32_t dos_time);
// The data descriptor, central directory and end record after the data.
// Throws Error(usage) when a size does not fit zip's 32-bit fields.
Bytes zip_trailer(const std::string& name, std::uint32_t dos_time, std::uint32_t crc, std::uint64_t compressed,
                  std::uint64_t uncompressed);
std::uint32_t dos_time(std::uint32_t unix_time);

}  // namespace fpgaio::gzip
