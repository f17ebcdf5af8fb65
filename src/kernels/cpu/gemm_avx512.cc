// Single-precision GEMM for AVX-512 (compiled with -mavx512f ...): C = op(A) op(B).
//
// Why our own: the OpenBLAS Debian ships falls back to SSE3 ("Prescott")
// kernels on CPUs it does not recognise, which made the codec decoder 2x
// slower than it has to be on our development machines.
//
// The usual blocked layout: B is packed into panels of kNr columns (k-major),
// A into panels of kMr rows (k-major), and a 12 x 32 register tile of C (24
// zmm accumulators) is updated by broadcast-FMA over a K block of kKc. Edges
// are zero-padded in the packed panels and masked when C is written. B may be
// bf16 or f16 (checkpoint weights): it is widened while it is packed, so a
// prefill needs no widened copy of the weights. B may also be the column
// matrix of a stride-1 convolution, read straight from the signal while it is
// packed (no im2col copy). Work is
// split over the pool along N (or along M when N is narrow); packing buffers
// are per thread and reused.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/cpu/gemm.h"

namespace izwi::cpu {

namespace {

// 12 x 32 register tile: 24 accumulators + 2 B vectors + 1 broadcast of the 32 zmm.
constexpr int64_t kMr = 12, kNr = 32, kKc = 256, kMc = 144, kNc = 2048;
static_assert(kMc % kMr == 0, "A blocks hold whole panels");

struct Matrix {
  const void* p;
  int64_t ld;
  bool trans;  // element (r, c) is stored at c * ld + r
  GemmType type = GemmType::kF32;
  // A only: already in panels (pack_a_f32_avx512's layout), so never packed here.
  bool packed = false;
  // A convolution's column matrix (not transposed): row r = (c, tap) starts at
  // c * ld + tap * dilation of the signal [channels, ld]. taps == 1: plain rows.
  int taps = 1;
  int64_t dilation = 0;
  int64_t row_start(int64_t r) const {
    return taps == 1 ? r * ld : (r / taps) * ld + (r % taps) * dilation;
  }
  // Element (r, c) of an f32 matrix (A; B goes through load16).
  float at(int64_t r, int64_t c) const {
    return static_cast<const float*>(p)[trans ? c * ld + r : r * ld + c];
  }
};

// A[m0 .. m0+mc, k0 .. k0+kc] -> panels of kMr rows: out[panel * panel_stride + k * kMr + r];
// panel_stride is kc * kMr in a block, K * kMr in a prepacked matrix.
void pack_a(const Matrix& a, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* out,
            int64_t panel_stride) {
  for (int64_t i = 0; i < mc; i += kMr) {
    float* panel = out + (i / kMr) * panel_stride;
    const int64_t rows = std::min(kMr, mc - i);
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t r = 0; r < rows; ++r) panel[k * kMr + r] = a.at(m0 + i + r, k0 + k);
      for (int64_t r = rows; r < kMr; ++r) panel[k * kMr + r] = 0.0f;
    }
  }
}

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
void pack_b(const Matrix& b, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* out) {
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
void micro(const float* pa, const float* pb, int64_t kc, float* c, int64_t ldc, int64_t rows,
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

// C[m_begin .. m_end, n_begin .. n_end] (+)= A B over the whole K.
void gemm_block(const Matrix& a, const Matrix& b, int64_t K, float* c, int64_t ldc, int64_t m_begin,
                int64_t m_end, int64_t n_begin, int64_t n_end, bool accumulate) {
  thread_local std::vector<float> pa, pb;
  if (!a.packed) pa.resize(static_cast<size_t>(kMc * kKc));
  pb.resize(static_cast<size_t>(kKc * (kNc + kNr)));
  for (int64_t n0 = n_begin; n0 < n_end; n0 += kNc) {
    const int64_t nc = std::min(kNc, n_end - n0);
    for (int64_t k0 = 0; k0 < K; k0 += kKc) {
      const int64_t kc = std::min(kKc, K - k0);
      pack_b(b, k0, kc, n0, nc, pb.data());
      for (int64_t m0 = m_begin; m0 < m_end; m0 += kMc) {
        const int64_t mc = std::min(kMc, m_end - m0);
        // Panel i of this A block: a prepacked one has K, not kc, between panels.
        const float* block = pa.data();
        int64_t panel_stride = kc * kMr;
        if (a.packed) {
          block = static_cast<const float*>(a.p) + (m0 * K + k0 * kMr);
          panel_stride = K * kMr;
        } else {
          pack_a(a, m0, mc, k0, kc, pa.data(), panel_stride);
        }
        for (int64_t j = 0; j < nc; j += kNr)
          for (int64_t i = 0; i < mc; i += kMr)
            micro(block + (i / kMr) * panel_stride, pb.data() + j * kc, kc,
                  c + (m0 + i) * ldc + n0 + j, ldc, std::min(kMr, mc - i), std::min(kNr, nc - j),
                  accumulate || k0 > 0);
      }
    }
  }
}

// Splits C over the pool by rows (M) or columns (N). Every thread reads (and,
// unless prepacked, packs) all of the operand along the other dimension, so the
// split goes along the larger one: M when A [M, K] outweighs B [K, N].
void run(ThreadPool* pool, const Matrix& a, const Matrix& b, int64_t M, int64_t N, int64_t K,
         float* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t m = 0; m < M; ++m) std::fill_n(C + m * ldc, N, 0.0f);
    return;
  }
  const int threads = pool ? pool->size() : 1;
  const int64_t n_panels = (N + kNr - 1) / kNr, m_panels = (M + kMr - 1) / kMr;
  const bool split_m = m_panels >= 2 * threads && (M > N || n_panels < 2 * threads);
  if (!split_m) {
    parallel_for(pool, n_panels, 1, [&](int64_t p0, int64_t p1) {
      gemm_block(a, b, K, C, ldc, 0, M, p0 * kNr, std::min(N, p1 * kNr), accumulate);
    });
  } else {
    parallel_for(pool, m_panels, 1, [&](int64_t p0, int64_t p1) {
      gemm_block(a, b, K, C, ldc, p0 * kMr, std::min(M, p1 * kMr), 0, N, accumulate);
    });
  }
}

}  // namespace

