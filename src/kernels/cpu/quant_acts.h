// Activations quantized to int8 for the 8/4-bit weight formats (core/quant.h).
// Rows start on cache lines (core/aligned.h, a stride that is a multiple of 64).
//
// Each activation row is cut into the same blocks of 32 as the weights, with a
// scale per block (dx = max|x| / 127), so a block's dot product is one exact
// integer sum times dw * dx. The values are interleaved as the weights are
// (core/quant.h: value e of block b at interleaved_position), so the kernels
// load both with the same offsets.
//
// The weights' quants are unsigned (q = w / dw + offset, offset 128 for Q8 and
// 8 for Q4); the offset's share, offset * sum(xq), depends on the activations
// only, so it is computed here once per block: corr holds -offset * sum(xq) per
// block, 16 lanes per chunk of 16 blocks (the lanes of a partial chunk beyond
// its blocks are 0), and the kernels start their integer accumulators from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/aligned.h"
#include "core/tensor.h"
#include "kernels/cpu/vec.h"

namespace izwi {
class ThreadPool;
}

namespace izwi::cpu {

struct QuantizedActs {
  DType format = DType::kQ8;  // the weight format these were made for (the offset)
  int64_t k = 0;              // values per row
  int64_t rows = 0;
  int64_t stride = 0;  // value bytes per row: 32 per block, 64+ of zero padding, a multiple of 64
  int64_t corr_stride = 0;    // int32 lanes per row: 16 per chunk
  int64_t blocks = 0;         // k / 32
  AlignedVector<int8_t> q;    // [rows, stride]
  std::vector<float> d;       // [rows, blocks]
  std::vector<int32_t> corr;  // [rows, corr_stride]

  const int8_t* q_row(int64_t r) const { return q.data() + r * stride; }
  const float* d_row(int64_t r) const { return d.data() + r * blocks; }
  const int32_t* corr_row(int64_t r) const { return corr.data() + r * corr_stride; }
};

// Quantizes x: [rows, k] for weights in `format`. Reuses `out`'s buffers, so a
// caller that keeps `out` allocates only when a row grows.
// Rows are split over `pool` when it is given (and there are enough of them).
void quantize_acts(DType format, const float* x, int64_t rows, int64_t k, QuantizedActs& out,
                   ThreadPool* pool = nullptr);
// The same with one instruction set's code: kAvx512, or plain C++ for any
// other. Both give the same bytes (tests compare them); the first overload
// takes the fastest the CPU has.
void quantize_acts(Isa isa, DType format, const float* x, int64_t rows, int64_t k,
                   QuantizedActs& out, ThreadPool* pool = nullptr);

// One row's `blocks` blocks of 32 (quant_acts_avx512.cc): values into q at
// their interleaved positions, scales into d, -offset * block sums into corr.
void quantize_row_avx512(int offset, const float* x, int64_t blocks, int8_t* q, float* d,
                         int32_t* corr);

}  // namespace izwi::cpu
