// Block encoder of the deflate kernel: gathers up to block_symbols LZ77 symbols and their
// histograms, then writes the block as dynamic Huffman, fixed Huffman or stored, whichever
// is shortest to the bit, and packs the bits into 64-bit words. No block is final; the
// stream ends on a byte boundary (kernels/README.md, "Output").
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

struct EncoderState {
  ap_uint<32> block[kBlockSymbols];  // bit 31: match; then length in 24:16, distance in 15:0
  uint32_t nsym;
  uint32_t lit_freq[kLitLenSymbols];
  uint32_t dist_freq[kDistSymbols];
  uint32_t block_start;  // input position of the block's first byte
  uint32_t raw_pos;      // input position after the block's last symbol
  BitWriter bw;
};

inline void clear_histograms(EncoderState& st) {
  for (int s = 0; s < kLitLenSymbols; ++s) st.lit_freq[s] = 0;
  for (int s = 0; s < kDistSymbols; ++s) st.dist_freq[s] = 0;
  st.nsym = 0;
  st.block_start = st.raw_pos;
}

inline void encoder_reset(EncoderState& st) {
  st.raw_pos = 0;
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

inline void send_dynamic_header(BitWriter& bw, const DynamicHeader& h, hls::stream<OutWord>& out) {
  bw_put(bw, uint32_t(h.hlit - 257), 5, out);
  bw_put(bw, uint32_t(h.hdist - 1), 5, out);
  bw_put(bw, uint32_t(h.hclen - 4), 4, out);
  for (int k = 0; k < h.hclen; ++k) bw_put(bw, h.cl_len[kCodeLenOrder[k]], 3, out);
  for (int k = 0; k < h.rle_count; ++k) {
    const int s = h.rle_sym[k];
    bw_put(bw, h.cl_code[s], h.cl_len[s], out);
    if (s >= 16) bw_put(bw, h.rle_extra[k], s == 16 ? 2 : s == 17 ? 3 : 7, out);
  }
}

// Bits of the block's stored form, starting at bit offset `bit` within a byte.
inline uint64_t stored_cost(uint32_t bit, uint32_t raw) {
  uint64_t bits = 0;
  uint32_t left = raw;
  bool first = true;
  do {
    const uint32_t n = left < kStoredMax ? left : kStoredMax;
    const uint32_t pad = first ? (8 - (bit + 3) % 8) % 8 : 5;
    bits += 3 + pad + 32 + 8 * uint64_t(n);
    left -= n;
    first = false;
  } while (left != 0);
  return bits;
}

inline void send_stored(BitWriter& bw, const ap_uint<64>* in, uint32_t start, uint32_t end, hls::stream<OutWord>& out) {
  uint32_t pos = start;
  do {
    const uint32_t n = end - pos < kStoredMax ? end - pos : kStoredMax;
    bw_put(bw, 0, 3, out);  // BFINAL 0, BTYPE 00
    bw_align(bw, out);
    bw_put(bw, n, 16, out);
    bw_put(bw, ~n & 0xFFFF, 16, out);
    ap_uint<64> word = 0;
    for (uint32_t k = 0; k < n; ++k, ++pos) {
#pragma HLS PIPELINE II = 1
      if (k == 0 || (pos & 7) == 0) word = in[pos / 8];  // read back from memory
      bw_put(bw, uint32_t(word.range(8 * (pos & 7) + 7, 8 * (pos & 7))), 8, out);
    }
  } while (pos != end);
}

inline void send_symbols(EncoderState& st, const uint8_t (&ll_len)[288], const uint16_t (&ll_code)[288],
                         const uint8_t (&d_len)[kDistSymbols], const uint16_t (&d_code)[kDistSymbols],
                         hls::stream<OutWord>& out) {
  for (uint32_t i = 0; i < st.nsym; ++i) {
#pragma HLS PIPELINE II = 1
    const ap_uint<32> s = st.block[i];
    if (!s[31]) {
      const uint32_t lit = uint32_t(s.range(7, 0));
      bw_put(st.bw, ll_code[lit], ll_len[lit], out);
    } else {
      const uint32_t len = uint32_t(s.range(24, 16)), dist = uint32_t(s.range(15, 0));
      const uint32_t li = length_symbol_index(len), di = distance_symbol(dist);
      bw_put(st.bw, ll_code[257 + li] | ((len - kLengthBase[li]) << ll_len[257 + li]),
             ll_len[257 + li] + kLengthExtra[li], out);
      bw_put(st.bw, d_code[di] | ((dist - kDistBase[di]) << d_len[di]), d_len[di] + kDistExtra[di], out);
    }
  }
  bw_put(st.bw, ll_code[kEndOfBlock], ll_len[kEndOfBlock], out);
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

// Writes the gathered block in its cheapest form.
inline void close_block(EncoderState& st, const ap_uint<64>* in, hls::stream<OutWord>& out) {
  uint32_t lit_freq[kLitLenSymbols];
  for (int s = 0; s < kLitLenSymbols; ++s) lit_freq[s] = st.lit_freq[s];
  lit_freq[kEndOfBlock] = 1;
  uint8_t dyn_ll_len[288] = {}, fix_ll_len[288];
  uint8_t dyn_d_len[kDistSymbols], fix_d_len[kDistSymbols];
  {
    uint8_t ll[kLitLenSymbols];
    build_code_lengths(lit_freq, kLitLenSymbols, kMaxCodeBits, ll);
    for (int s = 0; s < kLitLenSymbols; ++s) dyn_ll_len[s] = ll[s];
  }
  build_code_lengths(st.dist_freq, kDistSymbols, kMaxCodeBits, dyn_d_len);
  for (int s = 0; s < 288; ++s) fix_ll_len[s] = kTables.fixed_litlen_len[s];
  for (int s = 0; s < kDistSymbols; ++s) fix_d_len[s] = 5;

  DynamicHeader hdr;
  make_dynamic_header(dyn_ll_len, dyn_d_len, hdr);
  uint64_t extra = 0, dyn = 3 + hdr.bits, fix = 3;
  for (int s = 0; s < kLitLenSymbols; ++s) {
    dyn += uint64_t(lit_freq[s]) * dyn_ll_len[s];
    fix += uint64_t(lit_freq[s]) * fix_ll_len[s];
    if (s > kEndOfBlock) extra += uint64_t(lit_freq[s]) * kLengthExtra[s - 257];
  }
  for (int s = 0; s < kDistSymbols; ++s) {
    dyn += uint64_t(st.dist_freq[s]) * dyn_d_len[s];
    fix += uint64_t(st.dist_freq[s]) * 5;
    extra += uint64_t(st.dist_freq[s]) * kDistExtra[s];
  }
  dyn += extra;
  fix += extra;
  const uint64_t stored = stored_cost(st.bw.nbits & 7, st.raw_pos - st.block_start);
  const uint64_t before = st.bw.total;

  if (stored < dyn && stored < fix) {
    send_stored(st.bw, in, st.block_start, st.raw_pos, out);
    check_bits(st.bw.total - before, stored);
  } else {
    const bool fixed = fix < dyn;
    uint8_t(&ll_len)[288] = fixed ? fix_ll_len : dyn_ll_len;
    uint8_t(&d_len)[kDistSymbols] = fixed ? fix_d_len : dyn_d_len;
    uint16_t ll_code[288], d_code[kDistSymbols];
    build_codes(ll_len, 288, ll_code);
    build_codes(d_len, kDistSymbols, d_code);
    bw_put(st.bw, fixed ? 2 : 4, 3, out);  // BFINAL 0, BTYPE 01 (fixed) or 10 (dynamic)
    if (!fixed) send_dynamic_header(st.bw, hdr, out);
    send_symbols(st, ll_len, ll_code, d_len, d_code, out);
    check_bits(st.bw.total - before, fixed ? fix : dyn);
  }
  clear_histograms(st);
}

inline void add_symbol(EncoderState& st, const LzSymbol& s, const ap_uint<64>* in, hls::stream<OutWord>& out) {
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
  st.block[st.nsym++] = packed;
  if (st.nsym == kBlockSymbols) close_block(st, in, out);
}

// Ends the output: the last block, then an empty stored block if the stream is not on a
// byte boundary, so that the host's appended final block continues it. Returns its size.
inline uint32_t encoder_finish(EncoderState& st, const ap_uint<64>* in, hls::stream<OutWord>& out) {
  if (st.nsym != 0) close_block(st, in, out);
  if (st.bw.nbits & 7) {
    bw_put(st.bw, 0, 3, out);
    bw_align(st.bw, out);
    bw_put(st.bw, 0, 16, out);
    bw_put(st.bw, 0xFFFF, 16, out);
  }
  return bw_finish(st.bw, out);
}

}  // namespace gzk
