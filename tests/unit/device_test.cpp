// Unit tests of the device layer: the CPU device, selection, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "fpgaio/deflate_units.hpp"
#include "fpgaio/device.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/pipeline.hpp"

using namespace fpgaio;

namespace {
// The variables that choose a device or a thread count: none inherited from
// the caller (a test run inside a Slurm step or under GNU parallel).
void unset_choice_env() {
  for (const char* v : {"FPGA_DEVICE", "PARALLEL_JOBSLOT", "SLURM_JOB_ID", "SLURM_LOCALID", "SLURM_CPUS_PER_TASK"})
    ::unsetenv(v);
}
struct EnvGuard {
  EnvGuard(const char* v) {
    unset_choice_env();
    if (v) ::setenv("FPGA_DEVICE", v, 1);
  }
  ~EnvGuard() { unset_choice_env(); }
};

class FakeBackend : public DeviceBackend {
 public:
  const char* name() const override { return "fake"; }
  std::vector<Device> discover() const override {
    Device d;
    d.name = "fake:0";
    d.kind = DeviceKind::xrt;
    d.kernels = {"bnn"};
    return {d};
  }
};
}  // namespace

TEST(Devices, CpuIsAlwaysListedWithItsCores) {
  auto ds = list_devices();
  ASSERT_FALSE(ds.empty());
  EXPECT_EQ(ds.back().name, "cpu");
  EXPECT_GE(ds.back().slots, 1u);
  for (unsigned i = 0; i < ds.size(); ++i) EXPECT_EQ(ds[i].index, i);
}

TEST(Devices, SelectByNameSlotAndEnvironment) {
  EnvGuard g(nullptr);
  EXPECT_EQ(select_device("cpu", "deflate").name, "cpu");
  EXPECT_EQ(select_device("1", "deflate").name, "cpu");
  EXPECT_EQ(select_device("", "deflate").name, "cpu");
  EnvGuard e("cpu");
  EXPECT_EQ(select_device("", "inflate").name, "cpu");
}

TEST(Devices, JobSlotsGiveEachDeviceItsShareAndWrap) {
  EnvGuard g(nullptr);
  auto slots = job_slots("deflate");
  ASSERT_FALSE(slots.empty());
  unsigned cpu_slots = list_devices().back().slots;
  EXPECT_EQ(std::count_if(slots.begin(), slots.end(), [](const Device& d) { return d.name == "cpu"; }),
            static_cast<long>(cpu_slots));
  // Slot N+count is slot N again: more parallel jobs than slots share devices.
  for (unsigned n = 1; n <= slots.size(); ++n)
    EXPECT_EQ(select_device(std::to_string(n + slots.size()), "deflate").name, slots[n - 1].name);
  ::setenv("PARALLEL_JOBSLOT", "1", 1);
  EXPECT_EQ(select_device("", "deflate").name, slots[0].name);
  try {
    select_device("0", "deflate");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("count from 1"), std::string::npos);
  }
}

TEST(Devices, UnknownDeviceIsADeviceErrorListingWhatExists) {
  EnvGuard g(nullptr);
  for (const char* bad : {"xrt:7", "gpu", "cpu0"}) {
    try {
      select_device(bad, "deflate");
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::device);
      EXPECT_NE(std::string(e.what()).find("no device"), std::string::npos);
      EXPECT_NE(std::string(e.what()).find("cpu"), std::string::npos);
    }
  }
  EnvGuard e("nonesuch");
  try {
    select_device("", "deflate");
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("FPGA_DEVICE"), std::string::npos);
  }
}

TEST(Devices, BackendsComeFirstAndKernelsAreChecked) {
  EnvGuard g(nullptr);
  static FakeBackend fake;
  register_device_backend(&fake);
  auto ds = list_devices();
  ASSERT_GE(ds.size(), 2u);
  EXPECT_EQ(ds[0].name, "fake:0");
  EXPECT_EQ(ds[0].index, 0u);
  EXPECT_EQ(select_device("", "deflate").name, "cpu");  // the first that can
  EXPECT_EQ(select_device("1", "bnn").name, "fake:0");
  EXPECT_EQ(select_device("2", "bnn").name, "cpu");
  EXPECT_EQ(select_device("1", "deflate").name, "cpu");  // slots only of devices that can
  EXPECT_THROW(select_device("fake:0", "deflate"), Error);
}

