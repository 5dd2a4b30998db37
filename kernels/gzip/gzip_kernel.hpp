// Our deflate kernel behind the Vitis library's xilGzipCompBlock interface: the call, the
// output convention and the buffer sizes a host driver must allocate (see kernels/README.md).
#pragma once

#include <ap_int.h>

#include <cstdint>

// One call compresses input_size bytes of `in` into raw deflate blocks in `out`, none of
// them final, ending on a byte boundary: the host appends 01 00 00 FF FF (an empty final
// stored block) to finish the stream. compressd_size[0] receives the number of bytes
// written. checksumData[0] holds the starting checksum register: for CRC-32
// (checksumType true) the host sets ~0 and gets back the finished CRC-32 (for one block a
// call, zlib's crc32(0, data, n)); for Adler-32 (false) the host sets 1 and gets back
// zlib's adler32(1, data, n). Inputs under 64 bytes are written as one stored block.
extern "C" void xilGzipCompBlock(const ap_uint<64>* in, ap_uint<64>* out, uint32_t* compressd_size,
                                 uint32_t* checksumData, uint32_t input_size, bool checksumType);

namespace gzip_kernel {

// Width of a memory word (GMEM_DWIDTH) in bytes.
constexpr uint32_t word_bytes = 8;
// The input is read in bursts of this many words, the last one whole.
constexpr uint32_t burst_words = 32;
// The kernel may read up to this many bytes past the end of its input (never past the
// end of the burst that holds the last input byte): allocate input buffers of at least
// kernel_input_buffer_size(n) bytes.
constexpr uint32_t kernel_input_padding = burst_words * word_bytes;
// Inputs shorter than this take the stored path (one stored block, n + 5 bytes).
constexpr uint32_t stored_threshold = 64;
// Largest input a host should send in one call (the host's -b limit); the kernel itself
// handles any 32-bit size, but nothing larger is tested.
constexpr uint64_t max_input_size = uint64_t(64) << 20;
// A dynamic or fixed Huffman block holds at most this many symbols (literals and matches).
constexpr uint32_t block_symbols = 16384;
// A stored block holds at most this many bytes (deflate's LEN field).
constexpr uint32_t stored_block_max = 65535;

constexpr uint64_t round_up(uint64_t n, uint64_t m) { return (n + m - 1) / m * m; }

// Bytes of input buffer the kernel may read for an input of n bytes.
constexpr uint64_t kernel_input_buffer_size(uint64_t n) { return round_up(n, kernel_input_padding); }

// Bytes of output buffer the kernel may write for an input of n bytes (a multiple of
// word_bytes, at least one word). Every block is emitted in the cheapest of the three
// block types, so no block is longer than storing its bytes: at most 42 bits (3 header
// bits, 7 alignment bits, LEN and NLEN) for each stored block of up to 65,535 bytes, with
// at most n / block_symbols + 1 blocks (a full block covers at least one byte a symbol),
// and 42 bits more for the closing empty stored block.
constexpr uint64_t kernel_output_bound(uint64_t n) {
  return n < stored_threshold
             ? round_up(n + 5, word_bytes)
             : round_up(n + 6 * (n / stored_block_max + n / block_symbols + 4), word_bytes);
}

#ifndef __SYNTHESIS__
// The cycle model of the C-simulation (a model, not synthesis): the cycles each DATAFLOW
// process of the calling thread's last call (of 64 bytes or more) took, counted as the
// trips of its loops times the II each loop is written for. The processes run side by
// side, so a call takes about as long as its slowest process (plus pipeline fill and
// drain, tens of cycles a 64 KiB chunk, not counted).
struct CycleModel {
  uint64_t read, lz77, collect, build, emit, write;
  uint64_t build_max_block;  // the code builder's longest block (cycles from histograms to codes)
  uint64_t slowest() const {
    const uint64_t c[] = {lz77, collect, build, emit, write};
    uint64_t m = read;
    for (uint64_t x : c) m = x > m ? x : m;
    return m;
  }
};
CycleModel last_call_cycles();
#endif

}  // namespace gzip_kernel
