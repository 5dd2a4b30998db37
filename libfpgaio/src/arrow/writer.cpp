// Writing Arrow IPC streams and files from messages copied verbatim, and the
// file footer that indexes them.
#include <cstring>
#include <set>

#include "arrow_ipc_generated.h"
#include "fpgaio/arrow.hpp"
#include "fpgaio/error.hpp"

namespace fpgaio::arrow {
namespace {

void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void put64(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

// The footer is laid out by hand rather than by a FlatBufferBuilder: its
// schema must be the schema message's own Schema table, with every field
// of it, including those arrow_ipc.fbs does not declare. Flatbuffer offsets
// are relative, so the schema message's whole flatbuffer is copied after the
// footer table, at the same alignment, and the footer's schema field points
// at the Schema table inside that copy (the copy's Message table is simply
// not referenced).
//
//   0   root offset -> table at 16
//   4   vtable: 12 bytes, table 20 bytes, fields version@16 schema@4
//       dictionaries@8 recordBatches@12
//   16  table: soffset to the vtable, 3 offsets, version, 2 bytes padding
//   36  dictionary blocks: count, then 24-byte Blocks from 40
//   ..  4 bytes padding, record batch blocks: count, then Blocks
//   ..  the schema message's flatbuffer (8-byte aligned), padding to 8
std::vector<std::uint8_t> encode_footer(const std::uint8_t* schema_fb, std::size_t n, std::int16_t version,
                                        const std::vector<std::array<std::int64_t, 3>>& dictionaries,
                                        const std::vector<std::array<std::int64_t, 3>>& batches) {
  std::vector<std::uint64_t> store((n + 7) / 8);
  std::memcpy(store.data(), schema_fb, n);
  const auto* fbp = reinterpret_cast<const std::uint8_t*>(store.data());
  flatbuffers::Verifier v(fbp, n, 64, 1000000);
  if (!v.VerifyBuffer<fb::Message>(nullptr) || flatbuffers::GetRoot<fb::Message>(fbp)->header_type() != fb::MessageHeader::Schema ||
      !flatbuffers::GetRoot<fb::Message>(fbp)->header())
    throw Error(ErrorKind::corrupt, "not a schema message");
  const std::size_t schema_in_fb =
      static_cast<std::size_t>(static_cast<const std::uint8_t*>(flatbuffers::GetRoot<fb::Message>(fbp)->header()) - fbp);

  const std::size_t dict_vec = 36, dict_elems = 40;
  const std::size_t batch_vec = dict_elems + 24 * dictionaries.size() + 4, batch_elems = batch_vec + 4;
  const std::size_t copy_at = batch_elems + 24 * batches.size();
  std::vector<std::uint8_t> b((copy_at + n + 7) / 8 * 8, 0);
  put32(b, 0, 16);
  put16(b, 4, 12);
  put16(b, 6, 20);
  put16(b, 8, 16);   // version
  put16(b, 10, 4);   // schema
  put16(b, 12, 8);   // dictionaries
  put16(b, 14, 12);  // recordBatches
  put32(b, 16, 12);  // soffset: the vtable is 12 bytes before the table
  put32(b, 20, static_cast<std::uint32_t>(copy_at + schema_in_fb - 20));
  put32(b, 24, static_cast<std::uint32_t>(dict_vec - 24));
  put32(b, 28, static_cast<std::uint32_t>(batch_vec - 28));
  put16(b, 32, static_cast<std::uint16_t>(version));
  auto blocks = [&](std::size_t vec, std::size_t elems, const std::vector<std::array<std::int64_t, 3>>& v) {
    put32(b, vec, static_cast<std::uint32_t>(v.size()));
    for (std::size_t i = 0; i < v.size(); ++i) {
      put64(b, elems + 24 * i, static_cast<std::uint64_t>(v[i][0]));
      put32(b, elems + 24 * i + 8, static_cast<std::uint32_t>(v[i][1]));
      put64(b, elems + 24 * i + 16, static_cast<std::uint64_t>(v[i][2]));
    }
  };
  blocks(dict_vec, dict_elems, dictionaries);
  blocks(batch_vec, batch_elems, batches);
  std::memcpy(b.data() + copy_at, schema_fb, n);
  return b;
}

Writer::Writer(Sink& out, bool file, std::vector<std::uint8_t> schema, const std::string& path)
    : out_(out), file_(file), schema_(std::move(schema)), path_(path) {
  legacy_ = schema_.size() >= 4 && !(schema_[0] == 0xff && schema_[1] == 0xff && schema_[2] == 0xff && schema_[3] == 0xff);
  if (file_) {
    static const std::uint8_t magic[8] = {'A', 'R', 'R', 'O', 'W', '1', 0, 0};
    out_.write(magic, 8);
    at_ = 8;
  }
  out_.write(schema_.data(), schema_.size());
  at_ += schema_.size();
}

void Writer::block(const Message& m) {
  if (!file_) return;
  Block b{static_cast<std::int64_t>(at_), static_cast<std::int32_t>(m.meta_len), static_cast<std::int64_t>(m.body_len)};
  if (m.kind == Kind::dictionary) dictionaries_.push_back(b);
  else if (m.kind == Kind::record_batch) batches_.push_back(b);
}

void Writer::copy(const Message& m, int fd, std::uint64_t offset, const std::string& path) {
  block(m);
  copy_bytes(fd, offset, m.size(), out_, path);
  at_ += m.size();
}

void Writer::put(const Message& m, const std::uint8_t* bytes, std::size_t n) {
  block(m);
  out_.write(bytes, n);
  at_ += n;
}

void Writer::put_streamed(const Message& m, const std::uint8_t* meta, std::size_t n,
                          const std::function<void(Sink&)>& body) {
  block(m);
  out_.write(meta, n);
  body(out_);
  at_ += m.size();
}

void Writer::finish(bool eos, std::uint32_t eos_len) {
  if (eos || file_) {
    auto marker = eos_marker(eos_len ? eos_len == 4 : legacy_);
    out_.write(marker.data(), marker.size());
    at_ += marker.size();
  }
  if (!file_) return;
  const std::uint32_t prefix = legacy_ ? 4 : 8;
  if (schema_.size() < prefix + 8) throw Error(ErrorKind::corrupt, "not a schema message").with_path(path_);
  std::uint32_t fb_len = 0;
  for (int i = 0; i < 4; ++i) fb_len |= std::uint32_t{schema_[prefix - 4 + i]} << (8 * i);
  std::vector<std::uint64_t> store((fb_len + 7) / 8);
  std::memcpy(store.data(), schema_.data() + prefix, fb_len);
  const std::int16_t version = flatbuffers::GetRoot<fb::Message>(reinterpret_cast<const std::uint8_t*>(store.data()))->version();
  auto triples = [](const std::vector<Block>& v) {
    std::vector<std::array<std::int64_t, 3>> t;
    for (const auto& b : v) t.push_back({b.offset, b.meta, b.body});
    return t;
  };
  auto footer = encode_footer(schema_.data() + prefix, fb_len, version, triples(dictionaries_), triples(batches_));
  out_.write(footer.data(), footer.size());
  std::uint8_t tail[10] = {0, 0, 0, 0, 'A', 'R', 'R', 'O', 'W', '1'};
  for (int i = 0; i < 4; ++i) tail[i] = static_cast<std::uint8_t>(footer.size() >> (8 * i));
  out_.write(tail, sizeof tail);
  at_ += footer.size() + sizeof tail;
}

std::vector<std::size_t> dictionaries_before(const std::vector<Message>& messages, std::size_t upto) {
  std::vector<std::int64_t> ids;
  std::map<std::int64_t, std::vector<std::size_t>> in_force;
  for (std::size_t i = 0; i < upto && i < messages.size(); ++i) {
    const Message& m = messages[i];
    if (m.kind != Kind::dictionary) continue;
    auto it = in_force.find(m.dict_id);
    if (it == in_force.end()) {
      ids.push_back(m.dict_id);
      it = in_force.emplace(m.dict_id, std::vector<std::size_t>{}).first;
    }
    if (!m.delta) it->second.clear();  // a replacement: what came before is gone
    it->second.push_back(i);
  }
  std::vector<std::size_t> out;
  for (auto id : ids) out.insert(out.end(), in_force[id].begin(), in_force[id].end());
  return out;
}

std::vector<Chunk> plan(const Layout& l, const CutOptions& opt) {
  const auto& ms = l.messages;
  std::vector<std::size_t> cuts;  // message index where chunk k+1 starts
  if (opt.count) {
    // Balanced by bytes: each cut after the record batch whose end is
    // nearest to k/N of the messages' bytes, never before the previous cut.
    std::vector<std::uint64_t> end_at;  // bytes up to the end of each message
    std::uint64_t total = 0;
    for (const auto& m : ms) end_at.push_back(total += m.size());
    std::size_t prev = 0;
    for (std::uint64_t k = 1; k < *opt.count; ++k) {
      const long double target = static_cast<long double>(total) * k / *opt.count;
      std::size_t best = prev;
      long double best_d = -1;
      for (std::size_t i = prev; i < ms.size(); ++i) {
        if (ms[i].kind != Kind::record_batch) continue;
        long double d = static_cast<long double>(end_at[i]) - target;
        if (d < 0) d = -d;
        if (best_d < 0 || d < best_d) {
          best_d = d;
          best = i + 1;
        }
        if (static_cast<long double>(end_at[i]) >= target) break;
      }
      // No batch after the previous cut: the rest of the chunks are empty.
      cuts.push_back(best);
      prev = best;
    }
  } else {
    std::uint64_t rows = 0, bytes = 0, batches = 0;
    std::size_t start = 0, pending = 0;
    for (std::size_t i = 0; i < ms.size(); ++i) {
      if (ms[i].kind != Kind::record_batch) continue;
      std::uint64_t unit = 0;
      for (std::size_t j = pending; j <= i; ++j) unit += ms[j].size();
      const std::uint64_t r = static_cast<std::uint64_t>(ms[i].rows);
      if (batches && ((opt.rows && rows + r > *opt.rows) || (opt.bytes && bytes + unit > *opt.bytes))) {
        cuts.push_back(pending);
        start = pending;
        rows = bytes = batches = 0;
      }
      rows += r;
      bytes += unit;
      ++batches;
      pending = i + 1;
    }
    (void)start;
  }
  std::vector<Chunk> out;
  std::size_t first = 0;
  for (std::size_t k = 0; k <= cuts.size(); ++k) {
    Chunk c;
    c.index = k;
    c.first = first;
    c.last = k < cuts.size() ? cuts[k] : ms.size();
    c.offset = c.first < ms.size() ? ms[c.first].offset : l.end - l.eos_len;
    for (std::size_t i = c.first; i < c.last; ++i) {
      c.length += ms[i].size();
      if (ms[i].kind == Kind::record_batch) {
        ++c.batches;
        c.rows += static_cast<std::uint64_t>(ms[i].rows);
      }
    }
    first = c.last;
    out.push_back(c);
  }
  return out;
}

void write_chunk(int fd, const Layout& l, const Chunk& c, bool last, bool file, Sink& out, const std::string& path) {
  const std::uint64_t base = l.base;
  Writer w(out, file, schema_bytes(fd, l, path), path);
  // A dictionary the chunk replaces before its first record batch needs no
  // copy of the one it replaces.
  std::set<std::int64_t> replaced;
  for (std::size_t i = c.first; i < c.last && l.messages[i].kind == Kind::dictionary; ++i)
    if (!l.messages[i].delta) replaced.insert(l.messages[i].dict_id);
  for (std::size_t i : dictionaries_before(l.messages, c.first))
    if (!replaced.count(l.messages[i].dict_id)) w.copy(l.messages[i], fd, base + l.messages[i].offset, path);
  for (std::size_t i = c.first; i < c.last; ++i) w.copy(l.messages[i], fd, base + l.messages[i].offset, path);
  w.finish(!last || l.eos_len != 0, l.eos_len);
  out.flush();
}

std::uint64_t split_stream(Input& in, const std::string& path, const CutOptions& opt, bool file, StreamChunks& chunks) {
  StreamReader r(in, path);
  Bytes meta;
  auto first = r.next(meta);
  if (!first) throw Error(ErrorKind::corrupt, "empty: no schema message").at(0).with_path(path);
  std::vector<std::uint8_t> schema(meta.begin(), meta.end());
  {
    Bytes body;
    r.body(nullptr, &body);
    schema.insert(schema.end(), body.begin(), body.end());
  }
  struct Dict {
    Message m;
    std::vector<std::uint8_t> bytes;
  };
  std::vector<std::int64_t> ids;
  std::map<std::int64_t, std::vector<Dict>> in_force;
  std::vector<Dict> pending;
  std::optional<Writer> w;
  Sink* sink = nullptr;
  Chunk cur;
  std::uint64_t next_index = 0;
  auto open = [&](std::uint64_t at) {
    cur = Chunk{};
    cur.index = next_index++;
    cur.offset = at;
    sink = &chunks.open(cur.index);
    w.emplace(*sink, file, schema, path);
    std::set<std::int64_t> replaced;  // as in write_chunk
    for (const auto& d : pending)
      if (!d.m.delta) replaced.insert(d.m.dict_id);
    for (auto id : ids)
      if (!replaced.count(id))
        for (const auto& d : in_force[id]) w->put(d.m, d.bytes.data(), d.bytes.size());
  };
  auto close = [&](bool last, bool eos) {
    w->finish(eos, r.eos_len());
    sink->flush();
    w.reset();
    chunks.close(cur, last);
  };
  auto flush_pending = [&] {
    for (auto& d : pending) {
      w->put(d.m, d.bytes.data(), d.bytes.size());
      cur.length += d.bytes.size();
      auto it = in_force.find(d.m.dict_id);
      if (it == in_force.end()) {
        ids.push_back(d.m.dict_id);
        it = in_force.emplace(d.m.dict_id, std::vector<Dict>{}).first;
      }
      if (!d.m.delta) it->second.clear();
      it->second.push_back(std::move(d));
    }
    pending.clear();
  };
  while (auto m = r.next(meta)) {
    if (m->kind == Kind::dictionary) {
      Dict d{*m, std::vector<std::uint8_t>(meta.begin(), meta.end())};
      Bytes body;
      r.body(nullptr, &body);
      d.bytes.insert(d.bytes.end(), body.begin(), body.end());
      pending.push_back(std::move(d));
      continue;
    }
    std::uint64_t unit = m->size();
    for (const auto& d : pending) unit += d.bytes.size();
    const std::uint64_t rows = static_cast<std::uint64_t>(m->rows);
    if (w && cur.batches &&
        ((opt.rows && cur.rows + rows > *opt.rows) || (opt.bytes && cur.length + unit > *opt.bytes)))
      close(false, true);
    if (!w) open(pending.empty() ? m->offset : pending.front().m.offset);
    flush_pending();
    w->put_streamed(*m, meta.data(), meta.size(), [&](Sink& s) { r.body(&s, nullptr); });
    cur.length += m->size();
    cur.rows += rows;
    ++cur.batches;
  }
  if (!w) open(pending.empty() ? r.offset() - r.eos_len() : pending.front().m.offset);
  flush_pending();
  close(true, r.eos_len() != 0);
  return r.offset();
}

}  // namespace fpgaio::arrow
