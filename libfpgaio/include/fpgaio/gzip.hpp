// gzip members (RFC 1952), the indexed block format, compression,
// decompression, listing and testing.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fpgaio/codec.hpp"
#include "fpgaio/formats.hpp"
#include "fpgaio/io.hpp"

namespace fpgaio {
class UnitPool;
}

namespace fpgaio::gzip {

// FEXTRA subfield "FT" (fpga-tools) carried by every member we write:
//   byte 0     format version: 1, or 2 for a member that holds data and
//              ends its stream (a stream of one member: below)
//   byte 1     flags: bit 0 = end of stream: in version 1 an empty last
//              member (the end marker), in version 2 the member itself
//   bytes 2-5  total member size in bytes, header and trailer included (LE)
//   bytes 6-9  uncompressed size of the member (LE)
// A stream is data members (version 1, no flag) and an end marker; or,
// when the input fits in one block, that one member alone, flagged
// (version 2: readers of version 1 alone, which refuse a flagged member with
// data, read it as a plain gzip member instead).
constexpr std::uint8_t kSubfieldId1 = 'F';
constexpr std::uint8_t kSubfieldId2 = 'T';
constexpr std::uint8_t kSubfieldVersion = 1;
constexpr std::uint8_t kSubfieldVersionEnds = 2;
constexpr std::uint8_t kFlagEndOfStream = 1;
constexpr std::size_t kSubfieldLen = 10;

// FEXTRA subfield "FP" (fpga-tools part), in the first member of a part made
// from one chunk of a split (io.hpp PartOf), after FT (which stays at offset
// 12 of every member):
//   byte 0      version (1)
//   bytes 1-8   chunk index (LE), 9-16 chunk count, 17-24 the chunk's offset
//               in the split input
// fpga-cat reads it to find a missing part and drops it when joining.
constexpr std::uint8_t kPartId1 = 'F';
constexpr std::uint8_t kPartId2 = 'P';
constexpr std::uint8_t kPartVersion = 1;
constexpr std::size_t kPartLen = 25;

// FEXTRA subfield "FC" (fpga-tools check; written since December 2026,
// fpga-tools 0.1.0), after FT and FP:
//   byte 0      version (1)
//   bytes 1-4   CRC-32 of every byte after the header: the compressed data
//               and the 8-byte trailer (LE)
// The trailer's CRC-32 covers the data only after inflating it; this one
// lets a join check that every byte it copies after a header is the byte the
// compressor wrote, at the speed of reading them (fpga-cat's default check;
// the header's fields are checked by their structure and FT's sizes). Data
// members of streams of several members carry it; end markers and streams of
// one member do not. Readers that do not know it skip it, as gzip does with
// every subfield.
constexpr std::uint8_t kCheckId1 = 'F';
constexpr std::uint8_t kCheckId2 = 'C';
constexpr std::uint8_t kCheckVersion = 1;
constexpr std::size_t kCheckLen = 5;

constexpr std::uint8_t FTEXT = 1, FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16;

enum class Index { none, ft, bgzf };

struct Header {
  std::uint8_t flags = 0;
  std::uint32_t mtime = 0;
  std::uint8_t xfl = 0;
  std::uint8_t os = 3;
  std::optional<std::string> name;
  std::optional<std::string> comment;
  std::size_t length = 0;  // bytes of header on disk

  Index index = Index::none;
  std::uint64_t member_size = 0;  // from FT or BGZF: total member bytes
  std::uint32_t isize = 0;        // from FT
  bool end_of_stream = false;     // FT flag: the member ends its stream
  std::uint8_t ft_version = 0;    // FT's version (kSubfieldVersion or kSubfieldVersionEnds)
  bool strings_cut = false;       // name or comment held cut to kMaxHeaderString
  std::optional<PartOf> part;     // from FP: which chunk of a split this part is
  std::optional<std::uint32_t> data_crc;  // from FC: CRC-32 of the bytes after the header
};

// Names and comments have no length limit (gzip has none), but only this much
// of each is kept in a Header; `length` still counts every byte.
constexpr std::size_t kMaxHeaderString = 1 << 20;

// Parses a header from pieces of any size, keeping no more than the fixed
// fields and kMaxHeaderString of each string: linear time and bounded memory
// whatever the header's length. Throws Error(corrupt) when the bytes are not
// a valid gzip header, including an FT end-of-stream member that declares
// data (an end marker is empty by definition).
class HeaderParser {
 public:
  // Takes header bytes from data[0, n); returns how many it used, which is
  // all of them unless the header ends inside.
  std::size_t feed(const std::uint8_t* data, std::size_t n);
  bool done() const { return stage_ == Stage::done; }
  Header& header() { return h_; }  // complete once done()

