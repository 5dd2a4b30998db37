// libFuzzer target: Arrow IPC streams and files through the reader, the split
// and the join. The harness is in arrow_harness.hpp; findings go into
// tests/fuzz/regressions/fuzz_arrow-NAME, which the unit tests replay.
#include "arrow_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzzh::run(fuzzh::arrow, data, size);
}
