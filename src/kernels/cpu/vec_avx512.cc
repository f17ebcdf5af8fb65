// AVX-512 (F, BW, VL, DQ) kernels (compiled with -mavx512f ... -mf16c).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "core/quant.h"
#include "kernels/cpu/attention_rows.h"
#include "kernels/cpu/lanes_avx512.h"
#include "kernels/cpu/quant_acts.h"
#include "kernels/cpu/simd_exp.h"
#include "kernels/cpu/sin_avx512.h"
#include "kernels/cpu/vec.h"

namespace izwi::cpu {
namespace {

inline __m512 load_bf16(const uint16_t* p) {
  __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

inline __m512 load_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// 16 elements of a cached key or value row as f32: f32, or f16 bits widened
// exactly (the half-precision cache), all lanes or the first of mask m.
inline __m512 load16(const float* p) {
  return _mm512_loadu_ps(p);
}
inline __m512 load16(const uint16_t* p) {
  return load_f16(p);
}
inline __m512 load16(const float* p, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, p);
}
inline __m512 load16(const uint16_t* p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

// a . b before the final horizontal sum: two chains over 32-float steps,
// joined, then the masked tail (no scalar loop). b's elements of type T.
template <typename T>
inline __attribute__((always_inline)) __m512 dot_f32_lanes(const float* a, const T* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), load16(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), load16(b + i + 16), acc1);
  }
  acc0 = _mm512_add_ps(acc0, acc1);
  for (; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), load16(b + i, m), acc0);
  }
  return acc0;
}

float dot_f32(const float* a, const float* b, int64_t n) {
  return _mm512_reduce_add_ps(dot_f32_lanes(a, b, n));
}

float bf16_scalar(uint16_t v) {
  uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}
float f16_scalar(uint16_t v) {
  return _cvtsh_ss(v);
}

template <__m512 (*Load)(const uint16_t*), float (*Scalar)(uint16_t)>
float dot_half(const uint16_t* w, const float* x, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    _mm_prefetch(reinterpret_cast<const char*>(w + i) + kPrefetchBytes, _MM_HINT_T0);
    acc0 = _mm512_fmadd_ps(Load(w + i), _mm512_loadu_ps(x + i), acc0);
    acc1 = _mm512_fmadd_ps(Load(w + i + 16), _mm512_loadu_ps(x + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(Load(w + i), _mm512_loadu_ps(x + i), acc0);
  float s = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  for (; i < n; ++i) s += Scalar(w[i]) * x[i];
  return s;
}

float dot_bf16(const uint16_t* w, const float* x, int64_t n) {
  return dot_half<load_bf16, bf16_scalar>(w, x, n);
}
float dot_f16(const uint16_t* w, const float* x, int64_t n) {
  return dot_half<load_f16, f16_scalar>(w, x, n);
}

void snake(float* x, int64_t n, float alpha, float inv_beta) {
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(inv_beta);
  const __m512 limit = _mm512_set1_ps(simd_sin::kMaxArg);
  int64_t i = 0;
  for (; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __m512 arg = _mm512_mul_ps(v, va);
    // Outside the polynomial's range (or NaN): exact libm on those lanes.
    const __mmask16 bad = _mm512_cmp_ps_mask(_mm512_abs_ps(arg), limit, _CMP_NLE_UQ) & m;
    if (bad) {
      for (int k = 0; k < 16 && i + k < n; ++k) {
        const float s = std::sin(x[i + k] * alpha);
        x[i + k] += inv_beta * s * s;
      }
      continue;
    }
    const __m512 s = sin16(arg);
    _mm512_mask_storeu_ps(x + i, m, _mm512_fmadd_ps(vb, _mm512_mul_ps(s, s), v));
  }
}

// exp of 16 lanes (simd_exp.h); the argument clamped below at kMinArg, and
// above at 128, past which scalef saturates to infinity as exp does.
inline __m512 exp16(__m512 x) {
  using namespace simd_exp;
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(kMinArg)), _mm512_set1_ps(128.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  x = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), x);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kP0), x, _mm512_set1_ps(kP1));
  p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(kP2));
  p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(kP3));
  p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(kP4));
  p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(kP5));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

void silu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), v));
    _mm512_mask_storeu_ps(x + i, m, _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), e)));
  }
}

