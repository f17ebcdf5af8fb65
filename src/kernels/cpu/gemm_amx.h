// bf16 matrix products on AMX tiles (Sapphire Rapids and later).
//
// C [M, N] = A [M, K] · B [K, N] with A and B in bf16 and C accumulated in f32.
// A is row-major (a weight matrix as stored: [out, in]); B is packed once per
// call into the tiles' VNNI layout from f32 activations. Used where rounding
// the activations to bf16 is acceptable: the codec decoder's convolutions in
// its bf16 mode and the prefill of 8/4-bit weights — never on an exact path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace izwi::cpu {

// AMX-BF16 and AVX512-BF16 present and the tile state granted by the OS (asked
// once per process). False when IZWI_ISA asks for a lower tier.
bool amx_available();

constexpr int64_t kAmxK = 32;  // K of one tile step (bf16 pairs x 16)
constexpr int64_t kAmxN = 16;  // columns of one B tile
constexpr int64_t kAmxM = 16;  // rows of one A / C tile

inline int64_t amx_round_k(int64_t K) {
  return (K + kAmxK - 1) / kAmxK * kAmxK;
}

// Packed B: panels of 16 columns; in a panel, element (k, n) sits at
// (k / 2) * 32 + (n % 16) * 2 + k % 2 (the VNNI pairs a tile row holds), so a
// K step of 32 is one contiguous 1 KB tile. Zero beyond K and N.
inline size_t amx_packed_b_elems(int64_t K, int64_t N) {
  return static_cast<size_t>(amx_round_k(K) * ((N + kAmxN - 1) / kAmxN * kAmxN));
}

// B (k, n) = src[k * ld + n], f32 rows (a [channels, time] signal).
void amx_pack_b_rows(const float* src, int64_t ld, int64_t K, int64_t N, uint16_t* out);

// ---- 8/4-bit weights (core/quant.h) as bf16 tiles ------------------------------
// A Q8 / Q4 row is dequantized in the order its bytes are stored (blocks
// interleaved four weights at a time), not the natural order: a product sums
// over K in any order, so the activations are packed in the same permuted order
// instead, which keeps the dequantization a straight read. Rows of whole chunks
// only (K a multiple of 512).
bool amx_quant_supported(DType format, int64_t K);
// perm[p] = natural index of the weight dequantized to position p.
std::vector<int32_t> amx_quant_permutation(DType format, int64_t K);
// n_rows rows (row_bytes apart) -> out [n_rows, K] bf16 in permuted order.
void amx_dequantize_rows(DType format, const uint8_t* rows, size_t row_bytes, int64_t n_rows,
                         int64_t K, uint16_t* out);
// B (k, n) = src[n * ld + perm[k]]: activations in the weights' permuted order.
void amx_pack_b_cols_permuted(const float* src, int64_t ld, int64_t K, int64_t N,
                              const int32_t* perm, uint16_t* out);

// ---- convolutions with the signal as the left operand --------------------------
// A stride-1 convolution y[co, t] = sum_j sum_ci W[co, ci, j] x[ci, t + j * dilation]
// is a sum over taps of products whose left operand is the time-major signal
// shifted by j * dilation rows: a tile of it is 16 consecutive time rows, so
// the shifted operands are plain tile loads at another start row, and no
// im2col copy is made. The weights are the right operand, packed at load.

// Time-major bf16 copy of a channel-major signal: out[r, c] = f(x[c, first + r])
// for r < rows (zero where first + r is outside 0 .. T-1); C a multiple of 32.
// f is SnakeBeta with per-channel alpha, inv_beta (ops::snake_beta) when alpha
// is given, else the identity. With `left` [C, left_len], positions -left_len
// .. -1 read left[c, left_len + position] instead of zero (a streaming
// convolution's history, read in place).
void amx_time_major(const float* x, int64_t C, int64_t T, int64_t first, int64_t rows,
                    const float* alpha, const float* inv_beta, uint16_t* out,
                    const float* left = nullptr, int64_t left_len = 0);

// Weights W [Cout, Cin, taps] as the packed right operand: B (j * Cin + ci, co).
void amx_pack_conv_weights(const float* W, int64_t Cout, int64_t Cin, int taps, uint16_t* out);
// Transposed-convolution weights W [Cin, N] (N = Cout * K) as B (ci, n).
void amx_pack_rows_bf16(const float* W, int64_t Cin, int64_t N, uint16_t* out);

// Output rows (time) t0 .. t0 + rows and columns (channels) n0 .. n0 + cols
// (cols <= 32, n0 a multiple of 16) of the tap sum above, written channel-major:
// y[n * ldy + t] (+ bias[n]), or added to y there with `accumulate`. xtm: [>= t0 + rows
// rounded up to 16 + (taps-1) * dilation rows, Cin] time-major; Bp: packed weights with
// K = taps * Cin.
void amx_conv_block(const uint16_t* xtm, int64_t Cin, int taps, int64_t dilation, int64_t t0,
                    int64_t rows, const uint16_t* Bp, int64_t n0, int64_t cols, const float* bias,
                    float* y, int64_t ldy, bool accumulate);

// Rows m0 .. m0 + rows of C (rows a multiple of 16, at most 32) over all N:
// C = A · B (+ bias[m]), A [rows, Kp] bf16 with leading dimension lda (columns
// K .. Kp must be zero, or B's rows there are zero: they are). With
// `transpose_c` C is written as C^T: element (m, n) at c[n * ldc + m].
// Single-threaded; the caller splits rows over its pool.
void amx_gemm_rows(const uint16_t* A, int64_t lda, int rows, const uint16_t* Bp, int64_t N,
                   int64_t Kp, const float* bias, float* C, int64_t ldc, bool transpose_c);

}  // namespace izwi::cpu
