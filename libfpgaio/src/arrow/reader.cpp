// Reading Arrow IPC framing and metadata: every flatbuffer verified before a
// field of it is read, every declared length checked against the data before
// anything is allocated for it.
#include <algorithm>
#include <cstring>

#include "arrow_ipc_generated.h"
#include "fpgaio/arrow.hpp"
#include "fpgaio/error.hpp"

namespace fpgaio::arrow {
namespace {

std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

std::uint64_t le64(const std::uint8_t* p) { return std::uint64_t{le32(p)} | std::uint64_t{le32(p + 4)} << 32; }

// Block k of a footer's vector, read byte by byte: the verifier checks the
// vector's length field's alignment, not its 8-byte structs', and a
// damaged footer may put them at 4 mod 8.
struct BlockAt {
  std::int64_t offset;
  std::int32_t meta;
  std::int64_t body;
};
static_assert(sizeof(fb::Block) == 24, "Block: offset, metaDataLength and padding, bodyLength");
BlockAt block_at(const flatbuffers::Vector<const fb::Block*>* v, flatbuffers::uoffset_t k) {
  const std::uint8_t* p = v->Data() + std::size_t{k} * sizeof(fb::Block);
  return BlockAt{static_cast<std::int64_t>(le64(p)), static_cast<std::int32_t>(le32(p + 8)),
                 static_cast<std::int64_t>(le64(p + 16))};
}

[[noreturn]] void corrupt(const std::string& path, std::uint64_t at, const std::string& why) {
  Error e(ErrorKind::corrupt, why);
  e.damage = Damage::format;
  throw e.at(at).with_path(path);
}

// Flatbuffer limits: Arrow metadata nests a field a level (lists of structs
// of ...); 64 levels and a million tables are far beyond any real schema
// and bound the verifier's work on a hostile one.
constexpr unsigned kMaxDepth = 64;
constexpr unsigned kMaxTables = 1000000;

// A copy of the flatbuffer at an 8-byte aligned address when it is not at
// one (pre-0.15 framing puts it at 4 mod 8): 64-bit fields are read in place.
struct Aligned {
  std::vector<std::uint64_t> store;
  const std::uint8_t* data;
  Aligned(const std::uint8_t* p, std::size_t n) : data(p) {
    if (reinterpret_cast<std::uintptr_t>(p) % 8 == 0) return;
    store.resize((n + 7) / 8);
    std::memcpy(store.data(), p, n);
    data = reinterpret_cast<const std::uint8_t*>(store.data());
  }
};

}  // namespace

bool has_file_magic(const std::uint8_t* data, std::size_t n) {
  return n >= 6 && std::memcmp(data, kFileMagic, 6) == 0;
}

std::vector<std::uint8_t> eos_marker(bool legacy) {
  if (legacy) return {0, 0, 0, 0};
  return {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
}

Framing parse_framing(const std::uint8_t* head, std::size_t n, std::uint64_t at, const std::string& path) {
  Framing f;
  if (n < 4) corrupt(path, at, "message framing cut short (" + std::to_string(n) + " of 8 bytes)");
  std::uint32_t first = le32(head);
  std::uint32_t len = first;
  if (first == 0xffffffffu) {
    if (n < 8) corrupt(path, at, "message framing cut short (" + std::to_string(n) + " of 8 bytes)");
    len = le32(head + 4);
  } else {
    f.prefix = 4;
  }
  if (len == 0) {
    f.eos = true;
    return f;
  }
  if (len > kMaxMetadata) corrupt(path, at, "metadata length " + std::to_string(static_cast<std::int32_t>(len)) + " is negative");
  if ((f.prefix + len) % 8 != 0)
    corrupt(path, at, "metadata length " + std::to_string(len) + " does not end the metadata on an 8-byte boundary");
  f.flatbuffer = len;
  return f;
}

void read_metadata(const std::uint8_t* fb_bytes, std::size_t n, Message& m, const std::string& path) {
  Aligned a(fb_bytes, n);
  flatbuffers::Verifier v(a.data, n, kMaxDepth, kMaxTables);
  if (!v.VerifyBuffer<fb::Message>(nullptr)) corrupt(path, m.offset, "message metadata is not a valid flatbuffer");
  const fb::Message* msg = flatbuffers::GetRoot<fb::Message>(a.data);
  if (msg->body_length() < 0) corrupt(path, m.offset, "negative body length");
  if (msg->body_length() % 8 != 0)
    corrupt(path, m.offset, "body length " + std::to_string(msg->body_length()) + " is not a multiple of 8");
  m.body_len = static_cast<std::uint64_t>(msg->body_length());
  auto check_batch = [&](const fb::RecordBatch* b) {
    if (!b) corrupt(path, m.offset, "dictionary batch without its data");
    if (b->length() < 0) corrupt(path, m.offset, "negative row count");
    m.rows = b->length();
    if (const auto* bufs = b->buffers()) {
      static_assert(sizeof(fb::Buffer) == 16, "Buffer: offset, length");
      for (flatbuffers::uoffset_t i = 0; i < bufs->size(); ++i) {
        // Read byte by byte: damaged metadata may put the 8-byte structs
        // at 4 mod 8 (the verifier checks the vector's length only).
        const std::uint8_t* raw = bufs->Data() + std::size_t{i} * sizeof(fb::Buffer);
        const auto off = static_cast<std::int64_t>(le64(raw)), len = static_cast<std::int64_t>(le64(raw + 8));
        if (off < 0 || len < 0 || static_cast<std::uint64_t>(off) > m.body_len ||
            static_cast<std::uint64_t>(len) > m.body_len - static_cast<std::uint64_t>(off))
          corrupt(path, m.offset, "buffer " + std::to_string(i) + " lies outside the message body (" +
                                      std::to_string(m.body_len) + " bytes)");
      }
    }
  };
  switch (msg->header_type()) {
    case fb::MessageHeader::Schema:
      if (!msg->header()) corrupt(path, m.offset, "schema message without its schema");
      m.kind = Kind::schema;
      break;
    case fb::MessageHeader::DictionaryBatch: {
      const auto* d = msg->header_as_DictionaryBatch();
      if (!d) corrupt(path, m.offset, "dictionary batch message without its header");
      m.kind = Kind::dictionary;
      m.dict_id = d->id();
      m.delta = d->is_delta();
      check_batch(d->data());
      break;
    }
    case fb::MessageHeader::RecordBatch: {
      const auto* b = msg->header_as_RecordBatch();
      if (!b) corrupt(path, m.offset, "record batch message without its header");
      m.kind = Kind::record_batch;
      check_batch(b);
      break;
    }
    default:
      corrupt(path, m.offset, "message type " + std::to_string(static_cast<int>(msg->header_type())) +
                                  " is not a schema, dictionary batch or record batch");
  }
}

namespace {

// Reads the message at `pos` of [base, base+end) of fd into `m`.
Framing read_message(int fd, std::uint64_t base, std::uint64_t pos, std::uint64_t end, const std::string& path,
                     Message& m) {
  std::uint8_t head[8];
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(8, end - pos));
  pread_exact(fd, head, n, base + pos, path);
  Framing f = parse_framing(head, n, pos, path);
  if (f.eos) return f;
  if (f.size() > end - pos)
    corrupt(path, pos, "message metadata (" + std::to_string(f.size()) + " bytes) runs past the end of the data (" +
                           std::to_string(end - pos) + " bytes left)");
  std::vector<std::uint64_t> store((f.flatbuffer + 7) / 8);
  auto* fbp = reinterpret_cast<std::uint8_t*>(store.data());
  pread_exact(fd, fbp, f.flatbuffer, base + pos + f.prefix, path);
  m = Message{};
  m.offset = pos;
  m.meta_len = f.size();
  m.legacy = f.legacy();
  read_metadata(fbp, f.flatbuffer, m, path);
  if (m.body_len > end - pos - f.size())
    corrupt(path, pos, "message body (" + std::to_string(m.body_len) + " bytes) runs past the end of the data (" +
                           std::to_string(end - pos - f.size()) + " bytes left)");
  return f;
}

// The footer flatbuffer at `footer_at`, read into `store` (8-byte aligned)
// and verified before it is used.
const fb::Footer* read_footer(int fd, std::uint64_t base, std::uint64_t footer_at, std::uint32_t footer_len,
                              std::vector<std::uint64_t>& store, const std::string& path) {
  store.assign((footer_len + 7) / 8, 0);
  auto* p = reinterpret_cast<std::uint8_t*>(store.data());
  pread_exact(fd, p, footer_len, base + footer_at, path);
  flatbuffers::Verifier v(p, footer_len, kMaxDepth, kMaxTables);
  if (!v.VerifyBuffer<fb::Footer>(nullptr)) corrupt(path, footer_at, "file footer is not a valid flatbuffer");
  return flatbuffers::GetRoot<fb::Footer>(p);
}

void check_footer(int fd, std::uint64_t base, std::uint64_t footer_at, std::uint32_t footer_len, const Layout& l,
                  const std::string& path) {
  std::vector<std::uint64_t> store;
  const fb::Footer* f = read_footer(fd, base, footer_at, footer_len, store, path);
  if (!f->schema()) corrupt(path, footer_at, "file footer without a schema");
  auto compare = [&](const flatbuffers::Vector<const fb::Block*>* blocks, Kind kind, const char* what) {
    std::size_t k = 0, have = blocks ? blocks->size() : 0;
    for (const auto& m : l.messages) {
      if (m.kind != kind) continue;
      if (k >= have)
        corrupt(path, footer_at, std::string("file footer lists ") + std::to_string(have) + " " + what +
                                     ", the file holds more");
      const BlockAt b = block_at(blocks, static_cast<flatbuffers::uoffset_t>(k));
      if (b.offset != static_cast<std::int64_t>(m.offset) || b.meta != static_cast<std::int32_t>(m.meta_len) ||
          b.body != static_cast<std::int64_t>(m.body_len))
        corrupt(path, footer_at, std::string("file footer's block ") + std::to_string(k) + " of the " + what +
                                     " does not match the message at offset " + std::to_string(m.offset));
      ++k;
    }
    if (k != have)
      corrupt(path, footer_at, std::string("file footer lists ") + std::to_string(have) + " " + what +
                                   ", the file holds " + std::to_string(k));
  };
  compare(f->dictionaries(), Kind::dictionary, "dictionary batches");
  compare(f->record_batches(), Kind::record_batch, "record batches");
}

// A schema message made from a file footer's Schema table: a Message table
// (version, header type Schema, header) laid out by hand before a copy of
// the whole footer flatbuffer, its header pointing at the Schema table in
// the copy (offsets are relative, and the copy keeps the footer's 8-byte
// alignment), as encode_footer does the other way round. Every field of the
// schema is kept, those arrow_ipc.fbs does not declare too.
//
//   0   continuation marker, metadata length
//   8   root offset -> table at 24
//   12  vtable: 12 bytes, table 12 bytes, version@8 header_type@10 header@4
//   24  table: soffset to the vtable, header offset, version, header type, padding
//   40  the footer's flatbuffer, padding to 8
std::vector<std::uint8_t> schema_from_footer(const std::uint8_t* footer, std::size_t n, std::int16_t version,
                                             std::size_t schema_in_footer) {
  const std::size_t copy_at = 32;  // in the flatbuffer
  const std::size_t fb_len = (copy_at + n + 7) / 8 * 8;
  std::vector<std::uint8_t> b(8 + fb_len, 0);
  auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  auto put16 = [&](std::size_t at, std::uint16_t v) {
    b[at] = static_cast<std::uint8_t>(v);
    b[at + 1] = static_cast<std::uint8_t>(v >> 8);
  };
  put32(0, 0xffffffffu);
  put32(4, static_cast<std::uint32_t>(fb_len));
  const std::size_t o = 8;  // the flatbuffer's start in b
  put32(o + 0, 16);
  put16(o + 4, 12);
  put16(o + 6, 12);
  put16(o + 8, 8);   // version
  put16(o + 10, 10); // header_type
  put16(o + 12, 4);  // header
  put16(o + 14, 0);  // body_length: absent (0)
  put32(o + 16, 12); // soffset: the vtable is 12 bytes before the table
  put32(o + 20, static_cast<std::uint32_t>(copy_at + schema_in_footer - 20));
  put16(o + 24, static_cast<std::uint16_t>(version));
  b[o + 26] = static_cast<std::uint8_t>(fb::MessageHeader::Schema);
  std::memcpy(b.data() + o + copy_at, footer, n);
  return b;
}

// A file without a schema message (apache-arrow writes the schema in the
// footer alone): the schema from the footer, the dictionary and record
// batches from the footer's blocks, each checked against the message at
// its offset. The messages must follow one another from the magic on (as
// every writer lays them out): chunks and ranges are runs of them.
void scan_footer_only(int fd, std::uint64_t base, std::uint64_t footer_at, std::uint32_t footer_len, Layout& l,
                      const std::string& path) {
  std::vector<std::uint64_t> store;
  const fb::Footer* f = read_footer(fd, base, footer_at, footer_len, store, path);
  const auto* p = reinterpret_cast<const std::uint8_t*>(store.data());
  if (!f->schema())
    corrupt(path, 8, "the file has no schema: no schema message after the magic, none in its footer");
  const auto schema_at = static_cast<std::size_t>(reinterpret_cast<const std::uint8_t*>(f->schema()) - p);
  l.schema_message = schema_from_footer(p, footer_len, f->version(), schema_at);
  l.schema = Message{};
  l.schema.kind = Kind::schema;
  l.schema.meta_len = static_cast<std::uint32_t>(l.schema_message.size());
  struct Want {
    std::int64_t offset;
    std::int32_t meta;
    std::int64_t body;
    Kind kind;
    std::size_t k;
  };
  std::vector<Want> want;
  auto take = [&](const flatbuffers::Vector<const fb::Block*>* blocks, Kind kind) {
    if (!blocks) return;
    for (flatbuffers::uoffset_t k = 0; k < blocks->size(); ++k) {
      const BlockAt b = block_at(blocks, k);
      want.push_back(Want{b.offset, b.meta, b.body, kind, k});
    }
  };
  take(f->dictionaries(), Kind::dictionary);
  take(f->record_batches(), Kind::record_batch);
  std::stable_sort(want.begin(), want.end(), [](const Want& a, const Want& b) { return a.offset < b.offset; });
  std::uint64_t pos = 8;
  for (const auto& w : want) {
    const std::string what = std::string("file footer's block ") + std::to_string(w.k) + " of the " +
                             (w.kind == Kind::dictionary ? "dictionary" : "record") + " batches";
    if (w.offset < 0 || static_cast<std::uint64_t>(w.offset) != pos)
      corrupt(path, footer_at, what + " is at offset " + std::to_string(w.offset) + ", the message before it ends at " +
                                   std::to_string(pos));
    Message m;
    Framing fr = read_message(fd, base, pos, footer_at, path, m);
    if (fr.eos || m.kind != w.kind || m.meta_len != static_cast<std::uint32_t>(w.meta) ||
        w.meta < 0 || w.body < 0 || m.body_len != static_cast<std::uint64_t>(w.body))
      corrupt(path, footer_at, what + " does not match the message at offset " + std::to_string(pos));
    if (m.kind == Kind::record_batch) {
      ++l.batches;
      l.rows += static_cast<std::uint64_t>(m.rows);
    }
    l.messages.push_back(m);
    pos += m.size();
  }
  // The end-of-stream marker, when the writer put one after the batches.
  if (pos < footer_at) {
    std::uint8_t head[8];
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(8, footer_at - pos));
    pread_exact(fd, head, n, base + pos, path);
    if (n >= 4 && le32(head) == 0) {
      l.eos_len = 4;
    } else if (n == 8 && le32(head) == 0xffffffffu && le32(head + 4) == 0) {
      l.eos_len = 8;
    }
    pos += l.eos_len;
  }
  l.end = pos;
}

}  // namespace