void axpy(float* y, const float* x, float a, int64_t n) {
  const __m512 va = _mm512_set1_ps(a);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    _mm512_mask_storeu_ps(
        y + i, m,
        _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

// 16 weights as f32, all lanes or the first `mask` lanes (zeros elsewhere).
inline __m512 w16_f32(const void* w, int64_t i, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, static_cast<const float*>(w) + i);
}
inline __m512 w16_bf16(const void* w, int64_t i, __mmask16 m) {
  const __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(w) + i);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline __m512 w16_f16(const void* w, int64_t i, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(w) + i));
}

// f(std::integral_constant<int, i>) for i = 0 .. N-1, unrolled in the source:
// per-row register arrays indexed only by constants are kept in registers (an
// indexed loop left GCC storing every accumulator to the stack each iteration).
template <int N, class F>
inline __attribute__((always_inline)) void each(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) {
    (f(std::integral_constant<int, I>{}), ...);
  }
  (std::make_integer_sequence<int, N>{});
}

// Each 16 weights are loaded and widened once, then multiplied into every row.
// The weight stream is prefetched as in the GEMVs (`Bytes` per weight): batched
// steps (several streams) read every weight through here. Two accumulators per
// row, over alternate 16s as in dot_half: half the FMA latency chain, and for
// rows of a multiple of 32 the sums of dot_half (a stream batched with others
// sums as it does alone).
template <__m512 (*Load)(const void*, int64_t, __mmask16), int Bytes, int R>
void dot_rows_n(const void* w, const float* x, int64_t ldx, int64_t n, float* out) {
  __m512 acc0[R], acc1[R];
  const float* xs[R];
  each<R>([&](auto m) {
    acc0[m] = acc1[m] = _mm512_setzero_ps();
    xs[m] = x + m * ldx;
  });
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    _mm_prefetch(static_cast<const char*>(w) + i * Bytes + kPrefetchBytes, _MM_HINT_T0);
    const __m512 w0 = Load(w, i, 0xffff), w1 = Load(w, i + 16, 0xffff);
    each<R>([&](auto m) {
      acc0[m] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xs[m] + i), acc0[m]);
      acc1[m] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xs[m] + i + 16), acc1[m]);
    });
  }
  for (; i < n; i += 16) {
    const __mmask16 mask = first_lanes(n - i);
    const __m512 wv = Load(w, i, mask);
    each<R>([&](auto m) {
      acc0[m] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(mask, xs[m] + i), acc0[m]);
    });
  }
  each<R>([&](auto m) { out[m] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[m], acc1[m])); });
}

using RowsFn = void (*)(const void*, const float*, int64_t, int64_t, float*);

template <__m512 (*Load)(const void*, int64_t, __mmask16), int Bytes, int... R>
constexpr std::array<RowsFn, sizeof...(R)> row_kernels(std::integer_sequence<int, R...>) {
  return {&dot_rows_n<Load, Bytes, R + 1>...};
}

// One instance per row count (the accumulators live in registers).
template <__m512 (*Load)(const void*, int64_t, __mmask16), int Bytes>
void dot_rows(const void* w, const float* x, int64_t ldx, int rows, int64_t n, float* out) {
  static constexpr auto kernels =
      row_kernels<Load, Bytes>(std::make_integer_sequence<int, kMaxDotRows>{});
  kernels[std::clamp(rows, 1, kMaxDotRows) - 1](w, x, ldx, n, out);
}

// ---- Q8 / Q4 weights (core/quant.h) with VNNI -------------------------------
// A chunk of 16 blocks is interleaved so that each 64-byte load holds four
// weights of every block, one block per 32-bit lane: vpdpbusd (unsigned weight
// quants x int8 activations, groups of four added into the lane) leaves lane l
// holding block l's integer dot product after 8 loads (Q8; Q4: 4 loads, each
// giving the low and the high nibbles). The lanes start from the activations'
// offset correction, so the sums are exact; one convert and one multiply-add
// by dw * dx then finish the 16 blocks. A partial last chunk (n < 16 blocks)
// has 4n bytes per group: masked loads keep the lanes beyond it at zero.
// The activation rows of one call: row i's values, scales and offset
// corrections at fixed distances from row 0's, found once per run of weight
// rows rather than once per row (a short row's setup cost as much as its
// dot products, and the pointers did not fit the registers).
struct ActRows {
  const int8_t* q;
  const float* d;
  const int32_t* corr;
  int64_t q_stride, d_stride, corr_stride;
};

