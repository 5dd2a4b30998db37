// kernel_gzip: runs the C-simulated deflate kernel over a file, one call per block, and
// writes a gzip file of one member per block. For benchmarks (bench/kernel.sh) and for
// looking at the kernel's output by hand; not installed. The figures it prints are
// C-simulation on this CPU, not FPGA figures.
//
//   kernel_gzip [-b BLOCK_BYTES] [-o OUT.gz] [-q] INPUT
#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gzip_kernel.hpp"

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "kernel_gzip: %s\n", msg.c_str());
  std::exit(1);
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

void put_le32(std::vector<uint8_t>& v, uint32_t x) {
  for (int i = 0; i < 4; ++i) v.push_back(uint8_t(x >> (8 * i)));
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t block = uint64_t(1) << 20;
  const char* out_path = nullptr;
  const char* in_path = nullptr;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "-b") && i + 1 < argc) {
      block = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "-o") && i + 1 < argc) {
      out_path = argv[++i];
    } else if (!std::strcmp(argv[i], "-q")) {
      quiet = true;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      die(std::string("unknown option ") + argv[i] + "; usage: kernel_gzip [-b BLOCK_BYTES] [-o OUT.gz] [-q] INPUT");
    } else {
      in_path = argv[i];
    }
  }
  if (!in_path) die("usage: kernel_gzip [-b BLOCK_BYTES] [-o OUT.gz] [-q] INPUT");
  if (block == 0 || block > gzip_kernel::max_input_size) die("block size must be 1 to 64 MiB");

  FILE* f = std::fopen(in_path, "rb");
  if (!f) die(std::string(in_path) + ": " + std::strerror(errno));
  std::vector<uint8_t> data;
  for (;;) {
    uint8_t buf[1 << 16];
    const size_t n = std::fread(buf, 1, sizeof buf, f);
    data.insert(data.end(), buf, buf + n);
    if (n < sizeof buf) break;
  }
  std::fclose(f);

  FILE* out = out_path ? std::fopen(out_path, "wb") : nullptr;
  if (out_path && !out) die(std::string(out_path) + ": " + std::strerror(errno));

  std::vector<ap_uint<64>> in_buf(gzip_kernel::kernel_input_buffer_size(block) / 8);
  std::vector<ap_uint<64>> out_buf(gzip_kernel::kernel_output_bound(block) / 8);
  uint64_t deflate_bytes = 0, gzip_bytes = 0;
  gzip_kernel::CycleModel stages{};  // summed over the calls
  uint64_t call_cycles = 0;          // each call's slowest process, summed
  double seconds = 0, cpu_seconds = 0;
  for (uint64_t at = 0; at < data.size() || (at == 0 && data.empty()); at += block) {
    const uint32_t n = uint32_t(std::min<uint64_t>(block, data.size() - at));
    std::memcpy(in_buf.data(), data.data() + at, n);
    uint32_t size = 0, crc = ~0u;
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_seconds();
    xilGzipCompBlock(in_buf.data(), out_buf.data(), &size, &crc, n, true);
    cpu_seconds += thread_cpu_seconds() - c0;
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    deflate_bytes += size;
    if (n >= gzip_kernel::stored_threshold) {
      const gzip_kernel::CycleModel m = gzip_kernel::last_call_cycles();
      stages.read += m.read;
      stages.lz77 += m.lz77;
      stages.collect += m.collect;
      stages.build += m.build;
      stages.emit += m.emit;
      stages.write += m.write;
      call_cycles += m.slowest();
      if (m.build_max_block > stages.build_max_block) stages.build_max_block = m.build_max_block;
    }
    std::vector<uint8_t> member = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    const auto* bytes = reinterpret_cast<const uint8_t*>(out_buf.data());
    member.insert(member.end(), bytes, bytes + size);
    member.insert(member.end(), {0x01, 0x00, 0x00, 0xff, 0xff});
    put_le32(member, crc);
    put_le32(member, n);
    gzip_bytes += member.size();
    if (out && std::fwrite(member.data(), 1, member.size(), out) != member.size()) die("write error");
    if (data.empty()) break;
  }
  if (out && std::fclose(out) != 0) die("write error");
  if (!quiet) {
    const double total = double(data.size());
    std::fprintf(stderr,
                 "input %llu bytes, blocks of %llu: deflate %llu bytes (ratio %.4f), gzip %llu bytes (ratio %.4f); "
                 "C-simulation on one CPU thread: %.1f MB/s (%.1f MB per CPU second)\n",
                 (unsigned long long)data.size(), (unsigned long long)block, (unsigned long long)deflate_bytes,
                 total ? deflate_bytes / total : 0.0, (unsigned long long)gzip_bytes, total ? gzip_bytes / total : 0.0,
                 seconds > 0 ? total / seconds / 1e6 : 0.0, cpu_seconds > 0 ? total / cpu_seconds / 1e6 : 0.0);
    if (call_cycles) {
      const auto cpb = [&](uint64_t c) { return double(c) / total; };
      std::fprintf(stderr,
                   "cycle model (a model of the HLS code, not synthesis): %.3f bytes/cycle a unit (each call as long "
                   "as its slowest process); cycles/byte: read %.3f, lz77 %.3f, collect %.3f, build %.3f, emit %.3f, "
                   "write %.3f; longest code build %llu cycles a block\n",
                   total / double(call_cycles), cpb(stages.read), cpb(stages.lz77), cpb(stages.collect),
                   cpb(stages.build), cpb(stages.emit), cpb(stages.write), (unsigned long long)stages.build_max_block);
    }
  }
  return 0;
}