void gemm_f32_avx512(ThreadPool* pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                     const float* A, int64_t lda, const void* B, int64_t ldb, float* C, int64_t ldc,
                     GemmType b_type, bool accumulate) {
  run(pool, Matrix{A, lda, trans_a}, Matrix{B, ldb, trans_b, b_type}, M, N, K, C, ldc, accumulate);
}

int64_t packed_a_size(int64_t M, int64_t K) {
  return (M + kMr - 1) / kMr * kMr * K;
}

std::vector<float> pack_a_f32_avx512(bool trans_a, int64_t M, int64_t K, const float* A,
                                     int64_t lda) {
  std::vector<float> out(static_cast<size_t>(packed_a_size(M, K)));
  const Matrix a{A, lda, trans_a};
  for (int64_t m0 = 0; m0 < M; m0 += kMr)
    pack_a(a, m0, std::min(kMr, M - m0), 0, K, out.data() + m0 * K, K * kMr);
  return out;
}

void gemm_packed_a_f32_avx512(ThreadPool* pool, int64_t M, int64_t N, int64_t K,
                              const float* packed_a, const float* B, int64_t ldb, float* C,
                              int64_t ldc, bool accumulate) {
  Matrix a{packed_a, 0, false};
  a.packed = true;
  run(pool, a, Matrix{B, ldb, false}, M, N, K, C, ldc, accumulate);
}

void conv_gemm_f32_avx512(ThreadPool* pool, int64_t M, int64_t N, int64_t K, const float* A,
                          int64_t lda, const float* x, int64_t ldx, int taps, int64_t dilation,
                          float* C, int64_t ldc, bool accumulate) {
  Matrix a{A, lda, false};
  a.packed = lda == 0;
  Matrix b{x, ldx, false};
  b.taps = taps;
  b.dilation = dilation;
  run(pool, a, b, M, N, K, C, ldc, accumulate);
}

}  // namespace izwi::cpu
