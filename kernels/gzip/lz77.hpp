// LZ77 for the deflate kernel: a hashed match finder and a lazy parser with a match
// extender, one input position a cycle (kernels/README.md, "Match finder").
//
// Finder: each position hashes its next 4 bytes into a table of kHashBuckets buckets of
// kWays entries. An entry holds a position and the 8 bytes that start there, so the
// finder compares the current 8 bytes with all kWays candidates in parallel without
// reading the window; the newest entry goes in way 0 and the oldest falls out. Candidates
// more than 32 KiB back are ignored. The table lives for the whole call: matches reach
// back across the kernel's block boundaries to anywhere in the last 32 KiB.
// Parser: one-step lazy evaluation on those (at most 8-byte) lengths; a match whose
// candidates all agree on 8 bytes is then extended byte by byte, as the input streams
// past, against every such candidate (one window copy a way) up to 258 bytes, keeping the
// longest and, among equals, the nearest.
//
// Written for II=1 (UG1399's rules, not a synthesis report): one loop over the chunk's
// positions, the end of the input included, nothing under it but unrolled loops. Its
// loop-carried memory accesses:
// - the bucket read-modify-write: the buckets written by the two positions before are kept
//   in forward registers and win over the memory's (possibly older) word, so the memory's
//   own read-after-write needs no ordering (DEPENDENCE inter false, true with the
//   registers; and an entry carries its 8 bytes, so even a stale entry only loses a match);
// - the window: written a whole input word at a time when the word arrives, at least 8
//   positions before the parser, 7 positions behind, can read any of its bytes (distance-1
//   matches included), so its read-after-write distance is at least 8;
// - the extender's read address uses the match distance decided two positions before
//   (dist_pipe), never one computed after a read of the same position: a decided match
//   skips 6 positions before its first extender read.
#pragma once

#include <ap_int.h>
#include <hls_stream.h>

#include <cstdint>
#ifndef __SYNTHESIS__
#include <cstdlib>
#endif

#include "deflate_tables.hpp"

#ifndef GZK_HASH_BITS
#define GZK_HASH_BITS 13
#endif
#ifndef GZK_WAYS
#define GZK_WAYS 4
#endif
#ifndef GZK_LAZY
#define GZK_LAZY 1
#endif
// Positions count on from one call to the next; the table is cleared only when they would
// pass this (and on the first call), not at every call.
#ifndef GZK_POSITION_LIMIT
#define GZK_POSITION_LIMIT 0xFFFF0000u
#endif

