// Arrow IPC streams and files as chunks: reading their message framing and
// metadata (verified flatbuffers), cutting them into valid streams of whole
// record batches, and joining such streams again, copying messages verbatim.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fpgaio/io.hpp"

namespace fpgaio::arrow {

// "ARROW1": the first 6 bytes of an Arrow IPC file (then 2 bytes of padding)
// and its last 6.
constexpr char kFileMagic[] = "ARROW1";
bool has_file_magic(const std::uint8_t* data, std::size_t n);

// Metadata longer than this is refused before anything is allocated for it
// (the length is an int32: 2^31 - 1 at most anyway).
constexpr std::uint64_t kMaxMetadata = (std::uint64_t{1} << 31) - 1;

enum class Kind { schema, dictionary, record_batch };

// One encapsulated message: where it is, its sizes, and what of its
// metadata the split and the join use.
struct Message {
  Kind kind = Kind::record_batch;
  std::uint64_t offset = 0;    // of its first byte (the continuation marker or the length)
  std::uint32_t meta_len = 0;  // framing + flatbuffer + padding: the file footer's metaDataLength
  std::uint64_t body_len = 0;
  std::int64_t dict_id = 0;    // dictionary batches
  bool delta = false;          // a delta dictionary batch (appends; else it replaces)
  std::int64_t rows = 0;       // record batches (and a dictionary batch's own length)
  bool legacy = false;         // written without the continuation marker (before format 0.15)
  std::uint64_t size() const { return meta_len + body_len; }
};

// What the framing at the start of `head` (the first `n` bytes there, at
// least 8 unless the data ends sooner) says. `at` and `path` name it in
// errors. Throws Error(corrupt) for framing no writer makes.
struct Framing {
  bool eos = false;            // the end-of-stream marker
  std::uint32_t prefix = 8;    // 8 (continuation + length) or 4 (pre-0.15)
  std::uint32_t flatbuffer = 0;  // the metadata length after the prefix (padding included)
  bool legacy() const { return prefix == 4; }
  std::uint32_t size() const { return prefix + flatbuffer; }
};
Framing parse_framing(const std::uint8_t* head, std::size_t n, std::uint64_t at, const std::string& path);

// Verifies a message's metadata flatbuffer (flatbuffers::Verifier with depth
// and table limits) and reads it into `m` (kind, body length, dictionary id
// and delta flag, rows). Refuses message types other than schema,
// dictionary batch and record batch, negative lengths, a body that is not a
// multiple of 8 bytes, and buffers that lie outside the body. Errors name
// `path` and the message's offset `m.offset`.
void read_metadata(const std::uint8_t* fb, std::size_t n, Message& m, const std::string& path);

// Where the messages of a stream or file are. For a file, the stream between
// the magic and the footer, checked against the footer's blocks.
struct Layout {
  bool file = false;           // ARROW1 ... ARROW1
  std::uint64_t base = 0;      // where the data scanned start in the file: offsets count from there
  Message schema;
  std::vector<Message> messages;  // after the schema: dictionary and record batches in order
  std::uint32_t eos_len = 0;      // 8, 4 (pre-0.15) or 0: the stream had no end-of-stream marker
  std::uint64_t end = 0;          // where the messages (and the marker) end
  std::uint64_t rows = 0, batches = 0;
  bool headless = false;          // a byte range of messages without the schema (fpga-split --ranges)
  // A file with no schema message after its magic (apache-arrow writes the
  // schema in the footer alone): a schema message made from the footer's
  // schema (`schema` then gives its size, not a place in the file), and the
  // messages are those of the footer's blocks.
  std::vector<std::uint8_t> schema_message;
};

// The whole schema message of a layout of fd: read from the file, or the
// one made from a footer-only file's footer.
std::vector<std::uint8_t> schema_bytes(int fd, const Layout& l, const std::string& path);

// Reads the layout of [base, base+size) of fd: an Arrow IPC stream or file,
// or with `headless` a run of messages without a schema. A file without a
// schema message is read from its footer (its schema, and its blocks, each
// checked against the message at its offset; they must follow one another
// from the magic on). Reads the metadata
// only (pread), never a body. Throws Error(corrupt) naming `path` and the
// offset (counted from `base`) at the first problem: a message cut short, a
// body past the end, a flatbuffer that does not verify, a damaged footer.
Layout scan(int fd, std::uint64_t base, std::uint64_t size, const std::string& path, bool headless = false);

// The bytes of the end-of-stream marker in the form of the schema message.
std::vector<std::uint8_t> eos_marker(bool legacy);

// A stream read message by message from a source that cannot seek
// (standard input): the framing and metadata are read into memory (grown as
// the bytes arrive, so a false length on a short stream allocates nothing
// big), the body is handed on in pieces.
class StreamReader {
 public:
  StreamReader(Input& in, std::string path);
  // The next message, its framing and metadata in `meta`; nullopt at the end
  // (the marker or the end of the data). The first must be the schema.
  std::optional<Message> next(Bytes& meta);
  // The current message's body, to `out` (or to `keep` as well when given).
  void body(Sink* out, Bytes* keep);
  std::uint32_t eos_len() const { return eos_len_; }
  std::uint64_t offset() const { return offset_; }

