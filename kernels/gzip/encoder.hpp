// Block encoder of the deflate kernel, two DATAFLOW processes around the code builder
// (block_builder.hpp): the collector gathers up to block_symbols LZ77 symbols into one of
// two block buffers and counts their histograms, while it sends the block closed before
// (its histograms to the builder, its symbols, and its input words if it may be stored,
// to the emitter); the emitter loads the next block's codes into one of two table banks
// while it writes the block before from the other, as dynamic or fixed Huffman or stored,
// whichever is shortest to the bit, and packs the bits into 64-bit words. No block is
// final; the stream ends on a byte boundary (kernels/README.md, "Block encoder" and
// "Output").
//
// Both loops are written for II=1 (UG1399's rules, not a synthesis report): no loop under
// them, one access a cycle to each port of each memory, one bounded put a cycle into the
// bit packer (at most 64 bits into a 128-bit accumulator that gives out at most one
// 64-bit word), histogram counters in two banks so that a counter's read-modify-write
// comes back at the earliest two trips later.
#pragma once

#include <ap_int.h>
#include <hls_stream.h>

#include <cstdint>
#ifndef __SYNTHESIS__
#include <cstdio>
#include <cstdlib>
#endif

#include "block_builder.hpp"
#include "deflate_tables.hpp"
#include "gzip_kernel.hpp"
#include "lz77.hpp"

