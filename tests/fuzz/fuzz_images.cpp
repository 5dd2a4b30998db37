// libFuzzer target: the IDX, PGM/PPM, CIFAR-10 and raw image readers, from a file, a
// stream and a byte range.
// The harness is in harnesses.hpp; findings go into
// tests/fuzz/regressions/fuzz_images-NAME, which the unit tests replay.
#include "harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzzh::run(fuzzh::images, data, size);
}
