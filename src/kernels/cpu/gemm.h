// CPU matrix products behind ops::gemm.
#pragma once

#include <cstdint>

namespace izwi {
class ThreadPool;
}

namespace izwi::cpu {

// C [M, N] = op(A) [M, K] · op(B) [K, N], row-major with leading dimensions;
// op(X) = X^T when trans_x (then X is stored [K, M] / [N, K]). Needs AVX-512F.
void gemm_f32_avx512(ThreadPool* pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                     int64_t ldc);

}  // namespace izwi::cpu