namespace gzk {

constexpr int kHashBits = GZK_HASH_BITS;
constexpr uint32_t kHashBuckets = 1u << kHashBits;
constexpr int kWays = GZK_WAYS;
constexpr uint32_t kPrefix = 8;           // bytes compared by the finder
// Bytes hashed. Positions with fewer left get no match, and matches are 4 bytes or
// longer: with this hash, strings that share only 3 bytes never meet in one bucket.
constexpr uint32_t kHashBytes = 4;
constexpr uint32_t kEmpty = 0xFFFFFFFFu;  // an unused table entry
// Window copies: 64-bit words (8 positions each), 8,192 words = 64 KiB, which a word
// written 8 positions ahead of the parser never overwrites within 32,768 + 16 bytes of it.
constexpr uint32_t kWindowWords = 8192;
constexpr uint32_t kWindowWordMask = kWindowWords - 1;
// Positions between a match decision and its extender's first read of the window, and
// the age of the distance that read uses.
constexpr int kDistDelay = 2;
static_assert(kDistDelay <= int(kPrefix) - 2, "the read must use the decided distance");
static_assert(8 * kWindowWords >= kMaxDistance + 2 * kPrefix, "window too small");

// One symbol for the block encoder.
struct LzSymbol {
  enum Kind : uint8_t { kLiteral, kMatch, kEndOfChunk, kEndOfInput };
  ap_uint<2> kind;
  ap_uint<9> value;  // the literal byte, or the match length (3-258)
  ap_uint<16> dist;  // match distance (1-32768)
};

struct DictEntry {
  ap_uint<32> pos;
  ap_uint<64> bytes;  // the 8 bytes at pos, first byte in bits 7:0
};

struct Bucket {
  DictEntry way[kWays];
};

// What the finder knows about one position.
struct Token {
  ap_uint<8> byte;
  ap_uint<4> len;               // longest candidate prefix, 0-8 (0: none usable)
  ap_uint<16> dist;             // its distance (the nearest among equals)
  ap_uint<kWays> full;          // ways whose candidate agrees on all 8 bytes
  ap_uint<16> way_dist[kWays];  // each way's distance
};

// The finder's table and the extender's windows, each its own variable (their storage
// pragmas are in lz77_stage).
using Dict = Bucket[kHashBuckets];
using Window = ap_uint<64>[kWays][kWindowWords];  // one copy a way: one read port each

// Registers of the LZ77 process.
struct LzState {
  // Finder.
  ap_uint<64> ahead;  // the last 8 bytes received; byte 0 is the next position to find
  uint32_t received;  // positions entered so far (past the end while flushing)
  uint32_t base;      // position of the call's first byte: older entries are not candidates
  bool table_valid;   // the table was cleared once (static storage starts false)
  bool fwd_valid[2];  // buckets written by the last two insertions
  uint32_t fwd_hash[2];
  Bucket fwd_bucket[2];
  // Parser.
  Token pending;  // a position waiting for its successor (lazy)
  bool has_pending;
  uint32_t skip;  // tokens still covered by the match just sent
  bool extending;
  uint32_t ext_len;
  ap_uint<kWays> ext_alive;
  ap_uint<16> ext_dist[kWays];
  ap_uint<16> dist_pipe[kDistDelay][kWays];  // ext_dist of the positions before
  // Cycle model (C-simulation only): iterations of the II=1 loops.
  uint64_t cycles;
};

static_assert(kHashBits >= 8 && kHashBits <= 16, "hash of 8 to 16 bits");

// Multiplicative hash of the next 4 bytes (the top kHashBits bits of a 32x32-bit product:
// a few DSP slices). Two strings equal in their first 3 bytes only always differ in the top
// 8 bits of the product, hence in their bucket.
inline uint32_t hash4(uint32_t x) { return (x * 0x9E3779B1u) >> (32 - kHashBits); }

// Number of equal leading bytes of two little-endian 8-byte strings.
inline uint32_t equal_prefix(ap_uint<64> a, ap_uint<64> b) {
  const uint64_t x = a.to_uint64() ^ b.to_uint64();
#ifdef __SYNTHESIS__
  uint32_t n = 0;
  bool same = true;
  for (int i = 0; i < 8; ++i) {
#pragma HLS UNROLL
    same = same && ((x >> (8 * i)) & 0xFF) == 0;
    n += same;
  }
  return n;
#else
  return x == 0 ? 8 : uint32_t(__builtin_ctzll(x)) / 8;
#endif
}

// The start of a call of n bytes. Its positions follow the last call's (rounded up to a
// word), so the table's entries from earlier calls fall below `base` and are ignored:
// no 8,192-cycle clear a call. The clear happens on the first call and when the positions
// would come near kEmpty (after about 4 GiB of input).
inline void lz_start(LzState& st, Dict& dict, uint32_t n) {
  uint32_t next = (st.received + 7) & ~7u;
  st.cycles = 0;
  if (!st.table_valid || uint64_t(next) + n + 2 * kPrefix > uint64_t(GZK_POSITION_LIMIT)) {
    for (uint32_t i = 0; i < kHashBuckets; ++i) {
#pragma HLS PIPELINE II = 1
      for (int j = 0; j < kWays; ++j) dict[i].way[j].pos = kEmpty;
    }
    st.cycles = kHashBuckets;  // written for II=1
    st.table_valid = true;
    next = 0;
  }
  st.base = next;
  st.fwd_valid[0] = st.fwd_valid[1] = false;
  for (int k = 0; k < kDistDelay; ++k)
    for (int j = 0; j < kWays; ++j) st.dist_pipe[k][j] = 0;
  for (int j = 0; j < kWays; ++j) st.ext_dist[j] = 0;
  st.ahead = 0;
  st.received = next;
  st.has_pending = false;
  st.skip = 0;
  st.extending = false;
}

// Finder for position p, whose next 8 bytes are `cur` (only `avail` of them real).
inline Token find_match(LzState& st, Dict& dict, uint32_t p, ap_uint<64> cur, uint32_t avail) {
#pragma HLS INLINE
  Token t;
  t.byte = cur.range(7, 0);
  t.len = 0;
  t.dist = 0;
  t.full = 0;
  for (int j = 0; j < kWays; ++j) t.way_dist[j] = 0;
  if (avail < kHashBytes) return t;
  const uint32_t h = hash4(uint32_t(cur.range(31, 0)));
  Bucket b = dict[h];
  // The two insertions before may not have reached the memory yet: their buckets win.
  if (st.fwd_valid[0] && st.fwd_hash[0] == h) {
    b = st.fwd_bucket[0];
  } else if (st.fwd_valid[1] && st.fwd_hash[1] == h) {
    b = st.fwd_bucket[1];
  }
  uint32_t best = 0, best_dist = 0;
  for (int j = 0; j < kWays; ++j) {
#pragma HLS UNROLL
    const uint32_t pos = b.way[j].pos;
    const uint32_t d = p - pos;
    const bool ok = pos != kEmpty && pos >= st.base && d <= kMaxDistance;
    uint32_t l = ok ? equal_prefix(cur, b.way[j].bytes) : 0;
    if (l > avail) l = avail;
    if (l > best) {
      best = l;
      best_dist = d;
    }
    t.way_dist[j] = ok ? d : 0;
    t.full[j] = ok && l == kPrefix;
  }
  for (int j = kWays - 1; j > 0; --j) b.way[j] = b.way[j - 1];
  b.way[0].pos = p;
  b.way[0].bytes = cur;
  dict[h] = b;
  st.fwd_valid[1] = st.fwd_valid[0];
  st.fwd_hash[1] = st.fwd_hash[0];
  st.fwd_bucket[1] = st.fwd_bucket[0];
  st.fwd_valid[0] = true;
  st.fwd_hash[0] = h;
  st.fwd_bucket[0] = b;
  t.len = best;
  t.dist = best_dist;
  return t;
}

inline uint32_t usable_length(const Token& t) {
  const uint32_t len = t.len;
  return len >= kHashBytes ? len : 0;
}

inline void send_literal(hls::stream<LzSymbol>& out, ap_uint<8> byte) {
  LzSymbol s;
  s.kind = LzSymbol::kLiteral;
  s.value = byte;
  s.dist = 0;
  out.write(s);
}

inline void send_match(hls::stream<LzSymbol>& out, uint32_t len, uint32_t dist) {
  LzSymbol s;
  s.kind = LzSymbol::kMatch;
  s.value = len;
  s.dist = dist;
  out.write(s);
}

inline void finish_extension(LzState& st, hls::stream<LzSymbol>& out) {
  uint32_t dist = 0;
  for (int j = kWays - 1; j >= 0; --j)
    if (st.ext_alive[j]) dist = st.ext_dist[j];  // lowest way: the nearest candidate
  send_match(out, st.ext_len, dist);
  st.extending = false;
}

// Decides the pending position p given its successor's token (`next`, null at the end).
inline void decide(LzState& st, const Token* next, hls::stream<LzSymbol>& out) {
  const Token& cur = st.pending;
  const uint32_t len = usable_length(cur);
  const uint32_t next_len = next ? usable_length(*next) : 0;
  const bool take = len != 0 && (cur.full != 0 || !GZK_LAZY || next_len <= len);
  if (take) {
    if (cur.full != 0) {  // agreed on 8 bytes: extend from byte 8 on
      st.extending = true;
      st.ext_len = kPrefix;
      st.ext_alive = cur.full;
      for (int j = 0; j < kWays; ++j) st.ext_dist[j] = cur.way_dist[j];
      st.skip = kPrefix - 2;
    } else {
      send_match(out, len, cur.dist);
      st.skip = len - 2;
    }
    st.has_pending = false;  // `next` is the match's second byte
  } else {
    send_literal(out, cur.byte);
    if (next) st.pending = *next;
    st.has_pending = next != nullptr;
  }
}

// Parser step for the token of position q.
inline void parse_token(LzState& st, const Window& window, const Token& t, uint32_t q, hls::stream<LzSymbol>& out) {
#pragma HLS INLINE
  if (st.skip != 0) {
    --st.skip;
  } else {
    if (st.extending) {
      ap_uint<kWays> still = 0;
      for (int j = 0; j < kWays; ++j) {
#pragma HLS UNROLL
        // The address comes from the distance decided kDistDelay positions ago (the same
        // one: a match skips 6 positions before this read).
        const uint32_t src = q - uint32_t(st.dist_pipe[kDistDelay - 1][j]);
#ifndef __SYNTHESIS__
        if (st.ext_alive[j] && st.dist_pipe[kDistDelay - 1][j] != st.ext_dist[j]) std::abort();
#endif
        const ap_uint<64> word = window[j][(src / 8) & kWindowWordMask];
        const ap_uint<8> old = word.range(8 * (src & 7) + 7, 8 * (src & 7));
        still[j] = st.ext_alive[j] && st.ext_len < kMaxMatch && old == t.byte;
      }
      if (still != 0) {
        st.ext_alive = still;
        ++st.ext_len;
      } else {
        // The match is sent and this position waits for its successor (nothing was
        // pending during the extension): one symbol write a trip on every path.
#ifndef __SYNTHESIS__
        if (st.has_pending) std::abort();
#endif
        finish_extension(st, out);
        st.pending = t;
        st.has_pending = true;
      }
    } else if (!st.has_pending) {
      st.pending = t;
      st.has_pending = true;
    } else {
      decide(st, &t, out);
    }
  }
  for (int k = kDistDelay - 1; k > 0; --k)
    for (int j = 0; j < kWays; ++j) st.dist_pipe[k][j] = st.dist_pipe[k - 1][j];
  for (int j = 0; j < kWays; ++j) st.dist_pipe[0][j] = st.ext_dist[j];
}

// One chunk of input words (nbytes bytes, then the end of the input if `last`): one
// position a cycle, one word read every eight, written into the windows and passed on to
// the block encoder (`raw`), which writes stored blocks from them. After the last byte,
// kPrefix - 1 more positions, whose 8 bytes did not all arrive, are matched on fewer.
inline void lz77_chunk(LzState& st, Dict& dict, Window& window, hls::stream<ap_uint<64>>& words, uint32_t nbytes,
                       bool last, hls::stream<LzSymbol>& out, hls::stream<ap_uint<64>>& raw) {
  ap_uint<64> w = 0;
  const uint32_t end = st.received + nbytes;  // chunks start on a word boundary
  const uint32_t trips = nbytes + (last ? kPrefix - 1 : 0);
  for (uint32_t i = 0; i < trips; ++i) {
#pragma HLS PIPELINE II = 1
    const uint32_t q = st.received++;
    const bool in = i < nbytes;
    if (in && (i & 7) == 0) {
      w = words.read();
      raw.write(w);
      for (int j = 0; j < kWays; ++j) {
#pragma HLS UNROLL
        window[j][(q / 8) & kWindowWordMask] = w;
      }
    }
    ap_uint<64> a = st.ahead;
    a >>= 8;
    if (in) a.range(63, 56) = w.range(8 * (i & 7) + 7, 8 * (i & 7));
    st.ahead = a;
    if (q >= st.base + kPrefix - 1) {
      const uint32_t p = q - (kPrefix - 1);
      const Token t = find_match(st, dict, p, a, in ? kPrefix : end - p);
      parse_token(st, window, t, p, out);
    }
  }
  st.cycles += trips;  // written for II=1
  if (last) {
    if (st.extending) finish_extension(st, out);
    if (st.has_pending) decide(st, nullptr, out);
  }
  LzSymbol e;
  e.kind = last ? LzSymbol::kEndOfInput : LzSymbol::kEndOfChunk;
  e.value = 0;
  e.dist = 0;
  out.write(e);
}

}  // namespace gzk
