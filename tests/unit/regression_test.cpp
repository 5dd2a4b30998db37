// Fuzz inputs replayed in `make test`, each through its fuzz target's own
// harness (tests/fuzz/harnesses.hpp): the findings, tests/fuzz/regressions/
// TARGET-NAME (a name without a target's prefix is a fuzz_decompress
// finding, as all were before there were other targets), and the seeds,
// tests/fuzz/seeds/TARGET/. Each must be accepted or refused with a library
// Error, and keep the harness's rules. (The findings stay in one flat
// directory because tests/cli/gzip/cli.bats also feeds every file there to
// fpga-gzip -t.)
//
// A finding named TARGET-open-NAME is a known defect that is reported but not
// fixed yet, in code its owners are changing: it is replayed too, and shown
// as a skip while it still breaks a rule (a pass once it is fixed, for
// whoever fixes it to drop "open-" from the name).
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "../fuzz/harnesses.hpp"
#include "../fuzz/arrow_harness.hpp"
#include "../fuzz/stdio_frames.hpp"

namespace {

using Harness = void (*)(const std::uint8_t*, std::size_t);

const std::map<std::string, Harness>& harnesses() {
  static const std::map<std::string, Harness> h = {
      {"fuzz_decompress", fuzzh::decompress}, {"fuzz_model", fuzzh::model},   {"fuzz_images", fuzzh::images},
      {"fuzz_manifest", fuzzh::manifest},     {"fuzz_join", fuzzh::join},       {"fuzz_formats", fuzzh::formats},
      {"fuzz_stdio_frames", fuzzh::stdio_frames}, {"fuzz_arrow", fuzzh::arrow},
  };
  return h;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d))
      if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The target a finding belongs to, from its name.
std::string target_of(const std::string& path) {
  const std::string name = path.substr(path.rfind('/') + 1);
  for (const auto& [target, h] : harnesses())
    if (name.rfind(target + "-", 0) == 0) return target;
  return "fuzz_decompress";
}

bool is_open(const std::string& path) {
  const std::string name = path.substr(path.rfind('/') + 1);
  return name.rfind(target_of(path) + "-open-", 0) == 0;
}

// Runs one input; returns the broken rule, or "".
std::string replay(Harness h, const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(f)), {});
  try {
    h(data.data(), data.size());
  } catch (const fuzzh::Violation& v) {
    return v.what();
  }
  return "";
}

}  // namespace

TEST(FuzzRegressions, EveryFindingAndSeedKeepsItsHarnessRules) {
  const std::string root = std::string(FPGA_SOURCE_DIR) + "/tests/fuzz/";
  std::map<std::string, int> n;
  for (const auto& path : files_in(root + "regressions")) {
    if (is_open(path)) continue;
    EXPECT_EQ(replay(harnesses().at(target_of(path)), path), "") << path;
    ++n[target_of(path)];
  }
  for (const auto& [target, h] : harnesses())
    for (const auto& path : files_in(root + "seeds/" + target)) {
      EXPECT_EQ(replay(h, path), "") << path;
      ++n[target];
    }
  for (const auto& [target, h] : harnesses()) EXPECT_GT(n[target], 0) << "no inputs for " << target;
}

TEST(FuzzRegressions, OpenFindings) {
  const std::string root = std::string(FPGA_SOURCE_DIR) + "/tests/fuzz/regressions";
  std::string still;
  for (const auto& path : files_in(root))
    if (is_open(path))
      if (std::string why = replay(harnesses().at(target_of(path)), path); !why.empty())
        still += "\n  " + path + ": " + why;
  if (!still.empty()) GTEST_SKIP() << "known, reported, not fixed yet:" << still;
}
