// Test-only writer of small valid Arrow IPC streams and files (our own, on
// flatbuffers' FlatBufferBuilder and arrow_ipc.fbs): an int64 column "x"
// (row numbers) and, optionally, a dictionary-encoded utf8 column "d" with
// delta and replacement dictionary batches. For unit tests, fuzz seeds, the
// Bats suites (make_arrow) and bench/arrow.sh.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "arrow_ipc_generated.h"

namespace arrowtest {

namespace fb = fpgaio::arrow::fb;

struct Options {
  int batches = 3;
  std::int64_t rows = 4;      // rows a batch
  bool dict = false;          // the dictionary column "d"
  bool delta = false;         // a delta dictionary batch after batch 1
  bool replace = false;       // a replacement dictionary after batch 2
  bool legacy = false;        // pre-0.15 framing (no continuation marker)
  bool eos = true;            // end-of-stream marker
  bool file = false;          // an Arrow IPC file
  bool footer_only = false;   // a file whose schema is in its footer alone (as apache-arrow writes)
  std::string name = "x";     // the first column's name (schemas that differ)
};

struct Writer {
  Options o;
  std::vector<std::uint8_t> out;
  struct Block {
    std::int64_t offset;
    std::int32_t meta;
    std::int64_t body;
  };
  std::vector<Block> dicts, batches;
  // When set, what is built is written there after each batch (a large
  // table in little memory).
  std::FILE* sink = nullptr;
  std::int64_t flushed = 0;
  void drain() {
    if (!sink) return;
    if (std::fwrite(out.data(), 1, out.size(), sink) != out.size()) std::abort();
    flushed += static_cast<std::int64_t>(out.size());
    out.clear();
  }

  static std::size_t pad8(std::size_t n) { return (n + 7) / 8 * 8; }

  flatbuffers::Offset<fb::Schema> schema(flatbuffers::FlatBufferBuilder& b) {
    std::vector<flatbuffers::Offset<fb::Field>> fields;
    {
      auto name = b.CreateString(o.name);
      // Int64: the type table Int {bitWidth 64, signed}.
      auto t = fb::CreateInt(b, 64, true);
      fields.push_back(fb::CreateField(b, name, false, fb::Type::Int, t.Union()));
    }
    if (o.dict) {
      auto name = b.CreateString("d");
      auto index = fb::CreateInt(b, 32, true);
      auto enc = fb::CreateDictionaryEncoding(b, 0, index, false, 0);
      // Utf8 is type 5 of the specification's union: an empty table.
      auto start = b.StartTable();
      auto utf8 = flatbuffers::Offset<void>(b.EndTable(start));
      fields.push_back(fb::CreateField(b, name, true, static_cast<fb::Type>(5), utf8, enc));
    }
    return fb::CreateSchema(b, 0, b.CreateVector(fields));
  }

  void message(flatbuffers::FlatBufferBuilder& b, const std::vector<std::uint8_t>& body, int kind) {
    const std::size_t prefix = o.legacy ? 4 : 8;
    const std::size_t fb_len = pad8(b.GetSize() + prefix) - prefix;
    const std::int64_t at = flushed + static_cast<std::int64_t>(out.size());
    if (!o.legacy) out.insert(out.end(), {0xff, 0xff, 0xff, 0xff});
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(fb_len >> (8 * i)));
    out.insert(out.end(), b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
    out.resize(out.size() + fb_len - b.GetSize(), 0);
    out.insert(out.end(), body.begin(), body.end());
    Block blk{at, static_cast<std::int32_t>(prefix + fb_len), static_cast<std::int64_t>(body.size())};
    if (kind == 2) dicts.push_back(blk);
    if (kind == 3) batches.push_back(blk);
  }

