// Code builder of the deflate kernel: its own DATAFLOW process between the collector and
// the emitter. For each block the collector closes it receives the block's histograms,
// builds the dynamic code (huffman.hpp) and its header, computes the exact bit cost of the
// block as dynamic and as fixed Huffman, and sends the cheaper one's tables and header to
// the emitter, which chooses between it and a stored block once it knows the bit offset
// the block starts at (kernels/README.md, "Block encoder"). Its loops are sequential and
// data-dependent (a few thousand cycles a block); they run while the collector gathers
// the next block and the emitter writes the one before, never under an II=1 loop.
#pragma once

#include <ap_int.h>
#include <hls_stream.h>

#include <cstdint>

#include "deflate_tables.hpp"
#include "gzip_kernel.hpp"
#include "huffman.hpp"

namespace gzk {

constexpr uint32_t kStoredMaxBytes = gzip_kernel::stored_block_max;

// Collector -> builder: a block's histograms (kLitLenSymbols literal/length counts, then
// kDistSymbols distance counts, then its length in input bytes and its symbol count), or
// the end of a pass.
struct HistWord {
  uint32_t value;
  bool end;  // no more blocks in this pass; `value` is 1 when the input ended
};
constexpr int kHistWords = kLitLenSymbols + kDistSymbols + 2;

// Builder -> emitter: per block a descriptor, then its header items, then the
// literal/length and distance codes (kind, index, data); or the end of a pass.
struct CodeWord {
  enum Kind : uint8_t { kDesc, kItem, kLitLen, kDist, kEndOfPass };
  ap_uint<3> kind;
  ap_uint<9> index;
  ap_uint<64> data;
};

// Descriptor fields, packed in CodeWord::data (the header item count in its index).
struct BlockDesc {
  uint32_t huff_bits;  // exact size of the block sent Huffman (type bits to end code), < 2^20
  uint32_t raw;        // input bytes, at most 16,384 x 258 < 2^23
  uint32_t symbols;    // 1 to 16,384
  uint32_t items;      // header items
  bool fixed;
};

inline ap_uint<64> pack_desc(const BlockDesc& d) {
  ap_uint<64> w = 0;
  w.range(19, 0) = d.huff_bits;
  w.range(42, 20) = d.raw;
  w.range(57, 43) = d.symbols;
  w[58] = d.fixed;
  return w;
}

inline BlockDesc unpack_desc(ap_uint<64> w, uint32_t items) {
  BlockDesc d;
  d.huff_bits = uint32_t(w.range(19, 0));
  d.raw = uint32_t(w.range(42, 20));
  d.symbols = uint32_t(w.range(57, 43));
  d.fixed = w[58];
  d.items = items;
  return d;
}

// Everything the emitter sends before a block's symbols, as (bits, count) items: the
// block type, then for a dynamic block its header.
constexpr int kMaxHeaderItems = 4 + kCodeLenSymbols + kLitLenSymbols + kDistSymbols;

// The header of a dynamic block.
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

inline void make_dynamic_header(const uint8_t (&ll_len)[288], const uint8_t (&d_len)[kDistSymbols], DynamicHeader& h,
                                uint64_t* cycles) {
  h.hlit = kLitLenSymbols;
  while (h.hlit > 257 && ll_len[h.hlit - 1] == 0) --h.hlit;
  h.hdist = kDistSymbols;
  while (h.hdist > 1 && d_len[h.hdist - 1] == 0) --h.hdist;
  add_cycles(cycles, uint64_t(kLitLenSymbols - h.hlit + kDistSymbols - h.hdist) + 2);  // II=1
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
  // Model: a length a cycle, an emitted item a cycle (freq[] read-modify-write: II=2).
  add_cycles(cycles, uint64_t(total) + 2 * uint64_t(h.rle_count));
  build_code_lengths(freq, kCodeLenSymbols, kMaxCodeLenBits, h.cl_len, cycles);
  build_codes(h.cl_len, kCodeLenSymbols, h.cl_code, cycles);
  h.hclen = kCodeLenSymbols;
  while (h.hclen > 4 && h.cl_len[kCodeLenOrder[h.hclen - 1]] == 0) --h.hclen;
  h.bits = 5 + 5 + 4 + 3 * uint64_t(h.hclen);
  for (int k = 0; k < h.rle_count; ++k) {
    const int s = h.rle_sym[k];
    h.bits += h.cl_len[s] + (s == 16 ? 2 : s == 17 ? 3 : s == 18 ? 7 : 0);
  }
  add_cycles(cycles, uint64_t(kCodeLenSymbols - h.hclen) + uint64_t(h.rle_count));  // II=1
}

struct BuilderState {
  uint64_t cycles;     // cycle model (C-simulation only)
  uint64_t max_block;  // the most cycles one block took (its latency, histograms in to codes out)
};

inline void send_code(hls::stream<CodeWord>& out, uint32_t kind, uint32_t index, uint64_t data) {
  CodeWord w;
  w.kind = kind;
  w.index = index;
  w.data = data;
  out.write(w);
}

// One block: histograms in, descriptor, header items and codes out.
inline void build_block(BuilderState& st, hls::stream<HistWord>& hist, uint32_t first_value,
                        hls::stream<CodeWord>& out) {
  uint32_t lit_freq[kLitLenSymbols], dist_freq[kDistSymbols];
  lit_freq[0] = first_value;
  for (int s = 1; s < kLitLenSymbols + kDistSymbols; ++s) {
#pragma HLS PIPELINE II = 1
    const uint32_t v = hist.read().value;
    if (s < kLitLenSymbols) {
      lit_freq[s] = v;
    } else {
      dist_freq[s - kLitLenSymbols] = v;
    }
  }
  const uint32_t raw = hist.read().value;
  const uint32_t symbols = hist.read().value;
  st.cycles += kHistWords;  // written for II=1
  lit_freq[kEndOfBlock] = 1;

  uint8_t dyn_ll_len[288] = {}, dyn_d_len[kDistSymbols];
  {
    uint8_t ll[kLitLenSymbols];
    build_code_lengths(lit_freq, kLitLenSymbols, kMaxCodeBits, ll, &st.cycles);
    for (int s = 0; s < kLitLenSymbols; ++s) dyn_ll_len[s] = ll[s];
    st.cycles += kLitLenSymbols;  // II=1
  }
  build_code_lengths(dist_freq, kDistSymbols, kMaxCodeBits, dyn_d_len, &st.cycles);
  DynamicHeader hdr;
  make_dynamic_header(dyn_ll_len, dyn_d_len, hdr, &st.cycles);

  // Exact costs: a multiply-accumulate a symbol, pipelined (II=1).
  uint64_t extra = 0, dyn = 3 + hdr.bits, fix = 3;
  for (int s = 0; s < kLitLenSymbols; ++s) {
#pragma HLS PIPELINE II = 1
    dyn += uint64_t(lit_freq[s]) * dyn_ll_len[s];
    fix += uint64_t(lit_freq[s]) * kTables.fixed_litlen_len[s];
    if (s > kEndOfBlock) extra += uint64_t(lit_freq[s]) * kLengthExtra[s - 257];
  }
  for (int s = 0; s < kDistSymbols; ++s) {
#pragma HLS PIPELINE II = 1
    dyn += uint64_t(dist_freq[s]) * dyn_d_len[s];
    fix += uint64_t(dist_freq[s]) * 5;
    extra += uint64_t(dist_freq[s]) * kDistExtra[s];
  }
  st.cycles += kLitLenSymbols + kDistSymbols;
  dyn += extra;
  fix += extra;

  const bool fixed = fix < dyn;
  uint8_t ll_len[288], d_len[kDistSymbols];
  uint16_t ll_code[288], d_code[kDistSymbols];
  for (int s = 0; s < 288; ++s) ll_len[s] = fixed ? kTables.fixed_litlen_len[s] : dyn_ll_len[s];
  for (int s = 0; s < kDistSymbols; ++s) d_len[s] = fixed ? 5 : dyn_d_len[s];
  st.cycles += 288;  // II=1 (the two loops side by side)
  build_codes(ll_len, 288, ll_code, &st.cycles);
  build_codes(d_len, kDistSymbols, d_code, &st.cycles);

  BlockDesc d;
  d.huff_bits = uint32_t(fixed ? fix : dyn);
  d.raw = raw;
  d.symbols = symbols;
  d.fixed = fixed;
  d.items = fixed ? 1 : 4 + uint32_t(hdr.hclen) + uint32_t(hdr.rle_count);
  send_code(out, CodeWord::kDesc, d.items, pack_desc(d).to_uint64());
  // The header items, the codes: a word a cycle (II=1).
  uint32_t k = 0;
  send_code(out, CodeWord::kItem, k++, (uint64_t(3) << 32) | (fixed ? 2 : 4));  // BFINAL 0, BTYPE 01 / 10
  if (!fixed) {
    send_code(out, CodeWord::kItem, k++, (uint64_t(5) << 32) | uint32_t(hdr.hlit - 257));
    send_code(out, CodeWord::kItem, k++, (uint64_t(5) << 32) | uint32_t(hdr.hdist - 1));
    send_code(out, CodeWord::kItem, k++, (uint64_t(4) << 32) | uint32_t(hdr.hclen - 4));
    for (int j = 0; j < hdr.hclen; ++j) send_code(out, CodeWord::kItem, k++, (uint64_t(3) << 32) | hdr.cl_len[kCodeLenOrder[j]]);
    for (int j = 0; j < hdr.rle_count; ++j) {
      const int s = hdr.rle_sym[j];
      const uint32_t extra_bits = s == 16 ? 2 : s == 17 ? 3 : s == 18 ? 7 : 0;
      send_code(out, CodeWord::kItem, k++,
                (uint64_t(hdr.cl_len[s] + extra_bits) << 32) | (hdr.cl_code[s] | (uint32_t(hdr.rle_extra[j]) << hdr.cl_len[s])));
    }
  }
  for (int s = 0; s < kLitLenSymbols; ++s) send_code(out, CodeWord::kLitLen, s, (uint64_t(ll_len[s]) << 16) | ll_code[s]);
  for (int s = 0; s < kDistSymbols; ++s) send_code(out, CodeWord::kDist, s, (uint64_t(d_len[s]) << 16) | d_code[s]);
  st.cycles += 1 + d.items + kLitLenSymbols + kDistSymbols;  // II=1
}

// One pass: every block the collector closed in it, then the end-of-pass word.
inline void build_pass(BuilderState& st, hls::stream<HistWord>& hist, hls::stream<CodeWord>& out) {
  for (;;) {
    const HistWord h = hist.read();
    if (h.end) {
      send_code(out, CodeWord::kEndOfPass, 0, h.value);
      return;
    }
    const uint64_t before = st.cycles;
    build_block(st, hist, h.value, out);
    if (st.cycles - before > st.max_block) st.max_block = st.cycles - before;
  }
}

}  // namespace gzk
