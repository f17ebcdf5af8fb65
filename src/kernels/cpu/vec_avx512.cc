// AVX-512 (F, BW, VL, DQ) kernels (compiled with -mavx512f ... -mf16c).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "core/quant.h"
#include "kernels/cpu/quant_acts.h"
#include "kernels/cpu/simd_sin.h"
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

// sin of 16 lanes; see simd_sin.h.
inline __m512 sin16(__m512 x) {
  using namespace simd_sin;
  const __m512i sign_bit = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), sign_bit);
  x = _mm512_abs_ps(x);
  __m512i j = _mm512_cvttps_epi32(_mm512_mul_ps(x, _mm512_set1_ps(kFourOverPi)));
  j = _mm512_and_si512(_mm512_add_epi32(j, _mm512_set1_epi32(1)), _mm512_set1_epi32(~1));
  const __m512 y = _mm512_cvtepi32_ps(j);
  sign = _mm512_xor_si512(sign, _mm512_slli_epi32(_mm512_and_si512(j, _mm512_set1_epi32(4)), 29));
  const __mmask16 use_cos = _mm512_test_epi32_mask(j, _mm512_set1_epi32(2));
  x = _mm512_fnmadd_ps(y, _mm512_set1_ps(kDp1), x);
  x = _mm512_fnmadd_ps(y, _mm512_set1_ps(kDp2), x);
  x = _mm512_fnmadd_ps(y, _mm512_set1_ps(kDp3), x);
  const __m512 z = _mm512_mul_ps(x, x);
  __m512 c = _mm512_fmadd_ps(_mm512_set1_ps(kCos0), z, _mm512_set1_ps(kCos1));
  c = _mm512_fmadd_ps(c, z, _mm512_set1_ps(kCos2));
  c = _mm512_mul_ps(_mm512_mul_ps(c, z), z);
  c = _mm512_fnmadd_ps(_mm512_set1_ps(0.5f), z, c);
  c = _mm512_add_ps(c, _mm512_set1_ps(1.0f));
  __m512 s = _mm512_fmadd_ps(_mm512_set1_ps(kSin0), z, _mm512_set1_ps(kSin1));
  s = _mm512_fmadd_ps(s, z, _mm512_set1_ps(kSin2));
  s = _mm512_fmadd_ps(_mm512_mul_ps(s, z), x, x);
  const __m512 r = _mm512_mask_blend_ps(use_cos, s, c);
  return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(r), sign));
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

// Each 16 weights are loaded and widened once, then multiplied into every row.
template <__m512 (*Load)(const void*, int64_t, __mmask16), int R>
void dot_rows_n(const void* w, const float* x, int64_t ldx, int64_t n, float* out) {
  __m512 acc[R];
  for (int m = 0; m < R; ++m) acc[m] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 wv = Load(w, i, 0xffff);
    for (int m = 0; m < R; ++m)
      acc[m] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + m * ldx + i), acc[m]);
  }
  if (i < n) {
    const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 wv = Load(w, i, mask);
    for (int m = 0; m < R; ++m)
      acc[m] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(mask, x + m * ldx + i), acc[m]);
  }
  for (int m = 0; m < R; ++m) out[m] = _mm512_reduce_add_ps(acc[m]);
}

using RowsFn = void (*)(const void*, const float*, int64_t, int64_t, float*);

template <__m512 (*Load)(const void*, int64_t, __mmask16), int... R>
constexpr std::array<RowsFn, sizeof...(R)> row_kernels(std::integer_sequence<int, R...>) {
  return {&dot_rows_n<Load, R + 1>...};
}

// One instance per row count (the accumulators live in registers).
template <__m512 (*Load)(const void*, int64_t, __mmask16)>
void dot_rows(const void* w, const float* x, int64_t ldx, int rows, int64_t n, float* out) {
  static constexpr auto kernels = row_kernels<Load>(std::make_integer_sequence<int, kMaxDotRows>{});
  kernels[std::clamp(rows, 1, kMaxDotRows) - 1](w, x, ldx, n, out);
}

// ---- Q8 / Q4 weights (core/quant.h) with VNNI -------------------------------
// vpdpbusd multiplies the unsigned weight quants with the int8 activations and
// adds groups of four into 16 i32 lanes; each lane stays inside one block (8
// lanes per Q8 block, 4 per Q4 block). The lanes start from the activations'
// precomputed offset correction (quant_acts.h), so after the dot products they
// hold the exact integer sums; converted to float they are scaled by dw * dx,
// spread from a vector of 16 block scales with one permute.
//
// The row is walked in chunks of 16 blocks: one masked load of 16 f16 scales,
// then 8 (Q8) or 4 (Q4) 64-byte weight loads, each used for every activation row.

template <int R>
inline void chunk_scales(const uint8_t* row, const QuantizedActs& a, int64_t m0, int64_t c,
                         __mmask16 m, __m512* sc) {
  const __m512 dw = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + c * 2));
  for (int i = 0; i < R; ++i)
    sc[i] = _mm512_mul_ps(dw, _mm512_maskz_loadu_ps(m, a.d_row(m0 + i) + c));
}

