// The blocked GEMM for AVX-512 (compiled with -mavx512f ...): a 12 x 32 tile
// of C in 24 zmm accumulators (+ 2 B vectors + 1 broadcast of the 32
// registers). B may be bf16 or f16 (checkpoint weights): it is widened while
// it is packed, so a prefill needs no widened copy of the weights.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/cpu/gemm.h"

namespace izwi::cpu {

namespace {

#include "kernels/cpu/gemm_blocked.h"

constexpr int64_t kMr = 12, kNr = 32;  // the register tile (Avx512Tile below)

// Up to 16 consecutive stored elements of `m` from index i, widened to f32
// (lanes outside `mask` are zero).
inline __m512 load16(const Matrix& m, int64_t i, __mmask16 mask) {
  switch (m.type) {
    case GemmType::kBF16: {
      const __m256i h = _mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(m.p) + i);
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    case GemmType::kF16:
      return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(m.p) + i));
    default:
      return _mm512_maskz_loadu_ps(mask, static_cast<const float*>(m.p) + i);
  }
}

inline __mmask16 first_lanes(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff)
                 : static_cast<__mmask16>((1u << std::max<int64_t>(n, 0)) - 1);
}

// B[k0 .. k0+kc, n0 .. n0+nc] -> panels of kNr columns: out[(panel * kc + k) * kNr + c],
// zero beyond nc. Stored rows (or, transposed, columns) are read 16 at a time.
void pack_b_panels(const Matrix& b, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* out) {
  for (int64_t j = 0; j < nc; j += kNr) {
    float* panel = out + j * kc;
    const int64_t cols = std::min(kNr, nc - j);
    if (!b.trans) {  // a panel row is 32 consecutive stored elements
      const __mmask16 m0 = first_lanes(cols), m1 = first_lanes(cols - 16);
      for (int64_t k = 0; k < kc; ++k) {
        const int64_t i = b.row_start(k0 + k) + n0 + j;
        _mm512_storeu_ps(panel + k * kNr, load16(b, i, m0));
        _mm512_storeu_ps(panel + k * kNr + 16, load16(b, i + 16, m1));
      }
      continue;
    }
    // Transposed (a weight matrix [N, K]): each column is a stored row; widen 16
    // values along k and scatter them down the panel.
    if (cols < kNr)
      for (int64_t k = 0; k < kc; ++k) std::fill_n(panel + k * kNr + cols, kNr - cols, 0.0f);
    const __m512i down =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(static_cast<int>(kNr)));
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t row = (n0 + j + c) * b.ld + k0;
      for (int64_t k = 0; k < kc; k += 16) {
        const __mmask16 m = first_lanes(kc - k);
        _mm512_mask_i32scatter_ps(panel + k * kNr + c, m, down, load16(b, row + k, m), 4);
      }
    }
  }
}

// C[0 .. rows, 0 .. cols] (+)= pa (kMr x kc) * pb (kc x kNr).
void micro_tile(const float* pa, const float* pb, int64_t kc, float* c, int64_t ldc, int64_t rows,
                int64_t cols, bool accumulate) {
  __m512 acc[kMr][2];
  for (auto& r : acc) r[0] = r[1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(pb + k * kNr), b1 = _mm512_loadu_ps(pb + k * kNr + 16);
    for (int64_t r = 0; r < kMr; ++r) {
      const __m512 a = _mm512_set1_ps(pa[k * kMr + r]);
      acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
    }
  }
  const __mmask16 m0 = first_lanes(cols), m1 = first_lanes(cols - 16);
  for (int64_t r = 0; r < rows; ++r) {
    float* cr = c + r * ldc;
    __m512 v0 = acc[r][0], v1 = acc[r][1];
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

struct Avx512Tile {
  static constexpr int64_t kMr = izwi::cpu::kMr, kNr = izwi::cpu::kNr, kMc = 144;
  static constexpr auto pack_b = pack_b_panels;
  static constexpr auto micro = micro_tile;
};

}  // namespace

const GemmKernels& gemm_kernels_avx512() {
  static const GemmKernels k = BlockedGemm<Avx512Tile>::table(Isa::kAvx512, true);
  return k;
}

}  // namespace izwi::cpu
