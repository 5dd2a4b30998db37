// The CPU engine: activations bit-packed along channels (one or more u64
// words per pixel), direct 3x3 convolution by XNOR-popcount (counted as
// mismatches: matches = K - popcount(w ^ a)) with the threshold fused so that
// outputs come out packed, max-pool as OR, and the first layer on 8-bit
// fixed-point input as +-1 sums.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__arm__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include "fpgaio/bnn.hpp"
#include "fpgaio/error.hpp"
#include "kernels.hpp"

namespace fpgaio::bnn {

using detail::kBlock;
using detail::Kernels;

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::portable: return "portable";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::neon: return "neon";
  }
  return "?";
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> v{Isa::portable};
#if defined(__x86_64__) && defined(FPGAIO_BNN_ISA_AVX2)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) v.push_back(Isa::avx2);
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq"))
    v.push_back(Isa::avx512);
#endif
#if defined(__arm__) && defined(FPGAIO_BNN_ISA_NEON)
  // The kernel's NEON unit, as the kernel reports it (a Cortex-A9 of a
  // Zynq-7000 has it; qemu-arm reports it too).
  if (::getauxval(AT_HWCAP) & HWCAP_NEON) v.push_back(Isa::neon);
#endif
  return v;
}

Isa best_isa() {
  auto v = supported_isas();
  if (const char* e = std::getenv("FPGA_BNN_ISA"); e && *e) {
    for (Isa i : v)
      if (std::strcmp(isa_name(i), e) == 0) return i;
    throw Error(ErrorKind::device, std::string("FPGA_BNN_ISA: '") + e + "' is not a code path this CPU runs");
  }
  return v.back();
}

std::size_t argmax(const std::int32_t* s, std::size_t n) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < n; ++i)
    if (s[i] > s[best]) best = i;
  return best;
}

namespace {

std::size_t pad(std::size_t n) { return (n + kBlock - 1) / kBlock * kBlock; }
std::size_t words(std::size_t bits) { return (bits + 63) / 64; }

// One layer, prepared for the kernels.
struct Step {
  LayerKind kind;
  Shape in, out;
  bool fixed_input = false;  // first layer on 8-bit input
  bool last = false;
  std::uint32_t fan_in = 0;
  std::size_t in_words = 0;   // words per input pixel (binary maps)
  std::size_t out_words = 0;  // words per output pixel
  std::size_t n = 0;          // patch length (words, or values for fixed input)
  std::size_t opad = 0;
  std::vector<std::uint64_t> wt;  // [j][o] for binary input
  std::vector<std::int16_t> w16;  // [k][o] for fixed input
  std::vector<std::int64_t> limit;  // binary: bit = mismatches < limit (= K - T)
  std::vector<std::int32_t> thr;    // fixed: bit = acc > thr
  std::vector<std::int16_t> thr16;  // the same for the 16-bit kernel (n * 128 < 2^15), padded
  std::vector<std::uint32_t> plus;  // [j][block of 32]: outputs whose weight j is +1
  bool fixed16 = false;
  // A first 3x3 layer on 8-bit input through Kernels::conv_u8: weights as
  // four signed bytes a word of a patch row, thresholds with 128 * (sum of
  // the weights) added (the kernel sums w * (q + 128)).
  bool u8 = false;
  std::vector<std::int8_t> wg;
  std::vector<std::int32_t> thr32;
};

bool cpu_has_vnni() {
#if defined(__x86_64__) && defined(FPGAIO_BNN_ISA_AVX2)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

const Kernels& kernels_for(Isa isa) {
  switch (isa) {
#ifdef FPGAIO_BNN_ISA_AVX2
    case Isa::avx2: return detail::kernels_avx2();
    case Isa::avx512: return detail::kernels_avx512();
#endif
#ifdef FPGAIO_BNN_ISA_NEON
    case Isa::neon: return detail::kernels_neon();
#endif
    default: return detail::kernels_portable();
  }
}

// Pixels as dense bits (p >= 128), into n words.
void dense_bits(const std::uint8_t* px, std::size_t values, std::size_t n, std::uint64_t* out) {
  std::fill(out, out + n, 0);
  std::size_t i = 0;
#if defined(__SSE2__)
  // Sixteen at a time: p >= 128 is each byte's top bit.
  for (; i + 16 <= values; i += 16)
    out[i / 64] |= static_cast<std::uint64_t>(static_cast<unsigned>(
                       _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(px + i)))))
                   << (i % 64);
#endif
  for (; i < values; ++i)
    if (px[i] >= 128) out[i / 64] |= std::uint64_t{1} << (i % 64);
}

