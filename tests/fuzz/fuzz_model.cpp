// libFuzzer target: the model parser and loader (CRC-32 fixed up, so the checks behind it
// are reached), and every engine code path on what they accept.
// The harness is in harnesses.hpp; findings go into
// tests/fuzz/regressions/fuzz_model-NAME, which the unit tests replay.
#include "harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzzh::run(fuzzh::model, data, size);
}
