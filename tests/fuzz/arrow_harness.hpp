// The fuzz harness of Arrow IPC chunks (fuzz_arrow), beside harnesses.hpp
// and replayed by the same unit test: any bytes are read as an Arrow IPC
// stream or file; the reader accepts them or refuses them with a one-line
// fpgaio::Error, and what it accepts splits into chunks that read again and
// join into the same record batches, read from a file and from a pipe alike.
#pragma once

#include "fpgaio/arrow.hpp"
#include "harnesses.hpp"

namespace fuzzh {

namespace detail_arrow {

struct VecSink : fpgaio::Sink {
  Bytes v;
  void write(const std::uint8_t* d, std::size_t n) override { v.insert(v.end(), d, d + n); }
};

// The record batch messages of `data`, verbatim, in order.
inline std::vector<Bytes> batches(const Bytes& data, const fpgaio::arrow::Layout& l) {
  std::vector<Bytes> out;
  for (const auto& m : l.messages)
    if (m.kind == fpgaio::arrow::Kind::record_batch)
      out.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(m.offset),
                       data.begin() + static_cast<std::ptrdiff_t>(m.offset + m.size()));
  return out;
}

inline void one_line(const Error& e) {
  check(e.kind() == fpgaio::ErrorKind::corrupt || e.kind() == fpgaio::ErrorKind::io, "an error of another kind");
  check(e.describe().find('\n') == std::string::npos, "an error of more than one line");
}

}  // namespace detail_arrow

inline void arrow(const std::uint8_t* data, std::size_t size) {
  namespace ar = fpgaio::arrow;
  using detail_arrow::VecSink;
  const Bytes in(data, data + size);
  MemFile f(in);
  std::optional<ar::Layout> layout;
  try {
    layout = ar::scan(f.fd, 0, in.size(), "fuzz");
  } catch (const Error& e) {
    detail_arrow::one_line(e);
  }
  try {
    ar::scan(f.fd, 0, in.size(), "fuzz", true);  // as a range's messages
  } catch (const Error& e) {
    detail_arrow::one_line(e);
  }
  // A pipe reads what the file does (streams only: a file needs its footer).
  const bool file_format = in.size() >= 6 && ar::has_file_magic(in.data(), in.size());
  std::optional<std::vector<Bytes>> piped;
  if (!file_format) {
    Pipe p(in);
    if (p.ok) {
      fpgaio::Input input(p.path());
      std::vector<VecSink> sinks;
      ar::StreamChunks sc;
      sc.open = [&](std::uint64_t) -> fpgaio::Sink& { return sinks.emplace_back(); };
      sc.close = [](const ar::Chunk&, bool) {};
      sinks.reserve(in.size() + 2);  // at most a chunk a byte: references stay valid
      ar::CutOptions cut;
      cut.rows = 1;
      try {
        ar::split_stream(input, "fuzz", cut, false, sc);
        piped.emplace();
        for (auto& s : sinks) piped->push_back(std::move(s.v));
      } catch (const Error& e) {
        detail_arrow::one_line(e);
      }
      check(piped.has_value() == layout.has_value(), "a pipe and a file of the same stream disagree on it");
    }
  }
  if (!layout) return;
  const auto want = detail_arrow::batches(in, *layout);
  for (std::uint64_t n : {1, 2, 3}) {
    for (bool as_file : {false, true}) {
      ar::CutOptions cut;
      if (n == 3 && !as_file) cut.rows = 1;
      else cut.count = n;
      auto chunks = ar::plan(*layout, cut);
      std::vector<Bytes> parts;
      for (const auto& c : chunks) {
        VecSink s;
        ar::write_chunk(f.fd, *layout, c, c.index + 1 == chunks.size(), as_file, s, "fuzz");
        parts.push_back(std::move(s.v));
      }
      if (cut.rows && piped) check(*piped == parts, "a pipe's chunks differ from the file's");
      std::vector<std::unique_ptr<MemFile>> files;
      std::vector<ar::JoinPart> jp;
      for (const auto& p : parts) {
        files.push_back(std::make_unique<MemFile>(p));
        jp.push_back(ar::JoinPart{files.back()->fd, 0, p.size(), "part"});
        try {
          ar::scan(files.back()->fd, 0, p.size(), "part");
        } catch (const Error& e) {
          throw Violation(std::string("a chunk does not read: ") + e.what());
        }
      }
      VecSink joined;
      try {
        ar::join(jp, as_file, joined);
      } catch (const Error& e) {
        throw Violation(std::string("chunks do not join: ") + e.what());
      }
      MemFile j(joined.v);
      const auto back = ar::scan(j.fd, 0, joined.v.size(), "joined");
      check(detail_arrow::batches(joined.v, back) == want, "the join holds other record batches than the input");
      if (!as_file && !layout->file && !cut.rows && n == 1) check(joined.v == in, "one chunk joins to other bytes");
    }
  }
}

}  // namespace fuzzh