template <int R>
void dot_rows_q8_n(const void* w, const QuantizedActs& a, int64_t m0, float* out) {
  const auto* row = static_cast<const uint8_t*>(w);
  const uint8_t* quants = row + a.blocks * 2;
  // Lanes 0-7 take the first block of a pair's scale, lanes 8-15 the second's.
  const __m512i pair_lanes = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  __m512 acc[R], sc[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t c = 0; c < a.blocks; c += 16) {
    const int64_t n = std::min<int64_t>(16, a.blocks - c);
    chunk_scales<R>(row, a, m0, c, static_cast<__mmask16>((1u << n) - 1), sc);
    for (int64_t p = 0; 2 * p < n; ++p) {
      const int64_t b = c + 2 * p;  // first block of the pair
      const __mmask64 wm = n - 2 * p >= 2 ? ~0ull : 0xFFFFFFFFull;
      const __m512i wq = _mm512_maskz_loadu_epi8(wm, quants + b * 32);
      const __m512i idx = _mm512_add_epi32(pair_lanes, _mm512_set1_epi32(static_cast<int>(2 * p)));
      for (int i = 0; i < R; ++i) {
        const __m512i corr = _mm512_loadu_si512(a.corr_row(m0 + i) + (b / 2) * 16);
        const __m512i x = _mm512_loadu_si512(a.q_row(m0 + i) + b * 32);
        const __m512i dp = _mm512_dpbusd_epi32(corr, wq, x);
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), _mm512_permutexvar_ps(idx, sc[i]), acc[i]);
      }
    }
  }
  for (int i = 0; i < R; ++i) out[i] = _mm512_reduce_add_ps(acc[i]);
}

template <int R>
void dot_rows_q4_n(const void* w, const QuantizedActs& a, int64_t m0, float* out) {
  const auto* row = static_cast<const uint8_t*>(w);
  const uint8_t* quants = row + a.blocks * 2;
  // Lanes 4i..4i+3 take block i's scale of a group of four.
  const __m512i group_lanes = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  __m512 acc[R], sc[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t c = 0; c < a.blocks; c += 16) {
    const int64_t n = std::min<int64_t>(16, a.blocks - c);
    chunk_scales<R>(row, a, m0, c, static_cast<__mmask16>((1u << n) - 1), sc);
    for (int64_t g = 0; 4 * g < n; ++g) {
      const int64_t group = c / 4 + g;
      const int64_t blocks = std::min<int64_t>(4, n - 4 * g);
      const __mmask64 wm = blocks == 4 ? ~0ull : (1ull << (16 * blocks)) - 1;
      const __m512i v = _mm512_maskz_loadu_epi8(wm, quants + group * 64);
      const __m512i lo = _mm512_and_si512(v, low4);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
      const __m512i idx = _mm512_add_epi32(group_lanes, _mm512_set1_epi32(static_cast<int>(4 * g)));
      for (int i = 0; i < R; ++i) {
        const int8_t* x = a.q_row(m0 + i) + group * 128;
        const __m512i corr = _mm512_loadu_si512(a.corr_row(m0 + i) + group * 16);
        __m512i dp = _mm512_dpbusd_epi32(corr, lo, _mm512_loadu_si512(x));
        dp = _mm512_dpbusd_epi32(dp, hi, _mm512_loadu_si512(x + 64));
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), _mm512_permutexvar_ps(idx, sc[i]), acc[i]);
      }
    }
  }
  for (int i = 0; i < R; ++i) out[i] = _mm512_reduce_add_ps(acc[i]);
}

template <void (*K1)(const void*, const QuantizedActs&, int64_t, float*),
          void (*K2)(const void*, const QuantizedActs&, int64_t, float*),
          void (*K3)(const void*, const QuantizedActs&, int64_t, float*),
          void (*K4)(const void*, const QuantizedActs&, int64_t, float*)>
void dot_rows_q(const void* w, const QuantizedActs& a, int64_t m0, int rows, float* out) {
  switch (std::clamp(rows, 1, kMaxQuantRows)) {
    case 1:
      return K1(w, a, m0, out);
    case 2:
      return K2(w, a, m0, out);
    case 3:
      return K3(w, a, m0, out);
    default:
      return K4(w, a, m0, out);
  }
}

}  // namespace

const VecKernels& vec_kernels_avx512() {
  static const VecKernels k{
      Isa::kAvx512,
      dot_f32,
      dot_bf16,
      dot_f16,
      snake,
      axpy,
      dot_rows<w16_f32>,
      dot_rows<w16_bf16>,
      dot_rows<w16_f16>,
      dot_rows_q<dot_rows_q8_n<1>, dot_rows_q8_n<2>, dot_rows_q8_n<3>, dot_rows_q8_n<4>>,
      dot_rows_q<dot_rows_q4_n<1>, dot_rows_q4_n<2>, dot_rows_q4_n<3>, dot_rows_q4_n<4>>};
  return k;
}

}  // namespace izwi::cpu
