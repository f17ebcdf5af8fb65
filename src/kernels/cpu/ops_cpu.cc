// CPU implementations of the dense, normalisation and activation ops.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/quant.h"
#include "core/thread_pool.h"
#include "core/thread_scratch.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_amx.h"
#include "kernels/cpu/quant_acts.h"
#include "kernels/cpu/vec.h"
#include "kernels/cpu/weight_kernels.h"
#include "kernels/ops.h"

namespace izwi::ops {

namespace {

// The weight's kernels, after checking its shape is [N, K].
cpu::WeightKernels weight_of(const Tensor& W, int64_t K, const char* op) {
  if (W.shape.size() != 2 || W.shape[1] != K)
    fail(ErrorKind::kInvalidArgument, op, ": expected a weight of shape [N, ", K, "], got ",
         shape_str(W.shape));
  return cpu::weight_kernels(W.dtype, cpu::vec_kernels(), op);
}

}  // namespace

// Rows from which 8/4-bit linears (prompts) go through AMX tiles: each block
// of weight rows dequantized to bf16 once for all activation rows, which are
// rounded to bf16. Without AMX, prompts stay on the int8 row kernels (tiles of
// 16 weight rows held in cache while the rows pass over them): with two weight
// rows per pass those beat AVX512-BF16 products on the dequantized rows, e.g.
// a 100-token 0.6B q8 prompt 141-157 against 159-189 ms (docs/ARCHITECTURE.md).
constexpr int64_t kAmxQuantRows = 16;

namespace {

void linear_quant_amx(ThreadPool* pool, const float* x, int64_t M, int64_t K, const Tensor& W,
                      const float* bias, float* y) {
  const int64_t N = W.shape[0];
  const size_t row_bytes = izwi::row_bytes(W.dtype, K);
  const auto* base = static_cast<const uint8_t*>(W.data);
  // The activations in the weights' permuted K order, packed once per call
  // (this thread's buffers, which only grow; the workers read them). Each
  // panel of 16 activation rows is packed by one worker: the gathers and
  // scatters are ~10 % of a 100-row prompt's time on one core.
  thread_local std::vector<int32_t> perm;
  thread_local DType perm_format = DType::kF32;
  thread_local ThreadScratch<std::vector<uint16_t>> packed_scratch;
  if (perm_format != W.dtype || static_cast<int64_t>(perm.size()) != K) {
    perm = cpu::amx_quant_permutation(W.dtype, K);
    perm_format = W.dtype;
  }
  packed_scratch.resize(cpu::amx_packed_b_elems(K, M));
  uint16_t* packed = packed_scratch.data();
  const int64_t panel_elems = static_cast<int64_t>(cpu::amx_packed_b_elems(K, cpu::kAmxN));
  // A pointer, not the name: inside the workers `perm` would be their own thread_local.
  const int32_t* order = perm.data();
  parallel_for(pool, (M + cpu::kAmxN - 1) / cpu::kAmxN, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      cpu::amx_pack_b_cols_permuted(x + p * cpu::kAmxN * K, K, K,
                                    std::min(cpu::kAmxN, M - p * cpu::kAmxN), order,
                                    packed + p * panel_elems);
  });
  // Weight rows per dequantized block: AMX tiles take 16 or 32.
  constexpr int64_t block_rows = 32;
  parallel_for_dynamic(pool, (N + block_rows - 1) / block_rows, 1, [&](int64_t b0, int64_t b1) {
    thread_local ThreadScratch<std::vector<uint16_t>> rows;  // each worker's dequantized block
    rows.resize(static_cast<size_t>(block_rows * K));
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n0 = b * block_rows, n = std::min(block_rows, N - n0);
      cpu::amx_dequantize_rows(W.dtype, base + n0 * row_bytes, row_bytes, n, K, rows.data());
      cpu::amx_gemm_rows(rows.data(), K, static_cast<int>(n), packed, M, K,
                         bias ? bias + n0 : nullptr, y + n0, N, /*transpose_c=*/true);
    }
  });
}

}  // namespace

