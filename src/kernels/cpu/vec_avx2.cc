// AVX2 + FMA + F16C kernels (compiled with -mavx2 -mfma -mf16c).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

#include "core/quant.h"
#include "kernels/cpu/attention_rows.h"
#include "kernels/cpu/quant_acts.h"
#include "kernels/cpu/simd_exp.h"
#include "kernels/cpu/simd_sin.h"
#include "kernels/cpu/vec.h"

namespace izwi::cpu {
namespace {

inline float hsum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

inline __m256 load_bf16(const uint16_t* p) {
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

inline __m256 load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Eight elements of a cached row (f32, or f16 bits widened exactly), and one.
inline __m256 load8(const float* p) {
  return _mm256_loadu_ps(p);
}
inline __m256 load8(const uint16_t* p) {
  return load_f16(p);
}
inline float widen(float v) {
  return v;
}
inline float widen(uint16_t v) {
  return _cvtsh_ss(v);
}

// a . b with b's elements of type T: the f32 dot product, and the attention
// kernels' over an f16 cache (the same sums on the widened row).
template <typename T>
float dot_row(const float* a, const T* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load8(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), acc0);
  float s = hsum(_mm256_add_ps(acc0, acc1));
  // Fused, as the vector loop is: GCC contracted a * b + s for one element
  // type and not the other, and the two must give the same sums.
  for (; i < n; ++i) s = std::fma(a[i], widen(b[i]), s);
  return s;
}

float dot_f32(const float* a, const float* b, int64_t n) {
  return dot_row<float>(a, b, n);
}

template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t)>
float dot_half(const uint16_t* w, const float* x, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    if (i % 32 == 0)  // one 64-byte line per 32 weights
      _mm_prefetch(reinterpret_cast<const char*>(w + i) + kPrefetchBytes, _MM_HINT_T0);
    acc0 = _mm256_fmadd_ps(Load(w + i), _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(Load(w + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(Load(w + i), _mm256_loadu_ps(x + i), acc0);
  float s = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += Scalar(w[i]) * x[i];
  return s;
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

float dot_bf16(const uint16_t* w, const float* x, int64_t n) {
  return dot_half<load_bf16, bf16_scalar>(w, x, n);
}
float dot_f16(const uint16_t* w, const float* x, int64_t n) {
  return dot_half<load_f16, f16_scalar>(w, x, n);
}

// sin^2 of 8 lanes (accurate for |x| < simd_sin::kMaxArg), SnakeBeta's only
// use of the sine. sin^2 has period pi, and a quarter period on it is cos^2 =
// 1 - sin^2, so x is reduced by pi/2 (Cody-Waite, simd_sin.h's parts doubled)
// to r in [-pi/4, pi/4] and only the sine polynomial is needed: half the work
// of sin(x) squared, which also had to pick between two polynomials and a sign.
// 1 - s^2 loses nothing: there s^2 <= 1/2.
inline __m256 sin2_8(__m256 x) {
  using namespace simd_sin;
  const __m256 j = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kTwoOverPi)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(j, _mm256_set1_ps(2 * kDp1), x);
  r = _mm256_fnmadd_ps(j, _mm256_set1_ps(2 * kDp2), r);
  r = _mm256_fnmadd_ps(j, _mm256_set1_ps(2 * kDp3), r);
  const __m256 z = _mm256_mul_ps(r, r);
  __m256 s = _mm256_fmadd_ps(_mm256_set1_ps(kSin0), z, _mm256_set1_ps(kSin1));
  s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(kSin2));
  s = _mm256_fmadd_ps(_mm256_mul_ps(s, z), r, r);
  const __m256 s2 = _mm256_mul_ps(s, s);
  // An odd j (its low bit moved to the sign bit, which blendv reads): cos^2.
  const __m256 odd = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtps_epi32(j), 31));
  return _mm256_blendv_ps(s2, _mm256_sub_ps(_mm256_set1_ps(1.0f), s2), odd);
}

// exp of 8 lanes (simd_exp.h); the argument clamped to [kMinArg, kMaxArg], so
// 2^n is a normal float built in its exponent bits, and infinity past kMaxArg.
inline __m256 exp8(__m256 x) {
  using namespace simd_exp;
  const __m256 over = _mm256_cmp_ps(x, _mm256_set1_ps(kMaxArg), _CMP_GT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kMinArg)), _mm256_set1_ps(kMaxArg));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  x = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), x);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kP0), x, _mm256_set1_ps(kP1));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(kP2));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(kP3));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(kP4));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(kP5));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_blendv_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)),
                          _mm256_set1_ps(std::numeric_limits<float>::infinity()), over);
}