struct Scratch {
  std::vector<std::uint64_t> a, b, dense;
  std::vector<std::uint32_t> d;
  std::vector<std::int32_t> acc;
  std::vector<std::int16_t> q, qpatch;
  std::vector<std::uint8_t> u;  // q + 128, for Kernels::conv_u8
};

template <class V>
void ensure(V& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

struct Engine::Impl {
  const Kernels* k = nullptr;
  Isa isa = Isa::portable;
  Model model;
  std::vector<Step> steps;
  std::size_t max_map_words = 0, max_opad = 0;
  std::int16_t q8[256];  // pixel -> Q1.7 of -1 + 2p/255

  void prepare();
  // values: the first layer's Q1.7 input itself (classify_fixed), else null
  // and the pixels are converted.
  void run(const std::uint8_t* pixels, const std::int8_t* values, std::int32_t* scores) const;
  // Four images through a network of fully connected layers on 1-bit
  // input, with Kernels::fc_pack4 (fc4 says whether the model is one).
  bool fc4 = false;
  void run4(const std::uint8_t* pixels, std::int32_t* scores) const;
};

namespace {
// What one Engine may allocate: the prepared weights of all layers, and the
// activation maps of each thread. A model within kMaxModelBytes can declare
// layers that would need far more (a first layer's 8-bit weights take 16
// times their bits, a map of 1-channel pixels a word each); such a model is
// refused before anything is allocated.
constexpr std::uint64_t kMaxWeightBytes = std::uint64_t{2} << 30;
constexpr std::uint64_t kMaxMapWords = std::uint64_t{1} << 24;  // 128 MiB a map

Error too_big(std::size_t layer, const std::string& what, std::uint64_t bytes, std::uint64_t limit) {
  return Error(ErrorKind::device, "model: layer " + std::to_string(layer) + " needs " + std::to_string(bytes >> 20) +
                                      " MiB of " + what + ", more than the CPU engine's " +
                                      std::to_string(limit >> 20) + " MiB");
}
}  // namespace

void Engine::Impl::prepare() {
  // Sizes first, so that a model too large fails before any allocation.
  {
    const std::vector<Shape> shapes = model.shapes();
    Shape s = model.input;
    std::uint64_t cur_words = model.mode == InputMode::fixed8 ? 0 : words(s.channels), weight_bytes = 0;
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
      const Layer& l = model.layers[i];
      const Shape& o = shapes[i];
      std::uint64_t out_words = l.kind == LayerKind::maxpool2x2 ? cur_words : words(l.out);
      std::uint64_t map = std::max<std::uint64_t>(std::uint64_t{s.height} * s.width * std::max<std::uint64_t>(cur_words, 1),
                                                  std::uint64_t{o.height} * o.width * out_words);
      if (map > kMaxMapWords) throw too_big(i, "activations", 8 * map, 8 * kMaxMapWords);
      if (l.kind != LayerKind::maxpool2x2) {
        const std::uint64_t opad = pad(l.out);
        if (i == 0 && model.mode == InputMode::fixed8)
          weight_bytes += std::uint64_t{l.fan_in()} * opad * 2 + std::uint64_t{l.fan_in()} * opad / 8 + opad * 6;
        else
          weight_bytes += (l.kind == LayerKind::conv3x3 ? 9 * cur_words : words(l.in)) * opad * 8 + opad * 8;
        if (weight_bytes > kMaxWeightBytes) throw too_big(i, "weights", weight_bytes, kMaxWeightBytes);
      }
      s = o;
      cur_words = out_words;
    }
  }
  for (int p = 0; p < 256; ++p) {
    // Rounded to nearest, saturated: round((2p - 255) * 128 / 255); no ties
    // are possible (255 is odd).
    int num = (2 * p - 255) * 128;
    int v = num >= 0 ? (num + 127) / 255 : -((-num + 127) / 255);
    q8[p] = static_cast<std::int16_t>(std::clamp(v, -128, 127));
    if (q8[p] + 128 != std::min(p + (p >> 7), 255)) throw Error(ErrorKind::device, "bnn: q8 table and its closed form differ");
  }
  Shape s = model.input;
  bool fixed = model.mode == InputMode::fixed8;
  std::size_t cur_words = fixed ? 0 : words(s.channels);
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& l = model.layers[i];
    Step st;
    st.kind = l.kind;
    st.in = s;
    st.last = i + 1 == model.layers.size();
    st.fixed_input = i == 0 && fixed;
    st.fan_in = l.fan_in();
    st.in_words = cur_words;
    if (i == 0 && l.kind == LayerKind::fc) st.in_words = 0;  // the input is made dense for it
    if (l.kind == LayerKind::maxpool2x2) {
      st.out = Shape{s.height / 2, s.width / 2, s.channels};
      st.out_words = cur_words;
    } else {
      st.out = l.kind == LayerKind::conv3x3 ? Shape{s.height - 2, s.width - 2, l.out} : Shape{1, 1, l.out};
      st.out_words = words(l.out);
      st.opad = pad(l.out);
      if (st.fixed_input) {
        st.n = l.fan_in();
        st.w16.assign(st.n * st.opad, 0);
        for (std::uint32_t o = 0; o < l.out; ++o)
          for (std::uint32_t k = 0; k < st.n; ++k) st.w16[k * st.opad + o] = l.weight(o, k) ? 1 : -1;
        st.thr = l.thresholds;
        // 16-bit sums suffice while n * 128 < 2^15; clamping the thresholds
        // into 16 bits then changes no comparison.
        st.fixed16 = st.n <= 255 && !st.last;
        if (l.kind == LayerKind::conv3x3 && k->conv_u8 && cpu_has_vnni()) {
          st.u8 = true;
          const std::size_t row = 3 * std::size_t{l.in}, groups = (row + 3) / 4;
          st.wg.assign(3 * groups * st.opad * 4, 0);
          st.thr32.assign(st.opad, INT32_MAX);
          for (std::uint32_t o = 0; o < l.out; ++o) {
            std::int64_t sum = 0;
            for (std::size_t ky = 0; ky < 3; ++ky)
              for (std::size_t b = 0; b < row; ++b) {
                const int w = l.weight(o, static_cast<std::uint32_t>(ky * row + b)) ? 1 : -1;
                st.wg[((ky * groups + b / 4) * st.opad + o) * 4 + b % 4] = static_cast<std::int8_t>(w);
                sum += w;
              }
            // Clamped: the sums lie well inside 32 bits, so a threshold
            // beyond them decides the same when clamped.
            st.thr32[o] = static_cast<std::int32_t>(
                std::clamp<std::int64_t>(std::int64_t{l.thresholds[o]} + 128 * sum, INT32_MIN, INT32_MAX));
          }
        }
        if (st.fixed16) {
          st.plus.assign(st.n * (st.opad / 32), 0);
          for (std::uint32_t o = 0; o < l.out; ++o)
            for (std::uint32_t k = 0; k < st.n; ++k)
              if (l.weight(o, k)) st.plus[k * (st.opad / 32) + o / 32] |= 1u << (o % 32);
          st.thr16.assign(st.opad, INT16_MAX);
          for (std::uint32_t o = 0; o < l.out; ++o)
            st.thr16[o] = static_cast<std::int16_t>(std::clamp<std::int32_t>(l.thresholds[o], INT16_MIN, INT16_MAX));
        }
      } else {
        // Binary input: conv patches are tap-aligned (each tap starts a word);
        // fc inputs are dense bits.
        if (l.kind == LayerKind::conv3x3) {
          st.n = 9 * cur_words;
          st.wt.assign(st.n * st.opad, 0);
          for (std::uint32_t o = 0; o < l.out; ++o)
            for (std::uint32_t t = 0; t < 9; ++t)
              for (std::uint32_t c = 0; c < l.in; ++c)
                if (l.weight(o, t * l.in + c))
                  st.wt[(t * cur_words + c / 64) * st.opad + o] |= std::uint64_t{1} << (c % 64);
        } else {
          st.n = words(l.in);
          st.wt.assign(st.n * st.opad, 0);
          // A row's words as they are (the bits past fan_in cleared).
          const std::size_t rw = l.row_words();
          const std::uint64_t tail = l.in % 64 ? (std::uint64_t{1} << (l.in % 64)) - 1 : ~std::uint64_t{0};
          for (std::uint32_t o = 0; o < l.out; ++o)
            for (std::size_t j = 0; j < st.n; ++j)
              st.wt[j * st.opad + o] = l.weights[o * rw + j] & (j + 1 == st.n ? tail : ~std::uint64_t{0});
        }
        if (!st.last) {
          st.limit.resize(st.opad, 0);
          for (std::uint32_t o = 0; o < l.out; ++o)
            st.limit[o] = static_cast<std::int64_t>(l.fan_in()) - l.thresholds[o];
        }
      }
      max_opad = std::max(max_opad, st.opad);
    }
    max_map_words = std::max(max_map_words, std::size_t{st.out.height} * st.out.width * st.out_words + st.n + 64);
    max_map_words = std::max(max_map_words, std::size_t{s.height} * s.width * std::max<std::size_t>(cur_words, 1) + 64);
    s = st.out;
    cur_words = st.out_words;
    steps.push_back(std::move(st));
  }
}

