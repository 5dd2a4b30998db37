// A minimal hls::stream<T> for compiling our HLS kernels with g++: an unbounded FIFO, as
// in Vitis C-simulation, where the processes of a DATAFLOW region run one after another.
// Vitis HLS brings its own hls_stream.h; this file stands in for it where Vitis is absent,
// with a subset of its methods (kernels/sim/README.md) that behave as there, except that
// reading an empty stream or leaving data in one stops the simulation (the real model
// prints a warning and carries on).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <deque>

namespace hls {

template <class T>
class stream {
  std::deque<T> q_;
  const char* name_ = "stream";

  [[noreturn]] void fail(const char* what) const {
    // Reading an empty stream deadlocks the hardware; leftover data is lost data. Both are
    // kernel bugs, so C-simulation stops at once instead of carrying on with garbage.
    std::fprintf(stderr, "hls::stream '%s': %s\n", name_, what);
    std::abort();
  }

 public:
  stream() = default;
  explicit stream(const char* name) : name_(name) {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream() {
    if (!q_.empty()) fail("leftover data at the end of the simulation");
  }

  void write(const T& x) { q_.push_back(x); }
  bool write_nb(const T& x) {
    q_.push_back(x);
    return true;
  }
  T read() {
    if (q_.empty()) fail("read from an empty stream (a deadlock in hardware)");
    T x = q_.front();
    q_.pop_front();
    return x;
  }
  void read(T& x) { x = read(); }
  // As the real model: a failed non-blocking read leaves T() in x, not x as it was.
  bool read_nb(T& x) {
    if (q_.empty()) {
      x = T();
      return false;
    }
    x = read();
    return true;
  }
  // Not const, as in the real model: a const stream& cannot be asked.
  bool empty() { return q_.empty(); }
  bool full() const { return false; }
  std::size_t size() { return q_.size(); }
  // void, as in the real model: `s << a << b` does not compile there.
  void operator<<(const T& x) { write(x); }
  void operator>>(T& x) { x = read(); }
};

}  // namespace hls
