// Joining Arrow IPC chunks into one stream or file: the schema once, every
// record batch verbatim, and of the dictionary batches each chunk repeats
// (every chunk carries those its batches need) only what changes the
// dictionaries in force.
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "fpgaio/arrow.hpp"
#include "fpgaio/error.hpp"

namespace fpgaio::arrow {
namespace {

// A message in one of the parts.
struct Ref {
  const JoinPart* part;
  const Message* m;
  std::uint64_t at() const { return part->base + m->offset; }
};

// Whether two messages hold the same bytes, compared a piece at a time.
bool same_bytes(const Ref& a, const Ref& b) {
  if (a.m->size() != b.m->size() || a.m->meta_len != b.m->meta_len) return false;
  Bytes x(64 << 10), y(64 << 10);
  for (std::uint64_t done = 0, n = a.m->size(); done < n;) {
    std::size_t piece = static_cast<std::size_t>(std::min<std::uint64_t>(x.size(), n - done));
    pread_exact(a.part->fd, x.data(), piece, a.at() + done, a.part->shown);
    pread_exact(b.part->fd, y.data(), piece, b.at() + done, b.part->shown);
    if (std::memcmp(x.data(), y.data(), piece) != 0) return false;
    done += piece;
  }
  return true;
}

}  // namespace

JoinResult join(const std::vector<JoinPart>& parts, bool file, Sink& out, const std::function<void(std::uint64_t)>& progress) {
  if (parts.empty()) throw Error(ErrorKind::usage, "no parts to join");
  // Every part is read and checked before the first byte is written.
  std::vector<Layout> layouts;
  std::vector<std::vector<std::uint8_t>> schemas;
  for (const auto& p : parts) {
    layouts.push_back(scan(p.fd, p.base, p.size, p.shown, p.headless));
    if (p.headless) {
      struct stat st;
      if (::fstat(p.schema_fd, &st) != 0) throw_errno("", errno, p.shown);
      Layout whole = scan(p.schema_fd, 0, static_cast<std::uint64_t>(st.st_size), p.shown);
      schemas.push_back(schema_bytes(p.schema_fd, whole, p.shown));
    } else {
      schemas.push_back(schema_bytes(p.fd, layouts.back(), p.shown));
    }
    if (schemas.back() != schemas.front())
      throw Error(ErrorKind::corrupt, "its schema differs from that of '" + parts.front().shown + "'").with_path(p.shown);
  }

  JoinResult res;
  Writer w(out, file, schemas.front(), parts.front().shown);
  std::map<std::int64_t, std::vector<Ref>> in_force;  // what the joined stream's reader holds
  auto emit = [&](const Ref& r) {
    w.copy(*r.m, r.part->fd, r.at(), r.part->shown);
    if (progress) progress(w.bytes());
  };
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const JoinPart& p = parts[k];
    // The part's dictionary batches since its last record batch, in its
    // order, each marked once it is known to be written: they are written
    // in that order before the next record batch (or at the part's end), so
    // the join keeps the order the part (and the input) had them in.
    struct Held {
      Ref r;
      bool out = false;
    };
    std::vector<Held> held;
    // Each id's dictionary batches in this part that repeat those in force
    // (its first replacement and deltas, matching in order), not written
    // unless the part turns out to hold less than is in force; `slots`:
    // where they are in `held`.
    struct Own {
      bool started = false, repeating = false;
      std::vector<Ref> skipped;
      std::vector<std::size_t> slots;
    };
    std::map<std::int64_t, Own> own;
    auto hold = [&](const Ref& r, bool out) {
      held.push_back(Held{r, out});
      return held.size() - 1;
    };
    // Makes the reader's dictionary `id` what this part's batches expect,
    // when the part repeated only the start of what is in force.
    auto settle = [&](std::int64_t id, Own& o) {
      auto& s = in_force[id];
      if (!o.repeating || o.skipped.size() == s.size()) return;
      for (auto i : o.slots) held[i].out = true;
      s = o.skipped;
      o.repeating = false;
    };
    auto flush = [&] {
      for (auto& [id, o] : own) settle(id, o);
      for (const auto& h : held)
        if (h.out) emit(h.r);
      held.clear();
      for (auto& [id, o] : own) o.slots.clear();
    };
    for (const auto& m : layouts[k].messages) {
      Ref r{&p, &m};
      if (m.kind == Kind::dictionary) {
        auto& s = in_force[m.dict_id];
        Own& o = own[m.dict_id];
        if (!m.delta) {
          if (!o.started && !s.empty() && same_bytes(s.front(), r)) {
            o.started = o.repeating = true;
            o.skipped = {r};
            o.slots = {hold(r, false)};
            continue;
          }
          hold(r, true);
          s = {r};
          o.started = true;
          o.repeating = false;
          o.skipped.clear();
          o.slots.clear();
          continue;
        }
        if (o.repeating && o.skipped.size() < s.size() && same_bytes(s[o.skipped.size()], r)) {
          o.skipped.push_back(r);
          o.slots.push_back(hold(r, false));
          continue;
        }
        settle(m.dict_id, o);
        hold(r, true);
        s.push_back(r);
        o.started = true;
        o.repeating = false;
        continue;
      }
      flush();
      emit(r);
      ++res.batches;
      res.rows += static_cast<std::uint64_t>(m.rows);
    }
    flush();
  }
  w.finish(file || layouts.back().eos_len != 0, layouts.back().eos_len);
  out.flush();
  res.bytes = w.bytes();
  return res;
}

}  // namespace fpgaio::arrow
