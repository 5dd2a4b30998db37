// Length-limited Huffman code lengths and canonical codes, with fixed-size arrays and
// bounded loops (kernels/README.md, "Huffman"): a two-pass radix sort of the used
// symbols by frequency, the two-queue Huffman construction over the sorted leaves, and a
// depth limit that keeps the code complete. These run in the code builder process
// (block_builder.hpp), never under a pipelined loop; `cycles`, when given, receives the
// cycle model's count: each loop's trips times the II stated at the loop (C-simulation
// only, a model).
#pragma once

#include <cstdint>

namespace gzk {

// Fills len[0..n) with code lengths of at most max_bits for the frequencies freq[0..n)
// (each below 65536). Unused symbols get 0. The code is always complete (Kraft sum 1), as
// zlib's inflate requires: with fewer than two used symbols, the lowest unused ones are
// added so that two symbols get length 1.
inline void add_cycles(uint64_t* cycles, uint64_t n) {
  if (cycles) *cycles += n;
}

template <int N>
void build_code_lengths(const uint32_t (&freq)[N], int n, int max_bits, uint8_t (&len)[N], uint64_t* cycles = nullptr) {
  uint16_t sym[N], tmp[N];
  int used = 0;
  for (int s = 0; s < n; ++s) {  // II=1
    len[s] = 0;
    if (freq[s] != 0) sym[used++] = uint16_t(s);
  }
  add_cycles(cycles, uint64_t(n));
  if (used < 2) add_cycles(cycles, uint64_t(n));  // II=1
  for (int s = 0; s < n && used < 2; ++s)
    if (freq[s] == 0) sym[used++] = uint16_t(s);
  if (used < 2) return;  // an alphabet of one symbol: not one of deflate's
  // Model: the counting and scatter loops read-modify-write count[] (II=2), the prefix
  // sum and copy II=1; the two-queue loop II=2 (two picks); depths and bl_count II=2
  // (a read of what an earlier trip wrote); the repair a trip a step of each level.
  add_cycles(cycles, 2 * (2 * uint64_t(used) + 256 + 2 * uint64_t(used) + uint64_t(used)));
  add_cycles(cycles, 2 * uint64_t(used - 1) + 2 * uint64_t(used) + 2 * uint64_t(used) + uint64_t(max_bits));
  // The padding symbols have frequency 0 and go first after sorting, as the rarest.
  // Stable LSD radix sort on the 16-bit frequency, 8 bits a pass.
  for (int shift = 0; shift < 16; shift += 8) {
    uint16_t count[257] = {};
    for (int i = 0; i < used; ++i) ++count[((freq[sym[i]] >> shift) & 0xFF) + 1];
    for (int b = 0; b < 256; ++b) count[b + 1] += count[b];
    for (int i = 0; i < used; ++i) tmp[count[(freq[sym[i]] >> shift) & 0xFF]++] = sym[i];
    for (int i = 0; i < used; ++i) sym[i] = tmp[i];
  }

  // Two queues: leaves in ascending order, and internal nodes, which are created in
  // ascending order of weight. parent[] indexes internal nodes.
  uint32_t weight[N];
  uint16_t leaf_parent[N], node_parent[N];
  uint8_t node_depth[N];
  int next_leaf = 0, next_node = 0;
  for (int k = 0; k < used - 1; ++k) {
    uint32_t w = 0;
    for (int pick = 0; pick < 2; ++pick) {
      const bool leaf = next_leaf < used && (next_node >= k || freq[sym[next_leaf]] <= weight[next_node]);
      if (leaf) {
        w += freq[sym[next_leaf]];
        leaf_parent[next_leaf++] = uint16_t(k);
      } else {
        w += weight[next_node];
        node_parent[next_node++] = uint16_t(k);
      }
    }
    weight[k] = w;
  }
  // Depths from the root (the last node) down; deeper than max_bits counts as max_bits.
  const int root = used - 2;
  node_depth[root] = 0;
  for (int k = root - 1; k >= 0; --k) {
    const int d = node_depth[node_parent[k]] + 1;
    node_depth[k] = uint8_t(d < max_bits ? d : max_bits);
  }
  uint32_t bl_count[16] = {};
  for (int i = 0; i < used; ++i) {
    const int d = node_depth[leaf_parent[i]] + 1;
    ++bl_count[d < max_bits ? d : max_bits];
  }
  // Kraft sum in units of 2^-max_bits. Each step turns a leaf at the deepest level below
  // max_bits into a node over itself and one leaf from max_bits: one unit less.
  uint32_t kraft = 0;
  for (int l = 1; l <= max_bits; ++l) kraft += bl_count[l] << (max_bits - l);
  // Capping only moves leaves up, so the sum is at least 2^max_bits here.
  for (uint32_t over = kraft - (1u << max_bits); over != 0; --over) {
    add_cycles(cycles, uint64_t(max_bits));
    int bits = max_bits - 1;
    while (bl_count[bits] == 0) --bits;
    --bl_count[bits];
    bl_count[bits + 1] += 2;
    --bl_count[max_bits];
  }
  // The longest codes go to the rarest symbols.
  int i = 0;
  add_cycles(cycles, uint64_t(max_bits) + uint64_t(used));  // II=1
  for (int l = max_bits; l >= 1; --l)
    for (uint32_t c = 0; c < bl_count[l]; ++c) len[sym[i++]] = uint8_t(l);
}

// Canonical codes for code lengths len[0..n), bit-reversed for deflate's LSB-first order.
template <int N>
void build_codes(const uint8_t (&len)[N], int n, uint16_t (&code)[N], uint64_t* cycles = nullptr) {
  // Model: counting and assigning read-modify-write count[]/next[] (II=2), 15 steps.
  add_cycles(cycles, 2 * uint64_t(n) + 15 + 2 * uint64_t(n));
  uint16_t count[16] = {}, next[16] = {};
  for (int s = 0; s < n; ++s) ++count[len[s]];
  count[0] = 0;
  for (int l = 1; l < 16; ++l) next[l] = uint16_t((next[l - 1] + count[l - 1]) << 1);
  for (int s = 0; s < n; ++s) {
    const int l = len[s];
    if (l == 0) {
      code[s] = 0;
      continue;
    }
    uint32_t c = next[l]++, r = 0;
    for (int b = 0; b < l; ++b) r |= ((c >> b) & 1u) << (l - 1 - b);
    code[s] = uint16_t(r);
  }
}

}  // namespace gzk