void Engine::Impl::run(const std::uint8_t* px, const std::int8_t* values_in, std::int32_t* scores) const {
  thread_local Scratch sc;
  ensure(sc.a, max_map_words);
  ensure(sc.b, max_map_words);
  ensure(sc.d, max_opad);
  ensure(sc.acc, max_opad);
  const Shape& in = model.input;
  const std::size_t values = in.values();
  std::uint64_t* cur = sc.a.data();
  std::uint64_t* next = sc.b.data();

  // The input: fixed-point values, or bits (per pixel for conv, dense for fc).
  if (model.mode == InputMode::fixed8 && steps.front().u8) {
    // Bytes q + 128, and four more that the kernel may read past the end.
    ensure(sc.u, values + 4);
    std::uint8_t* u = sc.u.data();
    if (values_in)
      for (std::size_t i = 0; i < values; ++i) u[i] = static_cast<std::uint8_t>(values_in[i] + 128);
    else
      // q8[p] + 128 = round(256p / 255) within [0, 255]: p below 128, p + 1
      // from 128 to 254, and 255 (prepare() checks it), which vectorizes.
      for (std::size_t i = 0; i < values; ++i) u[i] = static_cast<std::uint8_t>(std::min(px[i] + (px[i] >> 7), 255));
  } else if (model.mode == InputMode::fixed8) {
    ensure(sc.q, values);
    if (values_in)
      for (std::size_t i = 0; i < values; ++i) sc.q[i] = values_in[i];
    else
      for (std::size_t i = 0; i < values; ++i) sc.q[i] = q8[px[i]];
  } else {
    const Step& s0 = steps.front();
    if (s0.kind == LayerKind::conv3x3) {
      std::size_t wpp = s0.in_words;
      std::fill(cur, cur + std::size_t{in.height} * in.width * wpp, 0);
      for (std::size_t p = 0; p < std::size_t{in.height} * in.width; ++p)
        for (std::size_t c = 0; c < in.channels; ++c)
          if (px[p * in.channels + c] >= 128) cur[p * wpp + c / 64] |= std::uint64_t{1} << (c % 64);
    } else {
      std::size_t n = words(s0.fan_in);
      dense_bits(px, values, n, cur);
    }
  }

  for (const Step& st : steps) {
    switch (st.kind) {
      case LayerKind::maxpool2x2: {
        const std::size_t w = st.out_words, iw = st.in.width;
        for (std::size_t y = 0; y < st.out.height; ++y)
          for (std::size_t x = 0; x < st.out.width; ++x) {
            const std::uint64_t* a = cur + ((2 * y) * iw + 2 * x) * w;
            const std::uint64_t* b = a + iw * w;
            std::uint64_t* o = next + (y * st.out.width + x) * w;
            for (std::size_t k = 0; k < w; ++k) o[k] = a[k] | a[w + k] | b[k] | b[w + k];
          }
        break;
      }
      case LayerKind::conv3x3: {
        const std::size_t iw = st.in.width, c = st.in.channels;
        if (st.u8) {
          k->conv_u8(sc.u.data(), st.in.height, iw, c, st.wg.data(), st.opad, st.thr32.data(), next);
          break;
        }
        if (!st.fixed_input && k->conv_binary) {
          k->conv_binary(cur, st.in.height, iw, st.in_words, st.wt.data(), st.opad, st.limit.data(), next);
          break;
        }
        for (std::size_t y = 0; y < st.out.height; ++y)
          for (std::size_t x = 0; x < st.out.width; ++x) {
            std::uint64_t* o = next + (y * st.out.width + x) * st.out_words;
            if (st.fixed_input) {
              ensure(sc.qpatch, st.n);
              std::int16_t* qp = sc.qpatch.data();
              if (!st.fixed16)
                for (std::size_t ky = 0; ky < 3; ++ky)
                  std::memcpy(qp + ky * 3 * c, sc.q.data() + ((y + ky) * iw + x) * c, 3 * c * sizeof(std::int16_t));
              if (st.fixed16) {
                const std::int16_t* rows[3];
                for (std::size_t ky = 0; ky < 3; ++ky) rows[ky] = sc.q.data() + ((y + ky) * iw + x) * c;
                k->fixed_pack(rows, 3, 3 * c, st.w16.data(), st.plus.data(), st.opad, st.thr16.data(), o);
              } else {
                k->fixed(qp, st.n, st.w16.data(), st.opad, sc.acc.data());
                std::fill(o, o + st.out_words, 0);
                for (std::size_t ch = 0; ch < st.out.channels; ++ch)
                  o[ch / 64] |= static_cast<std::uint64_t>(sc.acc[ch] > st.thr[ch]) << (ch % 64);
              }
            } else {
              // The patch is three runs of 3 pixels' words in the map.
              const std::size_t w = st.in_words;
              const std::uint64_t* rows[3];
              for (std::size_t ky = 0; ky < 3; ++ky) rows[ky] = cur + ((y + ky) * iw + x) * w;
              k->binary_pack(rows, 3, 3 * w, st.wt.data(), st.opad, st.limit.data(), o);
            }
          }
        break;
      }
      case LayerKind::fc: {
        const std::uint64_t* input = cur;
        if (st.fixed_input) {
          ensure(sc.qpatch, st.n);
          std::fill(sc.qpatch.begin(), sc.qpatch.begin() + static_cast<std::ptrdiff_t>(st.n), 0);
          std::copy(sc.q.begin(), sc.q.begin() + static_cast<std::ptrdiff_t>(values), sc.qpatch.begin());
          k->fixed(sc.qpatch.data(), st.n, st.w16.data(), st.opad, sc.acc.data());
          if (st.last) {
            // Scores of an 8-bit layer: the +-1 sums themselves.
            for (std::size_t o = 0; o < st.out.channels; ++o) scores[o] = sc.acc[o];
            return;
          }
          std::fill(next, next + st.out_words, 0);
          for (std::size_t o = 0; o < st.out.channels; ++o)
            next[o / 64] |= static_cast<std::uint64_t>(sc.acc[o] > st.thr[o]) << (o % 64);
          break;
        }
        if (st.in_words && st.in.channels % 64 && st.in.height * st.in.width > 1) {
          // A map whose pixels do not fill whole words: make the bits dense.
          std::size_t pixels = std::size_t{st.in.height} * st.in.width, ch = st.in.channels;
          ensure(sc.dense, st.n + 1);
          std::fill(sc.dense.begin(), sc.dense.begin() + static_cast<std::ptrdiff_t>(st.n), 0);
          for (std::size_t p = 0; p < pixels; ++p)
            for (std::size_t c = 0; c < ch; ++c)
              if ((cur[p * st.in_words + c / 64] >> (c % 64)) & 1) {
                std::size_t bit = p * ch + c;
                sc.dense[bit / 64] |= std::uint64_t{1} << (bit % 64);
              }
          input = sc.dense.data();
        }
        if (st.last) {
          k->mismatch(input, st.n, st.wt.data(), st.opad, sc.d.data());
          for (std::size_t o = 0; o < st.out.channels; ++o)
            scores[o] = static_cast<std::int32_t>(st.fan_in) - static_cast<std::int32_t>(sc.d[o]);
          return;
        }
        const std::uint64_t* rows[1] = {input};
        k->binary_pack(rows, 1, st.n, st.wt.data(), st.opad, st.limit.data(), next);
        break;
      }
    }
    std::swap(cur, next);
  }
}