 private:
  enum class Stage { fixed, xlen, extra, name, comment, hcrc, done };
  bool gather(const std::uint8_t*& p, std::size_t& n, std::size_t want);
  bool string(const std::uint8_t*& p, std::size_t& n, std::optional<std::string>& s);
  void complete_field();

  Stage stage_ = Stage::fixed;
  Header h_;
  Bytes part_;  // the fixed-size field being gathered
  std::size_t xlen_ = 0;
  std::uint32_t crc_ = 0;  // of the bytes before FHCRC's field
};

// An FT end-of-stream member must be empty (ISIZE 0 in FT and trailer,
// CRC-32 0, a few bytes of deflate): joins drop end markers, so one holding
// data would lose it. `crc` and `isize` come from its trailer.
bool empty_end_marker(const Header& h, std::uint32_t crc, std::uint32_t isize);

// Parses the header at data[0, n). Returns nullopt when more bytes are needed;
// throws Error(corrupt) when it is not a valid gzip header (HeaderParser's
// rules).
std::optional<Header> parse_header(const std::uint8_t* data, std::size_t n);

// Serialises a header with an FT subfield. `member_size` and `isize` fill it;
// a member flagged end-of-stream with data (isize > 0) gets FT version 2.
// With `data_crc` (the CRC-32 of the compressed data and trailer that will
// follow), an FC subfield too. A name or comment must hold no NUL byte.
void write_header(Bytes& out, std::uint32_t mtime, std::uint8_t xfl,
                  const std::optional<std::string>& name, std::uint64_t member_size, std::uint32_t isize,
                  std::uint8_t ft_flags, const std::optional<std::string>& comment = std::nullopt,
                  const std::optional<PartOf>& part = std::nullopt,
                  std::optional<std::uint32_t> data_crc = std::nullopt);
// The size write_header gives; `check`: with an FC subfield.
std::size_t header_size(const std::optional<std::string>& name,
                        const std::optional<std::string>& comment = std::nullopt,
                        const std::optional<PartOf>& part = std::nullopt, bool check = false);

using Progress = std::function<void(std::uint64_t in_bytes, std::uint64_t out_bytes)>;

// The block size when none is asked for (fpga-gzip without -b), at every
// level. A member restarts the deflate dictionary and costs 43 bytes of
// header and trailer: at 2 MiB, -6 is smaller than pigz -6 on the Linux tar
// (at 1 MiB it was not), at the same speed (docs/ARCHITECTURE.md, Block
// format: the default block size).
constexpr std::size_t kDefaultBlockSize = std::size_t{2} << 20;
// fpga-split's default --align: chunks cut at multiples of the default block
// join with fpga-cat into one process's output.
constexpr std::size_t kDefaultAlign = kDefaultBlockSize;

// What the members' bytes depend on beside the data and the engine: one
// type for a local run and for fpga-remote's compress job, which sends
// these as its parameters (remote_protocol.hpp, GzipCompressJob).
struct MemberSettings {
  int level = kDefaultLevel;
  std::size_t block_size = kDefaultBlockSize;
  std::optional<std::string> name;  // FNAME of the first member
  std::optional<std::string> comment;  // FCOMMENT of the first member (pigz -C)
  Strategy strategy = Strategy::normal;  // not normal: zlib at min(level, 9) with it, never units
  std::optional<PartOf> part;       // FP of the first member (the input is a chunk)
  std::uint32_t mtime = 0;
  bool rsyncable = false;
  // False leaves out the end-of-stream member: the output then continues in
  // another call (fpga-remote sends a file as several chunks of whole blocks).
  bool end_marker = true;
  // With end_marker: an input that fits in one block is one member carrying
  // the end-of-stream flag itself (FT version 2), not a member and an end
  // marker. False always writes the end marker (fpga-remote serve: a
  // chunk's answer is not the whole stream, and older clients want it).
  bool one_member = true;
};

struct CompressOptions : MemberSettings {
  std::optional<Engine> engine;  // override the level table (engine level = level)
  unsigned threads = 1;
  Progress progress;
  // Compute units of an accelerator (deflate_units.hpp): when set, every block goes
  // to one of them, as many at once as there are units, and level and
  // engine are the units' own.
  UnitPool* units = nullptr;
  // With units: this many CPU threads take blocks from the same queue too
  // (0: the units alone). A block goes to a unit when one is free, else to
  // the CPU (level and engine as without units), so which engine compresses
  // a block depends on timing; the member layout does not.
  unsigned cpu_threads = 0;
  // When set, a unit that fails (Error(device)) does not end the run: the
  // pool is marked failed, this is called once with the error, and that
  // block and all later ones are compressed on the CPU (level and engine as
  // without units).
  std::function<void(const std::string&)> on_unit_failure;
  // What the blocks are wrapped in: our gzip members, or (pigz -z, -K) one
  // zlib stream or a one-entry zip file of zlib-deflated blocks (levels above
  // 9 are 9; no compute units, no --rsyncable cut difference).
  Container container = Container::gzip;
};

struct Stats {
  std::uint64_t in_bytes = 0;   // bytes read
  std::uint64_t out_bytes = 0;  // bytes written
  std::uint64_t members = 0;
};

std::size_t max_block_size();  // largest -b accepted (64 MiB)

// Content-defined block ends for --rsyncable: a cut depends only on the data
// since the previous cut, never before a quarter of `block`, never after it.
// (fpga-remote cuts chunks at these points so a server, starting at one, finds
// the same blocks.)
class RsyncCutter {
 public:
  explicit RsyncCutter(std::size_t block);
  // Length of the next block of d[0, n); `at_eof` allows a short last block;
  // 0 when more data is needed to decide.
  std::size_t cut(const std::uint8_t* d, std::size_t n, bool at_eof) const;

