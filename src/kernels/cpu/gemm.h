// CPU matrix products behind ops::gemm.
#pragma once

#include <cstdint>
#include <vector>

namespace izwi {
class ThreadPool;
}

namespace izwi::cpu {

enum class GemmType { kF32, kBF16, kF16 };

// C [M, N] = op(A) [M, K] · op(B) [K, N], row-major with leading dimensions;
// op(X) = X^T when trans_x (then X is stored [K, M] / [N, K]). A and C are
// f32; B is f32, bf16 or f16 (widened as it is packed). `accumulate`: C +=
// instead of C =. Needs AVX-512F (F16C).
void gemm_f32_avx512(ThreadPool* pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                     const float* A, int64_t lda, const void* B, int64_t ldb, float* C, int64_t ldc,
                     GemmType b_type = GemmType::kF32, bool accumulate = false);

// A left operand packed once (convolution weights at load): op(A) [M, K] in
// the kernel's panels of 12 rows, k-major, the last panel zero-padded;
// packed_a_size(M, K) floats. Calls given it never pack A again.
int64_t packed_a_size(int64_t M, int64_t K);
std::vector<float> pack_a_f32_avx512(bool trans_a, int64_t M, int64_t K, const float* A,
                                     int64_t lda);
// C [M, N] (+)= A [M, K] · B [K, N] (row-major, ldb) with A from pack_a_f32_avx512.
void gemm_packed_a_f32_avx512(ThreadPool* pool, int64_t M, int64_t N, int64_t K,
                              const float* packed_a, const float* B, int64_t ldb, float* C,
                              int64_t ldc, bool accumulate);

// A stride-1 convolution as a GEMM without the im2col copy: C [M, N] (+)=
// A [M, K] · X, where K = channels x taps and row c * taps + t of X is
// x[c * ldx + t * dilation + n] for n < N (x: the padded signal [channels, ldx]).
// lda == 0: A is prepacked (pack_a_f32_avx512).
void conv_gemm_f32_avx512(ThreadPool* pool, int64_t M, int64_t N, int64_t K, const float* A,
                          int64_t lda, const float* x, int64_t ldx, int taps, int64_t dilation,
                          float* C, int64_t ldc, bool accumulate);

}  // namespace izwi::cpu