 private:
  std::size_t read(std::uint8_t* d, std::size_t n);
  Input& in_;
  std::string path_;
  std::uint64_t offset_ = 0, body_left_ = 0;
  std::uint32_t eos_len_ = 0;
  bool first_ = true, done_ = false;
};

// Writes one Arrow stream or file: the schema message, then messages copied
// verbatim, then the end-of-stream marker and, for a file, a footer whose
// blocks are the offsets the messages got here (its schema is the schema
// message's own, its flatbuffer copied whole).
class Writer {
 public:
  // `schema`: the whole schema message (framing, flatbuffer, body).
  Writer(Sink& out, bool file, std::vector<std::uint8_t> schema, const std::string& path);
  // A message whose bytes are [offset, offset + m.size()) of fd.
  void copy(const Message& m, int fd, std::uint64_t offset, const std::string& path);
  // A message whose bytes are `bytes`.
  void put(const Message& m, const std::uint8_t* bytes, std::size_t n);
  // A message whose metadata is `meta`, its body then written by `body`.
  void put_streamed(const Message& m, const std::uint8_t* meta, std::size_t n, const std::function<void(Sink&)>& body);
  // The end-of-stream marker (when `eos`; a file always has one) and a file's
  // footer. `eos_len`: the marker's form, 8 or 4 bytes (0: the schema's).
  void finish(bool eos, std::uint32_t eos_len = 0);
  std::uint64_t bytes() const { return at_; }

 private:
  void block(const Message& m);
  Sink& out_;
  bool file_;
  std::vector<std::uint8_t> schema_;
  std::string path_;
  std::uint64_t at_ = 0;
  struct Block {
    std::int64_t offset;
    std::int32_t meta;
    std::int64_t body;
  };
  std::vector<Block> dictionaries_, batches_;
  bool legacy_ = false;
};

// A file footer for `schema` (the schema message's flatbuffer, its framing
// stripped) and the blocks: the flatbuffer, unpadded.
std::vector<std::uint8_t> encode_footer(const std::uint8_t* schema_fb, std::size_t n, std::int16_t version,
                                        const std::vector<std::array<std::int64_t, 3>>& dictionaries,
                                        const std::vector<std::array<std::int64_t, 3>>& batches);

// The dictionary batches in force before message `upto` of `messages`: for
// each dictionary id (in the order the ids first appear) the last
// replacement and the deltas after it, as indices into `messages`.
std::vector<std::size_t> dictionaries_before(const std::vector<Message>& messages, std::size_t upto);

// A chunk of a split: messages [first, last) of the layout (whole record
// batches and the dictionary batches between them).
struct Chunk {
  std::uint64_t index = 0;
  std::size_t first = 0, last = 0;
  std::uint64_t offset = 0, length = 0;  // in the input: [offset, offset + length)
  std::uint64_t rows = 0, batches = 0;
};

// How to cut: `count` chunks balanced by bytes, `rows` rows a chunk, or at
// most `bytes` bytes of messages a chunk (a batch larger than that alone).
// A chunk ends after a record batch; the dictionary batches between two
// chunks go to the later one.
struct CutOptions {
  std::optional<std::uint64_t> count, rows, bytes;
};
std::vector<Chunk> plan(const Layout& layout, const CutOptions& opt);

// Writes chunk `c` of the layout's input (fd) to `out` as a stream (or a
// file): the schema, the dictionaries in force at its first message, its
// messages, and the end-of-stream marker unless it is the input's last
// chunk and the input had none.
void write_chunk(int fd, const Layout& layout, const Chunk& c, bool last, bool file, Sink& out,
                 const std::string& path);

// Cuts a stream as it is read into chunks of at most opt.rows rows or
// opt.bytes bytes of messages. `open(k)` gives the sink of chunk k;
// `close(k, chunk, last)` is called once it is complete. Memory: the schema
// and the dictionaries in force, never a record batch. Returns the bytes read.
struct StreamChunks {
  std::function<Sink&(std::uint64_t index)> open;
  std::function<void(const Chunk& c, bool last)> close;
};
std::uint64_t split_stream(Input& in, const std::string& path, const CutOptions& opt, bool file, StreamChunks& out);

// One part of a join: [base, base+size) of fd, named `shown` in errors.
// `headless`: a byte range of messages (fpga-split --ranges), whose schema
// is the one of the file at `schema_fd` (its start).
struct JoinPart {
  int fd = -1;
  std::uint64_t base = 0, size = 0;
  std::string shown;
  bool headless = false;
  int schema_fd = -1;
};
struct JoinResult {
  std::uint64_t bytes = 0, batches = 0, rows = 0;
};
// Checks every part (scan) and that all have the same schema message, then
// writes one stream (or file, with `file`): the schema once, each part's
// messages but the dictionary batches that repeat what is in force already,
// and the end-of-stream marker when the last part has one (a file always).
// Throws Error(corrupt) naming the part before anything is written.
JoinResult join(const std::vector<JoinPart>& parts, bool file, Sink& out,
                const std::function<void(std::uint64_t)>& progress = {});

// Whether [base, base+n) of fd looks like Arrow IPC: the file magic, or a
// continuation marker (or pre-0.15 length) followed by a schema message that
// verifies.
bool looks_like_arrow(int fd, std::uint64_t base, std::uint64_t size);
// Whether the first bytes could start Arrow IPC (the magic or a continuation
// marker): a part among Arrow parts that does is read as one, so that its
// damage is reported where it is.
bool starts_like_arrow(const std::uint8_t* head, std::size_t n);

}  // namespace fpgaio::arrow
