// AVX-512 (F, BW, VL, DQ) kernels (compiled with -mavx512f ... -mf16c).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "core/quant.h"
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

float dot_f32(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  acc0 = _mm512_add_ps(acc0, acc1);
  if (i < n) {  // masked tail: no scalar loop
    for (; i < n; i += 16) {
      const __mmask16 m = n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1);
      acc0 =
          _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
    }
  }
  return _mm512_reduce_add_ps(acc0);
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
    const __mmask16 m = n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1);
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
    const __mmask16 m = n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), v));
    _mm512_mask_storeu_ps(x + i, m, _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.0f), e)));
  }
}

void axpy(float* y, const float* x, float a, int64_t n) {
  const __m512 va = _mm512_set1_ps(a);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1);
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
    const auto mask = static_cast<__mmask16>(n - i >= 16 ? 0xffff : (1u << (n - i)) - 1);
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

// Adds chunk c (blocks c .. c + n) of one weight row into acc[R]. Full chunks
// (Full: n = 16, 64 bytes per group) load without masks at constant offsets.
// C independent integer sums per row, added at the end: exact, so the result
// does not depend on the split; one chain of 8 vpdpbusd per chunk waited on
// their latency.
template <DType F, int R, bool Full>
inline __attribute__((always_inline)) void q_chunk(const uint8_t* row, const uint8_t* quants,
                                                   const ActRows& x, int64_t c, int64_t n,
                                                   __m512* acc) {
  const int64_t bytes = Full ? 64 : 4 * n;
  const auto m16 = static_cast<__mmask16>(Full ? 0xffff : (1u << n) - 1);
  const __mmask64 m64 = Full ? ~0ull : (1ull << bytes) - 1;
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  constexpr int C = R <= 2 ? 4 : 2;
  __m512i dot[C][R];
  each<R>([&](auto i) {
    dot[0][i] = _mm512_maskz_loadu_epi32(m16, x.corr + i * x.corr_stride + c);
    each<C - 1>([&](auto k) { dot[k + 1][i] = _mm512_setzero_si512(); });
  });
  const int8_t* xq = x.q + c * 32;
  if constexpr (F == DType::kQ8) {
    const uint8_t* wq = quants + c * 32;
    for (int64_t l = 0; l < 512; l += 64)
      _mm_prefetch(reinterpret_cast<const char*>(wq + kPrefetchBytes + l), _MM_HINT_T0);
    each<8>([&](auto g) {
      const __m512i v = _mm512_maskz_loadu_epi8(m64, wq + g * bytes);
      each<R>([&](auto i) {
        __m512i& d = dot[g % C][i];
        d = _mm512_dpbusd_epi32(d, v, _mm512_loadu_si512(xq + i * x.q_stride + g * bytes));
      });
    });
  } else {
    const uint8_t* wq = quants + c * 16;
    for (int64_t l = 0; l < 256; l += 64)
      _mm_prefetch(reinterpret_cast<const char*>(wq + kPrefetchBytes + l), _MM_HINT_T0);
    each<4>([&](auto h) {
      const __m512i v = _mm512_maskz_loadu_epi8(m64, wq + h * bytes);
      const __m512i lo = _mm512_and_si512(v, low4);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
      each<R>([&](auto i) {
        const int8_t* xi = xq + i * x.q_stride + 2 * h * bytes;
        __m512i& d0 = dot[(2 * h) % C][i];
        __m512i& d1 = dot[(2 * h + 1) % C][i];
        d0 = _mm512_dpbusd_epi32(d0, lo, _mm512_loadu_si512(xi));
        d1 = _mm512_dpbusd_epi32(d1, hi, _mm512_loadu_si512(xi + bytes));
      });
    });
  }
  const __m512 dw = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m16, row + c * 2));
  each<R>([&](auto i) {
    each<C - 1>([&](auto k) { dot[0][i] = _mm512_add_epi32(dot[0][i], dot[k + 1][i]); });
    const __m512 dx = _mm512_maskz_loadu_ps(m16, x.d + i * x.d_stride + c);
    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[0][i]), _mm512_mul_ps(dw, dx), acc[i]);
  });
}

// A run of weight rows against R activation rows: per row, its full chunks,
// then a partial last chunk if the row has one, then R horizontal sums.
template <DType F, int R>
void dot_rows_q_run_n(const void* w, size_t row_bytes, int64_t count, const QuantizedActs& a,
                      int64_t m0, float* y, int64_t ldy) {
  const ActRows x{a.q_row(m0), a.d_row(m0), a.corr_row(m0), a.stride, a.blocks, a.corr_stride};
  const int64_t nb = a.blocks, full = nb / kChunkBlocks * kChunkBlocks;
  for (int64_t n = 0; n < count; ++n) {
    const auto* row = static_cast<const uint8_t*>(w) + n * row_bytes;
    const uint8_t* quants = row + nb * 2;
    __m512 acc[R];
    each<R>([&](auto i) { acc[i] = _mm512_setzero_ps(); });
    for (int64_t c = 0; c < full; c += kChunkBlocks)
      q_chunk<F, R, true>(row, quants, x, c, kChunkBlocks, acc);
    if (full < nb) q_chunk<F, R, false>(row, quants, x, full, nb - full, acc);
    each<R>([&](auto i) { y[i * ldy + n] = _mm512_reduce_add_ps(acc[i]); });
  }
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

}  // namespace

const VecKernels& vec_kernels_avx512() {
  static const VecKernels k{Isa::kAvx512,
                            dot_f32,
                            dot_bf16,
                            dot_f16,
                            snake,
                            axpy,
                            silu,
                            dot_rows<w16_f32, 4>,
                            dot_rows<w16_bf16, 2>,
                            dot_rows<w16_f16, 2>,
                            dot_rows_q_run<DType::kQ8>,
                            dot_rows_q_run<DType::kQ4>};
  return k;
}

}  // namespace izwi::cpu
