// bf16 convolutions on AVX512-BF16 (vdpbf16ps) for CPUs that have it without
// AMX (AMD Zen 4 / Zen 5, Intel Cooper Lake).
//
// The operands are the AMX kernels' (kernels/cpu/gemm_amx.h): the time-major
// bf16 signal from amx_time_major and the weights packed once by
// amx_pack_conv_weights / amx_pack_rows_bf16 (16-column panels of bf16 pairs).
// A panel's pair row k/2 is 64 contiguous bytes, one zmm: exactly the right
// operand of vdpbf16ps, with the signal's (ci, ci + 1) pair broadcast as the
// left one. So both back ends share packing, windows and tests, and only the
// inner block differs.
#pragma once

#include <cstdint>

namespace izwi::cpu {

// AVX512-BF16 on this CPU and the AVX-512 kernels in use (IZWI_ISA unset or
// avx512). Every CPU with AMX-BF16 has it too.
bool avx512_bf16_available();

// Output channels one avx512_bf16_conv_block call takes at most (AMX: 32).
constexpr int64_t kAvx512Bf16MaxCols = 48;

// The contract of amx_conv_block, with up to 48 channels: output rows (time)
// t0 .. t0 + rows and channels n0 .. n0 + cols (cols <= 48, n0 a multiple of 16) of
// y[n, t] = sum_j sum_ci W[n, ci, j] xtm[t + j * dilation, ci] (+ bias[n]),
// written channel-major at y[n * ldy + t], or added to what is there with
// `accumulate` (a residual added in place).
void avx512_bf16_conv_block(const uint16_t* xtm, int64_t Cin, int taps, int64_t dilation,
                            int64_t t0, int64_t rows, const uint16_t* Bp, int64_t n0, int64_t cols,
                            const float* bias, float* y, int64_t ldy, bool accumulate);

// bf16 products of either back end: AMX-BF16 tiles or AVX512-BF16.
bool bf16_products_available();

// out[i] = x[i] rounded to bf16 (nearest even), i < n.
void to_bf16(const float* x, int64_t n, uint16_t* out);

}  // namespace izwi::cpu
