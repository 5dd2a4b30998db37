// xilGzipCompBlock, our own deflate kernel: the top function, its memory reader and
// writer, and the stored path for tiny inputs. The input goes through in chunks of 64 KiB;
// each chunk is one DATAFLOW pass of read -> LZ77 -> block encoder -> write, and the state
// each process carries between chunks (hash table, window, open block) persists for the
// whole call, so nothing about compression depends on the chunk size.
#include "gzip_kernel.hpp"

#include <ap_int.h>
#include <hls_stream.h>

#include <cstdint>

#include "checksum.hpp"
#include "encoder.hpp"
#include "kernel_state.hpp"
#include "lz77.hpp"

namespace gzk {

// The cycle model of the calling thread's last call (C-simulation only): each process
// records its count at the end of each pass.
#ifndef __SYNTHESIS__
thread_local gzip_kernel::CycleModel model;
#define GZK_MODEL(field, value) (::gzk::model.field = (value))
#else
#define GZK_MODEL(field, value) ((void)0)
#endif

constexpr uint32_t kChunk = 65536;  // a multiple of the burst size
constexpr uint32_t kBurstWords = gzip_kernel::burst_words;

struct ReaderState {
  uint32_t checksum;
  uint64_t cycles;  // cycle model (C-simulation only)
};

struct WriterState {
  uint32_t next_word;
  uint64_t cycles;  // cycle model (C-simulation only)
};

// Reads whole bursts from memory and passes the chunk's words on, checksumming them: the
// whole words in the II=1 loop, a last partial word (once a call) after it.
static void read_stage(const ap_uint<64>* in, uint64_t base, uint32_t nbytes, bool first, bool last, bool crc,
                       uint32_t init, uint32_t& checksum, hls::stream<ap_uint<64>>& words) {
  GZK_STATE(ReaderState, st);
  // Eight 256 x 32-bit ROMs, one a byte lane, each read once a cycle.
  static const CrcTables crc_rom = kCrcTables;
#pragma HLS ARRAY_PARTITION variable = crc_rom.t dim = 1 type = complete
  if (first) {
    st.checksum = init;
    st.cycles = 0;
  }
  const uint32_t nwords = (nbytes + 7) / 8;
  const uint32_t whole = nbytes / 8;
  const uint64_t base_word = base / 8;
  ap_uint<64> tail = 0;
  for (uint32_t b = 0; b < nwords; b += kBurstWords) {
    ap_uint<64> burst[kBurstWords];
    for (uint32_t i = 0; i < kBurstWords; ++i) {
#pragma HLS PIPELINE II = 1
      burst[i] = in[base_word + b + i];
    }
    const uint32_t n = nwords - b < kBurstWords ? nwords - b : kBurstWords;
    for (uint32_t i = 0; i < n; ++i) {
#pragma HLS PIPELINE II = 1
      if (b + i < whole) {
        st.checksum = crc ? crc32_word8(st.checksum, burst[i], crc_rom.t) : adler32_word8(st.checksum, burst[i]);
      } else {
        tail = burst[i];
      }
      words.write(burst[i]);
    }
    st.cycles += kBurstWords + n;  // both loops written for II=1
  }
  if (whole != nwords) {  // the last word of the input, partial
    const uint32_t k = nbytes - 8 * whole;
    st.checksum = crc ? crc32_partial(st.checksum, tail, k, crc_rom.t) : adler32_partial(st.checksum, tail, k);
    st.cycles += 8;
  }
  if (last) checksum = st.checksum;
  GZK_MODEL(read, st.cycles);
}

static void lz77_stage(hls::stream<ap_uint<64>>& words, uint32_t total, uint32_t nbytes, bool first, bool last,
                       hls::stream<LzSymbol>& symbols, hls::stream<ap_uint<64>>& raw) {
  GZK_STATE(LzState, st);
  // 8,192 buckets of 4 x (32 + 64) bits, one 384-bit word each: 2 deep x 6 wide URAM.
  GZK_STATE(Dict, dict);
#pragma HLS AGGREGATE variable = dict
#pragma HLS BIND_STORAGE variable = dict type = ram_2p impl = uram
#pragma HLS DEPENDENCE variable = dict inter false
  // Four copies of 8,192 x 64 bits (2 URAM each), one read port a way.
  GZK_STATE(Window, window);
#pragma HLS ARRAY_PARTITION variable = window dim = 1 type = complete
#pragma HLS BIND_STORAGE variable = window type = ram_2p impl = uram
#pragma HLS DEPENDENCE variable = window inter RAW distance = 8 true
  if (first) lz_start(st, dict, total);
  lz77_chunk(st, dict, window, words, nbytes, last, symbols, raw);
  GZK_MODEL(lz77, st.cycles);
}

static void collect_stage(hls::stream<LzSymbol>& symbols, hls::stream<ap_uint<64>>& raw, uint32_t nbytes, bool first,
                          hls::stream<HistWord>& hist, hls::stream<ap_uint<32>>& blk,
                          hls::stream<ap_uint<64>>& blk_raw) {
  GZK_STATE(CollectorState, st);
  // Two block buffers of 16,384 x 32 bits (one written, one read a cycle): 16 BRAM36 each.
  GZK_STATE(SymbolBuffers, buf);
#pragma HLS ARRAY_PARTITION variable = buf dim = 1 type = complete
#pragma HLS BIND_STORAGE variable = buf type = ram_2p impl = bram
  // Histograms, one set a block buffer, each two banks of 286 and 30 counters of 16 bits
  // (LUTRAM). A bank's counter is read-modify-written at most every second trip (the banks
  // alternate); a trip counts into one set and drains the other.
  GZK_STATE(LitCounts, lit0);
  GZK_STATE(DistCounts, dist0);
  GZK_STATE(LitCounts, lit1);
  GZK_STATE(DistCounts, dist1);
#pragma HLS ARRAY_PARTITION variable = lit0 dim = 1 type = complete
#pragma HLS ARRAY_PARTITION variable = dist0 dim = 1 type = complete
#pragma HLS ARRAY_PARTITION variable = lit1 dim = 1 type = complete
#pragma HLS ARRAY_PARTITION variable = dist1 dim = 1 type = complete
#pragma HLS BIND_STORAGE variable = lit0 type = ram_2p impl = lutram
#pragma HLS BIND_STORAGE variable = dist0 type = ram_2p impl = lutram
#pragma HLS BIND_STORAGE variable = lit1 type = ram_2p impl = lutram
#pragma HLS BIND_STORAGE variable = dist1 type = ram_2p impl = lutram
#pragma HLS DEPENDENCE variable = lit0 inter RAW distance = 2 true
#pragma HLS DEPENDENCE variable = dist0 inter RAW distance = 2 true
#pragma HLS DEPENDENCE variable = lit1 inter RAW distance = 2 true
#pragma HLS DEPENDENCE variable = dist1 inter RAW distance = 2 true
  // Input ring of 16,384 x 64 bits: 4 URAM (4 deep x 1 wide).
  GZK_STATE(InputRing, ring);
#pragma HLS BIND_STORAGE variable = ring type = ram_2p impl = uram
  if (first) collector_reset(st, lit0, dist0, lit1, dist1);
  collect_pass(st, buf, lit0, dist0, lit1, dist1, ring, symbols, raw, (nbytes + 7) / 8, hist, blk, blk_raw);
  GZK_MODEL(collect, st.cycles);
}

static void build_stage(hls::stream<HistWord>& hist, bool first, hls::stream<CodeWord>& codes) {
  GZK_STATE(BuilderState, st);
  if (first) st.cycles = st.max_block = 0;
  build_pass(st, hist, codes);
  GZK_MODEL(build, st.cycles);
  GZK_MODEL(build_max_block, st.max_block);
}

static void emit_stage(hls::stream<CodeWord>& codes, hls::stream<ap_uint<32>>& blk, hls::stream<ap_uint<64>>& blk_raw,
                       bool first, uint32_t& size, hls::stream<OutWord>& out) {
  GZK_STATE(EmitterState, st);
  // Two banks of header items and codes (LUTRAM): one loaded, one read a cycle.
  GZK_STATE(ItemValues, item_value);
  GZK_STATE(ItemBits, item_bits);
  GZK_STATE(LitLenCodes, ll);
  GZK_STATE(DistCodes, dc);
#pragma HLS ARRAY_PARTITION variable = item_value dim = 1 type = complete
#pragma HLS ARRAY_PARTITION variable = item_bits dim = 1 type = complete
#pragma HLS ARRAY_PARTITION variable = ll dim = 1 type = complete
#pragma HLS ARRAY_PARTITION variable = dc dim = 1 type = complete
#pragma HLS BIND_STORAGE variable = item_value type = ram_2p impl = lutram
#pragma HLS BIND_STORAGE variable = item_bits type = ram_2p impl = lutram
#pragma HLS BIND_STORAGE variable = ll type = ram_2p impl = lutram
#pragma HLS BIND_STORAGE variable = dc type = ram_2p impl = lutram
  if (first) emitter_reset(st);
  emit_pass(st, item_value, item_bits, ll, dc, codes, blk, blk_raw, size, out);
  GZK_MODEL(emit, st.cycles);
}

static void write_stage(hls::stream<OutWord>& words, bool first, ap_uint<64>* out) {
  GZK_STATE(WriterState, st);
  if (first) {
    st.next_word = 0;
    st.cycles = 0;
  }
  for (;;) {
#pragma HLS PIPELINE II = 1
    ++st.cycles;  // written for II=1
    const OutWord w = words.read();
    if (w.last) break;
    out[st.next_word++] = w.data;
  }
  GZK_MODEL(write, st.cycles);
}

static void compress_chunk(const ap_uint<64>* in, ap_uint<64>* out, uint32_t total, uint64_t base, uint32_t nbytes, bool first,
                           bool last, bool crc, uint32_t init, uint32_t& checksum, uint32_t& size) {
#pragma HLS DATAFLOW
  hls::stream<ap_uint<64>> words("words");
  hls::stream<LzSymbol> symbols("symbols");
  hls::stream<ap_uint<64>> raw("raw");
  hls::stream<HistWord> hist("hist");
  hls::stream<CodeWord> codes("codes");
  hls::stream<ap_uint<32>> blk("blk");
  hls::stream<ap_uint<64>> blk_raw("blk_raw");
  hls::stream<OutWord> out_words("out_words");
#pragma HLS STREAM variable = words depth = 64
#pragma HLS STREAM variable = symbols depth = 64
#pragma HLS STREAM variable = raw depth = 64
  // A closed block's histograms wait here while the builder finishes the block before.
#pragma HLS STREAM variable = hist depth = 512
#pragma HLS STREAM variable = codes depth = 64
  // The closed block's symbols and input words wait here while its codes are built (at
  // most about 10,500 cycles a block in the cycle model), so that the collector never waits
  // for the emitter: 16,384 x 32 bits (16 BRAM36) and 2,048 x 64 bits (4 BRAM36).
#pragma HLS STREAM variable = blk depth = 16384
#pragma HLS STREAM variable = blk_raw depth = 2048
#pragma HLS BIND_STORAGE variable = blk type = fifo impl = bram
#pragma HLS BIND_STORAGE variable = blk_raw type = fifo impl = bram
#pragma HLS STREAM variable = out_words depth = 64
  read_stage(in, base, nbytes, first, last, crc, init, checksum, words);
  lz77_stage(words, total, nbytes, first, last, symbols, raw);
  collect_stage(symbols, raw, nbytes, first, hist, blk, blk_raw);
  build_stage(hist, first, codes);
  emit_stage(codes, blk, blk_raw, first, size, out_words);
  write_stage(out_words, first, out);
}

// Inputs under 64 bytes: one stored block (none at all for an empty input).
static uint32_t compress_stored(const ap_uint<64>* in, ap_uint<64>* out, uint32_t n, bool crc, uint32_t init,
                                uint32_t& checksum) {
  ap_uint<64> burst[kBurstWords];
  uint8_t bytes[8 * ((gzip_kernel::stored_threshold + 5 + 7) / 8)] = {};
  checksum = init;
  if (n == 0) return 0;
  for (uint32_t i = 0; i < kBurstWords; ++i) {
#pragma HLS PIPELINE II = 1
    burst[i] = in[i];
  }
  bytes[0] = 0;  // BFINAL 0, BTYPE 00, padding
  bytes[1] = uint8_t(n);
  bytes[2] = uint8_t(n >> 8);
  bytes[3] = uint8_t(~n);
  bytes[4] = uint8_t(~n >> 8);
  for (uint32_t i = 0; i < n; ++i) {
    const ap_uint<64> w = burst[i / 8];
    bytes[5 + i] = uint8_t(w.range(8 * (i % 8) + 7, 8 * (i % 8)));
  }
  for (uint32_t i = 0; 8 * i < n; ++i) {
    const uint32_t k = n - 8 * i < 8 ? n - 8 * i : 8;
    checksum = crc ? crc32_partial(checksum, burst[i], k, kCrcTables.t) : adler32_partial(checksum, burst[i], k);
  }
  const uint32_t size = n + 5;
  for (uint32_t i = 0; 8 * i < size; ++i) {
    uint64_t w = 0;
    for (int k = 7; k >= 0; --k) w = (w << 8) | bytes[8 * i + k];
    out[i] = w;
  }
  return size;
}

}  // namespace gzk

