// C-simulation tests of the deflate kernel (kernels/gzip): every output, with the host's
// final block 01 00 00 FF FF appended, inflates with zlib (and gzip -d) to the input; the
// checksums are zlib's; buffers are exactly the sizes gzip_kernel.hpp names, with an
// inaccessible page after each, so a read or write past them crashes the test.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gzip_kernel.hpp"
#include "huffman.hpp"

namespace {

using Bytes = std::vector<uint8_t>;
namespace gk = gzip_kernel;

static_assert(sizeof(ap_uint<64>) == 8, "host buffers are arrays of 64-bit words");

// `size` bytes ending where an inaccessible page begins.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t size) : size_(size) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    map_len_ = (size + page - 1) / page * page + page;
    base_ = static_cast<uint8_t*>(mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base_ == MAP_FAILED) std::abort();
    if (mprotect(base_ + map_len_ - page, page, PROT_NONE) != 0) std::abort();
    data_ = base_ + map_len_ - page - size;
  }
  ~GuardedBuffer() { munmap(base_, map_len_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  uint8_t* data() { return data_; }
  ap_uint<64>* words() { return reinterpret_cast<ap_uint<64>*>(data_); }
  size_t size() const { return size_; }

 private:
  size_t size_, map_len_;
  uint8_t* base_;
  uint8_t* data_;
};

struct KernelRun {
  Bytes deflate;
  uint32_t checksum;
};

KernelRun run_kernel(const uint8_t* data, size_t n, bool crc = true, uint32_t init = ~0u) {
  GuardedBuffer in(gk::kernel_input_buffer_size(n));
  GuardedBuffer out(gk::kernel_output_bound(n));
  if (n) std::memcpy(in.data(), data, n);
  std::memset(in.data() + n, 0xA5, in.size() - n);  // padding the kernel may read, never use
  uint32_t size = 0xDEADBEEF, checksum = init;
  xilGzipCompBlock(in.words(), out.words(), &size, &checksum, uint32_t(n), crc);
  EXPECT_LE(size, out.size());
  KernelRun r;
  r.deflate.assign(out.data(), out.data() + std::min<size_t>(size, out.size()));
  r.checksum = checksum;
  return r;
}

KernelRun run_kernel(const Bytes& data) { return run_kernel(data.data(), data.size()); }

const uint8_t kFinalBlock[5] = {0x01, 0x00, 0x00, 0xFF, 0xFF};

// Raw inflate of `deflate` followed by the host's final block; empty when invalid.
testing::AssertionResult inflates_to(const Bytes& deflate, const uint8_t* want, size_t n) {
  Bytes stream = deflate;
  stream.insert(stream.end(), kFinalBlock, kFinalBlock + 5);
  Bytes got(n + 1);
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return testing::AssertionFailure() << "inflateInit2";
  z.next_in = stream.data();
  z.avail_in = uInt(stream.size());
  z.next_out = got.data();
  z.avail_out = uInt(got.size());
  const int ret = inflate(&z, Z_FINISH);
  const size_t out = z.total_out, left = z.avail_in;
  const char* msg = z.msg ? z.msg : "";
  inflateEnd(&z);
  if (ret != Z_STREAM_END) return testing::AssertionFailure() << "inflate returned " << ret << " " << msg;
  if (left != 0) return testing::AssertionFailure() << left << " bytes after the final block: a block was final";
  if (out != n) return testing::AssertionFailure() << "inflated " << out << " bytes, want " << n;
  if (n && std::memcmp(got.data(), want, n) != 0) return testing::AssertionFailure() << "inflated data differs";

  // Without the final block, every byte is there and the stream is not over: no block
  // of ours is final, and none is cut short.
  z = z_stream{};
  inflateInit2(&z, -15);
  z.next_in = const_cast<uint8_t*>(deflate.data());
  z.avail_in = uInt(deflate.size());
  z.next_out = got.data();
  z.avail_out = uInt(got.size());
  const int partial = inflate(&z, Z_SYNC_FLUSH);
  const size_t partial_out = z.total_out;
  inflateEnd(&z);
  if (n && partial != Z_OK) return testing::AssertionFailure() << "inflate of the kernel's bytes alone returned " << partial;
  if (partial_out != n) return testing::AssertionFailure() << "kernel's bytes alone gave " << partial_out << " of " << n;
  return testing::AssertionSuccess();
}

testing::AssertionResult inflates_to(const Bytes& deflate, const Bytes& want) {
  return inflates_to(deflate, want.data(), want.size());
}

uint32_t zlib_crc(const uint8_t* p, size_t n) { return uint32_t(crc32(0, p, uInt(n))); }

// Compresses, inflates, compares, checks the CRC; returns the compressed size.
size_t round_trip(const uint8_t* data, size_t n) {
  const KernelRun r = run_kernel(data, n);
  EXPECT_TRUE(inflates_to(r.deflate, data, n)) << "input of " << n << " bytes";
  EXPECT_EQ(r.checksum, zlib_crc(data, n)) << "input of " << n << " bytes";
  EXPECT_LE(r.deflate.size(), gk::kernel_output_bound(n));
  return r.deflate.size();
}

size_t round_trip(const Bytes& data) { return round_trip(data.data(), data.size()); }

Bytes random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

// Text-like data of about `n` bytes that needs no corpus: words from a small vocabulary.
Bytes words_text(size_t n, uint64_t seed) {
  static const char* const kWords[] = {"the ", "kernel ", "block ", "deflate ", "match ", "window ", "hash ",
                                       "static ", "stream ", "FPGA ", "card ", "= ", "{\n", "}\n", "return ",
                                       "int ", "uint32_t ", "if (", ") ", ";\n", "for (", "++i", "0x1F, "};
  std::mt19937_64 rng(seed);
  Bytes b;
  while (b.size() < n) {
    const char* w = kWords[rng() % (sizeof kWords / sizeof *kWords)];
    b.insert(b.end(), w, w + std::strlen(w));
  }
  b.resize(n);
  return b;
}

Bytes command_output(const std::string& cmd) {
  Bytes out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  uint8_t buf[1 << 16];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.insert(out.end(), buf, buf + n);
  if (pclose(p) != 0) out.clear();
  return out;
}

// 1 MiB of the generated access log (bench/make_access_log.py), once per process.
const Bytes& access_log() {
  static const Bytes log = [] {
    Bytes b = command_output("python3 '" FPGA_SOURCE_DIR "/bench/make_access_log.py' 1 2>/dev/null");
    if (b.size() > (1u << 20)) b.resize(1u << 20);
    return b;
  }();
  return log;
}

// The first 2 MiB of the Linux source tar, when it is on this machine.
const Bytes& linux_slice() {
  static const Bytes tar = [] {
    const size_t want = 2u << 20;
    Bytes b;
    if (const char* path = std::getenv("FPGA_KERNEL_CORPUS"))
      b = command_output(std::string("head -c ") + std::to_string(want) + " '" + path + "'");
    if (b.empty() && access("/usr/src/linux-source-6.1.tar.xz", R_OK) == 0)
      b = command_output("xz -dc /usr/src/linux-source-6.1.tar.xz 2>/dev/null | head -c " + std::to_string(want));
    if (b.size() < want) b.clear();
    return b;
  }();
  return tar;
}

int first_block_type(const Bytes& deflate) { return (deflate.at(0) >> 1) & 3; }

TEST(GzipKernel, EmptyInputWritesNothing) {
  const KernelRun r = run_kernel(nullptr, 0);
  EXPECT_TRUE(r.deflate.empty());
  EXPECT_EQ(r.checksum, 0u);
  EXPECT_TRUE(inflates_to(r.deflate, nullptr, 0));
}

TEST(GzipKernel, StoredPathBelow64Bytes) {
  const Bytes data = random_bytes(63, 1);
  for (size_t n : {1, 2, 7, 8, 9, 31, 62, 63}) {
    const KernelRun r = run_kernel(data.data(), n);
    ASSERT_EQ(r.deflate.size(), n + 5);
    EXPECT_EQ(r.deflate[0], 0);  // BFINAL 0, stored
    EXPECT_TRUE(inflates_to(r.deflate, data.data(), n));
    EXPECT_EQ(r.checksum, zlib_crc(data.data(), n));
  }
}

TEST(GzipKernel, BoundarySizes) {
  const Bytes rnd = random_bytes(200000, 2), text = words_text(200000, 3), zeros(200000, 0);
  for (size_t n : {1, 63, 64, 65, 100, 255, 256, 257, 4095, 4096, 16383, 16384, 16385, 32767, 32768, 32769, 65535,
                   65536, 65537, 131071, 131072, 131073, 196613}) {
    round_trip(rnd.data(), n);
    round_trip(text.data(), n);
    round_trip(zeros.data(), n);
  }
}

TEST(GzipKernel, OneMiBEachKind) {
  const Bytes rnd = random_bytes(1u << 20, 4), text = words_text(1u << 20, 5), zeros(1u << 20, 0);
  const size_t r = round_trip(rnd), t = round_trip(text), z = round_trip(zeros);
  EXPECT_LE(r, rnd.size() + 5 * (rnd.size() / gk::block_symbols + 2));  // stored, 5 bytes a block
  EXPECT_LT(t, text.size() / 3);
  EXPECT_LT(z, zeros.size() / 200);
}

TEST(GzipKernel, BlockTypes) {
  EXPECT_EQ(first_block_type(run_kernel(random_bytes(1u << 20, 6)).deflate), 0);  // stored
  EXPECT_EQ(first_block_type(run_kernel(words_text(1u << 20, 7)).deflate), 2);   // dynamic
  // 80 different printable characters: fixed codes (8 bits each) beat storing them and a
  // dynamic code's header.
  Bytes distinct;
  for (int c = 0; c < 80; ++c) distinct.push_back(uint8_t(' ' + c));
  const KernelRun r = run_kernel(distinct);
  EXPECT_EQ(first_block_type(r.deflate), 1);
  EXPECT_TRUE(inflates_to(r.deflate, distinct));
}

TEST(GzipKernel, MatchesAtExactly32768) {
  const Bytes r = random_bytes(32768, 8);
  Bytes data = r;
  data.insert(data.end(), r.begin(), r.end());
  data.insert(data.end(), r.begin(), r.end());
  const size_t size = round_trip(data);
  EXPECT_LT(size, 32768 + 2000u) << "the copies at distance 32768 were not matched";
}

TEST(GzipKernel, NoMatchesBeyond32768) {
  const Bytes r = random_bytes(32769, 9);
  Bytes data = r;
  data.insert(data.end(), r.begin(), r.end());
  EXPECT_GT(round_trip(data), 2 * 32769u);
}

TEST(GzipKernel, LongMatchesAndShortDistances) {
  for (size_t period : {1, 2, 3, 4, 7, 8, 9, 100, 257, 258, 259, 1000, 32767}) {
    const Bytes unit = random_bytes(period, period);
    Bytes data;
    while (data.size() < 300000) data.insert(data.end(), unit.begin(), unit.end());
    const size_t size = round_trip(data);
    EXPECT_LT(size, period + 300000 / 40 + 300) << "period " << period;
  }
}

// Inputs assembled from random bytes, runs and copies at awkward distances and lengths;
// FPGA_KERNEL_FUZZ=N runs N of them (and seeds with N) instead of 120.
TEST(GzipKernel, RandomStructuredInputs) {
  const char* env = std::getenv("FPGA_KERNEL_FUZZ");
  const int iterations = env ? std::atoi(env) : 120;
  std::mt19937_64 rng(env ? uint64_t(iterations) : 10);
  const uint32_t distances[] = {1, 2, 3, 4, 8, 255, 256, 257, 4096, 32767, 32768};
  for (int iter = 0; iter < iterations; ++iter) {
    const size_t n = 64 + rng() % 140000;
    Bytes data;
    while (data.size() < n) {
      const int kind = int(rng() % 4);
      size_t len = 1 + rng() % (rng() % 2 ? 300 : 4000);
      if (rng() % 4 == 0) len = 255 + rng() % 8;  // around the longest match
      if (kind == 0) {
        for (size_t i = 0; i < len; ++i) data.push_back(uint8_t(rng() % (rng() % 2 ? 4 : 256)));
      } else if (kind == 1) {
        data.insert(data.end(), len, uint8_t(rng()));
      } else if (!data.empty()) {
        const uint32_t d = kind == 2 ? distances[rng() % 11] : uint32_t(1 + rng() % 32768);
        if (d > data.size()) continue;
        for (size_t i = 0; i < len; ++i) data.push_back(data[data.size() - d]);
      }
    }
    data.resize(n);
    round_trip(data);
    if (testing::Test::HasFailure()) {
      ADD_FAILURE() << "iteration " << iter;
      return;
    }
  }
}

TEST(GzipKernel, AccessLogRatio) {
  const Bytes& log = access_log();
  if (log.empty()) GTEST_SKIP() << "python3 bench/make_access_log.py did not run";
  const double ratio = double(round_trip(log)) / double(log.size());
  RecordProperty("ratio", std::to_string(ratio));
  EXPECT_LT(ratio, 0.2);
}

TEST(GzipKernel, LinuxTarSlice) {
  const Bytes& tar = linux_slice();
  if (tar.empty()) GTEST_SKIP() << "no Linux source tar (linux-source-6.1, or FPGA_KERNEL_CORPUS)";
  const double ratio = double(round_trip(tar)) / double(tar.size());
  RecordProperty("ratio", std::to_string(ratio));
  EXPECT_LT(ratio, 0.26);
}

TEST(GzipKernel, GzipReadsTheMembers) {
  if (std::system("gzip --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no gzip";
  std::vector<Bytes> inputs = {Bytes(), random_bytes(1, 11), random_bytes(63, 12), words_text(64, 13),
                               words_text(65, 14), random_bytes(32767, 15), words_text(32768, 16),
                               Bytes(32769, 0), random_bytes(300000, 17), words_text(1u << 20, 18)};
  if (!access_log().empty()) inputs.push_back(access_log());
  Bytes file, all;
  for (const Bytes& in : inputs) {
    const KernelRun r = run_kernel(in.data(), in.size());
    const uint8_t header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    file.insert(file.end(), header, header + 10);
    file.insert(file.end(), r.deflate.begin(), r.deflate.end());
    file.insert(file.end(), kFinalBlock, kFinalBlock + 5);
    for (uint32_t v : {r.checksum, uint32_t(in.size())})
      for (int i = 0; i < 4; ++i) file.push_back(uint8_t(v >> (8 * i)));
    all.insert(all.end(), in.begin(), in.end());
  }
  char path[] = "/tmp/gzip_kernel_test.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, file.data(), file.size()), ssize_t(file.size()));
  close(fd);
  const Bytes out = command_output(std::string("gzip -dc < ") + path);
  unlink(path);
  EXPECT_EQ(out.size(), all.size());
  EXPECT_TRUE(out == all) << "gzip -d does not give back the input";
}

TEST(GzipKernel, Adler32Mode) {
  const Bytes text = words_text(200000, 19);
  for (size_t n : {0, 5, 64, 5552, 5553, 200000}) {
    const KernelRun r = run_kernel(text.data(), n, false, 1);
    EXPECT_EQ(r.checksum, uint32_t(adler32(1, text.data(), uInt(n)))) << n;
    EXPECT_TRUE(inflates_to(r.deflate, text.data(), n));
  }
}

// The library's host chains calls by flipping the returned CRC into the next register.
TEST(GzipKernel, CrcRegisterChainsAcrossCalls) {
  const Bytes data = words_text(300001, 20);
  const size_t cuts[] = {0, 40, 100000, 300001};
  uint32_t reg = ~0u, result = 0;
  for (int i = 0; i < 3; ++i) {
    result = run_kernel(data.data() + cuts[i], cuts[i + 1] - cuts[i], true, reg).checksum;
    reg = ~result;
  }
  EXPECT_EQ(result, zlib_crc(data.data(), data.size()));
}

TEST(GzipKernel, OutputIsDeterministic) {
  const Bytes a = words_text(150000, 21), b = random_bytes(70000, 22);
  const KernelRun first = run_kernel(a);
  run_kernel(b);
  EXPECT_EQ(run_kernel(a).deflate, first.deflate);
}

// Several host threads in the kernel at once (the csim device) get the results one thread gets.
TEST(GzipKernel, ReentrantFromHostThreads) {
  std::vector<Bytes> inputs;
  for (int i = 0; i < 4; ++i) inputs.push_back(i % 2 ? words_text(250000 + i, 30 + i) : random_bytes(90000 + i, 30 + i));
  std::vector<Bytes> want;
  for (const Bytes& in : inputs) want.push_back(run_kernel(in).deflate);
  std::vector<int> ok(inputs.size(), 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < inputs.size(); ++t)
    threads.emplace_back([&, t] {
      int good = 1;
      for (int rep = 0; rep < 3; ++rep) good &= run_kernel(inputs[t]).deflate == want[t];
      ok[t] = good;
    });
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < inputs.size(); ++t) EXPECT_TRUE(ok[t]) << "thread " << t;
}

// The kernel's state is not on the caller's stack: a 64 KiB stack is enough.
TEST(GzipKernel, RunsOnASmallStack) {
  struct Job {
    Bytes data;
    KernelRun result;
  } job{words_text(100000, 40), {}};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t th;
  auto body = [](void* p) -> void* {
    auto* j = static_cast<Job*>(p);
    j->result = run_kernel(j->data);
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&th, &attr, body, &job), 0);
  pthread_join(th, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_TRUE(inflates_to(job.result.deflate, job.data));
}

TEST(GzipKernel, LargestBlock64MiB) {
  // Text with long repeats: quick to simulate, and every chunk and block boundary crossed.
  const Bytes unit = words_text(1u << 20, 41);
  Bytes data;
  while (data.size() < gk::max_input_size) data.insert(data.end(), unit.begin(), unit.end());
  data.resize(gk::max_input_size);
  for (size_t i = 0; i < data.size(); i += 4099) data[i] ^= 0x5A;
  round_trip(data);
}

TEST(GzipKernel, OutputBoundCoversStoredData) {
  for (uint64_t n : {64ull, 65535ull, 65536ull, 1ull << 20, 64ull << 20}) {
    const uint64_t stored = n + 5 * ((n + 65534) / 65535) + 5;  // stored blocks and a sync
    EXPECT_GE(gk::kernel_output_bound(n), stored) << n;
    EXPECT_EQ(gk::kernel_output_bound(n) % 8, 0u);
  }
  EXPECT_EQ(gk::kernel_input_buffer_size(0), 0u);
  EXPECT_EQ(gk::kernel_input_buffer_size(1), gk::kernel_input_padding);
}

// Calls carry on each other's positions (the table is not cleared a call): entries of an
// earlier call, even one with the same bytes a few hundred positions back, are never
// candidates, so every call's output is the one a fresh kernel gives.
TEST(GzipKernel, RepeatedCallsIgnoreEarlierCalls) {
  const Bytes text = words_text(1000, 50);
  const KernelRun first = run_kernel(text);
  ASSERT_TRUE(inflates_to(first.deflate, text));
  for (int i = 0; i < 40; ++i) {
    const size_t n = 64 + size_t(i) * 23;  // sizes that move the next call's start around
    const KernelRun r = run_kernel(text.data(), n);
    ASSERT_TRUE(inflates_to(r.deflate, text.data(), n)) << "call " << i;
    const KernelRun again = run_kernel(text);
    ASSERT_EQ(again.deflate, first.deflate) << "call " << i;
  }
}

// The cycle model (a model of the HLS code, not synthesis: each process's loop trips times
// the II its loops are written for; kernels/README.md, "Cycle model"). Prints the modelled
// bytes a cycle of one compute unit for 1 MiB calls of text, the access log, the Linux tar
// (when present) and random data.
TEST(CycleModel, BytesPerCycle) {
  struct Input {
    const char* name;
    Bytes data;
    bool text;
  };
  std::vector<Input> inputs;
  inputs.push_back({"words text", words_text(1u << 20, 60), true});
  if (!access_log().empty()) inputs.push_back({"access log", access_log(), true});
  if (!linux_slice().empty()) inputs.push_back({"Linux tar", Bytes(linux_slice().begin(), linux_slice().begin() + (1u << 20)), true});
  inputs.push_back({"random", random_bytes(1u << 20, 61), false});
  inputs.push_back({"zeros", Bytes(1u << 20, 0), true});
  run_kernel(words_text(4096, 62));  // the first call of a thread clears the table (8,192 cycles)
  std::printf("cycle model (not synthesis), one 1 MiB call after the first, cycles/byte a process;\n"
              "loops written for II=1 in read (two a burst), lz77, collector, emitter, writer; the code builder's\n"
              "sequential loops counted at II=1 or 2 as written:\n");
  std::printf("%-11s %6s %6s %6s %6s %6s %6s  %9s  %s\n", "input", "read", "lz77", "coll.", "build", "emit", "write",
              "bytes/cyc", "longest build");
  for (const Input& in : inputs) {
    round_trip(in.data);
    const gk::CycleModel m = gk::last_call_cycles();
    const double n = double(in.data.size());
    const double bpc = n / double(m.slowest());
    std::printf("%-11s %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f  %9.4f  %llu\n", in.name, m.read / n, m.lz77 / n,
                m.collect / n, m.build / n, m.emit / n, m.write / n, bpc, (unsigned long long)m.build_max_block);
    RecordProperty(std::string("bytes_per_cycle_") + in.name, std::to_string(bpc));
    // LZ77 takes one position a cycle, and 7 more at the end of the input; the table is
    // not cleared on a call after the first.
    EXPECT_EQ(m.lz77, in.data.size() + 7) << in.name;
    // A block's codes are built before the next block can be full (16,384 cycles at one
    // symbol a cycle), which the FIFO depths in gzip_kernel.cpp rest on.
    EXPECT_LT(m.build_max_block + 318, 16384u) << in.name;
    if (in.text) {
      EXPECT_EQ(m.slowest(), m.lz77) << in.name << ": LZ77 is not the slowest process";
      EXPECT_GE(bpc, 0.9999) << in.name;
    } else {
      EXPECT_GE(bpc, 0.95) << in.name;
    }
  }
}

// Length limits hold and the codes stay complete for skewed frequencies.
TEST(Huffman, LengthLimitedCompleteCodes) {
  uint32_t freq[286] = {};
  uint32_t a = 1, b = 1;
  for (int s = 0; s < 23; ++s) {  // Fibonacci: an unlimited code would be 22 bits deep
    freq[s] = a;
    const uint32_t c = a + b;
    a = b;
    b = c;
  }
  freq[285] = 1;
  uint8_t len[286];
  gzk::build_code_lengths(freq, 286, 15, len);
  uint64_t kraft = 0;
  for (int s = 0; s < 286; ++s) {
    EXPECT_LE(len[s], 15);
    EXPECT_EQ(len[s] == 0, freq[s] == 0) << s;
    if (len[s]) kraft += uint64_t(1) << (15 - len[s]);
  }
  EXPECT_EQ(kraft, uint64_t(1) << 15);

  uint32_t cl[19] = {};
  for (int s = 0; s < 19; ++s) cl[s] = 1u << (s % 12);
  uint8_t cl_len[19];
  gzk::build_code_lengths(cl, 19, 7, cl_len);
  kraft = 0;
  for (int s = 0; s < 19; ++s) {
    EXPECT_LE(cl_len[s], 7);
    kraft += uint64_t(1) << (7 - cl_len[s]);
  }
  EXPECT_EQ(kraft, uint64_t(1) << 7);

  uint32_t one[30] = {};
  one[7] = 5;
  uint8_t one_len[30];
  gzk::build_code_lengths(one, 30, 15, one_len);
  EXPECT_EQ(one_len[7], 1);
  EXPECT_EQ(one_len[0], 1);  // the partner that keeps the code complete
}

}  // namespace
