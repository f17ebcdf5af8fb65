// A 16 x 16 transpose of f32 registers, for the AVX-512 files (compiled with
// -mavx512f): the time-major copies of the codec's signals (gemm_amx.cc) and the
// bf16 convolution's channel-major stores (bf16_avx512.cc).
#pragma once

#include <immintrin.h>

namespace izwi::cpu {

// r[j] lane i <- r[i] lane j: unpack pairs, shuffle within 128-bit lanes (a
// 4 x 4 transpose in each), then a 4 x 4 transpose of the 128-bit blocks.
inline void transpose16(__m512* r) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // u[4g + c], 128-bit lane L: column 4L + c of rows 4g .. 4g + 3.
  __m512 u[16];
  for (int g = 0; g < 16; g += 4) {
    u[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
    u[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xEE);
    u[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    u[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
  }
  for (int c = 0; c < 4; ++c) {
    const __m512 p = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);  // A0 A2 B0 B2
    const __m512 q = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);  // A1 A3 B1 B3
    const __m512 s = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
    const __m512 v = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_shuffle_f32x4(p, s, 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(p, s, 0xDD);
    r[4 + c] = _mm512_shuffle_f32x4(q, v, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(q, v, 0xDD);
  }
}

}  // namespace izwi::cpu
