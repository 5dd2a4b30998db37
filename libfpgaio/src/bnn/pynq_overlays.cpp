// The BNN-PYNQ overlays' fixed topologies and foldings (config.h of
// cnvW1A1 and lfcW1A1 in BNN-PYNQ; ../shared/notes/bnn-pynq-overlay.md).
#include <cstring>
#include <initializer_list>

#include "fpgaio/pynq.hpp"

namespace fpgaio::pynq {

namespace {

// conv, in, out, dim_in, pool_after, pe, simd, thresholds
constexpr OverlayLayer kCnv[] = {
    {true, 3, 64, 32, false, 16, 3, true},      {true, 64, 64, 30, true, 32, 32, true},
    {true, 64, 128, 14, false, 16, 32, true},   {true, 128, 128, 12, true, 16, 32, true},
    {true, 128, 256, 5, false, 4, 32, true},    {true, 256, 256, 3, false, 1, 32, true},
    {false, 256, 512, 0, false, 1, 4, true},    {false, 512, 512, 0, false, 1, 8, true},
    {false, 512, 64, 0, false, 4, 1, false},  // 10 classes, padded to 64 rows
};

constexpr OverlayLayer kLfc[] = {
    {false, 832, 1024, 0, false, 32, 64, true},   // 784 pixels padded to 832 bits
    {false, 1024, 1024, 0, false, 64, 32, true},
    {false, 1024, 1024, 0, false, 32, 64, true},
    {false, 1024, 64, 0, false, 16, 8, true},     // thresholded: one bit a class
};

}  // namespace

const Overlay& cnv_w1a1() {
  static const Overlay o{"cnvW1A1", 32, 32, 3, true, 3072, 128, kCnv, sizeof kCnv / sizeof kCnv[0]};
  return o;
}

const Overlay& lfc_w1a1() {
  static const Overlay o{"lfcW1A1", 28, 28, 1, false, 104, 8, kLfc, sizeof kLfc / sizeof kLfc[0]};
  return o;
}

const Overlay* find_overlay(const char* name) {
  for (const Overlay* o : {&cnv_w1a1(), &lfc_w1a1()})
    if (std::strcmp(o->name, name) == 0) return o;
  return nullptr;
}

std::uint64_t parameter_words(const Overlay& o) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < o.count; ++i) {
    const OverlayLayer& l = o.layers[i];
    n += std::uint64_t{l.lines()} * l.pe;
    if (l.thresholds) n += l.out;
  }
  return n;
}

}  // namespace fpgaio::pynq
