// One job per card across processes: the per-card file lock
// (src/device/device_lock.cpp).
#pragma once

#include <memory>
#include <string>

#include "fpgaio/device.hpp"

namespace fpgaio {

// An flock() on LOCKDIR/fpga-tools-KEY.lock, KEY being the device's
// lock_key and LOCKDIR FPGA_LOCK_DIR, else /run/lock, else $XDG_RUNTIME_DIR,
// else /tmp. Released when destroyed or when the process ends, however it
// ends.
class DeviceLock {
 public:
  DeviceLock() = default;
  ~DeviceLock();
  DeviceLock(const DeviceLock&) = delete;
  DeviceLock& operator=(const DeviceLock&) = delete;
  // A device without a lock key (CPU, csim) gets an empty lock. Null when
  // the card is busy and !wait.
  static std::unique_ptr<DeviceLock> acquire(const Device& device, bool wait);
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace fpgaio
