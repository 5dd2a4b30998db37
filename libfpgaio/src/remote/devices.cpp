// The server's devices as job slots: which devices (--device, or what
// fpga-gzip would pick), their locks and opened units, and the leases.
#include "fpgaio/remote_devices.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <exception>
#include <thread>

#include "fpgaio/error.hpp"
#include "fpgaio/pipeline.hpp"

namespace fpgaio::remote {

struct DevicePool::Slot {
  std::size_t dev = 0;  // index into devices_
  bool busy = false;
  std::map<std::string, std::shared_ptr<void>> state;

  // The slot's thread, started by its first job; only the lease holder
  // hands it work, so there is at most one job at a time.
  std::mutex m;
  std::condition_variable cv;
  std::thread thread;
  const std::function<void()>* job = nullptr;
  std::exception_ptr error;
  bool stop = false;

  void run(const std::function<void()>& fn) {
    std::unique_lock<std::mutex> lk(m);
    if (!thread.joinable()) thread = std::thread([this] { loop(); });
    job = &fn;
    error = nullptr;
    cv.notify_all();
    cv.wait(lk, [this] { return job == nullptr; });
    if (error) std::rethrow_exception(error);
  }
  void loop() {
    std::unique_lock<std::mutex> lk(m);
    for (;;) {
      cv.wait(lk, [this] { return job != nullptr || stop; });
      if (!job) return;
      lk.unlock();
      std::exception_ptr e;
      try {
        (*job)();
      } catch (...) {
        e = std::current_exception();
      }
      lk.lock();
      error = e;
      job = nullptr;
      cv.notify_all();
    }
  }
  ~Slot() {
    {
      std::lock_guard<std::mutex> lk(m);
      stop = true;
    }
    cv.notify_all();
    if (thread.joinable()) thread.join();
  }
};

struct DevicePool::Held {
  std::vector<std::unique_ptr<DeviceLock>> locks;
};

namespace {

struct CardUnits {
  std::vector<std::unique_ptr<DeflateUnit>> units;
  std::unique_ptr<UnitPool> pool;  // destroyed before the units
};

std::unique_ptr<CardUnits> open_card_units(const Device& d) {
  auto c = std::make_unique<CardUnits>();
  c->units = open_deflate_units(d, 0);
  if (c->units.empty()) throw Error(ErrorKind::device, d.name + ": no compute units");
  std::vector<DeflateUnit*> raw;
  for (auto& u : c->units) raw.push_back(u.get());
  c->pool = std::make_unique<UnitPool>(raw);
  return c;
}

bool runs_kernel(const Device& d, const std::string& kernel) {
  return kernel.empty() || std::find(d.kernels.begin(), d.kernels.end(), kernel) != d.kernels.end();
}

}  // namespace

DevicePool::DevicePool(const std::string& spec_in, unsigned cpu_slots, std::vector<std::string>* warnings)
    : held_(std::make_unique<Held>()) {
  std::string spec = spec_in, origin = "--device";
  if (spec.empty()) {
    const char* e = std::getenv("FPGA_DEVICE");
    if (e && *e) {
      spec = e;
      origin = "FPGA_DEVICE";
    }
  }
  auto warn = [&](const std::string& w) {
    if (warnings) warnings->push_back(w);
  };
  // Adds a device: its status, its slots, and for a card its lock and units.
  // `named`: wait for the lock and let any failure through.
  auto add = [&](const Device& d, bool named) {
    DeviceStatus st;
    st.device = d;
    st.slots = d.kind == DeviceKind::cpu ? (cpu_slots ? cpu_slots : std::max(1u, d.slots)) : 1;
    std::shared_ptr<void> units;
    if (d.kind != DeviceKind::cpu) {
      try {
        auto lock = DeviceLock::acquire(d, named);
        if (!lock) {
          warn(d.name + ": busy (another process holds the card): not used");
          return;
        }
        if (runs_kernel(d, "deflate")) {
          auto u = open_card_units(d);
          units = std::shared_ptr<void>(u.release(), [](void* v) { delete static_cast<CardUnits*>(v); });
        }
        held_->locks.push_back(std::move(lock));
      } catch (const Error& e) {
        if (named) throw;
        warn(std::string(e.what()) + "; not used");
        st.in_service = false;
        st.problem = e.what();
        st.slots = 0;
      }
    }
    std::size_t idx = devices_.size();
    devices_.push_back(st);
    for (unsigned i = 0; i < st.slots; ++i) {
      auto s = std::make_unique<Slot>();
      s->dev = idx;
      if (units) s->state["deflate"] = units;
      slots_.push_back(std::move(s));
    }
  };
  if (spec.empty()) {
    // What fpga-gzip picks by itself: the cards that are free and work, then
    // the CPU.
    for (const auto& d : list_devices()) add(d, false);
  } else {
    std::vector<std::string> seen;
    for (const auto& name : split_device_list(spec)) {
      if (name.empty())
        throw Error(ErrorKind::usage, origin + ": '" + spec + "': an empty device name");
      if (name.find_first_not_of("0123456789") == std::string::npos)
        throw Error(ErrorKind::usage, origin + ": '" + spec + "': '" + name +
                                          "' is a job slot; a server's devices are named (job slots do not "
                                          "pick devices on a server)");
      if (std::find(seen.begin(), seen.end(), name) != seen.end())
        throw Error(ErrorKind::usage, origin + ": '" + spec + "' names '" + name + "' twice");
      seen.push_back(name);
      add(select_device(name, ""), true);
    }
  }
  // Cards before the CPU, whatever the list's order: a free card takes a job
  // first.
  std::stable_partition(slots_.begin(), slots_.end(),
                        [&](const std::unique_ptr<Slot>& s) { return devices_[s->dev].device.kind != DeviceKind::cpu; });
  bool has_cpu = std::any_of(devices_.begin(), devices_.end(),
                             [](const DeviceStatus& d) { return d.device.kind == DeviceKind::cpu; });
  if (cpu_slots && !has_cpu)
    throw Error(ErrorKind::usage, "--slots sets the CPU's job slots, and the device list has no cpu");
}

DevicePool::~DevicePool() {
  slots_.clear();  // the cards' units, before their locks
  held_.reset();
}

DevicePool::Lease::~Lease() {
  if (pool_) pool_->release(slot_);
}

DevicePool::Lease& DevicePool::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    if (pool_) pool_->release(slot_);
    pool_ = o.pool_;
    slot_ = o.slot_;
    o.pool_ = nullptr;
  }
  return *this;
}

