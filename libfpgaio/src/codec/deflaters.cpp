// The three compression engines (ISA-L where the build has it).
#ifdef FPGAIO_WITH_ISAL
#include <isa-l/igzip_lib.h>
#endif
#include <libdeflate.h>
#include <zlib.h>

#include <cstring>
#include <vector>

#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"

namespace fpgaio {
namespace {

#ifdef FPGAIO_WITH_ISAL
class IsalDeflater final : public Deflater {
 public:
  explicit IsalDeflater(int level) : level_(level) {
    static const std::size_t sizes[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                                        ISAL_DEF_LVL3_DEFAULT};
    if (level < ISAL_DEF_MIN_LEVEL || level > ISAL_DEF_MAX_LEVEL)
      throw Error(ErrorKind::usage, "isal level " + std::to_string(level) + " out of range 0-3");
    buf_.resize(sizes[level]);
  }
  std::size_t compress(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap) override {
    // Zeroed first: isal_deflate_stateless_init leaves fields of the
    // internal state as they are, and ISA-L reads some of them (valgrind on
    // `fpga-gzip -1 -b 100`: "uninitialised value created by a stack
    // allocation" here; none with this). 82 KiB zeroed a block, against
    // about 1.5 ms of compression a MiB. (It did not end the rare run-to-run
    // difference of one member with blocks under 128 KiB: see the README.)
    isal_zstream s;
    std::memset(&s, 0, sizeof s);
    isal_deflate_stateless_init(&s);
    s.level = static_cast<uint32_t>(level_);
    s.level_buf = buf_.empty() ? nullptr : buf_.data();
    s.level_buf_size = static_cast<uint32_t>(buf_.size());
    s.next_in = const_cast<std::uint8_t*>(in);
    s.avail_in = static_cast<uint32_t>(n);
    s.next_out = out;
    s.avail_out = static_cast<uint32_t>(cap);
    s.end_of_stream = 1;
    s.flush = NO_FLUSH;
    s.gzip_flag = IGZIP_DEFLATE;
    int r = isal_deflate_stateless(&s);
    if (r != COMP_OK) throw Error(ErrorKind::io, "isal_deflate_stateless failed (" + std::to_string(r) + ")");
    return s.total_out;
  }

 private:
  int level_;
  std::vector<std::uint8_t> buf_;
};
#endif

class LibdeflateDeflater final : public Deflater {
 public:
  explicit LibdeflateDeflater(int level) : c_(libdeflate_alloc_compressor(level)) {
    if (!c_) throw Error(ErrorKind::usage, "libdeflate level " + std::to_string(level) + " out of range 0-12");
  }
  ~LibdeflateDeflater() override { libdeflate_free_compressor(c_); }
  std::size_t compress(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap) override {
    std::size_t r = libdeflate_deflate_compress(c_, in, n, out, cap);
    if (r == 0) throw Error(ErrorKind::io, "libdeflate: output buffer too small");
    return r;
  }

 private:
  libdeflate_compressor* c_;
};

class ZlibDeflater final : public Deflater {
 public:
  ZlibDeflater(int level, Strategy strategy) {
    if (level < 0 || level > 9) throw Error(ErrorKind::usage, "zlib level " + std::to_string(level) + " out of range 0-9");
    int zs = strategy == Strategy::huffman_only ? Z_HUFFMAN_ONLY : strategy == Strategy::rle ? Z_RLE : Z_DEFAULT_STRATEGY;
    if (deflateInit2(&z_, level, Z_DEFLATED, -15, 8, zs) != Z_OK)
      throw Error(ErrorKind::io, "zlib: deflateInit2 failed");
  }
  ~ZlibDeflater() override { deflateEnd(&z_); }
  std::size_t compress(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap) override {
    deflateReset(&z_);
    z_.next_in = const_cast<Bytef*>(in);
    z_.avail_in = static_cast<uInt>(n);
    z_.next_out = out;
    z_.avail_out = static_cast<uInt>(cap);
    if (deflate(&z_, Z_FINISH) != Z_STREAM_END) throw Error(ErrorKind::io, "zlib: output buffer too small");
    return z_.total_out;
  }

 private:
  z_stream z_{};
};

}  // namespace

std::unique_ptr<Deflater> make_deflater(Engine engine, int level, Strategy strategy) {
  if (strategy != Strategy::normal && engine != Engine::zlib)
    throw Error(ErrorKind::usage, std::string("Huffman-only and RLE compression need the zlib engine, not ") +
                                      engine_name(engine));
  switch (engine) {
    case Engine::isal:
#ifdef FPGAIO_WITH_ISAL
      return std::make_unique<IsalDeflater>(level);
#else
      throw Error(ErrorKind::usage, "the isal engine is not in this build (built without ISA-L); use libdeflate or zlib");
#endif
    case Engine::libdeflate: return std::make_unique<LibdeflateDeflater>(level);
    case Engine::zlib: return std::make_unique<ZlibDeflater>(level, strategy);
  }
  throw Error(ErrorKind::usage, "unknown engine");
}

}  // namespace fpgaio