void Engine::Impl::run4(const std::uint8_t* px, std::int32_t* scores) const {
  thread_local std::vector<std::uint64_t> a, b;
  thread_local std::vector<std::uint32_t> d;
  std::size_t most = 0;
  for (const Step& st : steps) most = std::max({most, st.n, st.out_words});
  ensure(a, 4 * most);
  ensure(b, 4 * most);
  ensure(d, max_opad);
  const std::size_t values = model.input.values(), classes = model.classes.size();
  std::uint64_t* cur = a.data();
  std::uint64_t* next = b.data();
  // Image i's vector at cur + i * n, n the layer's input words (the one
  // before's output words).
  for (std::size_t i = 0; i < 4; ++i) dense_bits(px + i * values, values, steps.front().n, cur + i * steps.front().n);
  for (const Step& st : steps) {
    if (st.last) {
      for (std::size_t i = 0; i < 4; ++i) {
        k->mismatch(cur + i * st.n, st.n, st.wt.data(), st.opad, d.data());
        for (std::size_t o = 0; o < classes; ++o)
          scores[i * classes + o] = static_cast<std::int32_t>(st.fan_in) - static_cast<std::int32_t>(d[o]);
      }
      return;
    }
    k->fc_pack4(cur, st.n, st.wt.data(), st.opad, st.limit.data(), next, st.out_words);
    std::swap(cur, next);
  }
}

