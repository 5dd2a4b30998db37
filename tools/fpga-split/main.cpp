// fpga-split: cut a file or stream into chunks (files, or byte ranges that
// the other tools read in place) and print their names, one per line.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "cli.hpp"
#include "fpgaio/codec.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/split.hpp"
#include "fpgaio/version.hpp"
#include "progress.hpp"

namespace {

namespace sp = fpgaio::split;
using fpgacli::report;

enum Id { kNumber, kBytes, kLines, kRecord, kIdx, kAlign, kDir, kWidth, kElide, kRanges, kManifest, kNull,
          kForce, kProgress, kHelp, kVersion };

const std::vector<fpgacli::OptionSpec>& specs() {
  static const std::vector<fpgacli::OptionSpec> s = {
      {'n', "number", "N", "split into N chunks of nearly equal size", kNumber},
      {'b', "bytes", "SIZE", "split into chunks of SIZE bytes (K, M, G: powers of 1024)", kBytes},
      {'l', "lines", nullptr, "never cut a line: a chunk ends with the line its last byte is in", kLines},
      {0, "record-size", "N", "keep N-byte records whole (3073 for CIFAR-10 binary files)", kRecord},
      {0, "idx", nullptr, "the input is an IDX file: chunks are IDX files with their own headers", kIdx},
      {0, "align", "SIZE", "with -n, cut at multiples of SIZE (default 1M, the fpga-gzip block; 0: off)", kAlign},
      {'d', "directory", "DIR", "write the chunks into DIR (default: beside the input)", kDir},
      {'a', "suffix-length", "N", "pad chunk numbers to N digits (default: enough for all, at least 3)", kWidth},
      {'e', "elide-empty-files", nullptr, "do not make empty chunks (-n larger than the input)", kElide},
      {0, "ranges", nullptr, "write nothing: print byte ranges FILE@INDEX:OFFSET+LENGTH (fpga-tools(7))", kRanges},
      {0, "manifest", "FILE", "write the chunk list with offsets, lengths and CRC-32s to FILE", kManifest},
      {'0', "null", nullptr, "end printed names with NUL instead of newline", kNull},
      {'f', "force", nullptr, "overwrite existing chunk and manifest files", kForce},
      {0, "progress", nullptr, "show progress on stderr", kProgress},
      {'h', "help", nullptr, "show this help and exit", kHelp},
      {'V', "version", nullptr, "show the version and exit", kVersion},
  };
  return s;
}

struct Options {
  sp::CutOptions cut;
  bool idx = false, elide = false, ranges = false, null = false, force = false, progress = false;
  std::optional<std::uint64_t> align;
  std::optional<unsigned> width;
  std::string dir, manifest, input = "-";
  std::optional<std::string> prefix;
};

std::uint64_t size_arg(const std::string& v, const std::string& opt) {
  auto n = fpgacli::parse_size(v);
  if (!n) fpgacli::usage_error("invalid " + opt + " '" + v + "'");
  return *n;
}

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc), operands;
  fpgacli::parse_options(args, specs(), [&](int id, const std::string& v, const std::string& spelled, bool) {
    switch (id) {
      case kNumber: {
        auto n = fpgacli::parse_size(v);
        if (!n || *n == 0) fpgacli::usage_error("invalid number of chunks '" + v + "'");
        o.cut.count = *n;
        break;
      }
      case kBytes:
        o.cut.size = size_arg(v, "chunk size");
        if (*o.cut.size == 0) fpgacli::usage_error("invalid chunk size '" + v + "'");
        break;
      case kLines: o.cut.lines = true; break;
      case kRecord:
        o.cut.record_size = size_arg(v, "record size");
        if (!o.cut.record_size) fpgacli::usage_error("invalid record size '" + v + "'");
        break;
      case kIdx: o.idx = true; break;
      case kAlign: o.align = size_arg(v, "alignment"); break;
      case kDir: o.dir = v; break;
      case kWidth: o.width = fpgacli::parse_count(v, 19, "suffix length"); break;
      case kElide: o.elide = true; break;
      case kRanges: o.ranges = true; break;
      case kManifest: o.manifest = v; break;
      case kNull: o.null = true; break;
      case kForce: o.force = true; break;
      case kProgress: o.progress = true; break;
      case kHelp:
        std::printf("Usage: %s [OPTION]... [FILE [PREFIX]]\n"
                    "Split FILE (or standard input) into chunks named PREFIX.000, PREFIX.001, ...\n"
                    "and print their names, one per line, for parallel or xargs.\n\n",
                    fpgacli::program_name().c_str());
        std::fputs(fpgacli::format_help(specs()).c_str(), stdout);
        std::printf("\nGive -n or -b. PREFIX defaults to FILE (\"x\" for standard input), which reads\n"
                    "as a stream: -b only, in constant memory.\n"
                    "Exit status: 0 success, 1 error.\nFull documentation: man %s\n",
                    fpgacli::program_name().c_str());
        fpgacli::exit_after_output();
      case kVersion: fpgacli::print_version();
      default: fpgacli::usage_error("unexpected option " + spelled);
    }
  }, operands);
  if (operands.size() > 2) fpgacli::usage_error("extra operand '" + operands[2] + "'");
  if (!operands.empty()) o.input = operands[0];
  if (operands.size() == 2) o.prefix = operands[1];
  if (o.cut.count.has_value() == o.cut.size.has_value())
    fpgacli::usage_error(o.cut.count ? "-n and -b exclude each other" : "give -n N (chunks) or -b SIZE (chunk size)");
  if (o.cut.lines && o.cut.record_size) fpgacli::usage_error("--lines and --record-size exclude each other");
  if (o.idx && (o.cut.lines || o.cut.record_size))
    fpgacli::usage_error("--idx keeps IDX items whole; it excludes --lines and --record-size");
  if (o.ranges && (!o.dir.empty() || o.prefix || o.width))
    fpgacli::usage_error("--ranges writes no files: -d, -a and PREFIX do not apply");
  if (o.cut.count && !o.cut.lines && !o.cut.record_size && !o.idx) o.cut.align = o.align.value_or(1 << 20);
  else if (o.align && *o.align > 1) fpgacli::usage_error("--align applies to -n without --lines, --record-size or --idx");
  return o;
}

