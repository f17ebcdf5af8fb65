// The blocked GEMM for AVX2 + FMA (compiled with -mavx2 -mfma -mf16c): a 6 x 16 tile
// of C in 12 ymm accumulators (+ 2 B vectors + 1 broadcast of the 16
// registers). B is f32, or a bf16 / f16 weight matrix widened while packed;
// CPUs with AVX2 but not AVX-512 (most laptops) run the codec's convolutions
// and long prompts on half-precision weights on it.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "core/thread_scratch.h"
#include "kernels/cpu/gemm.h"

namespace izwi::cpu {

namespace {

#include "kernels/cpu/gemm_blocked.h"

constexpr int64_t kMr = 6, kNr = 16;  // the register tile (Avx2Tile below)

// Lane mask for the first n of 8 float lanes (n may be <= 0 or >= 8).
inline __m256i first_lanes(int64_t n) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::clamp<int64_t>(n, 0, 8))),
                            lane);
}

// 8 stored elements of `m` from index i, widened to f32.
inline __m256 load8(const Matrix& m, int64_t i) {
  const auto* h = static_cast<const uint16_t*>(m.p) + i;
  switch (m.type) {
    case GemmType::kBF16:
      return _mm256_castsi256_ps(_mm256_slli_epi32(
          _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h))), 16));
    case GemmType::kF16:
      return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)));
    default:
      return _mm256_loadu_ps(static_cast<const float*>(m.p) + i);
  }
}

// Stored element i of `m`, widened to f32 (a K tail: the core's conversions).
inline float load1(const Matrix& m, int64_t i) {
  const auto* h = static_cast<const uint16_t*>(m.p);
  switch (m.type) {
    case GemmType::kBF16:
      return bf16_to_f32(h[i]);
    case GemmType::kF16:
      return f16_to_f32(h[i]);
    default:
      return static_cast<const float*>(m.p)[i];
  }
}

// Rows r[0..8) -> their columns: r[i] lane j becomes lane i of r[j].
inline void transpose8(__m256* r) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

// B[k0 .. k0+kc, n0 .. n0+nc] -> panels of kNr columns: out[(panel * kc + k) * kNr + c],
// zero beyond nc. B is f32, or (transposed: a weight matrix) bf16 / f16 widened here.
void pack_b_panels(const Matrix& b, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* out) {
  if (!b.trans) {
    IZWI_ASSERT(b.type == GemmType::kF32);
    // Row by row, so each stored row is read in order (a convolution's rows
    // are channels and taps of the signal, megabytes apart: panel by panel,
    // every row was a new stream the hardware could not follow).
    const auto* p = static_cast<const float*>(b.p);
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = p + b.row_start(k0 + k) + n0;
      for (int64_t j = 0; j < nc; j += kNr) {
        float* dst = out + j * kc + k * kNr;
        const int64_t cols = nc - j;
        if (cols >= kNr) {
          _mm256_storeu_ps(dst, _mm256_loadu_ps(src + j));
          _mm256_storeu_ps(dst + 8, _mm256_loadu_ps(src + j + 8));
        } else {
          _mm256_storeu_ps(dst, _mm256_maskload_ps(src + j, first_lanes(cols)));
          _mm256_storeu_ps(dst + 8, _mm256_maskload_ps(src + j + 8, first_lanes(cols - 8)));
        }
      }
    }
    return;
  }
  // Transposed: each column is a stored row. Blocks of 8 columns x 8 k are
  // widened, transposed in registers and stored as 8 panel rows; columns
  // beyond nc are zero, and a K tail of fewer than 8 goes one at a time.
  for (int64_t j = 0; j < nc; j += kNr) {
    float* panel = out + j * kc;
    const int64_t cols = std::min(kNr, nc - j);
    for (int64_t c0 = 0; c0 < kNr; c0 += 8) {
      const int64_t n = std::clamp<int64_t>(cols - c0, 0, 8);  // real columns in this block
      int64_t k = 0;
      for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        for (int64_t c = 0; c < 8; ++c)
          r[c] = c < n ? load8(b, (n0 + j + c0 + c) * b.ld + k0 + k) : _mm256_setzero_ps();
        transpose8(r);
        for (int64_t i = 0; i < 8; ++i) _mm256_storeu_ps(panel + (k + i) * kNr + c0, r[i]);
      }
      for (; k < kc; ++k)
        for (int64_t c = 0; c < 8; ++c)
          panel[k * kNr + c0 + c] = c < n ? load1(b, (n0 + j + c0 + c) * b.ld + k0 + k) : 0.0f;
    }
  }
}

