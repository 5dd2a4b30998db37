// The deflate kernel built with GZK_POSITION_LIMIT at 5 MiB (kernels/CMakeLists.txt): the
// table clear that otherwise comes once positions near 4 GiB happens every few 1 MiB
// calls here, and a call after it gives the same bytes as any other.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "gzip_kernel.hpp"

namespace {

namespace gk = gzip_kernel;

std::vector<uint8_t> compress(const std::vector<uint8_t>& data) {
  std::vector<ap_uint<64>> in(gk::kernel_input_buffer_size(data.size()) / 8), out(gk::kernel_output_bound(data.size()) / 8);
  std::memcpy(in.data(), data.data(), data.size());
  uint32_t size = 0, crc = ~0u;
  xilGzipCompBlock(in.data(), out.data(), &size, &crc, uint32_t(data.size()), true);
  const auto* p = reinterpret_cast<const uint8_t*>(out.data());
  return std::vector<uint8_t>(p, p + size);
}

bool inflates_to(std::vector<uint8_t> deflate, const std::vector<uint8_t>& want) {
  deflate.insert(deflate.end(), {0x01, 0x00, 0x00, 0xFF, 0xFF});
  std::vector<uint8_t> got(want.size() + 1);
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return false;
  z.next_in = deflate.data();
  z.avail_in = uInt(deflate.size());
  z.next_out = got.data();
  z.avail_out = uInt(got.size());
  const int ret = inflate(&z, Z_FINISH);
  const size_t n = z.total_out;
  inflateEnd(&z);
  return ret == Z_STREAM_END && n == want.size() && std::memcmp(got.data(), want.data(), n) == 0;
}

TEST(GzipKernelPositionWrap, CallsAfterTheTableClearGiveTheSameBytes) {
  std::mt19937_64 rng(70);
  const char* const words[] = {"wrap ", "table ", "clear ", "position ", "call ", "{\n", "}\n", "= ", "0x", "; "};
  std::vector<uint8_t> text;
  while (text.size() < (1u << 20)) {
    const char* w = words[rng() % 10];
    text.insert(text.end(), w, w + std::strlen(w));
  }
  text.resize(1u << 20);
  const std::vector<uint8_t> first = compress(text);
  ASSERT_TRUE(inflates_to(first, text));
  int clears = 0;
  for (int i = 0; i < 10; ++i) {
    const std::vector<uint8_t> again = compress(text);
    // The model counts the 8,192-cycle clear in the LZ77 process's cycles.
    if (gk::last_call_cycles().lz77 > text.size() + 7) ++clears;
    ASSERT_EQ(again, first) << "call " << i + 2;
  }
  EXPECT_GE(clears, 2);
}

}  // namespace