std::string base_name(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

class Splitter {
 public:
  explicit Splitter(Options o) : o_(std::move(o)) {}
  int run();

 private:
  void run_file(fpgaio::Input& in);
  void run_stream(fpgaio::Input& in);
  std::string prefix() const;
  void emit(const std::string& name) {
    std::fputs(name.c_str(), stdout);
    std::fputc(o_.null ? '\0' : '\n', stdout);
    if (std::fflush(stdout) != 0) fpgaio::throw_errno("write error", errno, "stdout");
  }
  void write_manifest();
  void remove_made();

  Options o_;
  sp::Manifest manifest_;
  std::vector<std::string> made_;
  std::uint64_t done_ = 0;
};

std::string Splitter::prefix() const {
  std::string p = o_.prefix ? *o_.prefix : o_.input == "-" ? "x" : o_.input;
  if (!o_.dir.empty()) p = o_.dir + (o_.dir.back() == '/' ? "" : "/") + base_name(p);
  return p;
}

void Splitter::remove_made() {
  for (const auto& p : made_) ::unlink(p.c_str());
  made_.clear();
}

void Splitter::write_manifest() {
  if (o_.manifest.empty()) return;
  fpgaio::OutputFile out(o_.manifest, o_.force, fpgaio::OutputName::given);
  std::string text = sp::format_manifest(manifest_);
  fpgaio::full_write(out.fd(), text.data(), text.size(), o_.manifest);
  out.commit(nullptr);
}

// Chunks of a regular file: planned first, then copied (or only printed).
void Splitter::run_file(fpgaio::Input& in) {
  const std::string& path = o_.input;
  std::uint64_t size = static_cast<std::uint64_t>(in.stat().st_size), base = 0;
  std::optional<sp::IdxHeader> idx;
  if (o_.idx) {
    std::uint8_t head[36] = {};
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof head, size));
    fpgaio::pread_exact(in.fd(), head, n, 0, path);
    idx = sp::parse_idx(head, n, path, size);
    base = idx->header_bytes();
    size = idx->data_bytes();
    o_.cut.record_size = idx->item_bytes();
  }
  auto chunks = sp::plan(in.fd(), path, base, size, o_.cut);
  if (o_.elide) {
    std::vector<sp::Chunk> kept;
    for (const auto& c : chunks)
      if (c.length) kept.push_back(sp::Chunk{kept.size(), c.offset, c.length});
    chunks = std::move(kept);
  }
  unsigned width = o_.width.value_or(sp::index_width(chunks.size()));
  manifest_.input = path;
  manifest_.input_size = static_cast<std::uint64_t>(in.stat().st_size);

  std::vector<std::string> names;
  for (const auto& c : chunks) {
    if (o_.ranges) {
      std::string index = sp::chunk_name("", c.index, width).substr(1);
      names.push_back(fpgaio::ByteRange{path, index, base + c.offset, c.length}.operand());
    } else {
      names.push_back(sp::chunk_name(prefix(), c.index, width));
      struct stat st;
      if (::stat(names.back().c_str(), &st) == 0 && fpgaio::same_file(st, in.stat()))
        throw fpgaio::Error(fpgaio::ErrorKind::usage, "a chunk would replace the input (input and output are the same file)")
            .with_path(names.back());
      if (!o_.force && ::lstat(names.back().c_str(), &st) == 0)
        throw fpgaio::Error(fpgaio::ErrorKind::io, "chunk file exists (use -f to overwrite)", EEXIST)
            .with_path(names.back());
    }
  }

  fpgacli::ProgressLine bar(o_.progress, path, size);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const auto& c = chunks[i];
    const bool want_crc = !o_.manifest.empty();
    fpgaio::Bytes header;
    if (idx && !o_.ranges)  // a range is the items alone; the file keeps its header
      header = idx->encode(static_cast<std::uint32_t>(c.length / idx->item_bytes()));
    std::optional<fpgaio::OutputFile> out;
    std::optional<fpgaio::FdSink> file;
    if (!o_.ranges) {
      out.emplace(names[i], o_.force, fpgaio::OutputName::chosen);
      file.emplace(out->fd(), names[i]);
    }
    // Into the chunk file, and through the CRC-32 when the manifest wants it
    // (without it the copy stays in the kernel).
    fpgaio::NullSink none;
    fpgaio::Sink& dest = file ? static_cast<fpgaio::Sink&>(*file) : none;
    fpgaio::CrcSink crc(&dest);
    fpgaio::Sink& sink = want_crc ? static_cast<fpgaio::Sink&>(crc) : dest;
    sink.write(header.data(), header.size());
    if (out || want_crc) fpgaio::copy_bytes(in.fd(), base + c.offset, c.length, sink, path);
    bar.update(done_ += c.length);
    if (out) {
      out->commit(&in.stat());  // the input's mode and time: a join keeps the original's time
      made_.push_back(names[i]);
    }
    manifest_.chunks.push_back(
        sp::ManifestChunk{c.index, base + c.offset, c.length, c.length + header.size(), crc.crc, names[i]});
    emit(names[i]);
  }
  bar.finish();
}

