// libFuzzer target: the model loader must reject any damaged file with an
// Error, never crash; a model it accepts must run on an image.
#include <cstdint>
#include <vector>

#include "fpgaio/bnn.hpp"
#include "fpgaio/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto m = fpgaio::bnn::Model::parse(data, size, "fuzz");
    if (m.input.values() > (1u << 16)) return 0;
    fpgaio::bnn::Engine e(m, fpgaio::bnn::Isa::portable);
    std::vector<std::uint8_t> px(m.input.values(), 128);
    std::vector<std::int32_t> scores(m.classes.size());
    e.classify(px.data(), scores.data());
  } catch (const fpgaio::Error&) {
  }
  return 0;
}
