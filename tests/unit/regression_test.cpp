// Inputs found by the fuzzer (tests/fuzz/regressions): each must decode or
// fail with a library Error, never crash or hang.
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>

#include "fpgaio/error.hpp"
#include "helpers.hpp"

TEST(FuzzRegressions, EveryInputDecodesOrFailsCleanly) {
  std::string dir = std::string(FPGA_SOURCE_DIR) + "/tests/fuzz/regressions";
  DIR* d = ::opendir(dir.c_str());
  ASSERT_NE(d, nullptr);
  int n = 0;
  while (auto* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(dir + "/" + e->d_name, std::ios::binary);
    testutil::Bytes data((std::istreambuf_iterator<char>(f)), {});
    testutil::Bytes out;
    try {
      testutil::decode(data, out);
    } catch (const fpgaio::Error&) {
    }
    ++n;
  }
  ::closedir(d);
  EXPECT_GT(n, 0);
}