// A stream: chunks are written as the data arrives, each printed when it is
// complete, so that parallel can start on it while the rest is read.
void Splitter::run_stream(fpgaio::Input& in) {
  if (o_.ranges) throw fpgaio::Error(fpgaio::ErrorKind::usage, "--ranges needs a regular file, not a stream");
  if (o_.cut.count)
    throw fpgaio::Error(fpgaio::ErrorKind::usage, "-n needs a regular file (a stream has no size to divide); use -b SIZE");
  std::optional<sp::IdxHeader> idx;
  fpgaio::Bytes buf(1 << 20);
  if (o_.idx) {
    std::uint8_t head[4];
    if (in.read(head, 4) < 4) throw fpgaio::Error(fpgaio::ErrorKind::corrupt, "not an IDX file: too short").with_path(in.name());
    std::uint8_t full[36];
    std::memcpy(full, head, 4);
    std::size_t dims_bytes = 4u * std::min<unsigned>(head[3], 8);
    if (in.read(full + 4, dims_bytes) < dims_bytes)
      throw fpgaio::Error(fpgaio::ErrorKind::corrupt, "not an IDX file: header cut short").with_path(in.name());
    idx = sp::parse_idx(full, 4 + dims_bytes, in.name(), std::nullopt);
    o_.cut.record_size = idx->item_bytes();
  }
  sp::StreamCutter cutter(o_.cut);
  unsigned width = o_.width.value_or(3);
  manifest_.input = o_.input;
  std::optional<fpgaio::OutputFile> out;
  std::string name;
  std::uint64_t index = 0, chunk_bytes = 0, offset = idx ? idx->header_bytes() : 0, chunk_start = offset;
  std::uint32_t crc = 0;
  std::size_t header_len = 0;
  fpgacli::ProgressLine bar(o_.progress, in.name(), 0);

  auto close_chunk = [&]() {
    if (idx) {
      fpgaio::Bytes h = idx->encode(static_cast<std::uint32_t>(chunk_bytes / idx->item_bytes()));
      if (::pwrite(out->fd(), h.data(), h.size(), 0) != static_cast<ssize_t>(h.size()))
        fpgaio::throw_errno("write error", errno, name);
      crc = fpgaio::crc32_combine(fpgaio::crc32(0, h.data(), h.size()), crc, chunk_bytes);
    }
    out->commit(nullptr);
    made_.push_back(name);
    manifest_.chunks.push_back(sp::ManifestChunk{index, chunk_start, chunk_bytes, chunk_bytes + header_len, crc, name});
    emit(name);
    out.reset();
    ++index;
    chunk_start += chunk_bytes;
    chunk_bytes = 0;
    crc = 0;
  };

  for (;;) {
    std::size_t n = in.read_some(buf.data(), buf.size());
    if (n == 0) break;
    offset += n;
    bar.update(offset);
    for (std::size_t pos = 0; pos < n;) {
      bool ends = false;
      std::size_t take = cutter.take(buf.data() + pos, n - pos, ends);
      if (!out) {
        name = sp::chunk_name(prefix(), index, width);
        out.emplace(name, o_.force, fpgaio::OutputName::chosen);
        header_len = 0;
        if (idx) {
          fpgaio::Bytes h = idx->encode(0);  // the count is filled in when the chunk is complete
          header_len = h.size();
          fpgaio::full_write(out->fd(), h.data(), h.size(), name);
        }
      }
      fpgaio::full_write(out->fd(), buf.data() + pos, take, name);
      if (!o_.manifest.empty() || idx) crc = fpgaio::crc32(crc, buf.data() + pos, take);
      chunk_bytes += take;
      pos += take;
      if (ends) close_chunk();
    }
  }
  if (out) close_chunk();
  if (idx) {
    std::uint64_t items = (chunk_start - idx->header_bytes()) / idx->item_bytes();
    if ((chunk_start - idx->header_bytes()) % idx->item_bytes() || items != idx->dims[0])
      throw fpgaio::Error(fpgaio::ErrorKind::corrupt, "IDX stream holds " + std::to_string(items) + " whole items, its header says " +
                                                          std::to_string(idx->dims[0]))
          .with_path(in.name());
  }
  manifest_.input_size = offset;
  bar.finish();
}