const Device& DevicePool::Lease::device() const { return pool_->devices_[slot_->dev].device; }

std::shared_ptr<void>& DevicePool::Lease::state_slot(const std::string& key) { return slot_->state[key]; }

void DevicePool::Lease::fail(const std::string& why) {
  {
    std::lock_guard<std::mutex> lk(pool_->mu_);
    auto& d = pool_->devices_[slot_->dev];
    d.errors++;
    if (d.in_service) {
      d.in_service = false;
      d.problem = why;
    }
  }
  pool_->cv_.notify_all();  // waiters for this device look elsewhere
}

void DevicePool::Lease::run(const std::function<void()>& job) { slot_->run(job); }

void DevicePool::Lease::count_redone() {
  std::lock_guard<std::mutex> lk(pool_->mu_);
  pool_->devices_[slot_->dev].redone++;
}

void DevicePool::release(Slot* s) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    s->busy = false;
    devices_[s->dev].busy--;
  }
  cv_.notify_all();
}

bool DevicePool::runs(const std::string& kernel, bool cpu_only) const {
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& d : devices_)
    if (d.in_service && d.slots && runs_kernel(d.device, kernel) && (!cpu_only || d.device.kind == DeviceKind::cpu))
      return true;
  return false;
}

std::optional<DevicePool::Lease> DevicePool::acquire(const std::string& kernel, unsigned max_waiting, bool cpu_only) {
  auto usable = [&](const DeviceStatus& d) {
    return d.in_service && runs_kernel(d.device, kernel) && (!cpu_only || d.device.kind == DeviceKind::cpu);
  };
  // Called with mu_ held.
  auto none = [&]() {
    std::string what = cpu_only ? "no CPU of this server" : "no device of this server";
    std::string list;
    for (const auto& d : devices_)
      list += (list.empty() ? "" : "; ") + d.device.name + (d.in_service ? "" : " is out of service: " + d.problem);
    return Error(ErrorKind::device, what + " in service runs '" + kernel + "' (its devices: " + list + ")");
  };
  std::unique_lock<std::mutex> lk(mu_);
  auto any = [&] {
    return std::any_of(devices_.begin(), devices_.end(), [&](const DeviceStatus& d) { return usable(d) && d.slots; });
  };
  auto find_free = [&]() -> Slot* {
    for (auto& s : slots_)
      if (!s->busy && usable(devices_[s->dev])) return s.get();
    return nullptr;
  };
  if (!any()) throw none();
  Slot* s = find_free();
  if (!s) {
    if (waiting_ >= max_waiting) return std::nullopt;
    ++waiting_;
    cv_.wait(lk, [&] {
      s = find_free();
      return s || !any();
    });
    --waiting_;
    if (!s) throw none();
  }
  s->busy = true;
  auto& d = devices_[s->dev];
  d.busy++;
  d.busy_max = std::max(d.busy_max, d.busy);
  d.jobs++;
  return Lease(this, s);
}

std::vector<DeviceStatus> DevicePool::status() const {
  std::lock_guard<std::mutex> lk(mu_);
  return devices_;
}

unsigned DevicePool::slots() const {
  std::lock_guard<std::mutex> lk(mu_);
  unsigned n = 0;
  for (const auto& d : devices_)
    if (d.in_service) n += d.slots;
  return n;
}

unsigned DevicePool::busy() const {
  std::lock_guard<std::mutex> lk(mu_);
  unsigned n = 0;
  for (const auto& d : devices_) n += d.busy;
  return n;
}

unsigned DevicePool::waiting() const {
  std::lock_guard<std::mutex> lk(mu_);
  return waiting_;
}

std::string DevicePool::names() const {
  // Called with or without mu_ held: reads only the names, fixed at construction.
  std::string s;
  for (const auto& d : devices_) s += (s.empty() ? "" : ", ") + d.device.name;
  return s;
}

UnitPool& card_deflate_units(DevicePool::Lease& lease) {
  const Device& d = lease.device();
  if (d.kind == DeviceKind::cpu) throw Error(ErrorKind::usage, "the CPU has no deflate units");
  return *lease.state<CardUnits>("deflate", [&] { return open_card_units(d); }).pool;
}

}  // namespace fpgaio::remote
