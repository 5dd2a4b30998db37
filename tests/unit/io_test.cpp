// Unit tests of the io module: checked writes, faults, atomic output files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "fpgaio/error.hpp"
#include "fpgaio/io.hpp"
#include "helpers.hpp"
#include "tempdir.hpp"

using fpgaio::Error;
using fpgaio::ErrorKind;

namespace {

using testutil::TempDir;

// Replaces write(2) for the duration of a test.
struct WriteHook {
  explicit WriteHook(ssize_t (*fn)(int, const void*, size_t)) : saved(fpgaio::detail::syscalls().write) {
    fpgaio::detail::syscalls().write = fn;
  }
  ~WriteHook() { fpgaio::detail::syscalls().write = saved; }
  ssize_t (*saved)(int, const void*, size_t);
};

int g_calls = 0;
ssize_t eintr_then_short(int fd, const void* p, size_t n) {
  ++g_calls;
  if (g_calls % 2 == 1) {
    errno = EINTR;
    return -1;
  }
  return ::write(fd, p, n > 3 ? 3 : n);  // short writes of 3 bytes
}
ssize_t enospc(int, const void*, size_t) {
  errno = ENOSPC;
  return -1;
}
ssize_t epipe(int, const void*, size_t) {
  errno = EPIPE;
  return -1;
}

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

TEST(FullWrite, RetriesEintrAndShortWrites) {
  TempDir d;
  std::string p = d.path + "/x";
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  g_calls = 0;
  {
    WriteHook h(eintr_then_short);
    fpgaio::full_write(fd, "hello, world", 12, p);
  }
  ::close(fd);
  EXPECT_EQ(slurp(p), "hello, world");
  EXPECT_GE(g_calls, 8);
}

TEST(FullWrite, EnospcIsAnIoErrorNamingThePath) {
  WriteHook h(enospc);
  try {
    fpgaio::full_write(1, "x", 1, "out.gz");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_EQ(e.error_number(), ENOSPC);
    EXPECT_EQ(e.path, "out.gz");
    EXPECT_NE(std::string(e.what()).find("No space left"), std::string::npos);
  }
}

TEST(FullWrite, DevFullFails) {
  int fd = ::open("/dev/full", O_WRONLY);
  ASSERT_GE(fd, 0);
  EXPECT_THROW(fpgaio::full_write(fd, "abc", 3, "/dev/full"), Error);
  ::close(fd);
}

TEST(AsyncSink, PropagatesWriteErrorsOnFlush) {
  WriteHook h(epipe);
  fpgaio::FdSink inner(1, "stdout");
  fpgaio::AsyncSink s(inner, 2);
  try {
    for (int i = 0; i < 10; ++i) s.write(reinterpret_cast<const std::uint8_t*>("abc"), 3);
    s.flush();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_number(), EPIPE);
  }
}