// Rows from which half-precision linears go through the packed GEMM (measured:
// a 12-row prompt is faster on dot_rows, a 100-row one on the GEMM).
constexpr int64_t kGemmRows = 32;
// Rows from which bf16 linears go through GemmKernels::linear_bf16_rows, where
// the ISA has it (below, dot_rows reads the weights once per 8 rows anyway).
constexpr int64_t kBf16RowsMin = 16;

void gemm(ThreadPool* pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
          const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
          bool accumulate) {
  if (const cpu::GemmKernels* g = cpu::gemm_kernels()) {
    g->gemm(pool, trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, cpu::GemmType::kF32,
            accumulate);
    return;
  }
  if (M <= 0 || N <= 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(M), static_cast<int>(N),
              static_cast<int>(K), 1.0f, A, static_cast<int>(lda), B, static_cast<int>(ldb),
              accumulate ? 1.0f : 0.0f, C, static_cast<int>(ldc));
}

void gemm_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
              int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += static_cast<double>(trans_a ? A[k * lda + m] : A[m * lda + k]) *
             (trans_b ? B[n * ldb + k] : B[k * ldb + n]);
      C[m * ldc + n] = static_cast<float>(s);
    }
}

namespace {

// The rows of one weight [N, K], or of several of one dtype and K stacked
// (ops::linear_stacked): row n of the stack, found among at most a few parts.
struct WeightRows {
  const Tensor* const* parts;
  int count;
  size_t row_bytes;
  const uint8_t* row(int64_t n) const {
    for (int i = 0;; ++i) {
      const int64_t rows = parts[i]->shape[0];
      if (n < rows || i + 1 == count)
        return static_cast<const uint8_t*>(parts[i]->data) + n * row_bytes;
      n -= rows;
    }
  }
  // Rows [n, n1) as runs that lie in one part: fn(first row pointer, n, run length).
  template <class Fn>
  void runs(int64_t n, int64_t n1, Fn&& fn) const {
    int64_t start = 0;
    for (int i = 0; i < count && n < n1; ++i) {
      const int64_t end = start + parts[i]->shape[0];
      if (n < end) {
        const int64_t stop = std::min(n1, end);
        fn(static_cast<const uint8_t*>(parts[i]->data) + (n - start) * row_bytes, n, stop - n);
        n = stop;
      }
      start = end;
    }
  }
};

// Weight rows per chunk the threads claim (ThreadPool::parallel_for_dynamic):
// about four chunks per thread, whole tiles. A fixed half each left one core
// waiting whenever the other started late or was preempted.
int64_t row_chunk(ThreadPool* pool, int64_t N, int64_t tile) {
  const int64_t threads = pool ? pool->size() : 1;
  const int64_t c = std::max<int64_t>(tile, N / (4 * threads));
  return (c + tile - 1) / tile * tile;
}

// Weight bytes per tile of the 8/4-bit path for more than kMaxQuantRows rows.
// The kernel reads a run as two forward streams (rows n and n + count / 2);
// tiles of 16 rows cut those to 8 rows each, too short for the hardware
// prefetchers to follow from memory. With 256 KB (in the 1 MB L2, beside the
// activations), bench_kernels' MLPs on the Zen 5 VM: 8 rows Q4 6.47 -> 4.59
// ms, Q8 8.00 -> 6.47; 100 rows Q4 51.0 -> 44.1, Q8 56.9 -> 53.8 (64 KB was
// between; 512 KB and whole chunks the same).
constexpr int64_t kQuantTileBytes = int64_t{256} << 10;

// Activation bytes per row group of the f32/bf16/f16 row path: every weight
// row's pass reads the whole group, so it should stay in the 48 KB L1. Eight
// rows of K = 3072 (a down projection) are 96 KB and were read from L2 at
// twice the bandwidth L2 gives: bench_kernels' bf16 MLPs, 8 rows 27.2 -> 20.5
// ms (24 KB: 21.1-22.1; 2-4 rows the same either way); in the 1.7B model's
// shapes 8 rows 131 -> 101 ms, 4 rows 68.6 -> 64-65 (16 KB: 58-63, within the
// noise). A row's sums do not depend on its group.
constexpr int64_t kDotRowsBytes = int64_t{32} << 10;

// The paths that read weight rows one at a time (decoding steps, short
// prompts): each splits the stack's rows over the pool in one parallel region.
void linear_by_rows(ThreadPool* pool, const float* x, int64_t M, int64_t K, const WeightRows& W,
                    const cpu::WeightKernels& wk, int64_t N, const float* bias, float* y) {
  const auto& vk = cpu::vec_kernels();
  if (wk.dot_rows_q) {
    // 8/4-bit weights: the activations are quantized once per call (into this
    // thread's buffers, which only grow), then every weight row is read once
    // for up to kMaxQuantRows activation rows at a time. Where several row
    // groups pass over them (M > 4), tiles of about kQuantTileBytes of weight
    // rows stay in the core's L2 meanwhile.
    thread_local ThreadScratch<cpu::QuantizedActs> scratch;
    cpu::QuantizedActs& acts = scratch;  // the workers must see this thread's, not their own
    cpu::quantize_acts(wk.dtype, x, M, K, acts, pool);
    constexpr int64_t kRowsAlign = 16;
    const int64_t tile_rows = std::max<int64_t>(
        kRowsAlign, kQuantTileBytes / static_cast<int64_t>(W.row_bytes) / kRowsAlign * kRowsAlign);
    parallel_for_dynamic(pool, N, row_chunk(pool, N, kRowsAlign), [&](int64_t n0, int64_t n1) {
      const int64_t tile = M <= cpu::kMaxQuantRows ? n1 - n0 : tile_rows;
      for (int64_t t0 = n0; t0 < n1; t0 += tile) {
        const int64_t t1 = std::min(n1, t0 + tile);
        for (int64_t m0 = 0; m0 < M; m0 += cpu::kMaxQuantRows) {
          const int rows = static_cast<int>(std::min<int64_t>(cpu::kMaxQuantRows, M - m0));
          W.runs(t0, t1, [&](const uint8_t* w, int64_t n, int64_t len) {
            wk.dot_rows_q(w, W.row_bytes, len, acts, m0, rows, y + m0 * N + n, N);
          });
        }
      }
      if (bias)
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = n0; n < n1; ++n) y[m * N + n] += bias[n];
    });
    return;
  }
  // Several f32 activation rows are read once per weight row: put them on
  // cache lines (row starts 64-byte aligned), as the kernels load 64 bytes at
  // a time and a load that straddles two lines costs two (4 rows of bf16
  // weights: 17.9 -> 16.3 ms over 528 MB, bench_kernels).
  int64_t ldx = K;
  if (M > 1 && (reinterpret_cast<uintptr_t>(x) % 64 != 0 || K % 16 != 0)) {
    thread_local ThreadScratch<AlignedVector<float>> aligned;
    ldx = (K + 15) / 16 * 16;
    aligned.resize(static_cast<size_t>(M * ldx));
    for (int64_t m = 0; m < M; ++m) std::copy_n(x + m * K, K, aligned.data() + m * ldx);
    x = aligned.data();
  }
  if (M == 1) {
    // GEMV: weight traffic dominates; one dot product per output, split over threads.
    parallel_for_dynamic(pool, N, row_chunk(pool, N, 64), [&](int64_t n0, int64_t n1) {
      W.runs(n0, n1,
             [&](const uint8_t* w, int64_t n, int64_t len) { wk.gemv(vk, w, x, K, len, y + n); });
      if (bias)
        for (int64_t n = n0; n < n1; ++n) y[n] += bias[n];
    });
    return;
  }
  // Several rows with half-precision (or few rows with f32) weights: each
  // weight row is widened in registers and used for a group of up to 8
  // activation rows (as many as fit kDotRowsBytes); tiles of 16 weight rows
  // stay in cache while all row groups pass, so the weights are read from
  // memory once. No widened copy, no allocation.
  const cpu::VecKernels::DotRows dot = wk.dot_rows;
  constexpr int64_t kTile = 16;
  const int64_t group = std::clamp<int64_t>(
      kDotRowsBytes / (ldx * static_cast<int64_t>(sizeof(float))), 1, cpu::kMaxDotRows);
  parallel_for_dynamic(pool, N, row_chunk(pool, N, kTile), [&](int64_t n0, int64_t n1) {
    float r[cpu::kMaxDotRows];
    for (int64_t t0 = n0; t0 < n1; t0 += kTile) {
      const int64_t t1 = std::min(n1, t0 + kTile);
      for (int64_t m0 = 0; m0 < M; m0 += group) {
        const int rows = static_cast<int>(std::min<int64_t>(group, M - m0));
        for (int64_t n = t0; n < t1; ++n) {
          dot(W.row(n), x + m0 * ldx, ldx, rows, K, r);
          const float b = bias ? bias[n] : 0.0f;
          for (int m = 0; m < rows; ++m) y[(m0 + m) * N + n] = r[m] + b;
        }
      }
    }
  });
}

