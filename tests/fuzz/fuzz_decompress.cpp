// libFuzzer target: the member scanner and the decompressor must accept or reject any input
// with an Error, never crash, hang or read out of bounds.
// The harness is in harnesses.hpp; findings go into
// tests/fuzz/regressions/fuzz_decompress-NAME, which the unit tests replay.
#include "harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzzh::run(fuzzh::decompress, data, size);
}