int Splitter::run() {
  bool streaming = false;
  try {
    if (!o_.manifest.empty() && !o_.force) {
      struct stat st;
      if (::lstat(o_.manifest.c_str(), &st) == 0)
        throw fpgaio::Error(fpgaio::ErrorKind::io, "manifest exists (use -f to overwrite)", EEXIST).with_path(o_.manifest);
    }
    fpgaio::Input in(o_.input);
    streaming = !in.is_regular();
    if (!streaming) run_file(in);
    else run_stream(in);
    write_manifest();
  } catch (const fpgaio::Error& e) {
    // A file can be split again: no half-split input, every chunk of this
    // run goes. A stream cannot be read again, and its complete chunks were
    // printed (parallel may be at work on them): they stay.
    std::size_t kept = streaming ? made_.size() : 0;
    if (!streaming) remove_made();
    auto say_kept = [&] {
      if (kept)
        fpgacli::report(o_.input == "-" ? "stdin" : o_.input,
                        "kept the " + std::to_string(kept) + " complete chunk" + (kept > 1 ? "s" : "") + " " +
                            made_.front() + (kept > 1 ? " to " + made_.back() : "") +
                            " (a stream cannot be read again)");
    };
    if (fpgacli::is_broken_pipe(e)) {
      say_kept();
      return fpgacli::broken_pipe(e.path);
    }
    fpgacli::report(e, o_.input == "-" ? "stdin" : o_.input);
    say_kept();
    return fpgacli::kError;
  }
  return fpgacli::close_stdout() ? fpgacli::kOk : fpgacli::kError;
}

}  // namespace

int main(int argc, char** argv) {
  fpgacli::set_program_name(argv[0]);
  fpgacli::install_signal_handlers();
  return Splitter(parse(argc, argv)).run();
}