// Two cards that alone run the kernel "slurm-test", so that a job slot's
// card is seen (registered once: the test may run with the others in one
// process).
class TwoCards : public DeviceBackend {
 public:
  const char* name() const override { return "twocards"; }
  std::vector<Device> discover() const override {
    std::vector<Device> ds(2);
    for (unsigned i = 0; i < 2; ++i) {
      ds[i].name = "twocards:" + std::to_string(i);
      ds[i].kind = DeviceKind::xrt;
      ds[i].kernels = {"slurm-test"};
    }
    return ds;
  }
};

// The precedence of fpga-tools(7): --device, FPGA_DEVICE, PARALLEL_JOBSLOT,
// a Slurm task's SLURM_LOCALID (its slot is SLURM_LOCALID + 1), the first
// device.
TEST(Devices, SlurmTaskTakesTheCardOfItsRankOnTheNode) {
  EnvGuard g(nullptr);
  static TwoCards cards;
  static bool once = (register_device_backend(&cards), true);
  (void)once;
  const char* k = "slurm-test";
  EXPECT_EQ(slurm_job_slot(), 0u);
  ::setenv("SLURM_LOCALID", "1", 1);  // no SLURM_JOB_ID: not in a job
  EXPECT_EQ(slurm_job_slot(), 0u);
  EXPECT_EQ(select_device("", k).name, "twocards:0");
  ::setenv("SLURM_JOB_ID", "42", 1);
  EXPECT_EQ(slurm_job_slot(), 2u);
  EXPECT_EQ(select_device("", k).name, "twocards:1");
  ::setenv("SLURM_LOCALID", "2", 1);  // more tasks than cards: they wrap
  EXPECT_EQ(select_device("", k).name, "twocards:0");
  ::setenv("SLURM_LOCALID", "0", 1);
  EXPECT_EQ(select_device("", k).name, "twocards:0");
  ::setenv("SLURM_LOCALID", "x", 1);  // not a rank: ignored
  EXPECT_EQ(slurm_job_slot(), 0u);
  ::setenv("SLURM_LOCALID", "0", 1);
  // GNU parallel inside the step: its slot, not the rank (every one-task
  // step of `parallel srun -n1` has SLURM_LOCALID 0).
  ::setenv("PARALLEL_JOBSLOT", "2", 1);
  EXPECT_EQ(select_device("", k).name, "twocards:1");
  ::setenv("FPGA_DEVICE", "1", 1);
  EXPECT_EQ(select_device("", k).name, "twocards:0");
  EXPECT_EQ(select_device("twocards:1", k).name, "twocards:1");
  ::unsetenv("FPGA_DEVICE");
  ::unsetenv("PARALLEL_JOBSLOT");
  ::setenv("SLURM_LOCALID", "1", 1);
  EXPECT_EQ(select_device("2", k).name, "twocards:1");
  EXPECT_EQ(select_device("1", k).name, "twocards:0");  // --device first
}

TEST(Devices, SlurmCpusPerTaskIsTheDefaultThreadCount) {
  EnvGuard g(nullptr);
  EXPECT_EQ(default_threads(), online_cpus());
  ::setenv("SLURM_CPUS_PER_TASK", "3", 1);  // outside a job: not Slurm's
  EXPECT_EQ(default_threads(), online_cpus());
  ::setenv("SLURM_JOB_ID", "42", 1);
  EXPECT_EQ(default_threads(), 3u);
  // The CPU beside a card in a list: its threads.
  EXPECT_EQ(open_deflate_device("csim:0,cpu", 0).cpu_threads, 3u);
  EXPECT_EQ(open_deflate_device("csim:0,cpu", 5).cpu_threads, 5u);  // -p first
  for (const char* bad : {"0", "", "2x", "99999"}) {
    ::setenv("SLURM_CPUS_PER_TASK", bad, 1);
    EXPECT_EQ(default_threads(), online_cpus()) << bad;
  }
}