// Q4's weight stream, kPrefetchBytes ahead: blocks c .. c + n's share of
// their row (18 bytes a block: its scale and 16 bytes of quants) in each of the
// W rows' streams. A run's rows are contiguous ([scales][quants] each), so the
// shares tile each stream and the prefetches walk it in order with no gap, the
// scales ahead with the quants (the line holding a share's end is touched here
// or by the next share's first prefetch). The chunk's quants alone left a line
// in nine: four rows from DRAM on one core took 4.3-5.2 ms against 3.9-4.4 now
// (bench_kernels, IZWI_BENCH_THREADS=1). Prefetching the missing lines out of
// order (a chunk's scales) gained nothing. Q8 keeps its quants' prefetches: one
// more a chunk made GCC spill in its four-row kernel (in L3 0.30 -> 0.38-0.41
// ms), and it already reads DRAM near the read loop's speed. A plain loop: GCC
// dropped prefetches written in an each<W> lambda.
template <int W, bool Full>
inline __attribute__((always_inline)) void prefetch_q4_stream(const uint8_t* row, size_t apart,
                                                              int64_t c, int64_t n) {
  constexpr int64_t kBlockBytes = 2 + kQuantBlock / 2;
  const int64_t bytes = (Full ? kChunkBlocks : n) * kBlockBytes;
  const char* p = reinterpret_cast<const char*>(row + kPrefetchBytes + c * kBlockBytes);
  for (int w = 0; w < W; ++w)
    for (int64_t l = 0; l < bytes; l += 64) _mm_prefetch(p + w * apart + l, _MM_HINT_T0);
}

// Adds chunk c (blocks c .. c + n) of W weight rows (`apart` bytes apart) into
// acc[w * R + i]. Full chunks (Full: n = 16, 64 bytes per group) load without
// masks at constant offsets. Two weight rows share each activation load: with
// one, four streams' rows (R = 4) loaded 64 activation bytes per vpdpbusd. C
// independent integer sums per (weight row, activation row), added at the end:
// exact, so the result does not depend on the split (nor on W); one chain of 8
// vpdpbusd per chunk waited on their latency. C shrinks as W * R grows so that
// everything stays in the 32 registers (GCC spilled the accumulators past that).
template <DType F, int R, int W, bool Full>
inline __attribute__((always_inline)) void q_chunk(const uint8_t* row, size_t apart, int64_t nb,
                                                   const ActRows& x, int64_t c, int64_t n,
                                                   __m512 (&acc)[W * R]) {
  const int64_t bytes = Full ? 64 : 4 * n;
  const auto m16 = static_cast<__mmask16>(Full ? 0xffff : (1u << n) - 1);
  const __mmask64 m64 = Full ? ~0ull : (1ull << bytes) - 1;
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  constexpr int C = R * W <= 2 ? 4 : R * W <= 6 ? 2 : 1;
  __m512i dot[W * C * R];  // [w][k][i], flat: GCC kept a 3-D array on the stack
  each<W>([&](auto w) {
    each<R>([&](auto i) {
      dot[(w * C) * R + i] = _mm512_maskz_loadu_epi32(m16, x.corr + i * x.corr_stride + c);
      each<C - 1>([&](auto k) { dot[(w * C + k + 1) * R + i] = _mm512_setzero_si512(); });
    });
  });
  const int8_t* xq = x.q + c * 32;
  if constexpr (F == DType::kQ8) {
    const uint8_t* wq = row + nb * 2 + c * 32;
    // A plain loop: GCC dropped these prefetches from an each<W> lambda.
    for (int w = 0; w < W; ++w)
      for (int64_t l = 0; l < 512; l += 64)
        _mm_prefetch(reinterpret_cast<const char*>(wq + w * apart + kPrefetchBytes + l),
                     _MM_HINT_T0);
    each<8>([&](auto g) {
      __m512i v[W];
      each<W>([&](auto w) { v[w] = _mm512_maskz_loadu_epi8(m64, wq + w * apart + g * bytes); });
      each<R>([&](auto i) {
        const __m512i a = _mm512_loadu_si512(xq + i * x.q_stride + g * bytes);
        each<W>([&](auto w) {
          constexpr int j = (w * C + g % C) * R + i;
          dot[j] = _mm512_dpbusd_epi32(dot[j], v[w], a);
        });
      });
    });
  } else {
    const uint8_t* wq = row + nb * 2 + c * 16;
    prefetch_q4_stream<W, Full>(row, apart, c, n);
    each<4>([&](auto h) {
      __m512i lo[W], hi[W];
      each<W>([&](auto w) {
        const __m512i v = _mm512_maskz_loadu_epi8(m64, wq + w * apart + h * bytes);
        lo[w] = _mm512_and_si512(v, low4);
        hi[w] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
      });
      each<R>([&](auto i) {
        const int8_t* xi = xq + i * x.q_stride + 2 * h * bytes;
        const __m512i a0 = _mm512_loadu_si512(xi), a1 = _mm512_loadu_si512(xi + bytes);
        each<W>([&](auto w) {
          constexpr int j0 = (w * C + (2 * h) % C) * R + i, j1 = (w * C + (2 * h + 1) % C) * R + i;
          dot[j0] = _mm512_dpbusd_epi32(dot[j0], lo[w], a0);
          dot[j1] = _mm512_dpbusd_epi32(dot[j1], hi[w], a1);
        });
      });
    });
  }
  each<W>([&](auto w) {
    const __m512 dw = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m16, row + w * apart + c * 2));
    each<R>([&](auto i) {
      each<C - 1>([&](auto k) {
        dot[w * C * R + i] = _mm512_add_epi32(dot[w * C * R + i], dot[(w * C + k + 1) * R + i]);
      });
      const __m512 dx = _mm512_maskz_loadu_ps(m16, x.d + i * x.d_stride + c);
      acc[w * R + i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[w * C * R + i]),
                                       _mm512_mul_ps(dw, dx), acc[w * R + i]);
    });
  });
}

