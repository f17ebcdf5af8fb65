// The blocked GEMM for AVX-512 (compiled with -mavx512f ...): a 12 x 32 tile
// of C in 24 zmm accumulators (+ 2 B vectors + 1 broadcast of the 32
// registers). B may be bf16 or f16 (checkpoint weights): it is widened while
// it is packed, so a prefill needs no widened copy of the weights.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "core/thread_scratch.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/lanes_avx512.h"

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
  // Every loop over acc fully unrolled so it stays in registers (GCC keeps an
  // array indexed in a rolled loop in memory, storing it every k).
#pragma GCC unroll 16
  for (auto& r : acc) r[0] = r[1] = _mm512_setzero_ps();
  // The C tile's rows (ldc apart, touched once per K block of kKc) are
  // fetched while the products run: without it their misses, at the end,
  // were a fifth of this function's time in the codec's convolutions.
  for (int64_t r = 0; r < rows; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 31), _MM_HINT_T0);
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(pb + k * kNr), b1 = _mm512_loadu_ps(pb + k * kNr + 16);
#pragma GCC unroll 16
    for (int64_t r = 0; r < kMr; ++r) {
      const __m512 a = _mm512_set1_ps(pa[k * kMr + r]);
      acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
    }
  }
  // Out through a stack copy written with constant indices (see gemm_avx2.cc:
  // indexing acc by the runtime `rows` keeps the accumulators in memory).
  alignas(64) float out[kMr][kNr];