// Prompts on bf16 weights go through GemmKernels::linear_bf16_rows (where the ISA has it).
bool bf16_rows_path(DType dtype, int64_t M, int64_t K) {
  const cpu::GemmKernels* g = cpu::gemm_kernels();
  return dtype == DType::kBF16 && M >= kBf16RowsMin && K % 2 == 0 && g && g->linear_bf16_rows;
}

// Whether one weight's product takes a whole-matrix path (prompts: bf16
// products for 8/4-bit weights, bf16 weight rows, the GEMM) rather than rows
// one at a time.
bool whole_matrix_path(const cpu::WeightKernels& wk, DType dtype, int64_t M, int64_t N, int64_t K) {
  if (wk.dot_rows_q)
    return M >= kAmxQuantRows && N % cpu::kAmxM == 0 && cpu::amx_available() &&
           cpu::amx_quant_supported(dtype, K);
  if (bf16_rows_path(dtype, M, K)) return true;
  if (dtype == DType::kF32) return M > cpu::kMaxDotRows;
  const cpu::GemmKernels* g = cpu::gemm_kernels();
  return wk.gemm && M >= kGemmRows && g && g->half_b;
}

}  // namespace

void linear(ThreadPool* pool, const float* x, int64_t M, int64_t K, const Tensor& W,
            const float* bias, float* y) {
  const cpu::WeightKernels wk = weight_of(W, K, "linear");
  const int64_t N = W.shape[0];
  if (!whole_matrix_path(wk, W.dtype, M, N, K)) {
    const Tensor* one[] = {&W};
    linear_by_rows(pool, x, M, K, WeightRows{one, 1, izwi::row_bytes(W.dtype, K)}, wk, N, bias, y);
    return;
  }
  if (wk.dot_rows_q) {
    linear_quant_amx(pool, x, M, K, W, bias, y);
    return;
  }
  const cpu::GemmKernels* g = cpu::gemm_kernels();
  if (bf16_rows_path(W.dtype, M, K)) {
    // Prompts on bf16 weights: the weight rows as stored, read once per 32 rows.
    g->linear_bf16_rows(pool, x, M, K, static_cast<const uint16_t*>(W.data), N, bias, y);
    return;
  }
  // Many rows: a GEMM, y = x · W^T. f32 weights (the codec) from 9 rows on;
  // half-precision weights (long prompts) from kGemmRows on, widened while the
  // GEMM packs them — below that packing all weights costs more than dot_rows.
  if (W.dtype == DType::kF32)
    gemm(pool, false, true, M, N, K, x, K, static_cast<const float*>(W.data), K, y, N);
  else
    g->gemm(pool, false, true, M, N, K, x, K, W.data, K, y, N, *wk.gemm, false);
  if (bias)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) y[m * N + n] += bias[n];
}