Engine::Engine(const Model& model, Isa isa) : impl_(std::make_unique<Impl>()) {
  model.validate();
  auto ok = supported_isas();
  if (std::find(ok.begin(), ok.end(), isa) == ok.end())
    throw Error(ErrorKind::device, std::string("this CPU cannot run the ") + isa_name(isa) + " code path");
  impl_->k = &kernels_for(isa);
  impl_->isa = isa;
  impl_->model = model;
  impl_->prepare();
  impl_->fc4 = impl_->k->fc_pack4 && model.mode == InputMode::binary &&
               std::all_of(model.layers.begin(), model.layers.end(), [](const Layer& l) { return l.kind == LayerKind::fc; });
}

Engine::~Engine() = default;

void Engine::classify(const std::uint8_t* pixels, std::int32_t* scores) const { impl_->run(pixels, nullptr, scores); }
void Engine::classify_batch(const std::uint8_t* pixels, std::size_t count, std::int32_t* scores) const {
  const std::size_t per = impl_->model.input.values(), n = classes();
  std::size_t i = 0;
  if (impl_->fc4)
    for (; i + 4 <= count; i += 4) impl_->run4(pixels + i * per, scores + i * n);
  for (; i < count; ++i) impl_->run(pixels + i * per, nullptr, scores + i * n);
}
void Engine::classify_fixed(const std::int8_t* values, std::int32_t* scores) const {
  if (impl_->model.mode != InputMode::fixed8)
    throw Error(ErrorKind::usage, "classify_fixed: the model takes 1-bit input, not Q1.7 values");
  impl_->run(nullptr, values, scores);
}
std::size_t Engine::classes() const { return impl_->model.classes.size(); }
Isa Engine::isa() const { return impl_->isa; }

}  // namespace fpgaio::bnn
