// Block encoder of the deflate kernel: gathers up to block_symbols LZ77 symbols and their
// histograms in one buffer while the block before is written from the other, as dynamic
// Huffman, fixed Huffman or stored, whichever is shortest to the bit, and packs the bits
// into 64-bit words. The input bytes arrive too, a word at a time, into a 128 KiB ring
// that a stored block is written from: only the reader touches the input in memory. No
// block is final; the stream ends on a byte boundary (kernels/README.md, "Block encoder"
// and "Output").
#pragma once

#include <ap_int.h>
#include <hls_stream.h>

#include <cstdint>
#ifndef __SYNTHESIS__
#include <cstdio>
#include <cstdlib>
#endif

#include "deflate_tables.hpp"
#include "gzip_kernel.hpp"
#include "huffman.hpp"
#include "lz77.hpp"

namespace gzk {

constexpr uint32_t kBlockSymbols = gzip_kernel::block_symbols;
constexpr uint32_t kStoredMax = gzip_kernel::stored_block_max;
// Input ring: the block being written stored (at most kStoredMax bytes), the first
// kStoredMax bytes of the block being gathered, and the words the LZ77 stage has passed
// on ahead of its symbols (at most a symbol FIFO's worth of matches, 64 x 258 bytes, and
// its own few hundred bytes of lookahead). The last two always fit, so the ring only ever
// makes the LZ77 stage wait while a stored block is being written, and that block's bytes
// are all in the ring: no deadlock.
constexpr uint32_t kRingWords = 16384;
static_assert(kRingWords * 8 >= kStoredMax + 64 * kMaxMatch + 1024, "input ring too small");
// A block longer than kStoredMax bytes is never stored: its fixed-Huffman form is shorter
// (at most 31 bits a symbol, 8 bits a byte stored).
static_assert(31 * uint64_t(gzip_kernel::block_symbols) + 10 < 8 * uint64_t(kStoredMax) + 35,
              "a block too long to store in one stored block could be cheaper stored");

// A word for the output writer; `last` marks the end of a chunk and carries no data.
struct OutWord {
  ap_uint<64> data;
  ap_uint<1> last;
};

// Bits go in LSB first; every 32 bits leave as half a word, every two halves as a word.
struct BitWriter {
  uint64_t acc;
  uint32_t nbits;  // bits in acc, below 32 between calls
  uint32_t half;
  bool has_half;
  uint32_t words;  // words written
  uint64_t total;  // bits written, for the C-simulation's own checks
};

inline void bw_reset(BitWriter& bw) {
  bw.acc = 0;
  bw.nbits = 0;
  bw.half = 0;
  bw.has_half = false;
  bw.words = 0;
  bw.total = 0;
}

inline void bw_put(BitWriter& bw, uint32_t value, uint32_t nbits, hls::stream<OutWord>& out) {
#pragma HLS INLINE
  bw.acc |= uint64_t(value) << bw.nbits;
  bw.nbits += nbits;
  bw.total += nbits;
  if (bw.nbits >= 32) {
    const uint32_t lo = uint32_t(bw.acc);
    bw.acc >>= 32;
    bw.nbits -= 32;
    if (!bw.has_half) {
      bw.half = lo;
      bw.has_half = true;
    } else {
      OutWord w;
      w.data = uint64_t(bw.half) | (uint64_t(lo) << 32);
      w.last = 0;
      out.write(w);
      bw.has_half = false;
      ++bw.words;
    }
  }
}

inline void bw_align(BitWriter& bw, hls::stream<OutWord>& out) {
  if (bw.nbits & 7) bw_put(bw, 0, 8 - (bw.nbits & 7), out);
}

// Writes the bits still held (the stream is byte-aligned by then); returns the byte count.
inline uint32_t bw_finish(BitWriter& bw, hls::stream<OutWord>& out) {
  const uint32_t bytes = bw.words * 8 + (bw.has_half ? 4 : 0) + bw.nbits / 8;
  if (bw.has_half || bw.nbits != 0) {
    OutWord w;
    w.data = bw.has_half ? uint64_t(bw.half) | (bw.acc << 32) : bw.acc;
    w.last = 0;
    out.write(w);
  }
  bw_reset(bw);
  return bytes;
}

// Everything the emitter sends before a block's symbols, as (bits, count) items: the
// block type, then for a dynamic block its header.
constexpr int kMaxHeaderItems = 4 + kCodeLenSymbols + kLitLenSymbols + kDistSymbols;

struct EncoderState {
  // Collector: fills block[fill] and counts its symbols.
  ap_uint<32> block[2][kBlockSymbols];  // bit 31: match; then length in 24:16, distance in 15:0
  uint32_t count[2];
  uint32_t fill;
  uint32_t lit_freq[kLitLenSymbols];
  uint32_t dist_freq[kDistSymbols];
  uint32_t block_start;  // input position of the filling block's first byte
  uint32_t raw_pos;      // input position after its last symbol
  bool input_ended;
  // Emitter: writes block[fill ^ 1], one step a cycle.
  enum Phase : uint8_t { kIdle, kHeader, kSymbols, kStored };
  Phase phase;
  uint32_t step;  // header item or symbol index
  uint32_t items;
  uint32_t item_value[kMaxHeaderItems];
  uint8_t item_bits[kMaxHeaderItems];
  uint8_t ll_len[288], d_len[kDistSymbols];
  uint16_t ll_code[288], d_code[kDistSymbols];
  uint32_t stored_pos, stored_end;  // stored: next byte, end
  bool stored_open;                  // its header is out
  // Input ring, filled up to byte ring_end (a multiple of 8 but at the end of the input).
  ap_uint<64> ring[kRingWords];
  uint32_t ring_end;
  uint64_t block_bits, bits_at_start;  // predicted size of the block being written (checks)
  BitWriter bw;
};

inline void clear_histograms(EncoderState& st) {
  for (int s = 0; s < kLitLenSymbols; ++s) st.lit_freq[s] = 0;
  for (int s = 0; s < kDistSymbols; ++s) st.dist_freq[s] = 0;
  st.count[st.fill] = 0;
  st.block_start = st.raw_pos;
}

inline void encoder_reset(EncoderState& st) {
  st.fill = 0;
  st.count[0] = st.count[1] = 0;
  st.raw_pos = 0;
  st.input_ended = false;
  st.phase = EncoderState::kIdle;
  st.ring_end = 0;
  clear_histograms(st);
  bw_reset(st.bw);
}

// The header of a dynamic block, ready to send.
struct DynamicHeader {
  int hlit, hdist, hclen;
  uint8_t cl_len[kCodeLenSymbols];
  uint16_t cl_code[kCodeLenSymbols];
  uint8_t rle_sym[kLitLenSymbols + kDistSymbols];
  uint8_t rle_extra[kLitLenSymbols + kDistSymbols];
  int rle_count;
  uint64_t bits;  // header size after the 3 block-type bits
};

inline void rle_push(DynamicHeader& h, uint32_t (&freq)[kCodeLenSymbols], int sym, int extra) {
  h.rle_sym[h.rle_count] = uint8_t(sym);
  h.rle_extra[h.rle_count] = uint8_t(extra);
  ++h.rle_count;
  ++freq[sym];
}

inline void make_dynamic_header(const uint8_t (&ll_len)[288], const uint8_t (&d_len)[kDistSymbols], DynamicHeader& h) {
  h.hlit = kLitLenSymbols;
  while (h.hlit > 257 && ll_len[h.hlit - 1] == 0) --h.hlit;
  h.hdist = kDistSymbols;
  while (h.hdist > 1 && d_len[h.hdist - 1] == 0) --h.hdist;
  // One sequence of lengths: literal/length codes, then distance codes; runs may cross.
  const int total = h.hlit + h.hdist;
  uint32_t freq[kCodeLenSymbols] = {};
  h.rle_count = 0;
  int i = 0;
  while (i < total) {
    const int v = i < h.hlit ? ll_len[i] : d_len[i - h.hlit];
    int run = 1;
    while (i + run < total && (i + run < h.hlit ? ll_len[i + run] : d_len[i + run - h.hlit]) == v) ++run;
    i += run;
    if (v == 0) {
      for (; run >= 11; run -= run < 138 ? run : 138) rle_push(h, freq, 18, (run < 138 ? run : 138) - 11);
      if (run >= 3) {
        rle_push(h, freq, 17, run - 3);
        run = 0;
      }
    } else {
      rle_push(h, freq, v, 0);
      --run;
      for (; run >= 3; run -= run < 6 ? run : 6) rle_push(h, freq, 16, (run < 6 ? run : 6) - 3);
    }
    for (; run > 0; --run) rle_push(h, freq, v, 0);
  }
  build_code_lengths(freq, kCodeLenSymbols, kMaxCodeLenBits, h.cl_len);
  build_codes(h.cl_len, kCodeLenSymbols, h.cl_code);
  h.hclen = kCodeLenSymbols;
  while (h.hclen > 4 && h.cl_len[kCodeLenOrder[h.hclen - 1]] == 0) --h.hclen;
  h.bits = 5 + 5 + 4 + 3 * uint64_t(h.hclen);
  for (int k = 0; k < h.rle_count; ++k) {
    const int s = h.rle_sym[k];
    h.bits += h.cl_len[s] + (s == 16 ? 2 : s == 17 ? 3 : s == 18 ? 7 : 0);
  }
}

// Bits of a stored block of `raw` bytes (at most kStoredMax) starting at bit offset `bit`
// within a byte: 3 header bits, padding to the byte, LEN and NLEN, the bytes.
inline uint64_t stored_cost(uint32_t bit, uint32_t raw) {
  return 3 + (8 - (bit + 3) % 8) % 8 + 32 + 8 * uint64_t(raw);
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

inline void push_item(EncoderState& st, uint32_t value, uint32_t bits) {
  st.item_value[st.items] = value;
  st.item_bits[st.items] = uint8_t(bits);
  ++st.items;
}

// Hands the filled buffer to the emitter: builds the codes from its histograms, picks the
// cheapest block type and lays out what to send. In hardware a few thousand cycles (two
// radix-sort passes, the two-queue construction, the header), while the collector waits.
inline void start_block(EncoderState& st) {
  uint32_t lit_freq[kLitLenSymbols];
  for (int s = 0; s < kLitLenSymbols; ++s) lit_freq[s] = st.lit_freq[s];
  lit_freq[kEndOfBlock] = 1;
  uint8_t dyn_ll_len[288] = {}, dyn_d_len[kDistSymbols];
  {
    uint8_t ll[kLitLenSymbols];
    build_code_lengths(lit_freq, kLitLenSymbols, kMaxCodeBits, ll);
    for (int s = 0; s < kLitLenSymbols; ++s) dyn_ll_len[s] = ll[s];
  }
  build_code_lengths(st.dist_freq, kDistSymbols, kMaxCodeBits, dyn_d_len);
  DynamicHeader hdr;
  make_dynamic_header(dyn_ll_len, dyn_d_len, hdr);

  uint64_t extra = 0, dyn = 3 + hdr.bits, fix = 3;
  for (int s = 0; s < kLitLenSymbols; ++s) {
    dyn += uint64_t(lit_freq[s]) * dyn_ll_len[s];
    fix += uint64_t(lit_freq[s]) * kTables.fixed_litlen_len[s];
    if (s > kEndOfBlock) extra += uint64_t(lit_freq[s]) * kLengthExtra[s - 257];
  }
  for (int s = 0; s < kDistSymbols; ++s) {
    dyn += uint64_t(st.dist_freq[s]) * dyn_d_len[s];
    fix += uint64_t(st.dist_freq[s]) * 5;
    extra += uint64_t(st.dist_freq[s]) * kDistExtra[s];
  }
  dyn += extra;
  fix += extra;
  const uint32_t raw = st.raw_pos - st.block_start;
  const uint64_t stored = raw <= kStoredMax ? stored_cost(st.bw.nbits & 7, raw) : ~uint64_t(0);

  st.bits_at_start = st.bw.total;
  st.step = 0;
  st.items = 0;
  if (stored < dyn && stored < fix) {
    st.phase = EncoderState::kStored;
    st.block_bits = stored;
    st.stored_pos = st.block_start;
    st.stored_end = st.raw_pos;
    st.stored_open = false;
  } else {
    const bool fixed = fix < dyn;
    st.phase = EncoderState::kHeader;
    st.block_bits = fixed ? fix : dyn;
    for (int s = 0; s < 288; ++s) st.ll_len[s] = fixed ? kTables.fixed_litlen_len[s] : dyn_ll_len[s];
    for (int s = 0; s < kDistSymbols; ++s) st.d_len[s] = fixed ? 5 : dyn_d_len[s];
    build_codes(st.ll_len, 288, st.ll_code);
    build_codes(st.d_len, kDistSymbols, st.d_code);
    push_item(st, fixed ? 2 : 4, 3);  // BFINAL 0, BTYPE 01 (fixed) or 10 (dynamic)
    if (!fixed) {
      push_item(st, uint32_t(hdr.hlit - 257), 5);
      push_item(st, uint32_t(hdr.hdist - 1), 5);
      push_item(st, uint32_t(hdr.hclen - 4), 4);
      for (int k = 0; k < hdr.hclen; ++k) push_item(st, hdr.cl_len[kCodeLenOrder[k]], 3);
      for (int k = 0; k < hdr.rle_count; ++k) {
        const int s = hdr.rle_sym[k];
        const uint32_t extra_bits = s == 16 ? 2 : s == 17 ? 3 : s == 18 ? 7 : 0;
        push_item(st, hdr.cl_code[s] | (uint32_t(hdr.rle_extra[k]) << hdr.cl_len[s]), hdr.cl_len[s] + extra_bits);
      }
    }
  }
  st.fill ^= 1;
  clear_histograms(st);
}

// One step of the emitter: a header item, a symbol (or the end-of-block code), or the
// header or a byte of a stored block.
inline void emit_step(EncoderState& st, hls::stream<OutWord>& out) {
#pragma HLS INLINE
  const uint32_t buf = st.fill ^ 1;
  if (st.phase == EncoderState::kHeader) {
    bw_put(st.bw, st.item_value[st.step], st.item_bits[st.step], out);
    if (++st.step == st.items) {
      st.phase = EncoderState::kSymbols;
      st.step = 0;
    }
    return;
  }
  if (st.phase == EncoderState::kSymbols) {
    if (st.step == st.count[buf]) {
      bw_put(st.bw, st.ll_code[kEndOfBlock], st.ll_len[kEndOfBlock], out);
      check_bits(st.bw.total - st.bits_at_start, st.block_bits);
      st.phase = EncoderState::kIdle;
      return;
    }
    const ap_uint<32> s = st.block[buf][st.step++];
    if (!s[31]) {
      const uint32_t lit = uint32_t(s.range(7, 0));
      bw_put(st.bw, st.ll_code[lit], st.ll_len[lit], out);
    } else {
      const uint32_t len = uint32_t(s.range(24, 16)), dist = uint32_t(s.range(15, 0));
      const uint32_t li = length_symbol_index(len), di = distance_symbol(dist);
      bw_put(st.bw, st.ll_code[257 + li] | ((len - kLengthBase[li]) << st.ll_len[257 + li]),
             st.ll_len[257 + li] + kLengthExtra[li], out);
      bw_put(st.bw, st.d_code[di] | ((dist - kDistBase[di]) << st.d_len[di]), st.d_len[di] + kDistExtra[di], out);
    }
    return;
  }
  // Stored: the header, then a byte a step from the input ring.
  if (!st.stored_open) {
    const uint32_t n = st.stored_end - st.stored_pos;
    bw_put(st.bw, 0, 3, out);  // BFINAL 0, BTYPE 00
    bw_align(st.bw, out);
    bw_put(st.bw, n | ((~n & 0xFFFF) << 16), 32, out);
    st.stored_open = true;
  } else if (st.stored_pos < st.ring_end) {  // else its word has not arrived yet
    const uint32_t pos = st.stored_pos++;
    const ap_uint<64> word = st.ring[(pos / 8) % kRingWords];
    bw_put(st.bw, uint32_t(word.range(8 * (pos & 7) + 7, 8 * (pos & 7))), 8, out);
  }
  if (st.stored_open && st.stored_pos == st.stored_end) {
    check_bits(st.bw.total - st.bits_at_start, st.block_bits);
    st.phase = EncoderState::kIdle;
  }
}

// Whether the ring has room for another input word: it must keep the block being written
// stored, and the block being gathered while it may still be stored.
inline bool ring_has_room(const EncoderState& st) {
  uint32_t keep = st.raw_pos - st.block_start <= kStoredMax ? st.block_start : st.raw_pos;
  if (st.phase == EncoderState::kStored && st.stored_pos < keep) keep = st.stored_pos;
  if (keep > st.ring_end) keep = st.ring_end;  // symbols may run ahead of the words
  return st.ring_end + 8 - (keep & ~7u) <= kRingWords * 8;
}

inline void collect(EncoderState& st, const LzSymbol& s) {
#pragma HLS INLINE
  ap_uint<32> packed = 0;
  if (s.kind == LzSymbol::kLiteral) {
    packed.range(7, 0) = s.value;
    ++st.lit_freq[uint32_t(s.value)];
    st.raw_pos += 1;
  } else {
    const uint32_t len = s.value, dist = s.dist;
    packed[31] = 1;
    packed.range(24, 16) = len;
    packed.range(15, 0) = dist;
    ++st.lit_freq[257 + length_symbol_index(len)];
    ++st.dist_freq[distance_symbol(dist)];
    st.raw_pos += len;
  }
  st.block[st.fill][st.count[st.fill]++] = packed;
}

// Ends the output once the last block is out: an empty stored block if the stream is not
// on a byte boundary, so that the host's appended final block continues it. Returns the
// number of bytes written in the call.
inline uint32_t encoder_finish(EncoderState& st, hls::stream<OutWord>& out) {
  if (st.bw.nbits & 7) {
    bw_put(st.bw, 0, 3, out);
    bw_align(st.bw, out);
    bw_put(st.bw, 0xFFFF0000u, 32, out);
  }
  return bw_finish(st.bw, out);
}

// One chunk's symbols and input words. Each pass of the loop is one cycle: the emitter
// takes a step, the ring takes an input word if it has room, and the collector takes a
// symbol if its buffer has room. The chunk's pass ends when all its symbols and words are
// in (the emitter carries on in the next pass), or for the last chunk when all is out.
inline void encode_chunk(EncoderState& st, hls::stream<LzSymbol>& symbols, hls::stream<ap_uint<64>>& raw,
                         uint32_t raw_words, uint32_t& size, hls::stream<OutWord>& out) {
  bool chunk_in = false;
  uint32_t words_in = 0;
  for (;;) {
#pragma HLS PIPELINE II = 1
    if (st.phase != EncoderState::kIdle) emit_step(st, out);
    if (words_in < raw_words && ring_has_room(st)) {
      ap_uint<64> w;
      if (raw.read_nb(w)) {
        st.ring[(st.ring_end / 8) % kRingWords] = w;
        st.ring_end += 8;
        ++words_in;
      }
    }
    if (!chunk_in && st.count[st.fill] < kBlockSymbols) {
      LzSymbol s;
      if (symbols.read_nb(s)) {
        if (s.kind == LzSymbol::kEndOfChunk || s.kind == LzSymbol::kEndOfInput) {
          chunk_in = true;
          st.input_ended = s.kind == LzSymbol::kEndOfInput;
        } else {
          collect(st, s);
        }
      }
    }
    if (st.phase == EncoderState::kIdle &&
        (st.count[st.fill] == kBlockSymbols || (st.input_ended && st.count[st.fill] != 0)))
      start_block(st);
    if (chunk_in && words_in == raw_words && !st.input_ended) break;
    if (st.input_ended && words_in == raw_words && st.phase == EncoderState::kIdle && st.count[st.fill] == 0) {
      size = encoder_finish(st, out);
      break;
    }
  }
  OutWord end;
  end.data = 0;
  end.last = 1;
  out.write(end);
}

}  // namespace gzk
