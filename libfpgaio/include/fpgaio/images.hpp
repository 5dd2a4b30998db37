// Image inputs for classification: CIFAR-10 binary records, IDX files,
// PGM/PPM pictures and raw uint8, from files, byte ranges and streams, with
// image numbers that stay global across the chunks of a split.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fpgaio/bnn.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/split.hpp"

namespace fpgaio::images {

enum class Format { cifar, idx, pnm, raw };
const char* format_name(Format f);
std::optional<Format> parse_format(const std::string& s);

// The format a file's name suggests (.bin: CIFAR-10, idx3-ubyte: IDX,
// .pgm/.ppm/.pnm: PNM; any of them with .gz after it too), or nullopt.
std::optional<Format> format_from_name(const std::string& path);
// The format the first bytes show (IDX magic, P5/P6), or nullopt.
std::optional<Format> format_from_magic(const std::uint8_t* data, std::size_t n);

struct Batch {
  std::vector<std::uint8_t> pixels;  // count images of the model's shape, HWC
  std::vector<int> labels;           // -1 where unknown
  std::uint64_t first = 0;           // global number of the first image
  std::size_t count = 0;
};

// What an image input holds: its own bytes or, when it starts with gzip's
// magic number (1f 8b), the bytes it decompresses to (gzip::Decoder, as
// fpga-gzip -d reads it; data after the gzip members is an error). Gzip is
// decoded by a thread that runs at most kContentAhead bytes ahead of the
// reader, so memory stays bounded whatever a file declares or inflates to
// (a gzip bomb). A stream (a pipe, standard input) is read through that
// thread whether it is gzip or not: its first bytes must be read to tell. A
// byte range of a gzip file is Error(usage): its offsets count compressed
// bytes, and a piece of a deflate stream cannot be read alone.
constexpr std::size_t kContentAhead = std::size_t{4} << 20;

class Content {
 public:
  // `consumed`: bytes already read from `in` (to tell its format), read
  // again first; `in` is then taken as it is (not gzip).
  explicit Content(Input& in, std::vector<std::uint8_t> consumed = {});
  ~Content();
  Content(const Content&) = delete;
  Content& operator=(const Content&) = delete;

  Input& input() const { return in_; }
  bool gzip() const { return gzip_; }
  // The chunk of a split that a gzip file says it is (its first member's FP
  // subfield: fpga-gzip of a chunk of fpga-split), if it says.
  const std::optional<PartOf>& part() const { return part_; }
  // The bytes it holds, when known before reading them: a plain regular
  // file's size (a range's length); nullopt for a stream and for gzip.
  std::optional<std::uint64_t> size() const;
  // Up to the first n bytes (fewer at the end), read again by read().
  const std::vector<std::uint8_t>& peek(std::size_t n);
  std::size_t read(std::uint8_t* p, std::size_t n);       // until n bytes or the end
  std::size_t read_some(std::uint8_t* p, std::size_t n);  // 0 only at the end
  // Errors: the decoder's (corrupt data, with member and offset) and read
  // errors, naming the input.

 private:
  std::size_t pull(std::uint8_t* p, std::size_t n);  // from the input or the thread
  struct Pump;
  Input& in_;
  bool gzip_ = false;
  std::optional<PartOf> part_;
  std::unique_ptr<Pump> pump_;
  std::vector<std::uint8_t> pending_;  // read again before the rest
};

// Reads images from one input and fits them to the model's input: the same
// shape, or smaller with the same channels (centred, padded with 0 pixels, so
// 28x28 Fashion-MNIST fits a 32x32 model).
class Reader {
 public:
  // `raw_shape` is needed for Format::raw. `start` overrides the global
  // number of the first image (else 0, or what a byte range's offset says).
  Reader(Content& src, Format format, const bnn::Shape& model, std::optional<bnn::Shape> raw_shape,
         std::optional<std::uint64_t> start);
  // The same over Content(in, consumed) of its own (gzip read too when
  // `consumed` is empty). `consumed`: bytes already read from a stream to
  // tell its format; they are read again first.
  Reader(Input& in, Format format, const bnn::Shape& model, std::optional<bnn::Shape> raw_shape,
         std::optional<std::uint64_t> start, std::vector<std::uint8_t> consumed = {});
  // Reads up to n images into b (replacing its contents); 0 at the end.
  // Throws Error(corrupt) for a partial record or a bad header, and when a
  // whole IDX input (file or stream) holds more or fewer images than its
  // header says (the message parse_idx gives for a file of the wrong size).
  std::size_t next(std::size_t n, Batch& b);
  std::optional<std::uint64_t> total() const { return total_; }  // images, when known
  std::uint64_t record_bytes() const { return record_; }
  std::uint64_t header_bytes() const { return header_; }  // an IDX file's header; 0 for the others

 private:
  void init(const bnn::Shape& model, std::optional<bnn::Shape> raw_shape, std::optional<std::uint64_t> start);
  void read_header();
  bool read_pnm_header(bnn::Shape& s);
  void fit(const std::uint8_t* src, const bnn::Shape& s, bool chw, std::uint8_t* dst) const;
  std::size_t read_exact(std::uint8_t* p, std::size_t n);
  // Reads on to the end, counting, but no more than `limit` bytes (then
  // limit + 1: a stream, a gzip bomb, may never end).
  std::uint64_t count_rest(std::uint64_t limit);
  std::unique_ptr<Content> own_;  // the Content of the Input constructor
  Content* src_;
  Input& in_;
  Format format_;
  bnn::Shape model_, image_;
  std::uint64_t record_ = 0, index_ = 0, header_ = 0;
  std::optional<std::uint64_t> total_;
  std::optional<split::IdxHeader> idx_;  // a whole IDX file or stream: its count is held to
  std::uint64_t read_ = 0;               // images read so far
  std::vector<std::uint8_t> rec_;
};

// The labels of an IDX1 labels file (Fashion-MNIST's t10k-labels-idx1-ubyte),
// plain or gzip, read only as far as the images need: the header when it is
// opened (a file that is not one fails at once, a plain file of the wrong
// size too), then, as labels are asked for, the data up to them and a little
// beyond, in a background thread. At most kLabelWindow labels are held: an
// image number far into the file (a chunk, --start) skips the labels before
// it, and asking again for one skipped reads a file again from its start (a
// stream cannot be: that is an error). The last label asked for reads the
// file to its end, so that a file longer than its header or damaged after
// the labels is an error then, as when it was read whole.
constexpr std::uint64_t kLabelWindow = std::uint64_t{1} << 24;

class Labels {
 public:
  explicit Labels(const std::string& path);  // throws Error naming `path`
  ~Labels();
  Labels(const Labels&) = delete;
  Labels& operator=(const Labels&) = delete;

  const std::string& path() const;
  std::uint64_t count() const;  // the labels its header declares
  // The label of image `index` < count(). Throws Error(corrupt) when the
  // file ends before it or is damaged before it (or, for the last one,
  // anywhere), Error(usage) for a stream asked for a label it has passed.
  std::uint8_t at(std::uint64_t index);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace fpgaio::images