// The lane sums of v[0..7] into out[0..7], adding the lanes in the pairs
// _mm512_reduce_add_ps adds them in (halves of 256, then of 128, then 64,
// then 32 bits), so each sum is bit for bit that of the one-vector reduction
// (a stream's logits do not depend on how many streams are batched), in 23
// instructions instead of 8 x 8.
inline __attribute__((always_inline)) void reduce8(const __m512 (&v)[8], float* out) {
  __m512 s[4];  // s[k]: the 256-bit halves' sums of v[2k] (lanes 0-7) and v[2k+1] (8-15)
  each<4>([&](auto k) {
    const __m512 a = v[2 * k], b = v[2 * k + 1];
    s[k] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
  });
  // u[h]: 128-bit block j holds the 128-bit halves' sum of v[4h + j].
  __m512 u[2];
  each<2>([&](auto h) {
    const __m512 a = s[2 * h], b = s[2 * h + 1];
    u[h] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
  });
  // Block j: lanes 0, 1 the pair sums of v[j], lanes 2, 3 those of v[4 + j].
  const __m512 g = _mm512_add_ps(_mm512_shuffle_ps(u[0], u[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm512_shuffle_ps(u[0], u[1], _MM_SHUFFLE(3, 2, 3, 2)));
  // Block j: lane 0 the sum of v[j], lane 1 that of v[4 + j].
  const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(g, g, _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_ps(g, g, _MM_SHUFFLE(3, 1, 3, 1)));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, r);
  each<4>([&](auto j) {
    out[j] = lanes[4 * j];
    out[4 + j] = lanes[4 * j + 1];
  });
}

// Eight keys at a time, their chains interleaved and reduced together
// (reduce8 adds lanes as _mm512_reduce_add_ps does): each score is bit for
// bit dot_f32's, without waiting on one key's chain and reduction at a time.
template <typename T>
void dot_keys_avx512(const float* q, const T* k, int64_t ldk, int64_t rows, int64_t n,
                     const uint8_t* valid, float scale, float* out) {
  int64_t j = 0;
  for (; j + 8 <= rows; j += 8) {
    for (int64_t r = j + rows_ahead<T>(); r < std::min(rows, j + rows_ahead<T>() + 8); ++r)
      prefetch_row(k + r * ldk, n);
    __m512 lanes[8];
    each<8>([&](auto r) { lanes[r] = dot_f32_lanes(q, k + (j + r) * ldk, n); });
    float sums[8];
    reduce8(lanes, sums);
    for (int r = 0; r < 8; ++r)
      if (!valid || valid[j + r]) out[j + r] = sums[r] * scale;
  }
  for (; j < rows; ++j)
    if (!valid || valid[j]) out[j] = _mm512_reduce_add_ps(dot_f32_lanes(q, k + j * ldk, n)) * scale;
}

// Two queries against four keys at a time: each key row is loaded once for
// both. Per (query, key) the same fused multiply-adds in the same order as
// dot_f32_lanes (two chains over 32-float steps, joined, then the masked
// tail), reduced by reduce8 in _mm512_reduce_add_ps's lane order: each score
// is bit for bit dot_keys_avx512's for that query alone.
template <typename T>
void dot_keys2_avx512(const float* q, int64_t ldq, const T* k, int64_t ldk, int64_t rows, int64_t n,
                      const uint8_t* valid, float scale, float* out, int64_t ldo) {
  const float *q0 = q, *q1 = q + ldq;
  int64_t j = 0;
  for (; j + 4 <= rows; j += 4) {
    for (int64_t r = j + rows_ahead<T>(); r < std::min(rows, j + rows_ahead<T>() + 4); ++r)
      prefetch_row(k + r * ldk, n);
    __m512 a0[4], a1[4], b0[4], b1[4];  // query 0's two chains, query 1's, per key
    each<4>([&](auto r) { a0[r] = a1[r] = b0[r] = b1[r] = _mm512_setzero_ps(); });
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      const __m512 x00 = _mm512_loadu_ps(q0 + i), x01 = _mm512_loadu_ps(q0 + i + 16);
      const __m512 x10 = _mm512_loadu_ps(q1 + i), x11 = _mm512_loadu_ps(q1 + i + 16);
      each<4>([&](auto r) {
        const T* kr = k + (j + r) * ldk + i;
        const __m512 k0 = load16(kr), k1 = load16(kr + 16);
        a0[r] = _mm512_fmadd_ps(x00, k0, a0[r]);
        a1[r] = _mm512_fmadd_ps(x01, k1, a1[r]);
        b0[r] = _mm512_fmadd_ps(x10, k0, b0[r]);
        b1[r] = _mm512_fmadd_ps(x11, k1, b1[r]);
      });
    }
    each<4>([&](auto r) {
      a0[r] = _mm512_add_ps(a0[r], a1[r]);
      b0[r] = _mm512_add_ps(b0[r], b1[r]);
    });
    for (; i < n; i += 16) {
      const __mmask16 m = first_lanes(n - i);
      const __m512 x0 = _mm512_maskz_loadu_ps(m, q0 + i), x1 = _mm512_maskz_loadu_ps(m, q1 + i);
      each<4>([&](auto r) {
        const __m512 kv = load16(k + (j + r) * ldk + i, m);
        a0[r] = _mm512_fmadd_ps(x0, kv, a0[r]);
        b0[r] = _mm512_fmadd_ps(x1, kv, b0[r]);
      });
    }
    const __m512 lanes[8] = {a0[0], a0[1], a0[2], a0[3], b0[0], b0[1], b0[2], b0[3]};
    float sums[8];
    reduce8(lanes, sums);
    for (int r = 0; r < 4; ++r)
      if (!valid || valid[j + r]) {
        out[j + r] = sums[r] * scale;
        out[ldo + j + r] = sums[4 + r] * scale;
      }
  }
  for (; j < rows; ++j)
    if (!valid || valid[j]) {
      out[j] = _mm512_reduce_add_ps(dot_f32_lanes(q0, k + j * ldk, n)) * scale;
      out[ldo + j] = _mm512_reduce_add_ps(dot_f32_lanes(q1, k + j * ldk, n)) * scale;
    }
}

