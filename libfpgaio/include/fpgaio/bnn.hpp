// Binarized neural networks (FINN / BNN-PYNQ CNV-W1A1, LFC-W1A1 and their
// variants): the model format, the BNN-PYNQ importer, and the CPU engine.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fpgaio/io.hpp"

namespace fpgaio::bnn {

// How input pixels become the first layer's input.
enum class InputMode : std::uint32_t {
  fixed8 = 0,  // Q1.7 of -1 + 2p/255, rounded, saturated: values in units of 1/128
  binary = 1,  // bit = p >= 128
};

enum class LayerKind : std::uint32_t { conv3x3 = 1, maxpool2x2 = 2, fc = 3 };

// One layer. Weights: `out` rows of words(fan_in()) little-endian u64 words;
// bit j of word w is synapse 64w+j, 1 = +1. Convolution synapse order is
// k = (ky*3 + kx)*in + ic; a fully connected layer after convolutions reads
// the map in HWC order, (y*W + x)*C + c. A fully connected first layer may
// have more inputs than the image has values: the extra ones are 0 bits
// (-1), as BNN-PYNQ's LFC pads 784 to 832.
// Thresholds: output bit = acc > T, acc being the number of matching bits
// (binary input) or the sum of +-x in units of 1/128 (fixed8 input). The
// last layer is fully connected and has none: its scores, one a class, are
// the matching-bit counts (for an 8-bit single layer, the sums).
struct Layer {
  LayerKind kind = LayerKind::fc;
  std::uint32_t in = 0, out = 0;
  std::vector<std::uint64_t> weights;
  std::vector<std::int32_t> thresholds;
  std::uint32_t fan_in() const { return kind == LayerKind::conv3x3 ? 9 * in : in; }
  std::size_t row_words() const { return (fan_in() + 63) / 64; }
  bool weight(std::uint32_t o, std::uint32_t k) const {
    return (weights[o * row_words() + k / 64] >> (k % 64)) & 1;
  }
};

// The largest model file load() reads: 256 MiB, a thousand times BNN-PYNQ's
// CNV-W1A1 (190 KB) or LFC-W1A1 (400 KB).
constexpr std::uint64_t kMaxModelBytes = std::uint64_t{256} << 20;

struct Shape {
  std::uint32_t height = 0, width = 0, channels = 0;
  std::uint64_t values() const { return std::uint64_t{height} * width * channels; }
};

// A model file (.fbnn), version 1, little-endian:
//   "FBNN" u32 version  u32 height u32 width u32 channels  u32 input_mode
//   u32 classes  u32 layers  classes x (u16 length, UTF-8 name)
//   layers x (u32 kind, u32 in, u32 out, u32 flags [bit 0: has thresholds],
//             weights (fc, conv), thresholds as i32 (if flagged))
//   u32 CRC-32 of everything before it
struct Model {
  Shape input;
  InputMode mode = InputMode::fixed8;
  std::vector<std::string> classes;
  std::vector<Layer> layers;

  // Checks the layer chain against the input shape; throws Error(corrupt).
  void validate() const;
  // The shape each layer produces (for fc: 1 x 1 x out).
  std::vector<Shape> shapes() const;
  Bytes serialize() const;
  // Checks every size against the data; throws Error(corrupt) naming `path`.
  static Model parse(const std::uint8_t* data, std::size_t n, const std::string& path);
  // Reads a model file, or a stream ("-" is standard input): the header
  // first (a file without the magic is refused after 32 bytes), then each
  // part as far as the parts before it declare, never more than
  // kMaxModelBytes; the input must end where the model does.
  static Model load(const std::string& path);
  std::string describe() const;  // "CNV: 32x32x3 -> conv 64, conv 64, pool, ... -> 10 classes"
};

// Reads a BNN-PYNQ parameter folder (cnvW1A1 or lfcW1A1: L-P-weights.bin,
// L-P-thres.bin, classes.txt) into a model. Throws Error naming the file.
Model import_bnn_pynq(const std::string& dir);

// Instruction sets with a code path of their own, chosen at run time:
// portable everywhere; avx2 and avx512 in x86-64 builds, neon in ARM builds.
enum class Isa { portable, avx2, avx512, neon };
const char* isa_name(Isa isa);
std::vector<Isa> supported_isas();  // those this CPU runs, portable first
Isa best_isa();                     // FPGA_BNN_ISA=portable|avx2|avx512|neon overrides

// Runs a model on the CPU. classify() is thread-safe (scratch memory is per
// thread); one Engine serves all threads.
class Engine {
 public:
  Engine(const Model& model, Isa isa);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // pixels: the input image, HWC uint8 (model.input). scores: one per class.
  void classify(const std::uint8_t* pixels, std::int32_t* scores) const;
  // The same for `count` images one after the other (scores: classes() a
  // image). A network of fully connected layers on 1-bit input (LFC) runs
  // four images at a time through each layer where the code path has it.
  void classify_batch(const std::uint8_t* pixels, std::size_t count, std::int32_t* scores) const;
  // The same from the first layer's input itself, for a fixed8 model: one
  // Q1.7 value a pixel and channel (units of 1/128, HWC), any of the 256,
  // as the BNN-PYNQ overlay reads its input buffer (the overlay emulator);
  // classify() is this on the values of its pixels. Throws Error(usage) for
  // a binary-input model.
  void classify_fixed(const std::int8_t* values, std::int32_t* scores) const;
  std::size_t classes() const;
  Isa isa() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The first index of the largest score.
std::size_t argmax(const std::int32_t* scores, std::size_t n);

}  // namespace fpgaio::bnn
