// The emulated Pynq-Z1 board with a BNN-PYNQ overlay loaded (issue 23,
// `fpga-infer pynq-emu`): serves the file of docs/PYNQ-EMULATION.md as
// BlackBoxJam would, keeping its weight and threshold memories as the
// driver's parameter runs fill them and computing from those memories only,
// with the CPU engine. Faults on request, for the tests of drivers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "fpgaio/pynq.hpp"

namespace fpgaio::pynq {

// Wrong answers on purpose. Runs and words count from 1; 0 = off.
struct EmuFaults {
  std::uint64_t lost_done = 0;     // compute run N writes its outputs but never sets ap_done
  std::uint64_t wrong_score = 0;   // image K of every compute run: one impossible score (CNV), all bits (LFC)
  std::uint64_t short_output = 0;  // compute run N leaves its last image unwritten, then sets ap_done
  std::uint64_t flip_bit = 0;      // parameter word N is stored with its highest kept bit flipped
  std::uint64_t refuse = 0;        // compute run N is refused (fault set, never ap_done)
  bool any() const { return lost_done || wrong_score || short_output || flip_bit || refuse; }
};

// Adds one fault, "lost-done=N", "wrong-score=K", "short-output=N",
// "flip-bit=N" or "refuse=N", to `f`; throws Error(usage) naming the
// problem for anything else (or the same fault twice).
void parse_emu_fault(const std::string& spec, EmuFaults& f);
// "lost-done=3, flip-bit=7" (empty when none).
std::string describe(const EmuFaults& f);

struct EmuOptions {
  const Overlay* overlay = nullptr;  // nullptr: cnvW1A1
  std::uint64_t pool_size = kEmuDefaultPool;
  bool force = false;                // replace a file that is not an emulator's
  unsigned threads = 0;              // compute threads over a batch; 0: the CPU's
  EmuFaults faults;
};

// What the emulator did, for its messages and the tests.
struct EmuStats {
  std::uint64_t words = 0;     // parameter words stored
  std::uint64_t batches = 0;   // compute runs done (ap_done set)
  std::uint64_t images = 0;    // images in them
  std::uint64_t refused = 0;   // runs refused (fault set)
  std::uint64_t rebuilds = 0;  // networks built from the memories
};

class Emulator {
 public:
  // Creates the file (or resizes an emulator's file from before; another
  // file only with `force`; never a non-regular file or a symbolic link),
  // holds an exclusive flock on it while it lives, writes the header with
  // state starting, zeroes the register window and the pool, and sets state
  // serving last. Throws Error naming `path`.
  Emulator(const std::string& path, const EmuOptions& o);
  // Sets state stopped (if serve() did not), unmaps and closes.
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Serves runs until stop(); then sets state stopped. Throws Error if the
  // file cannot be served any more (state stopped first).
  void serve();
  // Asks serve() to return after the run in progress. Async-signal-safe.
  void stop();

  const std::string& path() const { return path_; }
  const Overlay& overlay() const;
  std::uint64_t pool_size() const;
  EmuStats stats() const;

 private:
  struct Impl;
  std::string path_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fpgaio::pynq
