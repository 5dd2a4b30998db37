// Engine selection, level table, CRC-32 and whole-buffer inflate.
#include "fpgaio/codec.hpp"

#include <zlib.h>

#ifdef FPGAIO_WITH_ISAL
#include <isa-l/crc.h>
#endif
#include <libdeflate.h>

#include "fpgaio/error.hpp"

namespace fpgaio {

const char* engine_name(Engine e) {
  switch (e) {
    case Engine::isal: return "isal";
    case Engine::libdeflate: return "libdeflate";
    case Engine::zlib: return "zlib";
  }
  return "?";
}

Engine parse_engine(const std::string& name) {
  if (name == "isal") return Engine::isal;
  if (name == "libdeflate") return Engine::libdeflate;
  if (name == "zlib") return Engine::zlib;
  throw Error(ErrorKind::usage, "unknown engine '" + name + "' (isal, libdeflate, zlib)");
}

LevelPlan plan_for_level(int level) {
  // Measured on a 128 MiB slice of the Linux 6.1 source tar, 1 MiB blocks, one
  // core (bench/RESULTS.md). ISA-L level 1 (587 MB/s, ratio 0.2361) is left
  // out: 4% faster than ISA-L 2 (562 MB/s, 0.2326) but a worse ratio than igzip
  // -1 gets on a whole stream. libdeflate 1 (218 MB/s, 0.2190) and 3 are
  // between their neighbours and add little.
  //
  // A build without ISA-L (armhf) serves levels 1 and 2 with libdeflate 1
  // and 2: the same format, other bytes (and unmeasured on a board).
#ifdef FPGAIO_WITH_ISAL
  constexpr LevelPlan fast1{Engine::isal, 2}, fast2{Engine::isal, 3};
#else
  constexpr LevelPlan fast1{Engine::libdeflate, 1}, fast2{Engine::libdeflate, 2};
#endif
  static const LevelPlan table[] = {
      {Engine::libdeflate, 0},  // stored blocks
      fast1,                    fast2,                    {Engine::libdeflate, 2},
      {Engine::libdeflate, 4},  {Engine::libdeflate, 5},  {Engine::libdeflate, 6},
      {Engine::libdeflate, 7},  {Engine::libdeflate, 8},  {Engine::libdeflate, 9},
      {Engine::libdeflate, 10}, {Engine::libdeflate, 11}, {Engine::libdeflate, 12},
  };
  if (level < kMinLevel || level > kMaxLevel)
    throw Error(ErrorKind::usage, "compression level " + std::to_string(level) + " out of range 0-12");
  return table[level];
}

std::uint32_t crc32_combine(std::uint32_t a, std::uint32_t b, std::uint64_t len_b) {
  return static_cast<std::uint32_t>(::crc32_combine64(a, b, static_cast<z_off64_t>(len_b)));
}

std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n) {
#ifdef FPGAIO_WITH_ISAL
  // ISA-L's folding CRC measured 2x libdeflate's here (140 vs 63 GB/s).
  return crc32_gzip_refl(crc, static_cast<const unsigned char*>(data), n);
#else
  return libdeflate_crc32(crc, data, n);
#endif
}

namespace {
struct DecompressorHolder {
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  ~DecompressorHolder() { libdeflate_free_decompressor(d); }
};
}  // namespace

std::size_t inflate_whole(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t out_size) {
  thread_local DecompressorHolder h;
  if (!h.d) throw Error(ErrorKind::io, "out of memory");
  std::size_t in_used = 0, out_got = 0;
  auto r = libdeflate_deflate_decompress_ex(h.d, in, n, out, out_size, &in_used, &out_got);
  switch (r) {
    case LIBDEFLATE_SUCCESS:
      if (out_got != out_size) throw_corrupt("size mismatch: " + std::to_string(out_got) + " bytes decoded, " +
                                             std::to_string(out_size) + " declared",
                                             Damage::length);
      return in_used;
    case LIBDEFLATE_INSUFFICIENT_SPACE:
      throw_corrupt("more data than the declared size " + std::to_string(out_size), Damage::length);
    case LIBDEFLATE_SHORT_OUTPUT:
      throw_corrupt("less data than the declared size", Damage::length);
    default:
      throw_corrupt("invalid deflate data", Damage::format);
  }
}

}  // namespace fpgaio