 private:
  static constexpr int kWindow = 64;
  static constexpr std::uint32_t kMul = 0x01000193u;
  std::size_t min_, max_;
  int shift_;
  std::uint32_t pow_;
};

// An input cut into --rsyncable blocks as they are needed: the one reader
// of such blocks, for a local run and for fpga-remote's chunks of whole
// blocks, so that both cut at the same offsets.
class RsyncBlocks {
 public:
  RsyncBlocks(Input& in, std::size_t block);
  // Appends the next block to `out` and returns its length; 0 at the end.
  std::size_t next(Bytes& out);

 private:
  Input& in_;
  RsyncCutter cutter_;
  std::size_t block_;
  Bytes pending_;  // read, not yet cut
  bool eof_ = false;
};

Stats compress(Input& in, Sink& out, const CompressOptions& opt);
// The same from memory: the blocks are compressed where they lie (no copy),
// and with one thread and no compute units in the calling thread, whose
// engine is kept for its next call (fpga-remote serve: one job a slot).
Stats compress(const std::uint8_t* data, std::size_t n, Sink& out, const CompressOptions& opt);

// Compresses a whole buffer (one call, same format); for tests and tools.
Bytes compress_buffer(const std::uint8_t* data, std::size_t n, const CompressOptions& opt);

struct DecompressOptions {
  unsigned threads = 1;
  bool list_only = false;  // sizes only: skip inflating indexed members
  Progress progress;
  // gzip -cdf: input in no format we read is copied to the output unchanged,
  // at the start or after complete members (trailing zeros included).
  bool pass_through = false;
  // Recognise a zlib header at the start of the input (pigz reads zlib; a
  // zlib header is two bytes that text may start with, so the tools turn
  // this off where gzip would pass such text through).
  bool detect_zlib = true;
};

struct DecompressResult {
  Stats stats;
  std::uint32_t last_crc = 0;           // of the last member's data
  std::uint32_t crc = 0;                // of all the data (the members' CRC-32s combined)
  std::optional<Header> first;       // header of the first member
  bool trailing_garbage = false;     // non-zero, non-gzip bytes after the last member (a warning)
  std::uint64_t members_end = 0;     // input offset where the last member ends (trailing zeros follow)
  bool indexed = false;              // every member carried FT or BGZF sizes
  Format format = Format::gzip;      // of the first member
  std::vector<std::string> warnings; // gzip's warnings about the data (exit status 2)
  bool zip_more_entries = false;     // a zip file with more than one entry (the first was read)
};

// Reads gzip members from an input. The first header can be looked at before
// decoding (for -N and for choosing an output name).
class Decoder {
 public:
  Decoder(Input& in, DecompressOptions opt);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // False for empty input or input not starting with the gzip magic.
  bool is_gzip();
  // The format the input starts with (any that run() reads), if any.
  std::optional<Format> format();
  // True when the input ends before the two bytes of a magic number (gzip
  // calls that "unexpected end of file", not "not in gzip format").
  bool shorter_than_magic();
  // The first member's header; requires is_gzip().
  const Header& first_header();
  // Decodes everything to `out` (a NullSink for -t). Throws Error(corrupt)
  // with member and offset, Error(io) for read and write errors.
  DecompressResult run(Sink& out);
  // Copies the input through unchanged (zcat -f on non-gzip data).
  std::uint64_t copy_through(Sink& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

bool has_gzip_magic(const std::uint8_t* data, std::size_t n);

// A stream of exactly one FT data member and an empty end marker (as
// fpga-remote serve answers) made the one member that carries the flag, as
// compress() writes it; true when `stream` was changed.
bool fold_end_marker(Bytes& stream);

// The empty member that ends every stream of more than one member we write
// (FT flag end-of-stream).
Bytes end_marker_member(const std::optional<std::string>& name, std::uint32_t mtime, std::uint8_t xfl,
                        const std::optional<std::string>& comment = std::nullopt,
                        const std::optional<PartOf>& part = std::nullopt);

// --- Joining parts (fpga-cat) ------------------------------------------------

struct MemberSpan {
  std::uint64_t offset = 0;  // in the part
  std::uint64_t size = 0;
  Header header;
};

// What a gzip part holds, found before anything is written.
struct PartInfo {
  std::uint64_t size = 0;           // compressed bytes of its members (zero padding after them excluded)
  bool indexed = false;             // every member is FT or BGZF: `members` lists them
  std::vector<MemberSpan> members;
  std::uint64_t data_bytes = 0;     // uncompressed bytes
  std::uint32_t crc = 0;            // CRC-32 of the uncompressed bytes
  bool has_end_marker = false;
  std::optional<PartOf> part;       // the first member's FP
  std::optional<std::string> first_name;  // the first member's FNAME
};

// How much of a part scan_part checks beyond its framing.
enum class Check {
  framing,    // indexed members from their headers and trailers alone
  checksums,  // and every FC member's data and trailer against its CRC-32;
              // a part with a member without FC is inflated
  inflate,    // every member inflated and its CRC-32 checked
};

// Checks that [base, base+size) of the file at `path` is a complete sequence
// of gzip members: indexed members from their headers and trailers, others
// by inflating them; then what `check` asks (indexed members are inflated on
// `threads` threads). Throws Error(corrupt) with the member and offset
// (relative to the part) and `shown` as the path.
PartInfo scan_part(const std::string& path, std::uint64_t base, std::uint64_t size, const std::string& shown,
                   Check check, unsigned threads);
// The same through a descriptor the caller holds (read by pread only, so
// what is checked is what join() copies, whatever the name names meanwhile).
PartInfo scan_part(int fd, std::uint64_t base, std::uint64_t size, const std::string& shown, Check check,
                   unsigned threads);

struct JoinPart {
  std::string path;   // the file, opened by join() when `fd` is -1
  int fd = -1;        // else the descriptor it is read through (the caller's)
  std::string shown;  // its name in messages (default: path)
  std::uint64_t base = 0;
  PartInfo info;
  // For the first part: the first member's FNAME to replace (the chunk file's
  // name, "big.log.000") and what to put instead ("big.log"), in our members
  // and in gzip's and pigz's alike.
  std::optional<std::pair<std::string, std::string>> rename;
};

// Writes the parts as one stream: inner end-of-stream members are dropped,
// inner members that carry the end flag lose it (FT version 1 again), and
// one end marker is written at the end (unless the stream is one such
// member, which keeps its flag); the first member of every later part loses its
// name and time (as the later members of a one-process compression have
// none). Parts that are not fully indexed are copied as they are.
Stats join(const std::vector<JoinPart>& parts, Sink& out, const Progress& progress);

}  // namespace fpgaio::gzip