// C[0 .. rows, 0 .. cols] (+)= pa (kMr x kc) * pb (kc x kNr).
void micro_tile(const float* pa, const float* pb, int64_t kc, float* c, int64_t ldc, int64_t rows,
                int64_t cols, bool accumulate) {
  __m256 acc[kMr][2];
  // Every loop over acc fully unrolled so it stays in registers (GCC keeps an
  // array indexed in a rolled loop in memory, storing it every k).
#pragma GCC unroll 16
  for (auto& r : acc) r[0] = r[1] = _mm256_setzero_ps();
  // The C tile's rows (ldc apart, touched once per K block of kKc) are
  // fetched while the products run: without it their misses, at the end,
  // were a fifth of this function's time in the codec's convolutions.
  for (int64_t r = 0; r < rows; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 15), _MM_HINT_T0);
  }
  if (cols <= 8) {
    // A panel's last columns, at most 8 of the 16: the right half of the tile
    // is all zeros, so only the left one is multiplied (a signal's tile count
    // is rarely a multiple of 16: 97 tiles made 7 panels, the last 1/16 full).
    for (int64_t k = 0; k < kc; ++k) {
      const __m256 b0 = _mm256_loadu_ps(pb + k * kNr);
#pragma GCC unroll 16
      for (int64_t r = 0; r < kMr; ++r)
        acc[r][0] = _mm256_fmadd_ps(_mm256_broadcast_ss(pa + k * kMr + r), b0, acc[r][0]);
    }
  } else {
    for (int64_t k = 0; k < kc; ++k) {
      const __m256 b0 = _mm256_loadu_ps(pb + k * kNr), b1 = _mm256_loadu_ps(pb + k * kNr + 8);
#pragma GCC unroll 16
      for (int64_t r = 0; r < kMr; ++r) {
        const __m256 a = _mm256_broadcast_ss(pa + k * kMr + r);
        acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
      }
    }
  }
  if (rows == kMr && cols == kNr) {  // a whole tile: straight from the registers
#pragma GCC unroll 16
    for (int64_t r = 0; r < kMr; ++r) {
      float* cr = c + r * ldc;
      __m256 v0 = acc[r][0], v1 = acc[r][1];
      if (accumulate) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cr));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cr + 8));
      }
      _mm256_storeu_ps(cr, v0);
      _mm256_storeu_ps(cr + 8, v1);
    }
    return;
  }
  // Out through a stack copy written with constant indices: indexing acc by the
  // runtime `rows` would make GCC keep all 12 accumulators in memory, storing
  // them every k (twice the loop's time, store-bound).
  alignas(32) float out[kMr][kNr];
#pragma GCC unroll 16
  for (int64_t r = 0; r < kMr; ++r) {
    _mm256_store_ps(out[r], acc[r][0]);
    _mm256_store_ps(out[r] + 8, acc[r][1]);
  }
  const __m256i m0 = first_lanes(cols), m1 = first_lanes(cols - 8);
  for (int64_t r = 0; r < rows; ++r) {
    float* cr = c + r * ldc;
    __m256 v0 = _mm256_load_ps(out[r]), v1 = _mm256_load_ps(out[r] + 8);
    if (accumulate) {
      v0 = _mm256_add_ps(v0, _mm256_maskload_ps(cr, m0));
      v1 = _mm256_add_ps(v1, _mm256_maskload_ps(cr + 8, m1));
    }
    _mm256_maskstore_ps(cr, m0, v0);
    _mm256_maskstore_ps(cr + 8, m1, v1);
  }
}

struct Avx2Tile {
  static constexpr int64_t kMr = izwi::cpu::kMr, kNr = izwi::cpu::kNr, kMc = 144;
  static constexpr auto pack_b = pack_b_panels;
  static constexpr auto micro = micro_tile;
};

}  // namespace

const GemmKernels& gemm_kernels_avx2() {
  static const GemmKernels k = BlockedGemm<Avx2Tile>::table(Isa::kAvx2, true);
  return k;
}

}  // namespace izwi::cpu
