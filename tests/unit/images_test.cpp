// Image inputs and labels (images.hpp): gzip images as the datasets ship
// them, damaged and hostile (issue 21), byte ranges of gzip files, a labels
// file that is an images file, labels whose stat lies (issue 20).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

#include <zlib.h>

#include "helpers.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/images.hpp"

using namespace fpgaio;
using bnn::Shape;
using testutil::idx3;
using testutil::MemFile;
using testutil::Pipe;

using testutil::error_of;

namespace {

Bytes gzip_of(const Bytes& d) { return testutil::zlib_gzip(d, 1); }

// Every image of `path` as a Reader gives them (batches of 4), or the error
// after the images read before it.
struct Images {
  Bytes pixels;
  std::size_t count = 0;
  std::string error = "no error";
};
Images images_of(const std::string& path, images::Format f = images::Format::idx, Shape model = Shape{32, 32, 1}) {
  Images r;
  try {
    Input in(path);
    images::Reader rd(in, f, model, std::nullopt, std::nullopt);
    images::Batch b;
    for (std::size_t got; (got = rd.next(4, b)) > 0;) {
      r.pixels.insert(r.pixels.end(), b.pixels.begin(), b.pixels.begin() + static_cast<std::ptrdiff_t>(got * model.values()));
      r.count += got;
    }
  } catch (const Error& e) {
    r.error = e.path + ": " + e.describe();
  }
  return r;
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST(ImageReader, GzipIdxImagesAreTheDecompressedFilesFromAFileAndAStream) {
  // Was: "not an IDX file (bad magic)".
  const Bytes d = idx3(9, 28, 28, 9);
  MemFile plain(d);
  const Images want = images_of(plain.path());
  ASSERT_EQ(want.error, "no error");
  ASSERT_EQ(want.count, 9u);
  // One member (gzip's), two members (pigz, cat a.gz b.gz), fpga-gzip's own
  // (FT members and an end marker).
  gzip::CompressOptions o;
  o.block_size = 1024;
  const Bytes one = gzip_of(d), two = cat(gzip_of(Bytes(d.begin(), d.begin() + 1000)), gzip_of(Bytes(d.begin() + 1000, d.end())));
  const Bytes ours = gzip::compress_buffer(d.data(), d.size(), o);
  for (const Bytes* gz : {&one, &two, &ours}) {
    MemFile f(*gz);
    Pipe p(*gz);
    const Images a = images_of(f.path()), b = images_of(p.path());
    EXPECT_EQ(a.error, "no error");
    EXPECT_EQ(b.error, "no error");
    EXPECT_EQ(a.count, 9u);
    EXPECT_EQ(b.count, 9u);
    EXPECT_TRUE(a.pixels == want.pixels);
    EXPECT_TRUE(b.pixels == want.pixels);
  }
  // CIFAR-10 records and raw images the same way.
  Bytes rec(3 * 3073);
  for (std::size_t i = 0; i < rec.size(); ++i) rec[i] = static_cast<std::uint8_t>(i % 3073 == 0 ? i / 3073 : i * 13);
  MemFile rp(rec), rg(gzip_of(rec));
  const Images c = images_of(rp.path(), images::Format::cifar, Shape{32, 32, 3});
  const Images cg = images_of(rg.path(), images::Format::cifar, Shape{32, 32, 3});
  EXPECT_EQ(cg.error, "no error");
  EXPECT_EQ(cg.count, 3u);
  EXPECT_TRUE(cg.pixels == c.pixels);
}

TEST(ImageReader, DamagedGzipIdxIsAnErrorNamingTheFileAfterOnlyTheImagesItHolds) {
  const Bytes d = idx3(20, 28, 28, 20);
  const Bytes gz = gzip_of(d);
  MemFile plain(d);
  const Images want = images_of(plain.path());
  ASSERT_EQ(want.count, 20u);
  // Cut short anywhere, from a file and a stream: an error naming it, after
  // images that are the file's.
  for (std::size_t cut = 0; cut < gz.size(); ++cut) {
    const Bytes c(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(cut));
    MemFile f(c);
    Pipe p(c);
    for (const std::string& path : {f.path(), p.path()}) {
      const Images r = images_of(path);
      EXPECT_EQ(r.error.rfind(path + ": corrupt data", 0), 0u) << cut << ": " << r.error;
      EXPECT_TRUE(std::equal(r.pixels.begin(), r.pixels.end(), want.pixels.begin())) << cut;
    }
  }
  // A bit flipped anywhere: an error naming the file, or (a flag gzip does
  // not look at, the time) the same images. (Not always "corrupt data": what
  // inflates before the CRC-32 is checked may be an IDX header of another
  // shape, which the model does not take.)
  std::size_t errors = 0;
  for (std::size_t i = 0; i < gz.size(); ++i) {
    Bytes c = gz;
    c[i] ^= static_cast<std::uint8_t>(1u << (i * 5 % 8));
    MemFile f(c);
    const Images r = images_of(f.path());
    if (r.error == "no error") {
      EXPECT_TRUE(r.pixels == want.pixels) << "byte " << i;
      continue;
    }
    ++errors;
    EXPECT_EQ(r.error.rfind(f.path() + ": ", 0), 0u) << i << ": " << r.error;
  }
  EXPECT_GT(errors, gz.size() / 2);
  // Data after the gzip member: an error, not ignored.
  MemFile tail(cat(gz, Bytes{'x', 'y'}));
  EXPECT_EQ(images_of(tail.path()).error, tail.path() + ": corrupt data: data after the gzip members (trailing garbage)");
}

TEST(ImageReader, GzipIdxIsHeldToItsHeaderCountInBoundedReads) {
  // 2^32 - 1 images declared, 20 there: the 20, then the file's message.
  const Bytes big = idx3(0xffffffffu, 28, 28, 20);
  MemFile f(gzip_of(big));
  Images r = images_of(f.path());
  EXPECT_EQ(r.count, 20u);
  EXPECT_EQ(r.error, f.path() + ": corrupt data: IDX header describes " +
                         std::to_string(std::uint64_t{0xffffffffu} * 784 + 16) + " bytes but the file has " +
                         std::to_string(big.size()));
  // 10 declared and 64 MiB of zeros after them (a bomb of 64 KiB): the 10,
  // then an error once 1 MiB past them was read, not at the end of 64 MiB.
  Bytes bomb = idx3(10, 28, 28, 10);
  const std::size_t declared = bomb.size();
  bomb.resize(bomb.size() + (64u << 20), 0);
  const Bytes bomb_gz = gzip_of(bomb);
  bomb = Bytes();
  MemFile g(bomb_gz);
  Pipe p(bomb_gz);
  for (const std::string& path : {g.path(), p.path()}) {
    r = images_of(path);
    EXPECT_EQ(r.count, 10u);
    EXPECT_EQ(r.error, path + ": corrupt data: IDX header describes " + std::to_string(declared) +
                           " bytes but the file has more than " + std::to_string(declared + 1 + (1u << 20)));
  }
}

TEST(ImageReader, AByteRangeOfAGzipFileIsRefusedAndSaysWhy) {
  const Bytes gz = gzip_of(idx3(4, 28, 28, 4));
  MemFile f(gz);
  ByteRange range;
  range.path = f.path();
  range.index = "001";
  range.offset = 0;
  range.length = gz.size();
  Input in(range);
  EXPECT_EQ(error_of([&] { images::Content c(in); }),
            range.operand() + ": a byte range of a gzip file cannot be read: its offsets count compressed "
                              "bytes (give the whole file, or ranges of the decompressed one)");
}

TEST(ImageReader, AnImagesFileGivenAsLabelsSaysWhatItIs) {
  // Was: "not an IDX file: header cut short" (8 bytes read as a labels header).
  const Bytes d = idx3(3, 28, 28, 3);
  MemFile f(d), g(gzip_of(d));
  Pipe p(d);
  for (const std::string& path : {f.path(), g.path(), p.path()})
    EXPECT_EQ(error_of([&] { images::Labels l(path); }),
              path + ": corrupt data: not an IDX labels file: it has 3 dimensions, labels have 1 (an IDX images file?)");
}

TEST(ImageReader, LabelsWhoseStatLiesAreReadToLearnTheirSize) {
  // /proc/PID/environ says 0 bytes and holds the environment: a child's,
  // made an IDX1 labels file of 3 labels (each string ends in a 0 byte).
  char e0[] = "", e1[] = "", e2[] = "\x08\x01", e3[] = "", e4[] = "", e5[] = "\x03\x03\x05";
  char* envp[] = {e0, e1, e2, e3, e4, e5, nullptr};
  char a0[] = "sleep", a1[] = "30";
  char* argv[] = {a0, a1, nullptr};
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execve("/bin/sleep", argv, envp);
    ::_exit(127);
  }
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{pid};
  const std::string path = "/proc/" + std::to_string(pid) + "/environ";
  const std::string want("\0\0\x08\x01\0\0\0\x03\x03\x05\0", 11);
  std::string got;
  for (int i = 0; i < 500 && got != want; ++i) {  // until the exec is done
    std::ifstream in(path, std::ios::binary);
    got.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (got != want) ::usleep(10000);
  }
  struct stat st;
  if (got != want || ::stat(path.c_str(), &st) != 0 || st.st_size != 0)
    GTEST_SKIP() << path << " is not readable here, or its stat does not lie";
  // Was: "IDX header describes 11 bytes but the file has 0".
  images::Labels lab(path);
  EXPECT_EQ(lab.count(), 3u);
  EXPECT_EQ(lab.at(0), 3);
  EXPECT_EQ(lab.at(1), 5);
  EXPECT_EQ(lab.at(2), 0);
}