#pragma GCC unroll 16
  for (int64_t r = 0; r < kMr; ++r) {
    _mm512_store_ps(out[r], acc[r][0]);
    _mm512_store_ps(out[r] + 16, acc[r][1]);
  }
  const __mmask16 m0 = first_lanes(cols), m1 = first_lanes(cols - 16);
  for (int64_t r = 0; r < rows; ++r) {
    float* cr = c + r * ldc;
    __m512 v0 = _mm512_load_ps(out[r]), v1 = _mm512_load_ps(out[r] + 16);
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

// ---- prompts on bf16 weight rows -------------------------------------------
// y [M, N] = x [M, K] · W^T with W [N, K] bf16 as stored: a tile of R weight
// rows x 32 activation rows (two panels of 16) in 2R accumulators. Per K pair,
// each weight row's (k, k + 1) pair is broadcast as one 32-bit load and split
// into two f32 vectors in registers (shift, mask), then FMA'd with the
// activations' k and k + 1 of both panels: f32 products and sums as the GEMV's,
// with no packed or widened copy of the weights, which are read once per 32
// activation rows (from cache: a tile's rows are K * 2 R bytes).

constexpr int64_t kPanelRows = 16;  // activation rows per packed panel

// x rows m0 .. m0 + 16 (zero past M) -> panel[k * 16 + m].
void pack_activation_panel(const float* x, int64_t M, int64_t K, int64_t m0, float* panel) {
  const int64_t rows = std::min(kPanelRows, M - m0);
  for (int64_t k0 = 0; k0 < K; k0 += 16) {
    const __mmask16 mk = first_lanes(K - k0);
    __m512 v[16];
    for (int64_t m = 0; m < 16; ++m)
      v[m] = m < rows ? _mm512_maskz_loadu_ps(mk, x + (m0 + m) * K + k0) : _mm512_setzero_ps();
    alignas(64) float t[16 * 16];
    for (int64_t m = 0; m < 16; ++m) _mm512_store_ps(t + m * 16, v[m]);
    for (int64_t k = 0; k < std::min<int64_t>(16, K - k0); ++k)
      for (int64_t m = 0; m < 16; ++m) panel[(k0 + k) * 16 + m] = t[m * 16 + k];
  }
}

inline __m512 bf16_low(__m512i pair) {  // element k of a (k, k + 1) bf16 pair, as f32
  return _mm512_castsi512_ps(_mm512_slli_epi32(pair, 16));
}
inline __m512 bf16_high(__m512i pair, __m512i high_mask) {  // element k + 1
  return _mm512_castsi512_ps(_mm512_and_si512(pair, high_mask));
}

// Weight rows w .. w + R (row stride K) against panels p0 (and p1 when P == 2):
// tile[r * 32 + m] for activation m of the 32.
template <int R, int P>
void bf16_rows_tile(const uint16_t* w, int64_t K, const float* p0, const float* p1, float* tile) {
  __m512 acc[R][P];
  for (auto& row : acc)
    for (auto& a : row) a = _mm512_setzero_ps();
  const __m512i high_mask = _mm512_set1_epi32(static_cast<int>(0xffff0000u));
  const float* panel[2] = {p0, p1};
  for (int64_t k = 0; k < K; k += 2) {
    __m512 xk[P], xk1[P];
    for (int p = 0; p < P; ++p) {
      xk[p] = _mm512_loadu_ps(panel[p] + k * 16);
      xk1[p] = _mm512_loadu_ps(panel[p] + (k + 1) * 16);
    }
    for (int r = 0; r < R; ++r) {
      int32_t bits;
      std::memcpy(&bits, w + r * K + k, sizeof bits);
      const __m512i pair = _mm512_set1_epi32(bits);
      const __m512 lo = bf16_low(pair), hi = bf16_high(pair, high_mask);
      for (int p = 0; p < P; ++p) {
        acc[r][p] = _mm512_fmadd_ps(lo, xk[p], acc[r][p]);
        acc[r][p] = _mm512_fmadd_ps(hi, xk1[p], acc[r][p]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < P; ++p) _mm512_storeu_ps(tile + r * 32 + p * 16, acc[r][p]);
}

// Tile rows 0 .. rows (weight rows n0 ..) into y[(m0 + m) * N + n0 + r] for m < cols.
void store_rows_tile(const float* tile, int64_t rows, int64_t cols, int64_t m0, int64_t n0,
                     int64_t N, const float* bias, float* y) {
  const __m512i down =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(32));
  const __mmask16 mask = first_lanes(rows);
  const __m512 b = bias ? _mm512_maskz_loadu_ps(mask, bias + n0) : _mm512_setzero_ps();
  for (int64_t m = 0; m < cols; ++m) {
    const __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, down, tile + m, 4);
    _mm512_mask_storeu_ps(y + (m0 + m) * N + n0, mask, _mm512_add_ps(v, b));
  }
}

template <int R>
void bf16_rows_block(const uint16_t* W, int64_t K, int64_t n0, const float* panels, int64_t M,
                     int64_t N, const float* bias, float* y, float* tile) {
  for (int64_t m0 = 0; m0 < M; m0 += 32) {
    const float* p0 = panels + m0 * K;
    const int64_t cols = std::min<int64_t>(32, M - m0);
    if (cols > 16)
      bf16_rows_tile<R, 2>(W + n0 * K, K, p0, p0 + 16 * K, tile);
    else
      bf16_rows_tile<R, 1>(W + n0 * K, K, p0, nullptr, tile);
    store_rows_tile(tile, std::min<int64_t>(R, N - n0), cols, m0, n0, N, bias, y);
  }
}

void linear_bf16_rows(ThreadPool* pool, const float* x, int64_t M, int64_t K, const uint16_t* W,
                      int64_t N, const float* bias, float* y) {
  // The activations in panels of 16 rows (this thread's buffer, which only grows).
  thread_local ThreadScratch<std::vector<float>> panels_scratch;
  const int64_t n_panels = (M + kPanelRows - 1) / kPanelRows;
  panels_scratch.resize(static_cast<size_t>(n_panels * kPanelRows * K));
  float* panels = panels_scratch.data();
  for (int64_t p = 0; p < n_panels; ++p)
    pack_activation_panel(x, M, K, p * kPanelRows, panels + p * kPanelRows * K);
  // Weight rows in tiles of 12, the rest in tiles of 4 and 1 (never past row N).
  constexpr int64_t kTile = 12;
  parallel_for(pool, (N + kTile - 1) / kTile, 1, [&](int64_t t0, int64_t t1) {
    alignas(64) float tile[kTile * 32];
    for (int64_t n0 = t0 * kTile; n0 < std::min(N, t1 * kTile);) {
      const int64_t left = std::min(N, t1 * kTile) - n0;
      if (left >= 12) {
        bf16_rows_block<12>(W, K, n0, panels, M, N, bias, y, tile);
        n0 += 12;
      } else if (left >= 4) {
        bf16_rows_block<4>(W, K, n0, panels, M, N, bias, y, tile);
        n0 += 4;
      } else {
        bf16_rows_block<1>(W, K, n0, panels, M, N, bias, y, tile);
        n0 += 1;
      }
    }
  });
}

struct Avx512Tile {
  static constexpr int64_t kMr = izwi::cpu::kMr, kNr = izwi::cpu::kNr, kMc = 144;
  static constexpr auto pack_b = pack_b_panels;
  static constexpr auto micro = micro_tile;
};

}  // namespace

const GemmKernels& gemm_kernels_avx512() {
  static const GemmKernels k = [] {
    GemmKernels t = BlockedGemm<Avx512Tile>::table(Isa::kAvx512, true);
    t.linear_bf16_rows = linear_bf16_rows;
    return t;
  }();
  return k;
}

}  // namespace izwi::cpu
