// The fuzz harness of fpga-remote's stdio framing (serve --stdio, the SSH
// transport; docs/PROTOCOL.md, "The stdio framing"): any bytes as the
// requests of one session. The server must end by returning (the input
// ended between frames) or by an fpgaio::Error naming stdin (a line it
// cannot read, a frame cut short), never another exception or a crash;
// what it wrote must be whole answer frames, each with its body's CRC-32,
// never a 200 with nothing for a request it did not run; and no more
// answers than request lines. Memory: --max-body 64 KiB, so a declared
// 2^40 body is read and dropped, never allocated (ASan's allocator limit
// would report it).
//
// A header of its own (not harnesses.hpp): it needs libfpgaio's remote
// library. Used by fuzz_stdio_frames.cpp and tests/unit/regression_test.cpp,
// which replays tests/fuzz/seeds/fuzz_stdio_frames/ and
// tests/fuzz/regressions/fuzz_stdio_frames-*.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "fpgaio/codec.hpp"
#include "fpgaio/remote.hpp"
#include "harnesses.hpp"

namespace fuzzh {

inline void stdio_frames(const std::uint8_t* data, std::size_t size) {
  static fpgaio::remote::Service svc([] {
    fpgaio::remote::ServerConfig c;
    c.devices = "cpu";
    c.slots = 1;
    c.max_body = 64 << 10;
    c.max_answer = 1 << 20;
    return c;
  }());
  int in = ::memfd_create("fuzz-in", MFD_CLOEXEC), out = ::memfd_create("fuzz-out", MFD_CLOEXEC);
  check(in >= 0 && out >= 0, "memfd");
  for (std::size_t done = 0; done < size;) {
    ssize_t w = ::write(in, data + done, size - done);
    check(w > 0, "write");
    done += static_cast<std::size_t>(w);
  }
  ::lseek(in, 0, SEEK_SET);
  try {
    fpgaio::remote::serve_stdio(svc, in, out);
  } catch (const fpgaio::Error& e) {
    check(e.path == "stdin", std::string("an error that does not name stdin: ") + e.what());
  }
  std::string o(static_cast<std::size_t>(::lseek(out, 0, SEEK_END)), '\0');
  check(::pread(out, o.data(), o.size(), 0) == static_cast<ssize_t>(o.size()), "read back");
  ::close(in);
  ::close(out);
  std::size_t pos = 0, answers = 0;
  while (pos < o.size()) {
    std::size_t nl = o.find('\n', pos);
    check(nl != std::string::npos, "an answer line cut short");
    std::string head = o.substr(pos, nl - pos);
    std::size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
    check(sp1 == 3 && sp2 != std::string::npos, "an answer line: " + head);
    std::string status = head.substr(0, 3), len = head.substr(4, sp2 - 4), type = head.substr(sp2 + 1);
    check(status.find_first_not_of("0123456789") == std::string::npos && !len.empty() && len.size() < 19 &&
              len.find_first_not_of("0123456789") == std::string::npos,
          "an answer line: " + head);
    std::size_t n = std::stoull(len);
    check(nl + 1 + n <= o.size(), "an answer body cut short");
    auto crc = type.find("; body-crc=");
    check(crc != std::string::npos &&
              std::stoull(type.substr(crc + 11)) == fpgaio::crc32(0, o.data() + nl + 1, n),
          "an answer without its body's CRC-32");
    check(!(status == "200" && type.rfind("application/octet-stream; body-crc=", 0) == 0 && n == 0),
          "a 200 with nothing");
    pos = nl + 1 + n;
    ++answers;
  }
  check(answers <= static_cast<std::size_t>(std::count(data, data + size, '\n')), "more answers than requests");
}

}  // namespace fuzzh