// G outputs (1, or 2: two query heads of one key head) from the same value
// rows. 128 floats of each output stay in registers across the keys (8 or 16
// accumulators), each value row is loaded once for all of them, and each
// output gets the same fused multiply-adds in the same order as axpy per key,
// with no load and store of y per key.
template <int G, typename T>
inline __attribute__((always_inline)) void axpy_values_g(float* y, int64_t ldy, const T* v,
                                                         int64_t ldv, const float* a, int64_t lda,
                                                         const float* scale, int64_t rows,
                                                         int64_t n, const uint8_t* valid) {
  constexpr int64_t kBlock = 128;
  for (int64_t c = 0; c < n; c += kBlock) {
    const int64_t width = std::min(kBlock, n - c);
    __m512 acc[G][8];
    __mmask16 mask[8];
    each<8>([&](auto b) {
      mask[b] = first_lanes(width - b * 16);
      each<G>(
          [&](auto g) { acc[g][b] = _mm512_maskz_loadu_ps(mask[b], y + g * ldy + c + b * 16); });
    });
    for (int64_t j = 0; j < rows; ++j) {
      if (j + rows_ahead<T>() < rows) prefetch_row(v + (j + rows_ahead<T>()) * ldv + c, width);
      if (valid && !valid[j]) continue;
      __m512 va[G];
      each<G>([&](auto g) { va[g] = _mm512_set1_ps(a[g * lda + j] * scale[g]); });
      const T* vj = v + j * ldv + c;
      each<8>([&](auto b) {
        if (mask[b]) {
          const __m512 x = load16(vj + b * 16, mask[b]);
          each<G>([&](auto g) { acc[g][b] = _mm512_fmadd_ps(va[g], x, acc[g][b]); });
        }
      });
    }
    each<8>([&](auto b) {
      each<G>([&](auto g) { _mm512_mask_storeu_ps(y + g * ldy + c + b * 16, mask[b], acc[g][b]); });
    });
  }
}

