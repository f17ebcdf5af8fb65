// CPU matrix products behind ops::gemm.
#pragma once

#include <cstdint>

namespace izwi {
class ThreadPool;
}

namespace izwi::cpu {

enum class GemmType { kF32, kBF16, kF16 };

// C [M, N] = op(A) [M, K] · op(B) [K, N], row-major with leading dimensions;
// op(X) = X^T when trans_x (then X is stored [K, M] / [N, K]). A and C are
// f32; B is f32, bf16 or f16 (widened as it is packed). Needs AVX-512F (F16C).
void gemm_f32_avx512(ThreadPool* pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                     const float* A, int64_t lda, const void* B, int64_t ldb, float* C, int64_t ldc,
                     GemmType b_type = GemmType::kF32);

}  // namespace izwi::cpu