void linear_stacked(ThreadPool* pool, const float* x, int64_t M, int64_t K,
                    const Tensor* const* parts, int count, float* y) {
  IZWI_ASSERT(count >= 1);
  const cpu::WeightKernels wk = weight_of(*parts[0], K, "linear_stacked");
  int64_t N = 0;
  for (int i = 0; i < count; ++i) {
    weight_of(*parts[i], K, "linear_stacked");
    if (parts[i]->dtype != parts[0]->dtype)
      fail(ErrorKind::kInvalidArgument, "linear_stacked: expected every part in ",
           dtype_name(parts[0]->dtype), ", part ", i, " is ", dtype_name(parts[i]->dtype));
    N += parts[i]->shape[0];
  }
  bool whole = false;
  for (int i = 0; i < count; ++i)
    whole = whole || whole_matrix_path(wk, parts[i]->dtype, M, parts[i]->shape[0], K);
  if (!whole) {
    linear_by_rows(pool, x, M, K, WeightRows{parts, count, izwi::row_bytes(parts[0]->dtype, K)}, wk,
                   N, nullptr, y);
    return;
  }
  // Prompts: each part through its own path into this thread's buffer (which
  // only grows), then into its columns of y.
  thread_local ThreadScratch<std::vector<float>> part_out;
  int64_t col = 0;
  for (int i = 0; i < count; ++i) {
    const int64_t n = parts[i]->shape[0];
    part_out.resize(static_cast<size_t>(M * n));
    linear(pool, x, M, K, *parts[i], nullptr, part_out.data());
    for (int64_t m = 0; m < M; ++m) std::copy_n(part_out.data() + m * n, n, y + m * N + col);
    col += n;
  }
}