template <typename T>
void axpy_values_avx512(float* y, const T* v, int64_t ldv, const float* a, float scale,
                        int64_t rows, int64_t n, const uint8_t* valid) {
  axpy_values_g<1>(y, 0, v, ldv, a, 0, &scale, rows, n, valid);
}

template <typename T>
void axpy_values2_avx512(float* y, int64_t ldy, const T* v, int64_t ldv, const float* a,
                         int64_t lda, const float* scale, int64_t rows, int64_t n,
                         const uint8_t* valid) {
  axpy_values_g<2>(y, ldy, v, ldv, a, lda, scale, rows, n, valid);
}

void to_f16(const float* x, int64_t n, uint16_t* out) {
  const __m512 hi = _mm512_set1_ps(kF16Max), lo = _mm512_set1_ps(-kF16Max);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    // min / max return their second operand when either is NaN: NaN stays.
    const __m512 v = _mm512_max_ps(lo, _mm512_min_ps(hi, _mm512_maskz_loadu_ps(m, x + i)));
    _mm256_mask_storeu_epi16(out + i, m,
                             _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
}

// W weight rows from `row` against R activation rows: their full chunks, then
// a partial last chunk if the rows have one, then W * R horizontal sums.
template <DType F, int R, int W>
inline __attribute__((always_inline)) void q_rows(const uint8_t* row, size_t row_bytes,
                                                  int64_t apart, const ActRows& x, int64_t nb,
                                                  float* y, int64_t ldy) {
  const int64_t full = nb / kChunkBlocks * kChunkBlocks;
  __m512 acc[W * R];
  each<W * R>([&](auto j) { acc[j] = _mm512_setzero_ps(); });
  for (int64_t c = 0; c < full; c += kChunkBlocks)
    q_chunk<F, R, W, true>(row, apart * row_bytes, nb, x, c, kChunkBlocks, acc);
  if (full < nb) q_chunk<F, R, W, false>(row, apart * row_bytes, nb, x, full, nb - full, acc);
  if constexpr (W * R == 8) {
    alignas(64) float sums[16];
    reduce8(acc, sums);
    each<W>([&](auto w) { each<R>([&](auto i) { y[i * ldy + w * apart] = sums[w * R + i]; }); });
  } else {
    each<W>([&](auto w) {
      each<R>([&](auto i) { y[i * ldy + w * apart] = _mm512_reduce_add_ps(acc[w * R + i]); });
    });
  }
}

// A run of weight rows against R activation rows, two weight rows at a time:
// row n with row n + count / 2, so that each of the two is a forward stream
// through memory. Rows n and n + 1 together read the run back and forth, and
// the hardware prefetchers lost it: from L3 (9 MB of Q4, one thread, four
// rows) 19 GB/s against 25 before the pairing; as two streams 28 GB/s.
template <DType F, int R>
void dot_rows_q_run_n(const void* w, size_t row_bytes, int64_t count, const QuantizedActs& a,
                      int64_t m0, float* y, int64_t ldy) {
  const ActRows x{a.q_row(m0), a.d_row(m0), a.corr_row(m0), a.stride, a.blocks, a.corr_stride};
  const auto* rows = static_cast<const uint8_t*>(w);
  const int64_t half = count / 2;
  for (int64_t n = 0; n < half; ++n)
    q_rows<F, R, 2>(rows + n * row_bytes, row_bytes, half, x, a.blocks, y + n, ldy);
  if (count % 2)
    q_rows<F, R, 1>(rows + (count - 1) * row_bytes, row_bytes, 0, x, a.blocks, y + count - 1, ldy);
}

template <DType F>
void dot_rows_q_run(const void* w, size_t row_bytes, int64_t count, const QuantizedActs& a,
                    int64_t m0, int rows, float* y, int64_t ldy) {
  switch (std::clamp(rows, 1, kMaxQuantRows)) {
    case 1:
      return dot_rows_q_run_n<F, 1>(w, row_bytes, count, a, m0, y, ldy);
    case 2:
      return dot_rows_q_run_n<F, 2>(w, row_bytes, count, a, m0, y, ldy);
    case 3:
      return dot_rows_q_run_n<F, 3>(w, row_bytes, count, a, m0, y, ldy);
    default:
      return dot_rows_q_run_n<F, 4>(w, row_bytes, count, a, m0, y, ldy);
  }
}

// As the AVX2 one: the matrix dense, a coefficient vector in memory per term,
// the inputs in NI registers.
template <int NI>
void mix_rows_dense(const MixMatrix& m, const float* const* in, float* const* out, int64_t n) {
  __m512 coef[kMaxMixRows][NI];
  for (int p = 0, e = 0; p < m.n_out; ++p) {
    for (int j = 0; j < NI; ++j) coef[p][j] = _mm512_setzero_ps();
    for (int k = 0; k < m.count[p]; ++k, ++e) coef[p][m.col[e]] = _mm512_set1_ps(m.value[e]);
  }
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k16 = first_lanes(n - i);
    __m512 u[NI];
#pragma GCC unroll 16
    for (int j = 0; j < NI; ++j)
      u[j] = j < m.n_in ? _mm512_maskz_loadu_ps(k16, in[j] + i) : _mm512_setzero_ps();
    for (int p = 0; p < m.n_out; ++p) {
      __m512 acc = _mm512_mul_ps(coef[p][0], u[0]);
#pragma GCC unroll 16
      for (int j = 1; j < NI; ++j) acc = _mm512_fmadd_ps(coef[p][j], u[j], acc);
      _mm512_mask_storeu_ps(out[p] + i, k16, acc);
    }
  }
}