void silu(float* x, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), v));
    _mm256_storeu_ps(x + i, _mm256_div_ps(v, _mm256_add_ps(one, e)));
  }
  for (; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
}

void snake(float* x, int64_t n, float alpha, float inv_beta) {
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(inv_beta);
  const __m256 limit = _mm256_set1_ps(simd_sin::kMaxArg);
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 arg = _mm256_mul_ps(v, va);
    // One compare for both ways out of the polynomial's range: |arg| >
    // kMaxArg, or NaN (unordered compares true).
    if (_mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign_mask, arg), limit, _CMP_NLE_UQ)) !=
        0) {
      for (int k = 0; k < 8; ++k) {
        const float s = std::sin(x[i + k] * alpha);
        x[i + k] += inv_beta * s * s;
      }
      continue;
    }
    _mm256_storeu_ps(x + i, _mm256_fmadd_ps(vb, sin2_8(arg), v));
  }
  for (; i < n; ++i) {
    const float s = std::sin(x[i] * alpha);
    x[i] += inv_beta * s * s;
  }
}

// y += a * x with x's elements of type T (as dot_row).
template <typename T>
void axpy_row(float* y, const T* x, float a, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load8(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] = std::fma(a, widen(x[i]), y[i]);
}

void axpy(float* y, const float* x, float a, int64_t n) {
  axpy_row<float>(y, x, a, n);
}

void to_f16(const float* x, int64_t n, uint16_t* out) {
  const __m256 hi = _mm256_set1_ps(kF16Max), lo = _mm256_set1_ps(-kF16Max);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    // min / max return their second operand when either is NaN: NaN stays.
    const __m256 v = _mm256_max_ps(lo, _mm256_min_ps(hi, _mm256_loadu_ps(x + i)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; i < n; ++i) {
    out[i] = _cvtss_sh(clamp_to_f16_range(x[i]), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
}

inline __m256 w8_f32(const void* w, int64_t i) {
  return _mm256_loadu_ps(static_cast<const float*>(w) + i);
}
inline __m256 w8_bf16(const void* w, int64_t i) {
  return load_bf16(static_cast<const uint16_t*>(w) + i);
}
inline __m256 w8_f16(const void* w, int64_t i) {
  return load_f16(static_cast<const uint16_t*>(w) + i);
}
float f32_scalar(const void* w, int64_t i) {
  return static_cast<const float*>(w)[i];
}
float bf16_at(const void* w, int64_t i) {
  return bf16_scalar(static_cast<const uint16_t*>(w)[i]);
}
float f16_at(const void* w, int64_t i) {
  return f16_scalar(static_cast<const uint16_t*>(w)[i]);
}

// Each 8 weights are loaded and widened once, then multiplied into every row.
// The weight stream is prefetched as in the GEMVs (`Bytes` per weight).
template <__m256 (*Load)(const void*, int64_t), float (*At)(const void*, int64_t), int Bytes, int R>
void dot_rows_n(const void* w, const float* x, int64_t ldx, int64_t n, float* out) {
  __m256 acc[R];
  for (int m = 0; m < R; ++m) acc[m] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (i % 16 == 0)
      _mm_prefetch(static_cast<const char*>(w) + i * Bytes + kPrefetchBytes, _MM_HINT_T0);
    const __m256 wv = Load(w, i);
    for (int m = 0; m < R; ++m)
      acc[m] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + m * ldx + i), acc[m]);
  }
  for (int m = 0; m < R; ++m) {
    float s = hsum(acc[m]);
    for (int64_t j = i; j < n; ++j) s += At(w, j) * x[m * ldx + j];
    out[m] = s;
  }
}

using RowsFn = void (*)(const void*, const float*, int64_t, int64_t, float*);

template <__m256 (*Load)(const void*, int64_t), float (*At)(const void*, int64_t), int Bytes,
          int... R>
constexpr std::array<RowsFn, sizeof...(R)> row_kernels(std::integer_sequence<int, R...>) {
  return {&dot_rows_n<Load, At, Bytes, R + 1>...};
}

