// The devices a server runs jobs on (`fpga-remote serve --device LIST`): one
// job slot per card, one per CPU core, leased to one job at a time, with the
// state a device keeps between jobs (a card's opened units) and per-device
// counts for /v1/devices and /metrics.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fpgaio/deflate_units.hpp"
#include "fpgaio/device.hpp"

namespace fpgaio::remote {

// One device of the pool as /v1/devices and /metrics show it.
struct DeviceStatus {
  Device device;
  unsigned slots = 0;         // jobs at once: a card 1, the CPU its cores (or --slots)
  unsigned busy = 0;          // leased now
  unsigned busy_max = 0;      // most leased at once since the pool was made
  std::uint64_t jobs = 0;     // leases taken
  std::uint64_t errors = 0;   // jobs the device failed (Error(device))
  std::uint64_t redone = 0;   // of those, jobs run again on the CPU
  bool in_service = true;
  std::string problem;        // why it is out of service
};

class DevicePool {
  struct Slot;

 public:
  // `spec`: a comma-separated list of device names ("xrt:0,xrt:1,cpu",
  // "csim:0"), as fpga-gzip's --device; empty: FPGA_DEVICE, else every card
  // that is free and opens (a busy one is passed over silently, a failing
  // one with a warning and listed out of service), then the CPU. Named
  // cards are waited for (their lock across processes) and any failure is an
  // Error(device). Cards are locked and their deflate units opened here, and
  // held until the pool is destroyed. `cpu_slots`: the CPU's slots (0: its
  // online cores). `warnings` gets what was passed over.
  DevicePool(const std::string& spec, unsigned cpu_slots, std::vector<std::string>* warnings = nullptr);
  ~DevicePool();
  DevicePool(const DevicePool&) = delete;
  DevicePool& operator=(const DevicePool&) = delete;

  // One slot of one device, held by one job until destroyed.
  class Lease {
   public:
    Lease(Lease&& o) noexcept : pool_(o.pool_), slot_(o.slot_) { o.pool_ = nullptr; }
    Lease& operator=(Lease&& o) noexcept;
    ~Lease();
    const Device& device() const;
    bool is_cpu() const { return device().kind == DeviceKind::cpu; }
    // State that stays with this slot from job to job (a card's opened
    // compute units, a model's ports), made by `make` the first time. Only
    // the lease holder touches it, so it needs no lock of its own.
    template <class T>
    T& state(const std::string& key, const std::function<std::unique_ptr<T>()>& make) {
      auto& p = state_slot(key);
      if (!p) p = std::shared_ptr<void>(make().release(), [](void* v) { delete static_cast<T*>(v); });
      return *static_cast<T*>(p.get());
    }
    // The device failed this job: counted, and the device leaves service
    // (no more leases; /v1/devices says why).
    void fail(const std::string& why);
    // The job is being run again on the CPU after this device failed it.
    void count_redone();
    // Runs `job` on this slot's own thread, one that stays with the slot for
    // the pool's life, and waits for it; what it throws is thrown here. A
    // slot's jobs then keep one thread (its compressor's thread-local state
    // and the core's caches), whichever connection brought them.
    void run(const std::function<void()>& job);

   private:
    friend class DevicePool;
    Lease(DevicePool* p, Slot* s) : pool_(p), slot_(s) {}
    std::shared_ptr<void>& state_slot(const std::string& key);
    DevicePool* pool_;
    Slot* slot_;
  };

  // A free slot of a device in service that runs `kernel`, cards before the
  // CPU (`cpu_only`: the CPU's). Waits while every such slot is busy, unless
  // `max_waiting` jobs already wait: then nullopt (the caller answers 503).
  // Throws Error(device) when no device in service runs `kernel`.
  std::optional<Lease> acquire(const std::string& kernel, unsigned max_waiting, bool cpu_only = false);
  // True when a device in service runs `kernel` (`cpu_only`: the CPU).
  bool runs(const std::string& kernel, bool cpu_only = false) const;
  std::vector<DeviceStatus> status() const;
  unsigned slots() const;    // slots in service
  unsigned busy() const;     // leased now
  unsigned waiting() const;  // jobs waiting in acquire()
  std::string names() const; // "csim:0, cpu"

 private:
  void release(Slot* s);
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<DeviceStatus> devices_;  // one per device, in order (cards first)
  unsigned waiting_ = 0;
  struct Held;
  std::unique_ptr<Held> held_;  // card locks, released last
};

// The deflate units of the leased card (or csim) behind one UnitPool, kept
// in the slot's state (key "deflate"; the pool opens them at start, so this
// opens them only if that was skipped). Not for the CPU.
UnitPool& card_deflate_units(DevicePool::Lease& lease);

}  // namespace fpgaio::remote