  // A dictionary batch of `words` (utf8: offsets, then bytes).
  void dictionary(const std::vector<std::string>& words, bool delta, std::int64_t id = 0) {
    std::vector<std::uint8_t> body;
    std::vector<std::int32_t> offs{0};
    std::string bytes;
    for (const auto& w : words) offs.push_back(static_cast<std::int32_t>((bytes += w).size()));
    body.resize(pad8(offs.size() * 4));
    std::memcpy(body.data(), offs.data(), offs.size() * 4);
    const std::size_t data_at = body.size();
    body.insert(body.end(), bytes.begin(), bytes.end());
    body.resize(pad8(body.size()), 0);
    flatbuffers::FlatBufferBuilder b;
    std::vector<fb::FieldNode> nodes{fb::FieldNode(static_cast<std::int64_t>(words.size()), 0)};
    std::vector<fb::Buffer> bufs{fb::Buffer(0, 0), fb::Buffer(0, static_cast<std::int64_t>(offs.size() * 4)),
                                 fb::Buffer(static_cast<std::int64_t>(data_at), static_cast<std::int64_t>(bytes.size()))};
    auto rb = fb::CreateRecordBatch(b, static_cast<std::int64_t>(words.size()), b.CreateVectorOfStructs(nodes),
                                    b.CreateVectorOfStructs(bufs));
    auto db = fb::CreateDictionaryBatch(b, id, rb, delta);
    b.Finish(fb::CreateMessage(b, 4, fb::MessageHeader::DictionaryBatch, db.Union(),
                               static_cast<std::int64_t>(body.size())));
    message(b, body, 2);
  }

  void batch(std::int64_t first_row, std::int32_t dict_size) {
    const std::int64_t n = o.rows;
    std::vector<std::uint8_t> body(pad8(static_cast<std::size_t>(n) * 8));
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t v = first_row + i;
      std::memcpy(body.data() + i * 8, &v, 8);
    }
    std::vector<fb::FieldNode> nodes{fb::FieldNode(n, 0)};
    std::vector<fb::Buffer> bufs{fb::Buffer(0, 0), fb::Buffer(0, n * 8)};
    if (o.dict) {
      const std::size_t at = body.size();
      body.resize(at + pad8(static_cast<std::size_t>(n) * 4), 0);
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int32_t k = static_cast<std::int32_t>((first_row + i) % dict_size);
        std::memcpy(body.data() + at + i * 4, &k, 4);
      }
      nodes.push_back(fb::FieldNode(n, 0));
      bufs.push_back(fb::Buffer(static_cast<std::int64_t>(at), 0));
      bufs.push_back(fb::Buffer(static_cast<std::int64_t>(at), n * 4));
    }
    flatbuffers::FlatBufferBuilder b;
    auto rb = fb::CreateRecordBatch(b, n, b.CreateVectorOfStructs(nodes), b.CreateVectorOfStructs(bufs));
    b.Finish(fb::CreateMessage(b, 4, fb::MessageHeader::RecordBatch, rb.Union(), static_cast<std::int64_t>(body.size())));
    message(b, body, 3);
  }

  void schema_message() {
    flatbuffers::FlatBufferBuilder b;
    auto s = schema(b);
    b.Finish(fb::CreateMessage(b, 4, fb::MessageHeader::Schema, s.Union(), 0));
    message(b, {}, 1);
  }

  std::vector<std::uint8_t> build() {
    if (o.file) out.insert(out.end(), {'A', 'R', 'R', 'O', 'W', '1', 0, 0});
    if (!o.file || !o.footer_only) schema_message();
    std::int32_t dict_size = 3;
    if (o.dict) dictionary({"a", "bb", "ccc"}, false);
    for (int k = 0; k < o.batches; ++k) {
      if (o.dict && o.delta && k == 1) {
        dictionary({"dddd"}, true);
        dict_size = 4;
      }
      if (o.dict && o.replace && k == 2) {
        dictionary({"zz", "y"}, false);
        dict_size = 2;
      }
      batch(static_cast<std::int64_t>(k) * o.rows, dict_size);
      drain();
    }
    if (o.eos || o.file) {
      if (!o.legacy) out.insert(out.end(), {0xff, 0xff, 0xff, 0xff});
      out.insert(out.end(), {0, 0, 0, 0});
    }
    if (o.file) {
      flatbuffers::FlatBufferBuilder b;
      auto s = schema(b);
      std::vector<fb::Block> d, r;
      for (const auto& x : dicts) d.push_back(fb::Block(x.offset, x.meta, x.body));
      for (const auto& x : batches) r.push_back(fb::Block(x.offset, x.meta, x.body));
      b.Finish(fb::CreateFooter(b, 4, s, b.CreateVectorOfStructs(d), b.CreateVectorOfStructs(r)));
      out.insert(out.end(), b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
      const std::uint32_t len = b.GetSize();
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
      out.insert(out.end(), {'A', 'R', 'R', 'O', 'W', '1'});
    }
    drain();
    return out;
  }
};

inline std::vector<std::uint8_t> make(const Options& o) {
  Writer w;
  w.o = o;
  return w.build();
}

}  // namespace arrowtest
