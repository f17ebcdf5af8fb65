// sin of 16 float lanes for the AVX-512 translation units (vec_avx512.cc,
// gemm_amx.cc; include it only from files compiled with -mavx512f).
#pragma once

#include <immintrin.h>

#include "kernels/cpu/simd_sin.h"

namespace izwi::cpu {

// sin of 16 lanes; see simd_sin.h (accurate for |x| < simd_sin::kMaxArg).
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

}  // namespace izwi::cpu
