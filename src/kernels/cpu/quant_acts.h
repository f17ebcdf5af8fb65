// Activations quantized to int8 for the 8/4-bit weight formats (core/quant.h).
//
// Each activation row is cut into the same blocks of 32 as the weights, with a
// scale per block (dx = max|x| / 127), so a block's dot product is one exact
// integer sum times dw * dx. The weights' quants are unsigned (q = w/dw +
// offset, offset 128 for Q8 and 8 for Q4); the offset's share, offset * sum(xq),
// depends on the activations only, so it is computed here once per row, per
// 32-bit lane of the VNNI kernel, and the kernel starts its integer
// accumulators from it.
//
// Layout of one row's values (stride bytes, zero-padded):
//   Q8: the K values in order; stride = K rounded up to 64 (one zmm).
//   Q4: per group of 4 blocks, 128 bytes: [value j of block i at 16 i + j]
//       [value 16 + j of block i at 64 + 16 i + j], the order of the weights'
//       low and high nibbles; stride = 128 per group.
// corr: per 64 value bytes (Q8) or per 128-byte group (Q4), 16 int32 lanes,
//   -offset * (the sum of the values that lane multiplies).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace izwi::cpu {

struct QuantizedActs {
  DType format = DType::kQ8;  // the weight format these were made for
  int64_t k = 0;              // values per row
  int64_t rows = 0;
  int64_t stride = 0;         // value bytes per row
  int64_t corr_stride = 0;    // int32 lanes per row
  int64_t blocks = 0;         // k / 32
  std::vector<int8_t> q;      // [rows, stride]
  std::vector<float> d;       // [rows, blocks]
  std::vector<int32_t> corr;  // [rows, corr_stride]

  const int8_t* q_row(int64_t r) const { return q.data() + r * stride; }
  const float* d_row(int64_t r) const { return d.data() + r * blocks; }
  const int32_t* corr_row(int64_t r) const { return corr.data() + r * corr_stride; }
};

// Where value j (0..31) of block b goes in a row of quantized activations.
inline int64_t act_position(DType format, int64_t b, int j) {
  if (format == DType::kQ8) return b * 32 + j;
  return (b / 4) * 128 + (j < 16 ? 0 : 64) + (b % 4) * 16 + (j % 16);
}

// Quantizes x: [rows, k] for weights in `format`. Reuses `out`'s buffers, so a
// caller that keeps `out` allocates only when a row grows.
void quantize_acts(DType format, const float* x, int64_t rows, int64_t k, QuantizedActs& out);

}  // namespace izwi::cpu
