// Unit tests of the directory-descriptor walk (dir.hpp) and of the inputs
// and outputs made relative to a held directory: a name swapped after a
// check is never followed, and outputs stay in the directory opened first.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "fpgaio/dir.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/io.hpp"
#include "tempdir.hpp"

using fpgaio::Dir;
using fpgaio::Error;

namespace {

using testutil::TempDir;

void put(const std::string& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

struct stat lstat_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

}  // namespace

TEST(SplitPath, DirectoryAndLastComponent) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(fpgaio::split_path("a/b/c"), (P{"a/b/", "c"}));
  EXPECT_EQ(fpgaio::split_path("c"), (P{"", "c"}));
  EXPECT_EQ(fpgaio::split_path("a/b/"), (P{"a/", "b"}));
  EXPECT_EQ(fpgaio::split_path("/"), (P{"/", "."}));
  EXPECT_EQ(fpgaio::split_path("/x"), (P{"/", "x"}));
  EXPECT_EQ(fpgaio::split_path("."), (P{"", "."}));
}

TEST(Dir, EntriesSortedAndShownWithThePrefix) {
  TempDir t;
  put(t.path + "/b", "b");
  put(t.path + "/a", "a");
  ::mkdir((t.path + "/c").c_str(), 0755);
  Dir d = Dir::open(t.path);
  EXPECT_EQ(d.prefix(), t.path + "/");
  std::vector<std::string> names;
  ASSERT_EQ(d.entries(names), 0);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
  Dir c = d.sub("c", d.shown("c"));
  EXPECT_EQ(c.shown("x"), t.path + "/c/x");
  EXPECT_EQ(Dir::open("").prefix(), "");
  EXPECT_THROW(Dir::open(t.path + "/a"), Error);  // not a directory
}

// The walk's descent: a subdirectory swapped for a symbolic link is not
// entered (O_NOFOLLOW), and one swapped for another directory since it was
// looked at is refused.
TEST(Dir, SubNeverFollowsALinkAndMustBeWhatWasChecked) {
  TempDir t;
  ::mkdir((t.path + "/victim").c_str(), 0700);
  ::mkdir((t.path + "/sub").c_str(), 0755);
  Dir top = Dir::open(t.path);
  struct stat checked = lstat_of(t.path + "/sub");
  ASSERT_EQ(::rename((t.path + "/sub").c_str(), (t.path + "/sub.real").c_str()), 0);
  ASSERT_EQ(::symlink((t.path + "/victim").c_str(), (t.path + "/sub").c_str()), 0);
  try {
    top.sub("sub", "sub", &checked);
    FAIL() << "entered a symbolic link";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_number(), ENOTDIR);
    EXPECT_EQ(e.path, "sub");
  }
  // -rf follows it (gzip does), but only with `follow` and a link checked.
  struct stat link = lstat_of(t.path + "/sub");
  EXPECT_NO_THROW(top.sub("sub", "sub", &link, true));
  // Another directory under the checked name.
  ASSERT_EQ(::unlink((t.path + "/sub").c_str()), 0);
  ASSERT_EQ(::mkdir((t.path + "/sub").c_str(), 0755), 0);
  try {
    top.sub("sub", "sub", &checked);
    FAIL() << "entered a directory that was not the one checked";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_number(), ESTALE);
  }
}

// A held directory stays what it was when its path is swapped: lookups,
// opens and removals happen in the directory opened, not the path's new one.
TEST(Dir, HeldDirectoryStaysPutWhenItsPathIsSwapped) {
  TempDir t;
  ::mkdir((t.path + "/victim").c_str(), 0700);
  ::mkdir((t.path + "/sub").c_str(), 0755);
  put(t.path + "/sub/f", "real");
  put(t.path + "/victim/f", "secret");
  Dir sub = Dir::open(t.path + "/sub");
  ASSERT_EQ(::rename((t.path + "/sub").c_str(), (t.path + "/sub.real").c_str()), 0);
  ASSERT_EQ(::symlink((t.path + "/victim").c_str(), (t.path + "/sub").c_str()), 0);
  struct stat st;
  ASSERT_EQ(sub.stat("f", st), 0);
  fpgaio::Input in(sub, "f", &st, false);
  char buf[16];
  EXPECT_EQ(in.read(buf, sizeof buf), 4u);
  EXPECT_EQ(std::string(buf, 4), "real");
  EXPECT_EQ(sub.remove_if_same("f", st), 0);
  EXPECT_FALSE(exists(t.path + "/sub.real/f"));
  EXPECT_EQ(slurp(t.path + "/victim/f"), "secret");
}

