// fpga-gzip's operand walk, shared by fpga-gzip and fpga-remote (which must
// treat files exactly as fpga-gzip does): the operands, -r, standard input,
// which files are skipped and in what words, output names, the atomic
// commit and removal of the input, -v and -l lines, and the exit status.
// The work on one operand's bytes (compress, decompress, test, list) is the
// tool's: a Work that runs it here (libfpgaio) or on other hosts.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <sys/stat.h>

#include <utility>
#include <vector>

#include "fpgaio/dir.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/io.hpp"
#include "options.hpp"
#include "rules.hpp"

namespace fpgagzip {

// The first member's header fields, as the walk chose them from the rules
// (-n/-N, -m/-M, -C, -A, a range that starts a file, a shortened name).
struct Head {
  std::optional<std::string> name;
  std::optional<std::string> comment;
  std::uint32_t mtime = 0;  // 0: none
  std::optional<fpgaio::PartOf> part;
};

// The library's options for one operand: what the tool's options and the
// walk's header say (level, engine, block size, --rsyncable, container,
// strategy, the header). fpga-gzip adds its threads and units; fpga-remote
// sends the job of them (remote_protocol.hpp, compress_job).
fpgaio::gzip::CompressOptions compress_options(const Options& o, const Head& head);

// How one operand is decoded (the walk's choice from the options).
struct DecodeSettings {
  std::string shown;         // the input's name in messages ("stdin")
  bool to_stdout = false;    // the output is standard output (a local -dc writes what decodes)
  bool to_file = false;      // the output is a file the walk makes after unreadable() (-d of a file)
  bool list_only = false;    // -l: sizes from the headers where they are
  bool pass_through = false; // -cdf, -tf: data in no format read goes through unchanged
  bool detect_zlib = true;   // a zlib header is zlib (else only in a .zz file under -f)
  fpgaio::gzip::Progress progress;
};

// One operand's decoding, begun by the tool.
class Decoding {
 public:
  virtual ~Decoding() = default;
  // Why the input cannot be read (it starts in no format), checked before
  // any output is made; nothing when it can or the check comes later.
  virtual std::optional<std::string> unreadable() { return std::nullopt; }
  // The first member's stored name (FNAME) for -N, read before any output.
  virtual std::optional<std::string> stored_name() = 0;
  // Decodes the whole input into `out`, or only checks it (out == nullptr:
  // -t and -l). Throws fpgaio::Error for damaged data.
  virtual fpgaio::gzip::DecompressResult run(fpgaio::Sink* out) = 0;
};

// What a tool does with one operand's bytes.
class Work {
 public:
  virtual ~Work() = default;
  // Compresses `in` into `out` with the first member's header `head`.
  virtual fpgaio::gzip::Stats compress(fpgaio::Input& in, fpgaio::Sink& out, const Head& head,
                                       const std::string& shown, fpgaio::gzip::Progress progress) = 0;
  virtual std::unique_ptr<Decoding> decode(fpgaio::Input& in, const DecodeSettings& s) = 0;
};

// Where an operand's file is: the directory the walk holds open, its name
// there, and its lstat when it was checked. Outputs are made and the input
// removed in that directory, by descriptor (dir.hpp), never by a path that
// could lead elsewhere by then. No directory for standard input.
struct Place {
  const fpgaio::Dir* dir = nullptr;
  std::string name;
  struct stat checked {};
};

class Walk {
 public:
  Walk(const Options& o, Work& work) : o_(o), work_(work), lister_(o.verbosity) {}

  // Every operand (standard input when there is none), then -l's totals.
  void run();
  void run_operand(const std::string& path);
  void finish_list();
  int status() const { return status_.code(); }
  const Options& options() const { return o_; }

 private:
  void warn(const std::string& path, const std::string& msg);
  void fail(const std::string& path, const std::string& msg);
  void fail(const fpgaio::Error& e, const std::string& path);
  void exists(const std::string& out_path);
  void refuse_terminal(const std::string& msg);
  void run_file(const fpgaio::Dir& dir, const std::string& name, const std::string& shown, const struct stat& st);
  void run_directory(const fpgaio::Dir& parent, const std::string& name, const std::string& shown,
                     const struct stat& checked, bool follow);
  void run_input(fpgaio::Input& in, const std::string& in_path, const Place& at);
  void compress_one(fpgaio::Input& in, const std::string& in_path, const Place& at);
  void decompress_one(fpgaio::Input& in, const std::string& in_path, const Place& at);
  std::optional<std::string> decompressed_name(const std::string& path) const;
  bool writes_file() const;
  bool progress_enabled() const;
  std::uint64_t gzip_overhead(const Head& head) const;
  void after_commit(const Place& at, const std::string& in_path, const std::string& out_path, std::uint64_t in_bytes,
                    std::uint64_t out_bytes, bool keep = false, std::uint64_t header_bytes = 0);
  bool input_changed(const fpgaio::Input& in, std::uint64_t bytes_read);

  Options o_;
  Work& work_;
  fpgacli::Status status_;
  Lister lister_;
  std::vector<std::pair<dev_t, ino_t>> ancestors_;  // the directories -r is in (a link loop under -rf)
};

}  // namespace fpgagzip
