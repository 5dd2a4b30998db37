// Splitting an input into chunks, naming chunks and finding their index in a
// name again, IDX headers, and the manifest that lists chunks with CRC-32s.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fpgaio/io.hpp"

namespace fpgaio::split {

// How to cut, with GNU split's meanings. Exactly one of `count`, `size` and
// `line_count` is set:
//   count             -n N: N chunks of size/N bytes, the last one taking the
//                     rest (GNU split's cuts), or at multiples of `align`
//   count + lines     -n l/N: N chunks, each ending with the record that holds
//                     its nominal last byte (GNU's rule; some may be empty)
//   size              -b SIZE: chunks of SIZE bytes (whole records)
//   size + lines      -C SIZE: at most SIZE bytes of whole records a chunk; a
//                     record longer than SIZE is cut into SIZE-byte pieces
//   line_count        -l N: N records a chunk
// Records end with `separator` (-t; newline by default).
struct CutOptions {
  std::optional<std::uint64_t> count;
  std::optional<std::uint64_t> size;
  std::optional<std::uint64_t> line_count;
  bool lines = false;
  char separator = '\n';
  std::uint64_t record_size = 0;  // chunks hold whole fixed-size records (0: bytes)
  std::uint64_t align = 0;        // with count: cut at multiples of this when every chunk gets one
};

// One chunk of the input: [offset, offset+length) of the data (for IDX, of
// the records after the header).
struct Chunk {
  std::uint64_t index = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// Plans the chunks of `size` bytes of data starting at `base` in a file that
// can be read with pread (record modes read it to find separators). Throws
// Error(usage) for impossible options, Error(corrupt) for a size that is not
// a whole number of fixed-size records.
std::vector<Chunk> plan(int fd, const std::string& path, std::uint64_t base, std::uint64_t size,
                        const CutOptions& opt);

// The same rules for a stream, one buffer at a time, in constant memory
// (`size` and `line_count` cutting: a stream has no length to divide).
class StreamCutter {
 public:
  explicit StreamCutter(const CutOptions& opt);
  // How many of data[0, n) belong to the current chunk; sets `ends` when the
  // chunk is complete after them. With -C a chunk can end before its last
  // bytes: `carry` is then how many of its last bytes (a record's start, no
  // separator among them) move to the next chunk, which the cutter already
  // counts. Call again with the rest for the next chunk.
  std::size_t take(const std::uint8_t* data, std::size_t n, bool& ends, std::uint64_t& carry);
  std::size_t take(const std::uint8_t* data, std::size_t n, bool& ends) {
    std::uint64_t carry = 0;
    return take(data, n, ends, carry);
  }

 private:
  std::uint64_t target_ = 0, have_ = 0, last_sep_ = 0;
  bool lines_, by_count_;
  char sep_;
};

// -n r/N (round robin), as GNU split deals records out: record j (from 0)
// goes to chunk j mod N; a last record without a separator is a record.
// Fed one buffer at a time, in constant memory, from a file or a stream.
class RoundRobinCutter {
 public:
  RoundRobinCutter(std::uint64_t count, char separator);
  // The chunk the next bytes belong to.
  std::uint64_t chunk() const { return chunk_; }
  // How many of data[0, n) belong to chunk(); when they end a record,
  // chunk() moves on to the next one. Call again with the rest.
  std::size_t take(const std::uint8_t* data, std::size_t n);

 private:
  std::uint64_t count_, chunk_ = 0;
  char sep_;
};

// IDX files (MNIST, Fashion-MNIST): magic 0 0 TYPE NDIMS, NDIMS big-endian
// u32 sizes, then the items. Items are what chunks hold whole.
struct IdxHeader {
  std::uint8_t type = 8;
  std::vector<std::uint32_t> dims;
  std::size_t header_bytes() const { return 4 + 4 * dims.size(); }
  std::uint64_t element_bytes() const;  // 1, 2, 4 or 8 by the type
  std::uint64_t item_bytes() const;  // bytes of one item (dims[1..] times element size)
  std::uint64_t data_bytes() const { return item_bytes() * dims.at(0); }
  Bytes encode(std::uint32_t items) const;  // this header with dims[0] = items
};
// Parses an IDX header from data[0, n). Throws Error(corrupt) naming `path`
// when it is not one (or, for a known `file_size`, when the size disagrees).
// A header that parses has items of at least one byte (a 0 in any dimension
// but the first is an error) and describes less than 2^63 bytes, so
// item_bytes() divides and data_bytes() does not overflow.
IdxHeader parse_idx(const std::uint8_t* data, std::size_t n, const std::string& path,
                    std::optional<std::uint64_t> file_size);
// Throws the error parse_idx gives when the header and `size`, the bytes of
// the whole file or stream, disagree.
void check_idx_size(const IdxHeader& h, std::uint64_t size, const std::string& path);

// Chunk file names: PREFIX.INDEX with INDEX zero-padded to `width` digits
// (decimal, or hexadecimal with `hex`: fpga-split -x).
unsigned index_width(std::uint64_t count, bool hex = false);  // digits for count-1, at least 3
std::string chunk_name(const std::string& prefix, std::uint64_t index, unsigned width, bool hex = false);
// Whether indices up to `last` fit in `width` digits.
bool index_fits(std::uint64_t last, unsigned width, bool hex = false);

// A part named after a chunk: STEM.INDEX[SUFFIX], e.g. big.log.007.gz has
// stem "big.log", index 7 and suffix ".gz". The index is the last
// dot-separated name component made only of digits, after the first one.
// A range operand gives its own index.
struct PartName {
  std::string stem;  // directory and name before the index
  std::string index_text;
  std::uint64_t index = 0;
  std::string suffix;  // from the dot after the index to the end
};
std::optional<PartName> parse_part_name(const std::string& path);

// The manifest (--manifest): a text file, tab-separated,
//   fpga-split-manifest<TAB>1
//   input<TAB>SIZE<TAB>PATH
//   chunk<TAB>INDEX<TAB>OFFSET<TAB>LENGTH<TAB>BYTES<TAB>CRC32<TAB>NAME
// OFFSET and LENGTH locate the chunk's data in the input; BYTES and CRC32
// (8 hex digits) describe the chunk as a tool reads it (an IDX chunk file
// has its own header). NAME is the chunk file or range operand as printed.
struct ManifestChunk {
  std::uint64_t index = 0, offset = 0, length = 0, bytes = 0;
  std::uint32_t crc = 0;
  std::string name;
};
struct Manifest {
  std::string input;
  std::uint64_t input_size = 0;
  std::vector<ManifestChunk> chunks;  // in index order, indices 0..N-1
};
std::string format_manifest(const Manifest& m);
// Parses and checks a manifest; throws Error(corrupt) naming `path` and line.
Manifest parse_manifest(const std::string& text, const std::string& path);
Manifest read_manifest(const std::string& path);

}  // namespace fpgaio::split