Layout scan(int fd, std::uint64_t base, std::uint64_t size, const std::string& path, bool headless) {
  Layout l;
  l.headless = headless;
  l.base = base;
  std::uint64_t pos = 0, end = size;
  std::uint64_t footer_at = 0;
  std::uint32_t footer_len = 0;
  std::uint8_t head[8] = {};
  std::size_t got = static_cast<std::size_t>(std::min<std::uint64_t>(8, size));
  pread_exact(fd, head, got, base, path);
  if (!headless && has_file_magic(head, got)) {
    l.file = true;
    if (size < 8 + 4 + 6) corrupt(path, 0, "Arrow file cut short (" + std::to_string(size) + " bytes)");
    std::uint8_t tail[10];
    pread_exact(fd, tail, 10, base + size - 10, path);
    if (!has_file_magic(tail + 4, 6)) corrupt(path, size - 6, "Arrow file does not end with ARROW1 (cut short?)");
    footer_len = le32(tail);
    if (footer_len == 0 || footer_len > kMaxMetadata || footer_len > size - 8 - 10)
      corrupt(path, size - 10, "file footer length " + std::to_string(static_cast<std::int32_t>(footer_len)) +
                                   " does not fit in the file");
    footer_at = size - 10 - footer_len;
    pos = 8;
    end = footer_at;
    // No schema message after the magic: the footer-only file.
    bool schema_first = false;
    if (pos < end) {
      Message m;
      Framing f = read_message(fd, base, pos, end, path, m);
      schema_first = !f.eos && m.kind == Kind::schema;
    }
    if (!schema_first) {
      scan_footer_only(fd, base, footer_at, footer_len, l, path);
      return l;
    }
  }
  bool first = true;
  while (pos < end) {
    Message m;
    Framing f = read_message(fd, base, pos, end, path, m);
    if (f.eos) {
      l.eos_len = f.prefix;
      pos += f.prefix;
      break;
    }
    if (first && !headless && m.kind != Kind::schema)
      corrupt(path, pos, "the stream does not start with a schema message");
    if (m.kind == Kind::schema && (!first || headless))
      corrupt(path, pos, "a second schema message");
    if (m.kind == Kind::schema) {
      l.schema = m;
    } else {
      if (m.kind == Kind::record_batch) {
        ++l.batches;
        l.rows += static_cast<std::uint64_t>(m.rows);
      }
      l.messages.push_back(m);
    }
    first = false;
    pos += m.size();
  }
  if (first && !headless && !l.eos_len) corrupt(path, 0, "empty: no schema message");
  if (first && !headless) corrupt(path, 0, "the stream ends before its schema message");
  // A file may pad between the marker and its footer, whose blocks then
  // show that no message was missed; a stream ends at its marker.
  if (pos != end && !l.file) corrupt(path, pos, std::to_string(end - pos) + " bytes after the end-of-stream marker");
  l.end = pos;
  if (l.file) check_footer(fd, base, footer_at, footer_len, l, path);
  return l;
}

