// Deflate units: the compute units that compress gzip blocks (the gzip code
// calls a DeflateUnit without knowing where it runs), the host driver of the
// xilGzipCompBlock kernel interface that cards (XRT) and the C-simulated
// kernel (csim) share, the pool that hands units to threads, and a device
// opened for compression. src/device/deflate_units.cpp, but for the opening
// (open_deflate_units, open_deflate_device: src/device/selection.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fpgaio/device.hpp"
#include "fpgaio/device_lock.hpp"

namespace fpgaio {

// What a unit made of one block: a complete raw deflate stream (its last
// block final) of `size` bytes, and the CRC-32 of the block's data.
struct DeflateBlock {
  std::size_t size = 0;
  std::uint32_t crc = 0;
};

// One compute unit. Not thread-safe: one block at a time (UnitPool hands
// units to threads).
class DeflateUnit {
 public:
  virtual ~DeflateUnit() = default;
  virtual const std::string& name() const = 0;  // "cpu", "csim:0/cu2", "xrt:0/cu1"
  // Output capacity deflate() needs for n input bytes.
  virtual std::size_t bound(std::size_t n) const = 0;
  // Throws Error(device) naming the unit when the unit fails or returns
  // something that cannot be right.
  virtual DeflateBlock deflate(const std::uint8_t* data, std::size_t n, std::uint8_t* out, std::size_t cap) = 0;
};

// One call of `xilGzipCompBlock(in, out, compressd_size, checksumData,
// input_size, checksumType=true)` on a compute unit: the part that differs
// between a card and the C simulation.
class GzipKernelPort {
 public:
  virtual ~GzipKernelPort() = default;
  virtual const std::string& name() const = 0;
  // Bytes past the input that the kernel may read (the driver pads them).
  virtual std::size_t input_padding() const = 0;
  // Output buffer the kernel needs for n input bytes.
  virtual std::size_t output_capacity(std::size_t n) const = 0;
  // Runs the kernel on in[0, n) (in[n, n + input_padding()) readable) into
  // out[0, out_cap). `checksum` holds the CRC register before the run and the
  // kernel's CRC-32 after it; `compressed_size` what the kernel reported.
  virtual void run(const std::uint8_t* in, std::uint32_t n, std::uint8_t* out, std::size_t out_cap,
                   std::uint32_t& compressed_size, std::uint32_t& checksum) = 0;
};

// The driver: pads the input, starts the CRC register at ~0, runs the port,
// trusts nothing it returns (the size is checked against the buffer, the
// CRC-32 against the host's), appends the empty final stored block the
// kernel leaves to the host (01 00 00 FF FF), and stores a block the kernel
// made bigger than stored blocks would be.
std::unique_ptr<DeflateUnit> make_gzip_kernel_unit(std::unique_ptr<GzipKernelPort> port);

// Raw deflate of n bytes as stored blocks (the last one final): its size, and
// the writer. out needs stored_deflate_size(n) bytes.
std::size_t stored_deflate_size(std::size_t n);
std::size_t write_stored_deflate(const std::uint8_t* data, std::size_t n, std::uint8_t* out);

// The units of an accelerator device, one per compute unit (its backend's
// DeviceBackend::open_deflate_units); empty for the CPU device (whose engines
// the gzip code runs itself, per level). For csim, `threads` host threads (0:
// the online cores). Throws Error(device) when the device cannot be opened.
std::vector<std::unique_ptr<DeflateUnit>> open_deflate_units(const Device& device, unsigned threads);

// The device a compressing tool runs on, opened.
struct OpenedDevice {
  Device device;                                    // what runs: a card, csim, or the CPU
  std::vector<std::unique_ptr<DeflateUnit>> units;  // empty for the CPU
  std::vector<std::unique_ptr<DeviceLock>> locks;   // the cards', held while units run
  // CPU threads that take blocks beside the units, from one queue (0: the
  // units alone, or the CPU alone when there are no units).
  unsigned cpu_threads = 0;
  // Named (--device, FPGA_DEVICE): the card is waited for when busy and
  // every failure is an error. Not named: cards that failed were passed over
  // (warnings) and a card failing later falls back to the CPU too.
  bool explicit_choice = false;
  std::vector<std::string> warnings;
};

// Picks the device (select_device(spec, "deflate")) and opens it. Not
// named, a card that is busy or fails gives way to the next free card, then
// to the CPU; a card found is fed together with `threads` CPU threads (0:
// the online cores), unless the device came from a GNU parallel job slot.
// `spec` may list devices by name, "xrt:0,xrt:1,cpu": all are opened (as
// named) and fed from one queue. Throws Error(device) only for a named
// device.
OpenedDevice open_deflate_device(const std::string& spec, unsigned threads);

// Hands units to threads: acquire() blocks until one is free.
class UnitPool {
 public:
  explicit UnitPool(std::vector<DeflateUnit*> units);
  ~UnitPool();
  UnitPool(const UnitPool&) = delete;
  UnitPool& operator=(const UnitPool&) = delete;
  std::size_t size() const;
  DeflateUnit& acquire();
  // A free unit, or nullptr when all are busy (never waits).
  DeflateUnit* try_acquire();
  void release(DeflateUnit& u);
  // After a unit failed, when the caller falls back to the CPU: true for the
  // first call only (so one warning is printed); failed() stays true.
  bool mark_failed();
  bool failed() const;

 private:
  struct State;
  std::unique_ptr<State> st_;
};

}  // namespace fpgaio