// One instance per row count (the accumulators live in registers).
template <__m256 (*Load)(const void*, int64_t), float (*At)(const void*, int64_t), int Bytes>
void dot_rows(const void* w, const float* x, int64_t ldx, int rows, int64_t n, float* out) {
  static constexpr auto kernels =
      row_kernels<Load, At, Bytes>(std::make_integer_sequence<int, kMaxDotRows>{});
  kernels[std::clamp(rows, 1, kMaxDotRows) - 1](w, x, ldx, n, out);
}

// ---- Q8 / Q4 weights (core/quant.h) ----------------------------------------
// The interleaved chunks put four weights of each of 16 blocks in one 64-byte
// group, a block per 32-bit lane; a ymm takes the lanes of 8 blocks (half h of
// the chunk). maddubs multiplies u8 by s8 into i16 pairs, then madd sums each
// lane's four products in i32. After all 8 groups each lane holds its block's
// integer dot product, scaled by dw * dx.
//  - Q4: the quants q = w + 8 are unsigned and small, so maddubs takes them
//    as stored and the offset's share comes from the activations' corr lanes
//    (quant_acts.h). A pair is at most 2 * 15 * 127 = 3810, so the i16 pairs
//    of all 8 groups add up without saturating (8 * 3810 < 32768) and one madd
//    per half-chunk widens them.
//  - Q8: q = w + 128 would saturate maddubs' pairs (255 * 127 * 2), so the
//    signed weight is made and |w| times x with w's sign is used (ggml's trick;
//    |w| <= 127), with a madd per group.
// Full chunks load plainly; a partial one's lanes beyond its blocks are masked
// to zero. The integer sums are exact either way, so every path gives the same
// floats as the scalar reference.

// Group g of the chunk at block c, lanes 8h..8h+7: Q8 as signed weights, Q4 as
// the stored unsigned quants. Masked lanes (`m`, Full false) read as zero.
template <DType F, bool Full>
inline __m256i group_weights(const uint8_t* quants, int64_t c, int64_t g, int64_t bytes, int h,
                             __m256i m) {
  const int64_t at = F == DType::kQ8 ? c * 32 + g * bytes : c * 16 + (g / 2) * bytes;
  const auto* p = reinterpret_cast<const int*>(quants + at + 32 * h);
  const __m256i v =
      Full ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)) : _mm256_maskload_epi32(p, m);
  if constexpr (F == DType::kQ8) {
    const __m256i w = _mm256_xor_si256(v, _mm256_set1_epi8(static_cast<char>(0x80)));
    return Full ? w : _mm256_and_si256(w, m);
  } else {
    return _mm256_and_si256(g % 2 ? _mm256_srli_epi16(v, 4) : v, _mm256_set1_epi8(0x0F));
  }
}

// Half h of the chunk at block c (n blocks), for activation rows m0 .. m0 + R:
// acc[i] += per-block integer dot * dw * dx.
template <DType F, int R, bool Full>
inline void dot_half_chunk(const uint8_t* row, const uint8_t* quants, const QuantizedActs& a,
                           int64_t m0, int64_t c, int64_t n, int h, __m256* acc) {
  const int64_t bytes = 4 * n;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - 8 * h)), lane);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i dot[R];
  const int8_t* x[R];
  for (int i = 0; i < R; ++i) x[i] = a.q_row(m0 + i) + c * 32 + 32 * h;
  if constexpr (F == DType::kQ4) {
    __m256i p16[R];
    for (int i = 0; i < R; ++i) p16[i] = _mm256_setzero_si256();
    for (int64_t g = 0; g < 8; ++g) {
      const __m256i wq = group_weights<F, Full>(quants, c, g, bytes, h, m);
      for (int i = 0; i < R; ++i) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i] + g * bytes));
        p16[i] = _mm256_add_epi16(p16[i], _mm256_maddubs_epi16(wq, xv));
        // Keeps the sum a chain in one register per row: without it GCC
        // reassociates the 8 adds into a tree, keeps all 32 products live and
        // spills them (the four-row kernel ran at two thirds of its speed).
        asm("" : "+x"(p16[i]));
      }
    }
    for (int i = 0; i < R; ++i) {
      const auto* corr = reinterpret_cast<const int*>(a.corr_row(m0 + i) + c + 8 * h);
      const __m256i base = Full ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr))
                                : _mm256_maskload_epi32(corr, m);
      dot[i] = _mm256_add_epi32(base, _mm256_madd_epi16(p16[i], ones));
    }
  } else {
    for (int i = 0; i < R; ++i) dot[i] = _mm256_setzero_si256();
    for (int64_t g = 0; g < 8; ++g) {
      const __m256i wq = group_weights<F, Full>(quants, c, g, bytes, h, m);
      const __m256i wabs = _mm256_sign_epi8(wq, wq);
      for (int i = 0; i < R; ++i) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i] + g * bytes));
        const __m256i p16 = _mm256_maddubs_epi16(wabs, _mm256_sign_epi8(xv, wq));
        dot[i] = _mm256_add_epi32(dot[i], _mm256_madd_epi16(p16, ones));
        asm("" : "+x"(dot[i]));  // a chain per row, as for Q4 above
      }
    }
  }
  // 8 f16 scales (lanes beyond the chunk zeroed: their bytes are quants).
  __m256 dw =
      _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + (c + 8 * h) * 2)));
  if (!Full) dw = _mm256_and_ps(dw, _mm256_castsi256_ps(m));
  for (int i = 0; i < R; ++i) {
    const float* d = a.d_row(m0 + i) + c + 8 * h;
    const __m256 dx = Full ? _mm256_loadu_ps(d) : _mm256_maskload_ps(d, m);
    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[i]), _mm256_mul_ps(dw, dx), acc[i]);
  }
}

