// CPU matrix products behind ops::gemm and the convolutions: our blocked GEMM
// (kernels/cpu/gemm_blocked.h), one instance per ISA.
//
// Why our own: the OpenBLAS Debian ships falls back to SSE3 ("Prescott")
// kernels on CPUs it does not recognise, which made the codec decoder 2x
// slower than it has to be on our development machines; and a GEMM of our own
// can read a convolution's column matrix straight from the signal and take
// weights packed once at load.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/vec.h"

namespace izwi {
class ThreadPool;
}

namespace izwi::cpu {

enum class GemmType { kF32, kBF16, kF16 };

struct GemmKernels {
  Isa isa;
  int64_t panel_rows;  // rows per A panel in pack_a's layout (the register tile's height)
  bool half_b;         // gemm takes bf16 / f16 B (widened while packed); else f32 only

  // C [M, N] = op(A) [M, K] · op(B) [K, N], row-major with leading dimensions;
  // op(X) = X^T when trans_x (then X is stored [K, M] / [N, K]). A and C are
  // f32; B is f32, or (half_b) bf16 / f16. `accumulate`: C += instead of C =.
  void (*gemm)(ThreadPool* pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
               const float* A, int64_t lda, const void* B, int64_t ldb, float* C, int64_t ldc,
               GemmType b_type, bool accumulate);

  // A stride-1 convolution as a GEMM without the im2col copy: C [M, N] (+)=
  // A [M, K] · X, where K = channels x taps and row c * taps + t of X is
  // x[c * ldx + t * dilation + n] for n < N (x: the padded signal [channels,
  // ldx]). lda == 0: A is prepacked (pack_a).
  void (*conv_gemm)(ThreadPool* pool, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                    const float* x, int64_t ldx, int taps, int64_t dilation, float* C, int64_t ldc,
                    bool accumulate);

  // A left operand packed once (convolution weights at load): op(A) [M, K] in
  // panels of panel_rows rows, k-major, the last panel zero-padded;
  // packed_a_size(M, K) floats. Only this table's functions can read it.
  std::vector<float> (*pack_a)(bool trans_a, int64_t M, int64_t K, const float* A, int64_t lda);
  // C [M, N] (+)= A [M, K] · B [K, N] (row-major, ldb) with A from pack_a.
  void (*gemm_packed_a)(ThreadPool* pool, int64_t M, int64_t N, int64_t K, const float* packed_a,
                        const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate);

  // Prompts on bf16 weights as stored: y [M, N] (+ bias) = x [M, K] · W^T, W
  // [N, K] bf16, K even; f32 products and sums. Null where the ISA has none.
  void (*linear_bf16_rows)(ThreadPool* pool, const float* x, int64_t M, int64_t K,
                           const uint16_t* W, int64_t N, const float* bias, float* y) = nullptr;

  int64_t packed_a_size(int64_t M, int64_t K) const {
    return (M + panel_rows - 1) / panel_rows * panel_rows * K;
  }
};

// The GEMM for `isa` (AVX-512: 12 x 32 tile, half-precision B; AVX2 + FMA:
// 6 x 16 tile, f32 B), or null where there is none or the CPU lacks it.
const GemmKernels* gemm_kernels_for(Isa isa);
// The one for the ISA this process runs (vec_kernels().isa); null: use BLAS.
const GemmKernels* gemm_kernels();

const GemmKernels& gemm_kernels_avx512();  // call only where the CPU has AVX-512
const GemmKernels& gemm_kernels_avx2();    // call only where the CPU has AVX2 + FMA

}  // namespace izwi::cpu
