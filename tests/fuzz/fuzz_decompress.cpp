// libFuzzer target: the member scanner and the decompressor must accept or
// reject any input with an Error, never crash, hang or read out of bounds.
// Findings go into tests/fuzz/regressions/, which the unit tests replay.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The header parser on its own, at every prefix length.
  for (std::size_t n = 0; n <= size && n < 64; ++n) {
    try {
      fpgaio::gzip::parse_header(data, n);
    } catch (const fpgaio::Error&) {
    }
  }
  int fd = ::memfd_create("fuzz", 0);
  if (fd < 0) return 0;
  fpgaio::full_write(fd, data, size, "memfd");
  ::lseek(fd, 0, SEEK_SET);
  try {
    fpgaio::Input in("/proc/self/fd/" + std::to_string(fd));
    fpgaio::gzip::DecompressOptions o;
    o.threads = 2;
    fpgaio::gzip::Decoder dec(in, o);
    fpgaio::NullSink sink;
    dec.run(sink);
  } catch (const fpgaio::Error&) {
  }
  ::close(fd);
  return 0;
}
