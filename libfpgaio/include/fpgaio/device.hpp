// Compute devices: what they are, the backends that find them, which exist,
// and choosing one (src/device/selection.cpp).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fpgaio {

class DeflateUnit;     // deflate_units.hpp
class DeviceBackend;

enum class DeviceKind { cpu, xrt, csim, pynq };

struct Device {
  std::string name;                  // "cpu", "xrt:0", ...
  DeviceKind kind = DeviceKind::cpu;
  unsigned index = 0;                // position in list_devices()
  unsigned slots = 1;                // jobs it runs at once (CPU: online cores)
  std::string description;           // for --list-devices
  std::vector<std::string> kernels;  // what it can run: "deflate", "inflate", "bnn"
  std::string lock_key;              // cards: the name of its lock (one job per card), else ""
  const DeviceBackend* backend = nullptr;  // what found it (set by the selection); opens its units
};

// A source of devices: one file under src/device/ (cpu_backend.cpp,
// csim_backend.cpp, xrt_backend.cpp), entered in the backend table
// (src/device/backends.cpp). The selection policy asks every backend of the
// table in order, and the CPU's last; only what differs between backends is
// here, each with a default for backends that do not have it.
class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;
  // The prefix of its device names: "xrt" for "xrt:0".
  virtual const char* name() const = 0;
  // The devices it lists (and gives job slots), in its order.
  virtual std::vector<Device> discover() const = 0;
  // A device chosen by name only, never listed nor picked by a job slot
  // ("csim:3"), else nullopt.
  virtual std::optional<Device> find_unlisted(const std::string& name) const;
  // Those devices' entries for --list-devices.
  virtual std::vector<Device> unlisted() const;
  // Why a name with its prefix finds no device, for that error ("XRT:
  // XILINX_XRT is not set"), or "".
  virtual std::string why_none() const;
  // The compute units that compress on `device` (one of its own), empty when
  // the CPU engines compress for it; `threads` host threads where units are
  // threads (0: the online cores). Throws Error(device).
  virtual std::vector<std::unique_ptr<DeflateUnit>> open_deflate_units(const Device& device, unsigned threads) const;
};

// All devices: accelerators first (in backend order), the CPU last.
std::vector<Device> list_devices();

// A --device list ("xrt:0,xrt:1,cpu") cut at its commas; empty names kept
// (the caller refuses them with its own words).
std::vector<std::string> split_device_list(const std::string& s);

// The job slots for `kernel`, counted from 1 like GNU parallel's {%}: each
// device that can run it, repeated as many times as it runs jobs at once
// (one per card, one per CPU core), accelerators first.
std::vector<Device> job_slots(const std::string& kernel);

// Inside a Slurm job step (SLURM_JOB_ID and SLURM_LOCALID set), the job slot
// of the task's rank on its node: SLURM_LOCALID + 1; else 0.
unsigned slurm_job_slot();

// Picks a device by name ("cpu", "xrt:0") or by job slot number ("1", "2":
// slot N is job_slots()[(N-1) mod count], so `parallel --device {%}` gives
// each device one job at a time). When `spec` is empty it comes from
// FPGA_DEVICE, else from PARALLEL_JOBSLOT (set by GNU parallel), else from
// slurm_job_slot() (a Slurm task's rank on its node), else the first device
// that can run `kernel`. PARALLEL_JOBSLOT before Slurm's rank: GNU parallel
// inside an allocation runs each job as its own one-task step, where every
// SLURM_LOCALID is 0 and only parallel's slot tells the jobs apart. Throws Error(device) for a device that
// does not exist or cannot run `kernel`. A name that is no device gets an
// error listing the names accepted: every listed device, and those by name
// only (named_only_devices) that can run `kernel`.
Device select_device(const std::string& spec, const std::string& kernel);

// The device that decompresses: select_device(spec, "inflate"), except that
// a list (compression's shared queue, given or in FPGA_DEVICE) that names
// cpu means the CPU, so that one setting serves both directions.
Device select_inflate_device(const std::string& spec);

// Devices that exist only when asked for by name, never listed nor picked by
// a job slot: "csim:N", the kernel of kernels/gzip C-simulated on host threads
// (like XRT's sw_emu, without Vitis). Their entries for --list-devices.
std::vector<Device> named_only_devices();

// Adds a backend at run time, after the table's accelerators and before the
// CPU (tests add a fake card this way).
void register_device_backend(const DeviceBackend* backend);

// Why no XRT card is listed, or "" when XRT answered with cards: "XILINX_XRT
// is not set", the plugin's load error, XRT's own error, "XRT sees no card".
std::string xrt_unavailable_reason();

// True once XRT's library was loaded into this process. XRT 2.13 can hang in
// its static destructors at exit (a lost wake-up in its command monitor):
// tools then end with _Exit after flushing, skipping them.
bool xrt_runtime_loaded();

// The xclbin to load on cards (--xclbin). Empty: FPGA_XCLBIN, else the first
// *.xclbin holding xilGzipCompBlock in share/fpga-tools/xclbin/PLATFORM/
// (beside the program, then under the installation's data directory).
// Call before list_devices(): discovery reads it once.
void set_xclbin(const std::string& path);

// What cards are for in this process: "deflate" (the default; fpga-gzip) or
// "bnn" (fpga-infer: a FINN accelerator with idma0 and odma0, from the
// xclbin named with set_xclbin or FPGA_XCLBIN; FINN builds are per model, so
// there is no search path). Call before list_devices().
void set_xclbin_kernel(const std::string& kernel);

}  // namespace fpgaio