namespace gzk {

constexpr uint32_t kBlockSymbols = gzip_kernel::block_symbols;
constexpr uint32_t kStoredMax = gzip_kernel::stored_block_max;
// Input ring of the collector: the closed block while it is sent on (if it may be stored,
// at most kStoredMax bytes), the first kStoredMax bytes of the block being gathered, and
// the words the LZ77 stage has passed on ahead of its symbols (at most a symbol FIFO's
// worth of matches, 64 x 258 bytes, and its own few hundred bytes of lookahead). The last
// two always fit, so the ring only ever makes the LZ77 stage wait while a closed block is
// being sent on, and that block's words never wait behind the ring: no deadlock.
constexpr uint32_t kRingWords = 16384;
static_assert(kRingWords * 8 >= kStoredMax + 64 * kMaxMatch + 1024, "input ring too small");
// A block longer than kStoredMax bytes is never stored: its fixed-Huffman form is shorter
// (at most 31 bits a symbol, 8 bits a byte stored).
static_assert(31 * uint64_t(gzip_kernel::block_symbols) + 10 < 8 * uint64_t(kStoredMax) + 35,
              "a block too long to store in one stored block could be cheaper stored");
static_assert(uint64_t(gzip_kernel::block_symbols) * kMaxMatch < (1u << 23), "raw length field");

// A word for the output writer; `last` marks the end of a pass and carries no data.
struct OutWord {
  ap_uint<64> data;
  ap_uint<1> last;
};

// Bits go in LSB first into a 128-bit accumulator (lo, hi) that holds fewer than 64
// between puts; a put adds at most 64 bits (one shift of a 64-bit value by 0-63), and
// when 64 or more are held the low word leaves: at most one word a cycle.
struct BitWriter {
  uint64_t lo, hi;
  uint32_t nbits;  // bits held, below 64 between puts
  uint32_t words;  // words written
  uint64_t total;  // bits written, for the C-simulation's own checks
};

inline void bw_reset(BitWriter& bw) {
  bw.lo = bw.hi = 0;
  bw.nbits = 0;
  bw.words = 0;
  bw.total = 0;
}

// value has no bits at or above `nbits` (at most 64).
inline void bw_put(BitWriter& bw, uint64_t value, uint32_t nbits, hls::stream<OutWord>& out) {
#pragma HLS INLINE
  bw.lo |= value << bw.nbits;
  bw.hi |= bw.nbits == 0 ? 0 : value >> (64 - bw.nbits);
  bw.nbits += nbits;
  bw.total += nbits;
  if (bw.nbits >= 64) {
    OutWord w;
    w.data = bw.lo;
    w.last = 0;
    out.write(w);
    bw.lo = bw.hi;
    bw.hi = 0;
    bw.nbits -= 64;
    ++bw.words;
  }
}

// Writes the bits still held (the stream is byte-aligned by then); returns the byte count.
inline uint32_t bw_finish(BitWriter& bw, hls::stream<OutWord>& out) {
  const uint32_t bytes = bw.words * 8 + bw.nbits / 8;
  if (bw.nbits != 0) {
    OutWord w;
    w.data = bw.lo;
    w.last = 0;
    out.write(w);
  }
  bw_reset(bw);
  return bytes;
}

// Padding after the 3 header bits of a stored block that starts at bit offset `bit`.
inline uint32_t stored_pad(uint32_t bit) { return (8 - (bit + 3) % 8) % 8; }

// Bits of a stored block of `raw` bytes (at most kStoredMax) starting at bit offset `bit`
// within a byte: 3 header bits, padding to the byte, LEN and NLEN, the bytes.
inline uint64_t stored_cost(uint32_t bit, uint32_t raw) { return 3 + stored_pad(bit) + 32 + 8 * uint64_t(raw); }

// A stored block's header (BFINAL 0, BTYPE 00, padding, LEN, NLEN) as one put.
inline void put_stored_header(BitWriter& bw, uint32_t n, hls::stream<OutWord>& out) {
#pragma HLS INLINE
  const uint32_t pad = stored_pad(bw.nbits & 7);
  bw_put(bw, uint64_t(n | ((~n & 0xFFFF) << 16)) << (3 + pad), 3 + pad + 32, out);
}

[[maybe_unused]] static void check_bits(uint64_t got, uint64_t want) {
#ifndef __SYNTHESIS__
  // The block type was chosen by these counts and the output bound rests on them.
  if (got != want) {
    std::fprintf(stderr, "gzip kernel: block of %llu bits, %llu predicted\n", (unsigned long long)got,
                 (unsigned long long)want);
    std::abort();
  }
#else
  (void)got;
  (void)want;
#endif
}

// ---- Collector ----

using SymbolBuffers = ap_uint<32>[2][kBlockSymbols];  // bit 31: match; length 24:16, distance 15:0
// A block buffer's histograms, [bank][symbol]; each buffer has its own, a variable each,
// so that counting into one and draining the other touch different memories.
using LitCounts = uint16_t[2][kLitLenSymbols];
using DistCounts = uint16_t[2][kDistSymbols];
using InputRing = ap_uint<64>[kRingWords];

struct CollectorState {
  uint32_t fill;           // buffer being filled
  uint32_t count;          // its symbols
  uint32_t block_start;    // input position of its first byte
  uint32_t raw_pos;        // input position after its last symbol
  ap_uint<1> lit_bank, dist_bank;  // bank of the next count
  bool input_ended;
  // The closed block, being sent on.
  bool draining;
  uint32_t drain_idx, drain_raw, drain_symbols;
  uint32_t fwd_sym, fwd_count;       // symbols of buffer fill ^ 1 sent, to send
  uint32_t fwd_word, fwd_word_end;   // its input words (if it may be stored) sent, to send
  uint32_t ring_end;                 // input bytes in the ring (a multiple of 8)
  uint64_t cycles;                   // cycle model (C-simulation only)
};

inline void collector_reset(CollectorState& st, LitCounts& lit0, DistCounts& dist0, LitCounts& lit1,
                            DistCounts& dist1) {
  for (int s = 0; s < kLitLenSymbols; ++s) {
#pragma HLS PIPELINE II = 1
    for (int k = 0; k < 2; ++k) {
      lit0[k][s] = 0;
      lit1[k][s] = 0;
      if (s < kDistSymbols) {
        dist0[k][s] = 0;
        dist1[k][s] = 0;
      }
    }
  }
  st.cycles = kLitLenSymbols;  // written for II=1
  st.fill = 0;
  st.count = 0;
  st.block_start = st.raw_pos = 0;
  st.lit_bank = st.dist_bank = 0;
  st.input_ended = false;
  st.draining = false;
  st.fwd_sym = st.fwd_count = 0;
  st.fwd_word = st.fwd_word_end = 0;
  st.ring_end = 0;
}

// Whether the ring has room for another input word: it must keep the closed block's words
// not yet sent, and the block being gathered while it may still be stored.
inline bool ring_has_room(const CollectorState& st) {
  uint32_t keep = st.raw_pos - st.block_start <= kStoredMax ? st.block_start : st.raw_pos;
  if (st.fwd_word < st.fwd_word_end && 8 * st.fwd_word < keep) keep = 8 * st.fwd_word;
  if (keep > st.ring_end) keep = st.ring_end;  // symbols may run ahead of the words
  return st.ring_end + 8 - (keep & ~7u) <= kRingWords * 8;
}

// Counts a symbol into a block buffer's histograms: a read-modify-write of one counter of
// the bank whose turn it is (the banks alternate, so a counter's next update is at least
// two trips later).
inline void count_symbol(LitCounts& lit, DistCounts& dist, bool match, uint32_t ls, uint32_t ds, ap_uint<1>& lit_bank,
                         ap_uint<1>& dist_bank) {
#pragma HLS INLINE
  lit[lit_bank][ls] = lit[lit_bank][ls] + 1;
  lit_bank = lit_bank ^ 1;
  if (match) {
    dist[dist_bank][ds] = dist[dist_bank][ds] + 1;
    dist_bank = dist_bank ^ 1;
  }
}

// Step i of sending a closed block's histograms: a counter (both banks summed, and
// cleared), then the block's bytes and symbols.
inline uint32_t drain_step(LitCounts& lit, DistCounts& dist, uint32_t i, uint32_t raw, uint32_t symbols) {
#pragma HLS INLINE
  if (i < uint32_t(kLitLenSymbols)) {
    const uint32_t v = uint32_t(lit[0][i]) + lit[1][i];
    lit[0][i] = 0;
    lit[1][i] = 0;
    return v;
  }
  if (i < uint32_t(kLitLenSymbols + kDistSymbols)) {
    const uint32_t d = i - kLitLenSymbols;
    const uint32_t v = uint32_t(dist[0][d]) + dist[1][d];
    dist[0][d] = 0;
    dist[1][d] = 0;
    return v;
  }
  return i == uint32_t(kLitLenSymbols + kDistSymbols) ? raw : symbols;
}

// One pass: the chunk's symbols and input words in; closed blocks out.
inline void collect_pass(CollectorState& st, SymbolBuffers& buf, LitCounts& lit0, DistCounts& dist0, LitCounts& lit1,
                         DistCounts& dist1, InputRing& ring, hls::stream<LzSymbol>& symbols,
                         hls::stream<ap_uint<64>>& raw, uint32_t raw_words, hls::stream<HistWord>& hist,
                         hls::stream<ap_uint<32>>& blk, hls::stream<ap_uint<64>>& blk_raw) {
  bool chunk_in = false;
  uint32_t words_in = 0;
  uint64_t trips = 0;
  for (;;) {
#pragma HLS PIPELINE II = 1
    ++trips;
    const uint32_t closed = st.fill ^ 1;
    // A symbol into the filling buffer.
    bool counted = false, match = false;
    uint32_t ls = 0, ds = 0;
    if (!chunk_in && st.count < kBlockSymbols) {
      LzSymbol s;
      if (symbols.read_nb(s)) {
        if (s.kind == LzSymbol::kEndOfChunk || s.kind == LzSymbol::kEndOfInput) {
          chunk_in = true;
          st.input_ended = s.kind == LzSymbol::kEndOfInput;
        } else {
          ap_uint<32> packed = 0;
          counted = true;
          match = s.kind == LzSymbol::kMatch;
          if (!match) {
            packed.range(7, 0) = s.value;
            ls = uint32_t(s.value);
            st.raw_pos += 1;
          } else {
            const uint32_t len = s.value, d = s.dist;
            packed[31] = 1;
            packed.range(24, 16) = len;
            packed.range(15, 0) = d;
            ls = 257 + length_symbol_index(len);
            ds = distance_symbol(d);
            st.raw_pos += len;
          }
          buf[st.fill][st.count++] = packed;
        }
      }
    }
    // Its counts, and the closed block's histograms to the builder (a counter a cycle,
    // cleared as read): the two buffers' histograms are separate memories, each touched
    // by one of the two in a trip.
    const bool drain = st.draining && !hist.full();
    uint32_t value = 0;
    if (st.fill == 0) {
      if (counted) count_symbol(lit0, dist0, match, ls, ds, st.lit_bank, st.dist_bank);
      if (drain) value = drain_step(lit1, dist1, st.drain_idx, st.drain_raw, st.drain_symbols);
    } else {
      if (counted) count_symbol(lit1, dist1, match, ls, ds, st.lit_bank, st.dist_bank);
      if (drain) value = drain_step(lit0, dist0, st.drain_idx, st.drain_raw, st.drain_symbols);
    }
    if (drain) {
      HistWord h;
      h.value = value;
      h.end = false;
      hist.write(h);
      st.draining = ++st.drain_idx != uint32_t(kHistWords);
    }
    // Its symbols and input words to the emitter, one of each a cycle.
    if (st.fwd_sym < st.fwd_count && !blk.full()) blk.write(buf[closed][st.fwd_sym++]);
    if (st.fwd_word < st.fwd_word_end && 8 * st.fwd_word < st.ring_end && !blk_raw.full())
      blk_raw.write(ring[st.fwd_word++ % kRingWords]);
    // An input word into the ring.
    if (words_in < raw_words && ring_has_room(st)) {
      ap_uint<64> w;
      if (raw.read_nb(w)) {
        ring[(st.ring_end / 8) % kRingWords] = w;
        st.ring_end += 8;
        ++words_in;
      }
    }
    // The filling block closes when full (or at the end of the input) once the one before
    // is all sent on.
    const bool sent = !st.draining && st.fwd_sym == st.fwd_count && st.fwd_word == st.fwd_word_end;
    if (sent && (st.count == kBlockSymbols || (st.input_ended && st.count != 0))) {
      const uint32_t bytes = st.raw_pos - st.block_start;
      st.draining = true;
      st.drain_idx = 0;
      st.drain_raw = bytes;
      st.drain_symbols = st.count;
      st.fwd_sym = 0;
      st.fwd_count = st.count;
      st.fwd_word = bytes <= kStoredMax ? st.block_start / 8 : 0;
      st.fwd_word_end = bytes <= kStoredMax ? (st.raw_pos + 7) / 8 : 0;
      st.fill ^= 1;
      st.count = 0;
      st.block_start = st.raw_pos;
    } else if (sent && chunk_in && words_in == raw_words && st.count < kBlockSymbols &&
               !(st.input_ended && st.count != 0)) {
      break;
    }
  }
  st.cycles += trips;  // written for II=1
  HistWord e;
  e.value = st.input_ended ? 1 : 0;
  e.end = true;
  hist.write(e);
}

// ---- Emitter ----

using ItemValues = uint16_t[2][kMaxHeaderItems];  // [table bank][item]
using ItemBits = uint8_t[2][kMaxHeaderItems];
using LitLenCodes = ap_uint<20>[2][kLitLenSymbols];  // length in 19:16, code in 15:0
using DistCodes = ap_uint<20>[2][kDistSymbols];

struct EmitterState {
  enum Phase : uint8_t { kIdle, kHeader, kSymbols, kStored };
  // Loader: fills table bank `load` with the next block's descriptor and codes.
  BlockDesc desc[2];
  bool loaded[2];
  uint32_t load, load_left;
  bool codes_done, input_ended;
  // Emitter: writes the block of table bank `bank`.
  uint32_t bank;
  Phase phase;
  uint32_t step;               // header item
  uint32_t sym_left;           // symbols still to read (and, for a Huffman block, write)
  bool end_code_out;           // Huffman: end-of-block code written
  bool stored_open;            // stored: header written
  uint32_t word_at, words_left;  // input words still to read (storable blocks), next word's index
  uint32_t block_pos;          // input position of the block's first byte
  uint64_t block_bits, bits_at_start;  // predicted size of the block being written (checks)
  BitWriter bw;
  uint64_t cycles;  // cycle model (C-simulation only)
};

inline void emitter_reset(EmitterState& st) {
  st.loaded[0] = st.loaded[1] = false;
  st.load = 0;
  st.load_left = 0;
  st.input_ended = false;
  st.bank = 0;
  st.phase = EmitterState::kIdle;
  st.block_pos = 0;
  st.cycles = 0;
  bw_reset(st.bw);
}

// Ends the output once the last block is out: an empty stored block if the stream is not
// on a byte boundary, so that the host's appended final block continues it. Returns the
// number of bytes written in the call.
inline uint32_t emitter_finish(EmitterState& st, hls::stream<OutWord>& out) {
  if (st.bw.nbits & 7) put_stored_header(st.bw, 0, out);
  return bw_finish(st.bw, out);
}

// One pass: every block the builder sent codes for in it.
inline void emit_pass(EmitterState& st, ItemValues& item_value, ItemBits& item_bits, LitLenCodes& ll, DistCodes& dc,
                      hls::stream<CodeWord>& codes, hls::stream<ap_uint<32>>& blk, hls::stream<ap_uint<64>>& blk_raw,
                      uint32_t& size, hls::stream<OutWord>& out) {
  st.codes_done = false;
  uint64_t trips = 0;
  for (;;) {
#pragma HLS PIPELINE II = 1
    ++trips;
    // Loader: a code word a cycle into the free table bank.
    if (!st.codes_done && !st.loaded[st.load]) {
      CodeWord c;
      if (codes.read_nb(c)) {
        const uint32_t b = st.load, i = uint32_t(c.index);
        const uint64_t d = c.data.to_uint64();
        if (c.kind == CodeWord::kEndOfPass) {
          st.codes_done = true;
          st.input_ended = d & 1;
        } else if (c.kind == CodeWord::kDesc) {
          st.desc[b] = unpack_desc(c.data, i);
          st.load_left = i + kLitLenSymbols + kDistSymbols;
        } else {
          if (c.kind == CodeWord::kItem) {
            item_value[b][i] = uint16_t(d);
            item_bits[b][i] = uint8_t(d >> 32);
          } else if (c.kind == CodeWord::kLitLen) {
            ll[b][i] = uint32_t(d);
          } else {
            dc[b][i] = uint32_t(d);
          }
          if (--st.load_left == 0) {
            st.loaded[b] = true;
            st.load = b ^ 1;
          }
        }
      }
    }
    // Emitter: a block from the other bank, one put a cycle.
    const uint32_t eb = st.bank;
    const BlockDesc& bd = st.desc[eb];
    if (st.phase == EmitterState::kIdle) {
      if (st.loaded[eb]) {
        // The exact cost of each form chose the block type; stored depends on the bit
        // offset, known here.
        const uint64_t stored = bd.raw <= kStoredMax ? stored_cost(st.bw.nbits & 7, bd.raw) : ~uint64_t(0);
        const bool as_stored = stored < bd.huff_bits;
        st.block_bits = as_stored ? stored : bd.huff_bits;
        st.bits_at_start = st.bw.total;
        st.phase = as_stored ? EmitterState::kStored : EmitterState::kHeader;
        st.step = 0;
        st.sym_left = bd.symbols;
        st.end_code_out = false;
        st.stored_open = false;
        st.word_at = st.block_pos / 8;
        st.words_left = bd.raw <= kStoredMax ? (st.block_pos + bd.raw + 7) / 8 - st.block_pos / 8 : 0;
      } else if (st.codes_done) {
        break;
      }
    } else if (st.phase == EmitterState::kHeader) {
      bw_put(st.bw, item_value[eb][st.step], item_bits[eb][st.step], out);
      if (++st.step == bd.items) st.phase = EmitterState::kSymbols;
    } else if (st.phase == EmitterState::kSymbols) {
      if (st.sym_left != 0) {
        ap_uint<32> s;
        if (blk.read_nb(s)) {
          --st.sym_left;
          if (!s[31]) {
            const ap_uint<20> c = ll[eb][uint32_t(s.range(7, 0))];
            bw_put(st.bw, uint32_t(c.range(15, 0)), uint32_t(c.range(19, 16)), out);
          } else {
            // Length code, length extra bits, distance code, distance extra bits: at most
            // 15 + 5 + 15 + 13 = 48 bits, one put.
            const uint32_t len = uint32_t(s.range(24, 16)), dist = uint32_t(s.range(15, 0));
            const uint32_t li = length_symbol_index(len), di = distance_symbol(dist);
            const ap_uint<20> lc = ll[eb][257 + li], dcw = dc[eb][di];
            const uint32_t l_bits = uint32_t(lc.range(19, 16)) + kLengthExtra[li];
            const uint32_t d_bits = uint32_t(dcw.range(19, 16)) + kDistExtra[di];
            const uint64_t l_val = uint64_t(lc.range(15, 0)) | (uint64_t(len - kLengthBase[li]) << lc.range(19, 16));
            const uint64_t d_val = uint64_t(dcw.range(15, 0)) | (uint64_t(dist - kDistBase[di]) << dcw.range(19, 16));
            bw_put(st.bw, l_val | (d_val << l_bits), l_bits + d_bits, out);
          }
        }
      } else if (!st.end_code_out) {
        const ap_uint<20> c = ll[eb][kEndOfBlock];
        bw_put(st.bw, uint32_t(c.range(15, 0)), uint32_t(c.range(19, 16)), out);
        st.end_code_out = true;
      }
    } else {  // stored: the header, then up to 8 bytes a cycle from the block's input words
      if (!st.stored_open) {
        put_stored_header(st.bw, bd.raw, out);
        st.stored_open = true;
      } else if (st.words_left != 0) {
        ap_uint<64> w;
        if (blk_raw.read_nb(w)) {
          const uint32_t at = 8 * st.word_at, end = st.block_pos + bd.raw;
          const uint32_t lo = st.block_pos > at ? st.block_pos - at : 0;
          const uint32_t hi = end < at + 8 ? end - at : 8;
          const uint32_t nb = 8 * (hi - lo);
          const uint64_t v = w.to_uint64() >> (8 * lo);
          bw_put(st.bw, nb == 64 ? v : v & ((uint64_t(1) << nb) - 1), nb, out);
          ++st.word_at;
          --st.words_left;
        }
      }
      // A stored block's symbols are read and dropped, one a cycle.
      if (st.sym_left != 0) {
        ap_uint<32> s;
        if (blk.read_nb(s)) --st.sym_left;
      }
    }
    // A Huffman block's input words (sent in case it was stored) are dropped, one a cycle.
    if ((st.phase == EmitterState::kHeader || st.phase == EmitterState::kSymbols) && st.words_left != 0) {
      ap_uint<64> w;
      if (blk_raw.read_nb(w)) --st.words_left;
    }
    // The block is done.
    const bool done = st.phase == EmitterState::kStored
                          ? st.stored_open && st.words_left == 0 && st.sym_left == 0
                          : st.phase == EmitterState::kSymbols && st.end_code_out && st.words_left == 0;
    if (done) {
      check_bits(st.bw.total - st.bits_at_start, st.block_bits);
      st.block_pos += bd.raw;
      st.loaded[eb] = false;
      st.bank = eb ^ 1;
      st.phase = EmitterState::kIdle;
    }
  }
  st.cycles += trips;  // written for II=1
  if (st.input_ended) size = emitter_finish(st, out);
  OutWord e;
  e.data = 0;
  e.last = 1;
  out.write(e);
}

}  // namespace gzk
