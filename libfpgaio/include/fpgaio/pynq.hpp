// The BNN-PYNQ overlay on a Pynq-Z1/Z2 (BlackBoxJam, issue 23): the
// accelerator's register map, the fixed topologies and foldings of the
// overlays it is built as, and the file-backed emulation of a board
// (FPGAIO_PYNQ_EMU) that the driver (device/pynq_backend.cpp, bnn/pynq.cpp)
// and an emulator (fpga-infer pynq-emu, bnn/pynq_emu.cpp) share.
// docs/PYNQ-EMULATION.md is the contract in prose; this header is the same
// contract in numbers. Facts: ../shared/notes/bnn-pynq-overlay.md.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fpgaio::pynq {

// ---- the accelerator's AXI-lite registers (32-bit, little-endian) ----
constexpr std::uint64_t kDefaultBase = 0x43C00000;  // Pynq-Z1/Z2 block design
constexpr std::size_t kRegisterWindow = 0x10000;     // 64 KiB range
namespace reg {
constexpr std::uint32_t control = 0x00;       // bit 0 ap_start, 1 ap_done, 2 ap_idle, 3 ap_ready
constexpr std::uint32_t in_lo = 0x10, in_hi = 0x14;    // physical address of the input buffer
constexpr std::uint32_t out_lo = 0x1C, out_hi = 0x20;  // physical address of the output buffer
constexpr std::uint32_t do_init = 0x28;       // bit 0: 1 = this run stores `val`, 0 = it computes
constexpr std::uint32_t target_layer = 0x30;  // 2L = weights of layer L, 2L+1 = its thresholds
constexpr std::uint32_t target_mem = 0x38;    // the PE
constexpr std::uint32_t target_ind = 0x40;    // the line within that PE's memory
constexpr std::uint32_t target_thresh = 0x48; // the threshold's index within a line (0 for W1A1)
constexpr std::uint32_t val_lo = 0x50, val_hi = 0x54;  // one 64-bit parameter word
constexpr std::uint32_t num_reps = 0x5C;      // images in this run
}  // namespace reg
constexpr std::uint32_t kApStart = 1, kApDone = 2, kApIdle = 4, kApReady = 8;

// ---- the overlays: fixed topology and folding ----
// One matrix layer of an overlay (convolutions 3x3, stride 1, no padding;
// fully connected). Weight memory of PE p: lines nf*(K/SIMD) + sf for
// nf < N/PE, sf < K/SIMD, each holding in its low SIMD bits the synapses
// sf*SIMD .. of neuron nf*PE + p. Threshold memory of PE p: line nf.
struct OverlayLayer {
  bool conv;              // 3x3 convolution (else fully connected)
  std::uint32_t in, out;  // channels (conv) or values (fc); out includes padding rows
  std::uint32_t dim_in;   // conv: input width = height; fc: 0
  bool pool_after;        // 2x2 max-pool after this layer
  std::uint32_t pe, simd;
  bool thresholds;        // has a threshold memory (every layer but CNV's last)
  std::uint32_t fan_in() const { return conv ? 9 * in : in; }
  std::uint32_t lines() const { return (out / pe) * (fan_in() / simd); }  // weight lines a PE
};

struct Overlay {
  const char* name;          // "cnvW1A1", "lfcW1A1"
  std::uint32_t height, width, channels;
  bool fixed8_input;         // CNV: Q1.7 bytes; LFC: one bit a pixel
  std::size_t in_bytes;      // input bytes an image in the buffer (CNV 3072, LFC 104)
  std::size_t out_bytes;     // output bytes an image (CNV 128: 64 u16 scores; LFC 8: 64 bits)
  const OverlayLayer* layers;
  std::size_t count;
};

// cnvW1A1: 9 layers (PE, SIMD: 16,3 32,32 16,32 16,32 4,32 1,32 1,4 1,8 4,1),
// 136,512 parameter words. lfcW1A1: 4 layers (32,64 64,32 32,64 16,8).
const Overlay& cnv_w1a1();
const Overlay& lfc_w1a1();
// By name ("cnvW1A1", "lfcW1A1"), or nullptr.
const Overlay* find_overlay(const char* name);
// Parameter words the overlay takes (weight lines + threshold lines of every PE).
std::uint64_t parameter_words(const Overlay& o);

// ---- the file-backed emulation (FPGAIO_PYNQ_EMU=PATH) ----
// One file, created by the emulator before it serves and mapped MAP_SHARED
// by both sides:
//   [0, 4096)                     EmuHeader
//   [4096, 4096 + 65536)          the register window (offsets as reg::)
//   [pool_offset, +pool_size)     the DMA pool: physical address
//                                 pool_phys + x is file offset pool_offset + x
constexpr char kEmuMagic[16] = {'F', 'P', 'G', 'A', 'I', 'O', '-', 'P', 'Y', 'N', 'Q', '-', 'E', 'M', 'U', '\0'};
constexpr std::uint32_t kEmuVersion = 1;
constexpr std::uint64_t kEmuHeaderSize = 4096;
constexpr std::uint64_t kEmuRegsOffset = 4096;
constexpr std::uint64_t kEmuPoolOffset = kEmuRegsOffset + kRegisterWindow;
constexpr std::uint64_t kEmuPoolPhys = 0x18000000;        // where the pool "is" (a CMA-like address)
constexpr std::uint64_t kEmuDefaultPool = 64ull << 20;    // 64 MiB unless the emulator says otherwise

enum class EmuState : std::uint32_t { starting = 0, serving = 1, stopped = 2 };

struct EmuHeader {                 // all little-endian; 4096 bytes on disk
  char magic[16];                  // kEmuMagic
  std::uint32_t version;           // kEmuVersion
  std::uint32_t state;             // EmuState; the emulator sets serving last, stopped when it exits
  std::uint64_t regs_offset;       // kEmuRegsOffset
  std::uint64_t regs_size;         // kRegisterWindow
  std::uint64_t regs_phys;         // the window's physical base (kDefaultBase)
  std::uint64_t pool_offset;       // kEmuPoolOffset
  std::uint64_t pool_size;         // bytes
  std::uint64_t pool_phys;         // kEmuPoolPhys
  char overlay[32];                // the "loaded bitstream": "cnvW1A1" or "lfcW1A1", NUL-padded
  std::uint32_t emulator_pid;      // for a driver's message; 0 if unknown
  std::uint32_t runs;              // runs the emulator completed (init and compute), wraps
  std::uint32_t fault;             // 0, or the emulator refused the last run (fault_text says why)
  std::uint32_t reserved0;
  char fault_text[256];            // NUL-terminated one-line reason
};
static_assert(sizeof(EmuHeader) <= kEmuHeaderSize, "the header fits its page");

}  // namespace fpgaio::pynq
