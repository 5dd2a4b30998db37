// libFuzzer target: the compress (.Z), pack (.z), zip and zlib decoders must
// accept or refuse any input with an Error, never crash, hang or read out of
// bounds, and agree with the Decoder that calls them (harnesses.hpp).
// Findings go into tests/fuzz/regressions/fuzz_formats-NAME.
#include "harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzzh::run(fuzzh::formats, data, size);
}