void mix_rows(const MixMatrix& m, const float* const* in, float* const* out, int64_t n) {
  if (m.n_in <= 8)
    mix_rows_dense<8>(m, in, out, n);
  else if (m.n_in <= 10)  // F(4, 7)'s 10 rows, with no product by a padding zero
    mix_rows_dense<10>(m, in, out, n);
  else if (m.n_in <= 12)  // 12 inputs still fit in registers
    mix_rows_dense<12>(m, in, out, n);
  else
    mix_rows_dense<kMaxMixRows>(m, in, out, n);
}

}  // namespace

const VecKernels& vec_kernels_avx512() {
  static const VecKernels k{Isa::kAvx512,
                            dot_f32,
                            dot_bf16,
                            dot_f16,
                            snake,
                            axpy,
                            dot_keys_avx512<float>,
                            axpy_values_avx512<float>,
                            dot_keys2_avx512<float>,
                            axpy_values2_avx512<float>,
                            dot_keys_avx512<uint16_t>,
                            axpy_values_avx512<uint16_t>,
                            dot_keys2_avx512<uint16_t>,
                            axpy_values2_avx512<uint16_t>,
                            to_f16,
                            silu,
                            dot_rows<w16_f32, 4>,
                            dot_rows<w16_bf16, 2>,
                            dot_rows<w16_f16, 2>,
                            dot_rows_q_run<DType::kQ8>,
                            dot_rows_q_run<DType::kQ4>,
                            mix_rows};
  return k;
}

}  // namespace izwi::cpu