TEST(Dir, RemoveIfSameKeepsAFileThatReplacedTheChecked) {
  TempDir t;
  put(t.path + "/f", "one");
  Dir d = Dir::open(t.path);
  struct stat was = lstat_of(t.path + "/f");
  put(t.path + "/g", "two");
  ASSERT_EQ(::rename((t.path + "/g").c_str(), (t.path + "/f").c_str()), 0);
  EXPECT_EQ(d.remove_if_same("f", was), ESTALE);
  EXPECT_EQ(slurp(t.path + "/f"), "two");
  EXPECT_EQ(d.remove_if_same("gone", was), ENOENT);
}

// Opening what was checked: a symbolic link swapped in is refused unless
// followed on purpose, a FIFO swapped in neither blocks nor passes, and
// another file under the name is refused.
TEST(OpenChecked, RefusesWhatWasNotChecked) {
  TempDir t;
  put(t.path + "/f", "data");
  put(t.path + "/secret", "secret");
  Dir d = Dir::open(t.path);
  struct stat checked = lstat_of(t.path + "/f"), st;
  int fd = fpgaio::open_checked(d, "f", &checked, false, st);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0) << "O_NONBLOCK is cleared once open";
  ::close(fd);

  ASSERT_EQ(::rename((t.path + "/f").c_str(), (t.path + "/f.real").c_str()), 0);
  ASSERT_EQ(::symlink((t.path + "/secret").c_str(), (t.path + "/f").c_str()), 0);
  try {
    fpgaio::open_checked(d, "f", &checked, false, st);
    FAIL() << "followed a symbolic link";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_number(), ELOOP);
  }
  // With -f the link is followed, and then the file is not the one checked.
  try {
    fpgaio::open_checked(d, "f", &checked, true, st);
    FAIL() << "read a file that was not the one checked";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_number(), ESTALE);
    EXPECT_NE(std::string(e.what()).find("replaced after it was checked"), std::string::npos);
  }
  // A link that was checked as a link is followed with `follow` (gzip -f, -c).
  struct stat link = lstat_of(t.path + "/f");
  fd = fpgaio::open_checked(d, "f", &link, true, st);
  ::close(fd);

  // A FIFO nobody writes to: the open returns at once and is refused.
  ASSERT_EQ(::unlink((t.path + "/f").c_str()), 0);
  ASSERT_EQ(::mkfifo((t.path + "/f").c_str(), 0600), 0);
  bool done = false;
  std::thread watchdog([&] {
    for (int i = 0; i < 500 && !done; ++i) ::usleep(10000);
    if (!done) {  // the open blocked: unblock it so the test can fail
      int w = ::open((t.path + "/f").c_str(), O_WRONLY | O_NONBLOCK);
      if (w >= 0) ::close(w);
    }
  });
  EXPECT_THROW(fpgaio::open_checked(d, "f", &checked, false, st), Error);
  done = true;
  watchdog.join();
}

// The output of a walk is linked into the directory it was made in, even
// when that directory's path leads elsewhere by the commit, with both kinds
// of temporary file.
class OutputInDir : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { fpgaio::OutputFile::use_anonymous_temps(GetParam()); }
  void TearDown() override { fpgaio::OutputFile::use_anonymous_temps(true); }
};
INSTANTIATE_TEST_SUITE_P(Temps, OutputInDir, ::testing::Values(true, false));

TEST_P(OutputInDir, CommitsIntoTheDirectoryOpenedFirst) {
  TempDir t;
  ::mkdir((t.path + "/victim").c_str(), 0700);
  ::mkdir((t.path + "/sub").c_str(), 0755);
  for (bool by_dir : {true, false}) {
    for (bool overwrite : {false, true}) {
      std::optional<Dir> held;
      std::optional<fpgaio::OutputFile> out;
      if (by_dir) {
        held.emplace(Dir::open(t.path + "/sub"));
        out.emplace(*held, "out", overwrite);
        EXPECT_EQ(out->path(), t.path + "/sub/out");
      } else {
        out.emplace(t.path + "/sub/out", overwrite, fpgaio::OutputName::chosen);
      }
      fpgaio::full_write(out->fd(), "data", 4, out->path());
      ASSERT_EQ(::rename((t.path + "/sub").c_str(), (t.path + "/sub.real").c_str()), 0);
      ASSERT_EQ(::symlink((t.path + "/victim").c_str(), (t.path + "/sub").c_str()), 0);
      int back = out->open_readable();
      char buf[8];
      EXPECT_EQ(::pread(back, buf, sizeof buf, 0), 4);
      ::close(back);
      out->commit(nullptr);
      EXPECT_EQ(slurp(t.path + "/sub.real/out"), "data");
      EXPECT_FALSE(exists(t.path + "/victim/out"));
      // Back as it was, the output removed, for the next round.
      ASSERT_EQ(::unlink((t.path + "/sub").c_str()), 0);
      ASSERT_EQ(::rename((t.path + "/sub.real").c_str(), (t.path + "/sub").c_str()), 0);
      ASSERT_EQ(::unlink((t.path + "/sub/out").c_str()), 0);
    }
  }
  std::vector<std::string> left;
  ASSERT_EQ(Dir::open(t.path + "/victim").entries(left), 0);
  EXPECT_TRUE(left.empty());
}

