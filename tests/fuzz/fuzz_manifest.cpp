// libFuzzer target: fpga-split's manifest parser and part names.
// The harness is in harnesses.hpp; findings go into
// tests/fuzz/regressions/fuzz_manifest-NAME, which the unit tests replay.
#include "harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzzh::run(fuzzh::manifest, data, size);
}