TEST(AsyncSink, KeepsOrder) {
  testutil::VecSink inner;
  {
    fpgaio::AsyncSink s(inner, 3);
    for (int i = 0; i < 1000; ++i) {
      std::uint8_t b = static_cast<std::uint8_t>(i);
      s.write(&b, 1);
    }
    s.flush();
  }
  ASSERT_EQ(inner.v.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(inner.v[i], static_cast<std::uint8_t>(i));
}

// Written buffers come back through acquire(), up to max_spare of them
// (the decoder reuses them rather than fault fresh pages in: issue 26).
TEST(AsyncSink, KeepsUpToMaxSpareWrittenBuffers) {
  testutil::VecSink inner;
  fpgaio::AsyncSink s(inner, 2, 6);
  for (int i = 0; i < 10; ++i) {
    fpgaio::Bytes b(1000, static_cast<std::uint8_t>(i));
    s.write(std::move(b));
  }
  s.flush();
  int reused = 0;
  for (int i = 0; i < 10; ++i) reused += s.acquire().capacity() >= 1000 ? 1 : 0;
  EXPECT_EQ(reused, 6);
  EXPECT_EQ(inner.v.size(), 10000u);
}

// With a byte bound, small buffers queue many at a time (BGZF's 64 KiB
// outputs, one futex hand-off each otherwise: issue 26) and a buffer that
// would pass the bound waits for the writer; order is kept.
TEST(AsyncSink, QueuesSmallBuffersUpToTheByteBound) {
  struct Held : fpgaio::Sink {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    std::vector<std::size_t> sizes;
    void write(const std::uint8_t*, std::size_t n) override {
      std::unique_lock<std::mutex> lk(mu);
      cv.wait(lk, [&] { return open; });
      sizes.push_back(n);
    }
    void flush() override {}
  } inner;
  fpgaio::AsyncSink s(inner, 16, 0, 1000);
  std::atomic<int> done{0};
  std::thread t([&] {
    s.write(fpgaio::Bytes(100, 0));  // taken by the writer, which holds it
    for (int i = 0; i < 9; ++i, ++done) s.write(fpgaio::Bytes(100, 1));
    s.write(fpgaio::Bytes(200, 2));  // 900 + 200 queued > 1000: waits
    ++done;
  });
  for (int i = 0; i < 10000 && done < 9; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(done.load(), 9);  // nine queued while the writer is held
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(done.load(), 9);  // and the tenth waits (never passes while held)
  {
    std::lock_guard<std::mutex> lk(inner.mu);
    inner.open = true;
  }
  inner.cv.notify_all();
  t.join();
  s.flush();
  std::vector<std::size_t> want(10, 100);
  want.push_back(200);
  EXPECT_EQ(inner.sizes, want);
}

// A sleeping writer is woken only once wake_bytes are queued, the queue is
// full, or flush() asks (a wake-up per buffer cost the decoder 6% of its
// time: issue 26); whatever wakes it, order is kept and nothing is lost.
TEST(AsyncSink, WakesTheWriterOnlyWhenAskedAndLosesNothing) {
  struct Counted : fpgaio::Sink {
    std::mutex mu;
    std::vector<std::uint8_t> v;
    void write(const std::uint8_t* d, std::size_t n) override {
      std::lock_guard<std::mutex> lk(mu);
      v.insert(v.end(), d, d + n);
    }
    std::size_t size() {
      std::lock_guard<std::mutex> lk(mu);
      return v.size();
    }
  } inner;
  fpgaio::AsyncSink s(inner, 4, 0, 0, 1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the writer is asleep
  for (std::uint8_t i = 0; i < 3; ++i) s.write(fpgaio::Bytes(100, i));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(inner.size(), 0u);  // 300 bytes, 3 of 4 buffers: not woken
  for (std::uint8_t i = 3; i < 20; ++i) s.write(fpgaio::Bytes(100, i));  // a full queue wakes it
  s.write(fpgaio::Bytes(100, 20));
  s.flush();
  ASSERT_EQ(inner.size(), 2100u);
  for (std::size_t k = 0; k < 2100; ++k) ASSERT_EQ(inner.v[k], k / 100) << k;
  s.write(fpgaio::Bytes(1000, 7));  // wake_bytes queued: written without a flush
  for (int i = 0; i < 5000 && inner.size() < 3100; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(inner.size(), 3100u);
  s.write(fpgaio::Bytes(10, 8));  // below wake_bytes, but wake() asks (the decoder does before each read)
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(inner.size(), 3100u);
  s.wake();
  for (int i = 0; i < 5000 && inner.size() < 3110; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(inner.size(), 3110u);
}

// Into a sink that discards (-t's NullSink, /dev/null) an AsyncSink writes
// in the caller's thread: hand-offs to a writer would be all the cost
// (issue 26: fpga-gzip -dc > /dev/null of a single member).
TEST(AsyncSink, WritesInTheCallersThreadIntoASinkThatDiscards) {
  struct Discarding : fpgaio::Sink {
    std::vector<std::thread::id> by;
    std::size_t n = 0;
    void write(const std::uint8_t*, std::size_t k) override {
      by.push_back(std::this_thread::get_id());
      n += k;
    }
    bool discards() const override { return true; }
  } inner;
  {
    fpgaio::AsyncSink s(inner, 2, 4, 0, 1 << 20);
    for (int i = 0; i < 10; ++i) s.write(fpgaio::Bytes(1000, 1));
    s.write(reinterpret_cast<const std::uint8_t*>("abc"), 3);
    EXPECT_EQ(inner.n, 10003u);  // already written, before any flush
    EXPECT_GE(s.acquire().capacity(), 1000u);  // the written buffers come back
    s.flush();
  }
  ASSERT_EQ(inner.by.size(), 11u);
  for (auto id : inner.by) EXPECT_EQ(id, std::this_thread::get_id());

  int null = ::open("/dev/null", O_WRONLY);
  ASSERT_GE(null, 0);
  EXPECT_TRUE(fpgaio::FdSink(null, "/dev/null").discards());
  ::close(null);
  TempDir d;
  int file = ::open((d.path + "/f").c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(file, 0);
  EXPECT_FALSE(fpgaio::FdSink(file, "f").discards());
  ::close(file);
  int zero = ::open("/dev/zero", O_WRONLY);  // a character device, not /dev/null
  ASSERT_GE(zero, 0);
  EXPECT_FALSE(fpgaio::FdSink(zero, "/dev/zero").discards());
  ::close(zero);
  EXPECT_TRUE(fpgaio::NullSink().discards());
}

// Every OutputFile test runs with unnamed temporaries (O_TMPFILE) and with
// the named fallback.
class OutputFileBoth : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { fpgaio::OutputFile::use_anonymous_temps(GetParam()); }
  void TearDown() override { fpgaio::OutputFile::use_anonymous_temps(true); }
};
INSTANTIATE_TEST_SUITE_P(Temps, OutputFileBoth, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Unnamed" : "Named"; });

bool dir_empty(const std::string& dir) { return std::system(("test -z \"$(ls -A '" + dir + "')\"").c_str()) == 0; }

TEST_P(OutputFileBoth, CommitRenamesAndAppliesMetadata) {
  TempDir d;
  std::string target = d.path + "/out.gz";
  struct stat meta {};
  meta.st_mode = S_IFREG | 04751;  // setuid must be dropped
  meta.st_uid = ::getuid();
  meta.st_gid = ::getgid();
  meta.st_mtim.tv_sec = 1000000000;
  meta.st_atim.tv_sec = 1000000000;
  {
    fpgaio::OutputFile f(target, false, fpgaio::OutputName::chosen);
    fpgaio::full_write(f.fd(), "data", 4, target);
    struct stat st;
    ASSERT_NE(::stat(target.c_str(), &st), 0) << "target must not exist before commit";
    f.commit(&meta);
    EXPECT_TRUE(f.regular());
  }
  struct stat st;
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(slurp(target), "data");
  EXPECT_EQ(std::system(("test \"$(ls -A '" + d.path + "')\" = out.gz").c_str()), 0) << "something beside the output";
}

TEST_P(OutputFileBoth, DestructorRemovesUncommitted) {
  TempDir d;
  std::string target = d.path + "/out.gz";
  {
    fpgaio::OutputFile f(target, false, fpgaio::OutputName::chosen);
    fpgaio::full_write(f.fd(), "partial", 7, target);
  }
  EXPECT_TRUE(dir_empty(d.path)) << "temporary file left behind";
}

TEST_P(OutputFileBoth, RefusesExistingTargetWithoutOverwrite) {
  TempDir d;
  std::string target = d.path + "/out.gz";
  std::ofstream(target) << "precious";
  EXPECT_THROW(fpgaio::OutputFile(target, false, fpgaio::OutputName::chosen), Error);
  EXPECT_EQ(slurp(target), "precious");
  // A target that appears between creation and commit is not clobbered either.
  std::string late = d.path + "/late.gz";
  {
    fpgaio::OutputFile f(late, false, fpgaio::OutputName::chosen);
    std::ofstream(late) << "arrived";
    EXPECT_THROW(f.commit(nullptr), Error);
  }
  EXPECT_EQ(slurp(late), "arrived");
}

TEST_P(OutputFileBoth, OverwriteReplacesAndLeavesNothingElse) {
  TempDir d;
  std::string target = d.path + "/out.gz";
  std::ofstream(target) << "old";
  {
    fpgaio::OutputFile f(target, true, fpgaio::OutputName::chosen);
    fpgaio::full_write(f.fd(), "new", 3, target);
    EXPECT_EQ(slurp(target), "old");
    f.commit(nullptr);
  }
  EXPECT_EQ(slurp(target), "new");
  EXPECT_EQ(std::system(("test \"$(ls -A '" + d.path + "')\" = out.gz").c_str()), 0);
}

// Issue 8, item 2: `ln -s /dev/null a.gz; fpga-gzip -f a` wrote a's data
// into /dev/null and then removed a.
TEST_P(OutputFileBoth, AChosenNameNeverFollowsASymlink) {
  TempDir d;
  std::string target = d.path + "/a.gz";
  ASSERT_EQ(::symlink("/dev/null", target.c_str()), 0);
  EXPECT_THROW(fpgaio::OutputFile(target, false, fpgaio::OutputName::chosen), Error);
  {
    fpgaio::OutputFile f(target, true, fpgaio::OutputName::chosen);
    EXPECT_TRUE(f.regular());
    fpgaio::full_write(f.fd(), "data", 4, target);
    f.commit(nullptr);
  }
  struct stat st;
  ASSERT_EQ(::lstat(target.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode)) << "the symlink must be replaced by a regular file";
  EXPECT_EQ(slurp(target), "data");
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  // A FIFO under a chosen name is replaced too, never written into.
  std::string fifo = d.path + "/b.gz";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  {
    fpgaio::OutputFile f(fifo, true, fpgaio::OutputName::chosen);
    f.commit(nullptr);
  }
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_P(OutputFileBoth, SignalCleanupRemovesRegisteredFiles) {
  TempDir d;
  std::string target = d.path + "/out.gz";
  fpgaio::OutputFile f(target, false, fpgaio::OutputName::chosen);
  fpgaio::remove_registered_temp_files();
  EXPECT_TRUE(dir_empty(d.path));
}

// Issue 8, item 7: a file being written has no name at all where the file
// system allows it, so SIGKILL leaves nothing behind.
TEST(OutputFile, UnnamedWhileWritten) {
  TempDir d;
  int probe = ::open(d.path.c_str(), O_TMPFILE | O_WRONLY, 0600);
  if (probe < 0) GTEST_SKIP() << "this file system has no O_TMPFILE";
  ::close(probe);
  std::string target = d.path + "/out.gz";
  fpgaio::OutputFile f(target, true, fpgaio::OutputName::chosen);
  fpgaio::full_write(f.fd(), "partial", 7, target);
  EXPECT_TRUE(dir_empty(d.path)) << "a named temporary file exists while the output is written";
}

TEST(OutputFile, AGivenNonRegularTargetIsWrittenInPlaceNeverReplaced) {
  fpgaio::OutputFile out("/dev/null", false, fpgaio::OutputName::given);  // no overwrite needed
  EXPECT_FALSE(out.regular());
  fpgaio::full_write(out.fd(), "x", 1, "/dev/null");
  out.commit(nullptr);
  struct stat st;
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(Input, MissingFileIsIoErrorWithPath) {
  try {
    fpgaio::Input in("/nonexistent/file");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_EQ(e.path, "/nonexistent/file");
    EXPECT_EQ(e.error_number(), ENOENT);
  }
}

TEST(Input, DirectoryIsRefused) {
  try {
    fpgaio::Input in("/tmp");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_number(), EISDIR);
  }
}

TEST(CopyBytes, InTheKernelToAFileByHandToAPipeAndShortSourcesFail) {
  testutil::MemFile src(testutil::text_data(300000));
  char tmpl[] = "/tmp/copybytesXXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::unlink(tmpl);
  fpgaio::FdSink file(fd, "file");
  fpgaio::copy_bytes(src.fd, 1000, 200000, file, "src");
  EXPECT_EQ(::lseek(fd, 0, SEEK_END), 200000);
  fpgaio::Bytes back(200000), want = testutil::text_data(300000);
  ASSERT_EQ(::pread(fd, back.data(), back.size(), 0), 200000);
  EXPECT_TRUE(std::equal(back.begin(), back.end(), want.begin() + 1000));
  ::close(fd);

  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::thread reader([&] {
    fpgaio::Bytes got(5000);
    EXPECT_EQ(fpgaio::full_read(p[0], got.data(), got.size(), "pipe"), 5000u);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin() + 7));
  });
  fpgaio::FdSink pipe_sink(p[1], "pipe");
  fpgaio::copy_bytes(src.fd, 7, 5000, pipe_sink, "src");
  reader.join();
  ::close(p[0]);
  ::close(p[1]);

  fpgaio::NullSink null;
  EXPECT_THROW(fpgaio::copy_bytes(src.fd, 299000, 5000, null, "src"), fpgaio::Error);
}

namespace {

bool huge_pages_on() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return sizeof(void*) == 8 && (s.find("[always]") != std::string::npos || s.find("[madvise]") != std::string::npos);
}

// The VmFlags line of the mapping that holds p in /proc/self/smaps.
std::string vm_flags_of(const void* p) {
  std::ifstream f("/proc/self/smaps");
  std::string line;
  bool inside = false;
  auto a = reinterpret_cast<std::uintptr_t>(p);
  while (std::getline(f, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = a >= lo && a < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

}  // namespace

TEST(Buffers, HugeOnlyWhereAskedForWholeAdvisedPages) {
  using fpgaio::detail::huge_mapping;
  EXPECT_EQ(huge_mapping(0), 0u);
  EXPECT_EQ(huge_mapping(fpgaio::detail::kHugeBuffer - 1), 0u);
  // A buffer nobody asked to be huge stays operator new's (a request body
  // is filled as it arrives: a 2 MiB page would be resident at once).
  fpgaio::Bytes plain;
  plain.reserve(4 << 20);
  EXPECT_EQ(vm_flags_of(plain.data()).find(" hg"), std::string::npos) << vm_flags_of(plain.data());
  if (!huge_pages_on()) {
    EXPECT_EQ(huge_mapping(fpgaio::detail::kHugeBuffer), 0u);
    fpgaio::Bytes b;
    fpgaio::detail::reserve_huge(b, 1 << 20);
    EXPECT_GE(b.capacity(), 1u << 20);
    GTEST_SKIP() << "no transparent huge pages here: every buffer is operator new's";
  }
  EXPECT_EQ(huge_mapping(1 << 20), 2u << 20);
  EXPECT_EQ(huge_mapping((2 << 20) + 1), 4u << 20);
  // A block-sized buffer asked for: 2 MiB-aligned, writable to its end,
  // advised (the "hg" flag of its mapping); its bytes kept when it grows.
  fpgaio::Bytes b(100);
  b[7] = 42;
  fpgaio::detail::reserve_huge(b, 1 << 20);
  EXPECT_EQ(b.size(), 100u);
  EXPECT_EQ(b[7], 42);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % (2 << 20), 0u);
  b.resize(1 << 20);
  std::memset(b.data() + 100, 0x5a, b.size() - 100);
  EXPECT_EQ(b.back(), 0x5a);
  EXPECT_NE(vm_flags_of(b.data()).find(" hg"), std::string::npos) << vm_flags_of(b.data());
  // Growing it by other means gives operator new's memory, and the mapping
  // is unmapped when freed (no smaps entry left at its address).
  const std::uint8_t* mapped = b.data();
  b.reserve(3 << 20);
  EXPECT_EQ(b[7], 42);
  EXPECT_TRUE(vm_flags_of(mapped).empty() || vm_flags_of(mapped).find(" hg") == std::string::npos);
}