void linear_ref(const float* x, int64_t M, int64_t K, const Tensor& W, const float* bias,
                float* y) {
  weight_of(W, K, "linear_ref");
  const int64_t N = W.shape[0];
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t n = 0; n < N; ++n) {
    W.to_f32(n * K, K, row.data());
    for (int64_t m = 0; m < M; ++m) {
      double s = bias ? bias[n] : 0.0;
      for (int64_t k = 0; k < K; ++k) s += static_cast<double>(x[m * K + k]) * row[k];
      y[m * N + n] = static_cast<float>(s);
    }
  }
}

void layer_norm(const float* x, int64_t rows, int64_t dim, const float* weight, const float* bias,
                float eps, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    double mean = 0;
    for (int64_t i = 0; i < dim; ++i) mean += xr[i];
    mean /= static_cast<double>(dim);
    double var = 0;
    for (int64_t i = 0; i < dim; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    var /= static_cast<double>(dim);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < dim; ++i) {
      float v = static_cast<float>((xr[i] - mean) * inv);
      if (weight) v *= weight[i];
      if (bias) v += bias[i];
      yr[i] = v;
    }
  }
}

void rms_norm(const float* x, int64_t rows, int64_t dim, const float* weight, float eps, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    // Eight partial sums (lane j takes i = j mod 8), added pairwise at the
    // end: one chain of 1024 dependent double adds was ~1 us a row, and a
    // batched step of four streams normalises ~1400 rows (3 % of its time,
    // on one thread while the other waited). The two orders differ by ~1e-16
    // relative in double, far below the float the scale is rounded to.
    double part[8] = {};
    int64_t k = 0;
    for (; k + 8 <= dim; k += 8)
      for (int j = 0; j < 8; ++j) part[j] += static_cast<double>(xr[k + j]) * xr[k + j];
    for (; k < dim; ++k) part[k % 8] += static_cast<double>(xr[k]) * xr[k];
    const double ss =
        ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dim) + eps));
    for (int64_t i = 0; i < dim; ++i) yr[i] = (weight ? weight[i] : 1.0f) * (xr[i] * inv);
  }
}

void gelu_erf(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

void silu(float* x, int64_t n) {
  cpu::vec_kernels().silu(x, n);
}

void elu(ThreadPool* pool, float* x, int64_t n) {
  // expm1 per element (exact to the last bit the libm gives, which the
  // encoder's codes rely on), on every thread: it was a serial pass over the
  // SEANet's 24 kHz signals.
  parallel_for(pool, n, 1 << 14, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      if (x[i] < 0) x[i] = std::expm1(x[i]);
  });
}

void snake_beta(ThreadPool* pool, float* x, int64_t C, int64_t T, const float* alpha,
                const float* inv_beta) {
  const auto& vk = cpu::vec_kernels();
  parallel_for(pool, C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) vk.snake(x + c * T, T, alpha[c], inv_beta[c]);
  });
}

void snake_beta_ref(float* x, int64_t C, int64_t T, const float* alpha, const float* inv_beta) {
  const auto& vk = cpu::vec_kernels_scalar();
  for (int64_t c = 0; c < C; ++c) vk.snake(x + c * T, T, alpha[c], inv_beta[c]);
}

}  // namespace izwi::ops
