// The driver of the BNN-PYNQ overlay (pynq:0, issue 23): which models fit
// the overlay, the model as the overlay's parameter words, the input and
// output buffers, and the board seen as a register window and DMA memory
// (a Pynq-Z1's /dev/mem or UIO and u-dma-buf, or the file-backed emulation
// of FPGAIO_PYNQ_EMU). The numbers are fpgaio/pynq.hpp's; the contract with
// an emulator is docs/PYNQ-EMULATION.md. bnn/pynq.cpp holds the logic
// (testable without a board), device/pynq_backend.cpp finds and maps boards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fpgaio/bnn.hpp"
#include "fpgaio/device.hpp"
#include "fpgaio/finn.hpp"
#include "fpgaio/pynq.hpp"

namespace fpgaio::pynq {

// ---- the model against the overlay ----

// "" when `model` runs exactly on `overlay`, else one line saying which
// layer differs (or why the overlay cannot run any of our models: lfcW1A1
// thresholds its last layer in hardware, so it gives neither our scores nor
// the first highest class).
std::string why_not_fit(const bnn::Model& model, const Overlay& overlay);

// One parameter word and where it goes (one accelerator run each).
struct ParamWord {
  std::uint32_t layer;  // targetLayer: 2L weights of overlay layer L, 2L+1 its thresholds
  std::uint32_t mem;    // targetMem: the PE
  std::uint32_t ind;    // targetInd: the line
  std::uint64_t val;
};

// The words that load `model` into `overlay`, in BNN-PYNQ's order: layer by
// layer, PE by PE, its weight lines, then its threshold lines. Weights:
// bit j of line nf*(K/SIMD) + sf is synapse sf*SIMD + j of neuron nf*PE + p
// (1 = +1); a 1-channel fixed8 model's synapses of channels 1 and 2 are 0
// bits (those channels are fed 0); padding rows are 0 words. Thresholds:
// layer 0 as a signed count of 1/256ths (2T: T < 2*acc is acc > T), the
// others as T (T < acc), each first clamped to the accumulator's range plus
// one, which changes no comparison and keeps them in the overlay's widths.
// Throws Error(usage) with why_not_fit() when the model does not fit.
std::vector<ParamWord> parameter_words(const bnn::Model& model, const Overlay& overlay);

// The overlay's input for one image of a model's `input` shape (HWC pixels):
// overlay.in_bytes bytes of Q1.7 values of -1 + 2p/255 (rounded, saturated:
// the CPU engine's), byte (y*W + x)*3 + c; a 1-channel model's pixel is
// channel 0, channels 1 and 2 are 0.
void convert_input(const bnn::Shape& input, const Overlay& overlay, const std::uint8_t* pixels, std::uint8_t* out);

// ---- the board ----

// What the driver needs of a board: its register window and its DMA memory.
// One per device and process, shared by the ports (one accelerator).
class Board {
 public:
  virtual ~Board() = default;
  virtual const std::string& name() const = 0;  // "pynq:0"
  // The bitstream loaded ("cnvW1A1"): the emulator's header; on a board
  // FPGAIO_PYNQ_OVERLAY, else cnvW1A1.
  virtual const Overlay& overlay() const = 0;
  virtual std::uint32_t read(std::uint32_t reg) const = 0;
  virtual void write(std::uint32_t reg, std::uint32_t v) = 0;
  // Stores control = ap_start after every write before it (and the DMA
  // buffers) is visible to the accelerator.
  virtual void start() = 0;
  // Waits until ap_done or the deadline (steady clock, ns since its epoch);
  // true when done. Never blocks past the deadline by more than ~1 ms.
  virtual bool wait_done(std::int64_t deadline_ns) = 0;
  // DMA memory: `size` bytes at `data`, physical address `phys`.
  virtual std::uint8_t* dma() = 0;
  virtual std::uint64_t dma_phys() const = 0;
  virtual std::uint64_t dma_size() const = 0;
  // Why a run was not done, where the board can say more than "not done"
  // (the emulator stopped, or refused the run: its fault text), else "".
  virtual std::string why_not_done() const { return ""; }
  // A run was done: "" when that is consistent (the emulator counted it),
  // else why not.
  virtual std::string check_done() { return ""; }
  // Said once when the board is opened (emulation: the file).
  virtual std::string describe() const = 0;
};

// Opens the board of device `device` (device/pynq_backend.cpp): the
// emulation file of FPGAIO_PYNQ_EMU, else the Zynq's register window (UIO
// or /dev/mem at the base address) and u-dma-buf memory. Throws
// Error(device) naming the device and what is missing.
std::unique_ptr<Board> open_board(const Device& device);
// The overlay loaded on `device`, read without writing anything (the fit
// check comes before the lock and before any write).
const Overlay& loaded_overlay(const Device& device);

// Throws Error(usage) "pynq:0: ..." when `model` does not fit the overlay
// loaded on `device`; reads, never writes.
void check_fit(const bnn::Model& model, const Device& device);

// ---- running ----

// The bound on one run: FPGAIO_PYNQ_TIMEOUT_MS when set (tests), else
// 10 s + 50 ms an image (BNN-PYNQ's board takes 0.11 ms an image; the
// emulator computes on the CPU of a loaded test machine).
std::int64_t run_bound_ns(std::uint32_t num_reps);

// The two ports of the overlay (two input/output buffer pairs in the DMA
// memory, one accelerator: while one port's batch runs, the other's input is
// converted and its output read back), and the parameter load.
struct PynqOpened {
  std::vector<std::unique_ptr<bnn::FinnPort>> ports;
  std::uint64_t parameter_words = 0;  // written now (0: already there)
  double parameter_seconds = 0;
};
constexpr unsigned kPynqPorts = 2;
// Opens `device` (its Board, once per process) for `model`: checks the fit,
// probes that the accelerator answers at the base (a register written reads
// back), writes the model's parameter words unless this process already
// loaded this model into it, and makes ports of at most `batch` images (as
// many as the DMA memory holds). Throws Error(usage) for a model that does
// not fit, before anything is written; Error(device) naming the device for
// a board that fails.
PynqOpened open_pynq_ports(const Device& device, const bnn::Model& model, std::size_t batch);
// The same on a given board (tests: a fake board).
PynqOpened open_pynq_ports(std::shared_ptr<Board> board, const bnn::Model& model, std::size_t batch);

}  // namespace fpgaio::pynq
