// libFuzzer target: parts that scan_part accepts (with verify) join into a stream that
// decodes to exactly their data.
// The harness is in harnesses.hpp; findings go into
// tests/fuzz/regressions/fuzz_join-NAME, which the unit tests replay.
#include "harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzzh::run(fuzzh::join, data, size);
}