TEST_P(OutputInDir, SignalCleanupRemovesTheTemporaryInItsDirectory) {
  TempDir t;
  ::mkdir((t.path + "/sub").c_str(), 0755);
  Dir sub = Dir::open(t.path + "/sub");
  fpgaio::OutputFile out(sub, "out", false);
  ASSERT_EQ(::rename((t.path + "/sub").c_str(), (t.path + "/moved").c_str()), 0);
  fpgaio::remove_registered_temp_files();
  std::vector<std::string> left;
  ASSERT_EQ(sub.entries(left), 0);
  EXPECT_TRUE(left.empty());
}

// Issue 20, item 8: a file whose stat lies about its size.
TEST(LearnSize, ReadsWhatAFileHoldsWhereItsStatLies) {
  if (::access("/proc/version", R_OK) != 0) GTEST_SKIP() << "no /proc/version";
  std::string want = slurp("/proc/version");
  fpgaio::Input in("/proc/version");
  in.learn_size();
  EXPECT_EQ(static_cast<std::size_t>(in.stat().st_size), want.size());
  std::string got(want.size() + 1, '\0');
  EXPECT_EQ(in.read(got.data(), got.size()), want.size());
  got.resize(want.size());
  EXPECT_EQ(got, want);
  // More than the first read: read to the end, up to the limit.
  if (::access("/proc/self/maps", R_OK) == 0) {
    fpgaio::Input maps("/proc/self/maps");
    EXPECT_THROW(maps.learn_size(16, 64), Error);
    fpgaio::Input again("/proc/self/maps");
    again.learn_size(16);
    EXPECT_GT(again.stat().st_size, 16);
  }
}

TEST(LearnSize, LeavesATruthfulFileAlone) {
  TempDir t;
  put(t.path + "/f", std::string(300000, 'x'));
  fpgaio::Input in(t.path + "/f");
  int fd = in.fd();
  in.learn_size();
  EXPECT_EQ(in.fd(), fd);
  EXPECT_EQ(in.stat().st_size, 300000);
  put(t.path + "/small", "abc");
  fpgaio::Input small(t.path + "/small");
  fd = small.fd();
  small.learn_size();
  EXPECT_EQ(small.fd(), fd);
  EXPECT_EQ(small.stat().st_size, 3);
}

// Issue 21, item 8: fpga-split -n of a pipe or a device, as GNU split (or
// better: GNU 9.1 refuses a pipe).
TEST(LearnSize, AStreamIsReadToItsEndIntoATemporaryFile) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  const std::string data(300000, 'y');
  std::thread writer([&] {
    fpgaio::full_write(p[1], data.data(), data.size(), "pipe");
    ::close(p[1]);
  });
  fpgaio::Input in("/dev/fd/" + std::to_string(p[0]));
  in.learn_stream_size(16);
  writer.join();
  ::close(p[0]);
  EXPECT_EQ(in.stat().st_size, 300000);
  std::string got(data.size(), '\0');
  ASSERT_EQ(::pread(in.fd(), got.data(), got.size(), 0), static_cast<ssize_t>(got.size()));
  EXPECT_EQ(got, data);
}

TEST(LearnSize, ASeekableDeviceIsProbedAsGnuSplitDoes) {
  fpgaio::Input null("/dev/null");
  null.learn_stream_size();
  EXPECT_EQ(null.stat().st_size, 0);
  fpgaio::Input zero("/dev/zero");
  try {
    zero.learn_stream_size(4096);
    ADD_FAILURE() << "/dev/zero has no size";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot determine file size"), std::string::npos) << e.what();
  }
}