#ifndef __SYNTHESIS__
gzip_kernel::CycleModel gzip_kernel::last_call_cycles() { return gzk::model; }
#endif

extern "C" void xilGzipCompBlock(const ap_uint<64>* in, ap_uint<64>* out, uint32_t* compressd_size,
                                 uint32_t* checksumData, uint32_t input_size, bool checksumType) {
#pragma HLS INTERFACE m_axi port = in offset = slave bundle = gmem0 max_read_burst_length = 32
#pragma HLS INTERFACE m_axi port = out offset = slave bundle = gmem1 max_write_burst_length = 32
#pragma HLS INTERFACE m_axi port = compressd_size offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = checksumData offset = slave bundle = gmem1
#pragma HLS INTERFACE s_axilite port = in bundle = control
#pragma HLS INTERFACE s_axilite port = out bundle = control
#pragma HLS INTERFACE s_axilite port = compressd_size bundle = control
#pragma HLS INTERFACE s_axilite port = checksumData bundle = control
#pragma HLS INTERFACE s_axilite port = input_size bundle = control
#pragma HLS INTERFACE s_axilite port = checksumType bundle = control
#pragma HLS INTERFACE ap_ctrl_chain port = return bundle = control
  const uint32_t n = input_size;
  const bool crc = checksumType;
  const uint32_t init = checksumData[0];
  uint32_t checksum = init, size = 0;
  if (n < gzip_kernel::stored_threshold) {
    size = gzk::compress_stored(in, out, n, crc, init, checksum);
  } else {
    for (uint64_t base = 0; base < n; base += gzk::kChunk) {
      const uint32_t nbytes = n - base < gzk::kChunk ? uint32_t(n - base) : gzk::kChunk;
      gzk::compress_chunk(in, out, n, base, nbytes, base == 0, base + nbytes == n, crc, init, checksum, size);
    }
  }
  // The CRC register is kept uninverted inside; the interface returns the finished CRC.
  checksumData[0] = crc ? ~checksum : checksum;
  compressd_size[0] = size;
}
