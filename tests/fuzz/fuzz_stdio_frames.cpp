// libFuzzer target: fpga-remote's stdio framing (serve --stdio) fed any
// bytes. The harness is in stdio_frames.hpp; findings go into
// tests/fuzz/regressions/fuzz_stdio_frames-NAME, which the unit tests replay.
#include "stdio_frames.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzzh::run(fuzzh::stdio_frames, data, size);
}
