// Test inputs that need only io.hpp: memfd files and pipes readable by path,
// gzip data as zlib writes it, IDX image files. (Apart from helpers.hpp,
// whose gzip.hpp brings codec's Engine into files that have bnn's.)
#pragma once

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <csignal>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include "fpgaio/error.hpp"
#include "fpgaio/io.hpp"

namespace testutil {

using fpgaio::Bytes;

// A file descriptor holding `data`, readable by path (/proc/self/fd/N).
struct MemFile {
  int fd;
  explicit MemFile(const Bytes& data) : fd(::memfd_create("test", 0)) {
    fpgaio::full_write(fd, data.data(), data.size(), "memfd");
    ::lseek(fd, 0, SEEK_SET);
  }
  ~MemFile() { ::close(fd); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd); }
};

// A pipe holding `data`, written by a thread (so it may exceed the pipe's
// buffer), readable as a stream by path.
struct Pipe {
  int fds[2];
  std::thread writer;
  explicit Pipe(Bytes data) {
    ::signal(SIGPIPE, SIG_IGN);  // the reader may stop early: EPIPE, not death
    if (::pipe(fds) != 0) std::abort();
    writer = std::thread([this, d = std::move(data)] {
      std::size_t off = 0;
      while (off < d.size()) {
        ssize_t n = ::write(fds[1], d.data() + off, d.size() - off);
        if (n <= 0) break;  // the reader closed early
        off += static_cast<std::size_t>(n);
      }
      ::close(fds[1]);
    });
  }
  ~Pipe() {
    ::close(fds[0]);
    writer.join();
  }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fds[0]); }
};

// `data` as one gzip member written by zlib: no FT index, what gzip and
// pigz write.
inline Bytes zlib_gzip(const Bytes& data, int level = 6) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  Bytes out(deflateBound(&z, static_cast<uLong>(data.size())) + 64);
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// An IDX file of `images` HxW images (pixel i is i * 7) whose header says `count`.
inline Bytes idx3(std::uint32_t count, std::uint32_t h, std::uint32_t w, std::size_t images) {
  Bytes b = {0, 0, 8, 3};
  for (std::uint32_t d : {count, h, w})
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
  for (std::size_t i = 0; i < images * h * w; ++i) b.push_back(static_cast<std::uint8_t>(i * 7));
  return b;
}

// "PATH: MESSAGE" of the fpgaio::Error that f throws, or "no error".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const fpgaio::Error& e) {
    return e.path + ": " + e.describe();
  }
  return "no error";
}

}  // namespace testutil
