// Unit tests of the device layer: the CPU device, selection, errors.
#include <gtest/gtest.h>

#include <cstdlib>

#include "fpgaio/device.hpp"
#include "fpgaio/error.hpp"

using namespace fpgaio;

namespace {
struct EnvGuard {
  EnvGuard(const char* v) {
    if (v) ::setenv("FPGA_DEVICE", v, 1);
    else ::unsetenv("FPGA_DEVICE");
  }
  ~EnvGuard() { ::unsetenv("FPGA_DEVICE"); }
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

TEST(Devices, SelectByNameIndexAndEnvironment) {
  EnvGuard g(nullptr);
  EXPECT_EQ(select_device("cpu", "deflate").name, "cpu");
  auto ds = list_devices();
  EXPECT_EQ(select_device(std::to_string(ds.back().index), "deflate").name, "cpu");
  EXPECT_EQ(select_device("", "deflate").name, "cpu");
  EnvGuard e("cpu");
  EXPECT_EQ(select_device("", "inflate").name, "cpu");
}

TEST(Devices, UnknownDeviceIsADeviceErrorListingWhatExists) {
  EnvGuard g(nullptr);
  for (const char* bad : {"xrt:7", "99", "gpu", "99999999999999999999"}) {
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
  EXPECT_EQ(select_device("0", "bnn").name, "fake:0");
  EXPECT_THROW(select_device("fake:0", "deflate"), Error);
}