std::vector<std::uint8_t> schema_bytes(int fd, const Layout& l, const std::string& path) {
  if (!l.schema_message.empty()) return l.schema_message;
  std::vector<std::uint8_t> b(l.schema.size());
  pread_exact(fd, b.data(), b.size(), l.base + l.schema.offset, path);
  return b;
}

bool starts_like_arrow(const std::uint8_t* head, std::size_t n) {
  return has_file_magic(head, n) || (n >= 4 && le32(head) == 0xffffffffu);
}

bool looks_like_arrow(int fd, std::uint64_t base, std::uint64_t size) {
  std::uint8_t head[8] = {};
  std::size_t got = static_cast<std::size_t>(std::min<std::uint64_t>(8, size));
  try {
    pread_exact(fd, head, got, base, "");
    if (has_file_magic(head, got)) return true;
    Message m;
    Framing f = read_message(fd, base, 0, size, "", m);
    return !f.eos && m.kind == Kind::schema;
  } catch (const Error&) {
    return false;
  }
}

StreamReader::StreamReader(Input& in, std::string path) : in_(in), path_(std::move(path)) {}

std::size_t StreamReader::read(std::uint8_t* d, std::size_t n) { return in_.read(d, n); }

std::optional<Message> StreamReader::next(Bytes& meta) {
  if (done_) return std::nullopt;
  if (body_left_) body(nullptr, nullptr);
  std::uint8_t head[8];
  std::size_t got = read(head, 4);
  if (got == 0) {
    if (first_) corrupt(path_, offset_, "empty: no schema message");
    done_ = true;
    return std::nullopt;
  }
  if (got == 4 && le32(head) == 0xffffffffu) got += read(head + 4, 4);
  if (first_ && got == 4 && std::memcmp(head, kFileMagic, 4) == 0)
    corrupt(path_, offset_, "an Arrow IPC file (ARROW1), not a stream: it cannot be cut as it is read "
                            "(its footer comes last); split it from a file, or with -n");
  Framing f = parse_framing(head, got, offset_, path_);
  if (f.eos) {
    if (first_) corrupt(path_, offset_, "the stream ends before its schema message");
    eos_len_ = f.prefix;
    offset_ += f.prefix;
    done_ = true;
    std::uint8_t more;
    if (read(&more, 1))
      corrupt(path_, offset_, "data after the end-of-stream marker");
    return std::nullopt;
  }
  // Grown as the bytes arrive: a length the stream does not hold costs
  // at most what it does hold.
  meta.assign(head, head + f.prefix);
  for (std::uint32_t have = 0; have < f.flatbuffer;) {
    std::size_t piece = std::min<std::size_t>(f.flatbuffer - have, 1 << 20);
    meta.resize(f.prefix + have + piece);
    std::size_t n = read(meta.data() + f.prefix + have, piece);
    if (n < piece)
      corrupt(path_, offset_, "message metadata cut short (" + std::to_string(have + n) + " of " +
                                  std::to_string(f.flatbuffer) + " bytes)");
    have += static_cast<std::uint32_t>(piece);
  }
  Message m;
  m.offset = offset_;
  m.meta_len = f.size();
  m.legacy = f.legacy();
  read_metadata(meta.data() + f.prefix, f.flatbuffer, m, path_);
  if (first_ && m.kind != Kind::schema) corrupt(path_, offset_, "the stream does not start with a schema message");
  if (!first_ && m.kind == Kind::schema) corrupt(path_, offset_, "a second schema message");
  first_ = false;
  offset_ += f.size();
  body_left_ = m.body_len;
  return m;
}

void StreamReader::body(Sink* out, Bytes* keep) {
  Bytes buf(static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, 1 << 20)));
  const std::uint64_t total = body_left_;
  while (body_left_) {
    std::size_t piece = static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, buf.size()));
    std::size_t n = read(buf.data(), piece);
    if (n < piece)
      corrupt(path_, offset_, "message body cut short (" + std::to_string(total - body_left_ + n) + " of " +
                                  std::to_string(total) + " bytes)");
    if (out) out->write(buf.data(), n);
    if (keep) keep->insert(keep->end(), buf.data(), buf.data() + n);
    body_left_ -= n;
    offset_ += n;
  }
}

}  // namespace fpgaio::arrow
