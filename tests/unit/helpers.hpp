// Test helpers: sinks into vectors, data; and files.hpp (memfd inputs,
// pipes, zlib's gzip, IDX files).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "fpgaio/gzip.hpp"
#include "fpgaio/io.hpp"
#include "files.hpp"

namespace testutil {

using fpgaio::Bytes;

struct VecSink : fpgaio::Sink {
  Bytes v;
  void write(const std::uint8_t* d, std::size_t n) override { v.insert(v.end(), d, d + n); }
};

inline Bytes text_data(std::size_t n, unsigned seed = 1) {
  std::mt19937 rng(seed);
  static const char* words[] = {"alpha ", "beta ", "gamma ", "delta\n", "epsilon ", "zeta ", "eta\n", "theta "};
  Bytes out;
  out.reserve(n + 16);
  while (out.size() < n) {
    const char* w = words[rng() % 8];
    out.insert(out.end(), w, w + std::char_traits<char>::length(w));
  }
  out.resize(n);
  return out;
}

inline Bytes random_data(std::size_t n, unsigned seed = 2) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

inline fpgaio::gzip::DecompressResult decode(const Bytes& gz, Bytes& out, unsigned threads = 2) {
  MemFile f(gz);
  fpgaio::Input in(f.path());
  fpgaio::gzip::DecompressOptions o;
  o.threads = threads;
  fpgaio::gzip::Decoder d(in, o);
  VecSink s;
  auto r = d.run(s);
  out = std::move(s.v);
  return r;
}

}  // namespace testutil