template <DType F, int R>
void dot_rows_q_n(const void* w, const QuantizedActs& a, int64_t m0, float* out) {
  const auto* row = static_cast<const uint8_t*>(w);
  const int64_t nb = a.blocks;
  const uint8_t* quants = row + nb * 2;
  __m256 acc[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t c = 0; c < nb; c += 16) {
    const int64_t n = std::min<int64_t>(16, nb - c);
    // The weight stream ahead (kPrefetchBytes): a chunk is 512 (Q8) or 256 (Q4) bytes.
    const uint8_t* chunk = quants + c * (F == DType::kQ8 ? 32 : 16);
    for (int64_t l = 0; l < (F == DType::kQ8 ? 512 : 256); l += 64)
      _mm_prefetch(reinterpret_cast<const char*>(chunk + kPrefetchBytes + l), _MM_HINT_T0);
    if (n == 16) {
      dot_half_chunk<F, R, true>(row, quants, a, m0, c, n, 0, acc);
      dot_half_chunk<F, R, true>(row, quants, a, m0, c, n, 1, acc);
    } else {
      for (int h = 0; 8 * h < n; ++h) dot_half_chunk<F, R, false>(row, quants, a, m0, c, n, h, acc);
    }
  }
  for (int i = 0; i < R; ++i) out[i] = hsum(acc[i]);
}

