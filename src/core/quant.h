// 8- and 4-bit block weight formats, chosen when a model is loaded for the
// talker's and code predictor's linears (their bytes are what each frame reads).
//
// A weight row of K values (K a multiple of 32) is stored as
//   [K/32 f16 scales][quants]
// with one scale d per block of 32 consecutive weights, w ~= d * (q - offset):
//   Q8: K quant bytes, q = round(w / d) + 128 in 1..255, d = max|w| / 127.
//       The offset makes the quants unsigned bytes, which is what AVX-512 VNNI's
//       vpdpbusd (u8 x s8) multiplies with int8 activations; the offset's share
//       is taken back out with the activations' sums (kernels/cpu/quant_acts.h).
//   Q4: K/2 quant bytes, q in 0..15 with offset 8, d = m / -8 where m is the
//       block's weight of largest magnitude (so m itself is exact, as in ggml's
//       Q4_0). Nibbles are arranged per group of 4 blocks (128 weights, 64
//       bytes): byte 16 i + j holds block i's weight j in its low nibble and its
//       weight 16 + j in the high nibble, so one 64-byte load gives two runs of 64
//       weights. A row's last group may hold fewer blocks (16 bytes each).
// Both cost what ggml's Q8_0 / Q4_0 cost, 34 / 18 bytes per 32 weights; the
// scales of a row sit together so a kernel reads 16 of them with one load.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace izwi {

class ThreadPool;

constexpr int64_t kQuantBlock = 32;

// Weight j (0..31) of block b of a row whose quants start at `quants`, offset
// removed: the integer the kernels multiply (reference kernels and tests).
inline int quant_value(DType format, const uint8_t* quants, int64_t b, int j) {
  if (format == DType::kQ8) return static_cast<int>(quants[b * kQuantBlock + j]) - 128;
  const uint8_t byte = quants[(b / 4) * 64 + (b % 4) * 16 + (j % 16)];
  return ((j < 16 ? byte : byte >> 4) & 0xF) - 8;
}

bool is_block_format(DType dtype);
// Can a [rows, K] weight be stored in `format`? (K a multiple of 32.)
bool quantizable(DType format, int64_t K);
// Bytes of one row of K values in `dtype` (any dtype).
size_t row_bytes(DType dtype, int64_t K);

// One row of K f32 weights -> row_bytes(format, K) bytes.
void quantize_row(DType format, const float* w, int64_t K, uint8_t* out);
// One row back to f32 (the exact values the kernels multiply with).
void dequantize_row(DType format, const uint8_t* row, int64_t K, float* out);

// A 2-D weight [N, K] in any float dtype, quantized row by row (rows split over
// `pool`, which may be null). Throws if K is not a multiple of 32.
Tensor quantize(const Tensor& w, DType format, ThreadPool* pool);

}  // namespace izwi
