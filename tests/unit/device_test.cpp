// Unit tests of the device layer: the CPU device, selection, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "fpgaio/device.hpp"
#include "fpgaio/error.hpp"

using namespace fpgaio;

namespace {
struct EnvGuard {
  EnvGuard(const char* v) {
    ::unsetenv("PARALLEL_JOBSLOT");
    if (v) ::setenv("FPGA_DEVICE", v, 1);
    else ::unsetenv("FPGA_DEVICE");
  }
  ~EnvGuard() {
    ::unsetenv("FPGA_DEVICE");
    ::unsetenv("PARALLEL_JOBSLOT");
  }
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