template <DType F, int R>
void dot_rows_q_run_n(const void* w, size_t row_bytes, int64_t count, const QuantizedActs& a,
                      int64_t m0, float* y, int64_t ldy) {
  float r[R];
  for (int64_t n = 0; n < count; ++n) {
    dot_rows_q_n<F, R>(static_cast<const uint8_t*>(w) + n * row_bytes, a, m0, r);
    for (int i = 0; i < R; ++i) y[i * ldy + n] = r[i];
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

// Lane mask for the first n of 8 float lanes (1 <= n < 8).
inline __m256i first_lanes(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Runs step(i, load, store) over columns [0, n) eight at a time, the last 1-7
// as one masked step: one at a time, each output was a chain of dependent
// scalar FMAs, and a chunk of 135 tiles (d = 3 or 9) spent more on its last 7
// columns than on the other 128.
template <class Step>
void masked_steps(int64_t n, Step& step) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    step(
        i, [](const float* x) { return _mm256_loadu_ps(x); },
        [](float* y, __m256 v) { _mm256_storeu_ps(y, v); });
  if (i < n) {
    const __m256i lanes = first_lanes(n - i);
    step(
        i, [lanes](const float* x) { return _mm256_maskload_ps(x, lanes); },
        [lanes](float* y, __m256 v) { _mm256_maskstore_ps(y, lanes, v); });
  }
}

// mix_rows with the matrix dense and each coefficient a vector in memory: the
// inputs stay in NI registers and every term is one FMA with a memory operand
// (the sparse loop's indexed loads cost 4x the FMAs). Zero terms add zero.
template <int NI>
void mix_rows_dense(const MixMatrix& m, const float* const* in, float* const* out, int64_t n) {
  __m256 coef[kMaxMixRows][NI];
  for (int p = 0, e = 0; p < m.n_out; ++p) {
    for (int j = 0; j < NI; ++j) coef[p][j] = _mm256_setzero_ps();
    for (int k = 0; k < m.count[p]; ++k, ++e) coef[p][m.col[e]] = _mm256_set1_ps(m.value[e]);
  }
  auto step = [&](int64_t i, auto load, auto store) {
    __m256 u[NI];
#pragma GCC unroll 16
    for (int j = 0; j < NI; ++j) u[j] = j < m.n_in ? load(in[j] + i) : _mm256_setzero_ps();
    for (int p = 0; p < m.n_out; ++p) {
      __m256 acc = _mm256_mul_ps(coef[p][0], u[0]);
#pragma GCC unroll 16
      for (int j = 1; j < NI; ++j) acc = _mm256_fmadd_ps(coef[p][j], u[j], acc);
      store(out[p] + i, acc);
    }
  };
  masked_steps(n, step);
}

// mix_rows for an exact shape NO x NI (Winograd F(6, 7)'s 12 x 12 and 6 x 12;
// at most 12 outputs, so the accumulators and the input fit the 16 registers):
// the loops the other way round, one input at a time into NO accumulators held
// in registers. Each output's sum is the same chain in the same order as in
// mix_rows_dense, but the NO chains are independent, where mix_rows_dense's
// rows each waited on their own chain of NI dependent FMAs (its stores were a
// fifth of its samples). Zero terms add zero.
template <int NI, int NO>
void mix_rows_fixed(const MixMatrix& m, const float* const* in, float* const* out, int64_t n) {
  __m256 coef[NI][NO];
  for (int j = 0; j < NI; ++j)
    for (int p = 0; p < NO; ++p) coef[j][p] = _mm256_setzero_ps();
  for (int p = 0, e = 0; p < NO; ++p)
    for (int k = 0; k < m.count[p]; ++k, ++e) coef[m.col[e]][p] = _mm256_set1_ps(m.value[e]);
  auto step = [&](int64_t i, auto load, auto store) {
    __m256 acc[NO];
    const __m256 u0 = load(in[0] + i);
#pragma GCC unroll 16
    for (int p = 0; p < NO; ++p) acc[p] = _mm256_mul_ps(coef[0][p], u0);
#pragma GCC unroll 16
    for (int j = 1; j < NI; ++j) {
      const __m256 u = load(in[j] + i);
#pragma GCC unroll 16
      for (int p = 0; p < NO; ++p) acc[p] = _mm256_fmadd_ps(coef[j][p], u, acc[p]);
    }
#pragma GCC unroll 16
    for (int p = 0; p < NO; ++p) store(out[p] + i, acc[p]);
  };
  masked_steps(n, step);
}

void mix_rows(const MixMatrix& m, const float* const* in, float* const* out, int64_t n) {
  // Winograd F(6, 7)'s transforms, the ones the codec runs.
  if (m.n_in == 12 && m.n_out == 12)
    mix_rows_fixed<12, 12>(m, in, out, n);
  else if (m.n_in == 12 && m.n_out == 6)
    mix_rows_fixed<12, 6>(m, in, out, n);
  else if (m.n_in <= 8)
    mix_rows_dense<8>(m, in, out, n);
  else if (m.n_in <= 10)  // 9-10 rows, with no product by a padding zero
    mix_rows_dense<10>(m, in, out, n);
  else if (m.n_in <= 12)  // 12 inputs still fit in registers
    mix_rows_dense<12>(m, in, out, n);
  else
    mix_rows_dense<kMaxMixRows>(m, in, out, n);
}

}  // namespace

const VecKernels& vec_kernels_avx2() {
  static const VecKernels k{Isa::kAvx2,
                            dot_f32,
                            dot_bf16,
                            dot_f16,
                            snake,
                            axpy,
                            dot_keys<float, dot_f32>,
                            axpy_values<float, axpy>,
                            dot_keys2<float, dot_f32>,
                            axpy_values2<float, axpy>,
                            dot_keys<uint16_t, dot_row<uint16_t>>,
                            axpy_values<uint16_t, axpy_row<uint16_t>>,
                            dot_keys2<uint16_t, dot_row<uint16_t>>,
                            axpy_values2<uint16_t, axpy_row<uint16_t>>,
                            to_f16,
                            silu,
                            dot_rows<w8_f32, f32_scalar, 4>,
                            dot_rows<w8_bf16, bf16_at, 2>,
                            dot_rows<w8_f16, f16_at, 2>,
                            dot_rows_q_run<DType::kQ8>,
                            dot_rows_q_run<DType::kQ4>,
                            mix_rows};
  return k;
}

}  // namespace izwi::cpu
