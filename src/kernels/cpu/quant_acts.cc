#include "kernels/cpu/quant_acts.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/quant.h"
#include "core/thread_pool.h"
#include "kernels/cpu/vec.h"

namespace izwi::cpu {

namespace {

// std::lround for |v| <= 127 without the libm call (it was a tenth of the
// code predictor's time): truncate, then step away from zero on a half or more.
inline int32_t round_half_away(float v) {
  int32_t t = static_cast<int32_t>(v);
  const float frac = v - static_cast<float>(t);  // exact
  t += (frac >= 0.5f) - (frac <= -0.5f);
  return t;
}

// One row's blocks in plain C++: the reference the SIMD version equals bit for bit.
void quantize_row_scalar(int offset, const float* xr, int64_t blocks, int8_t* q, float* d,
                         int32_t* corr) {
  for (int64_t b = 0; b < blocks; ++b) {
    float amax = 0;
    for (int j = 0; j < kQuantBlock; ++j) amax = std::max(amax, std::fabs(xr[b * 32 + j]));
    const float db = amax / 127.0f;
    const float inv = db != 0 ? 1.0f / db : 0.0f;
    d[b] = db;
    int32_t sum = 0;
    for (int j = 0; j < kQuantBlock; ++j) {
      const auto v = static_cast<int8_t>(round_half_away(xr[b * 32 + j] * inv));
      q[interleaved_position(blocks, b, j)] = v;
      sum += v;
    }
    corr[b] = -offset * sum;  // chunk c's lanes are corr[16 c .. 16 c + 15]
  }
}

}  // namespace

void quantize_acts(Isa isa, DType format, const float* x, int64_t rows, int64_t k,
                   QuantizedActs& out, ThreadPool* pool) {
  IZWI_ASSERT(quantizable(format, k));
  const int64_t blocks = k / kQuantBlock;
  const int64_t chunks = (blocks + kChunkBlocks - 1) / kChunkBlocks;
  out.format = format;
  out.k = k;
  out.rows = rows;
  out.blocks = blocks;
  // 64 bytes of padding at least (a kernel may load a whole zmm at a partial
  // chunk's end), up to a multiple of 64 (rows on cache lines).
  out.stride = (k + 64 + 63) / 64 * 64;
  out.corr_stride = chunks * kChunkBlocks;
  // resize() only allocates when a buffer grows.
  out.q.resize(static_cast<size_t>(rows * out.stride));
  out.d.resize(static_cast<size_t>(rows * blocks));
  out.corr.resize(static_cast<size_t>(rows * out.corr_stride));
  const int offset = format == DType::kQ8 ? 128 : 8;
  // Rows are independent: a prompt's are split over the pool, which otherwise
  // waited on this thread (2 % of a 100-token q8 prompt's samples; the prompt's
  // best-of-10 moved within noise, 158-161 -> 156-161 ms).
  parallel_for(pool, rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int8_t* q = out.q.data() + r * out.stride;
      int32_t* corr = out.corr.data() + r * out.corr_stride;
      std::fill(q + k, q + out.stride, 0);
      std::fill(corr, corr + out.corr_stride, 0);
      float* d = out.d.data() + r * blocks;
      if (isa == Isa::kAvx512)
        quantize_row_avx512(offset, x + r * k, blocks, q, d, corr);
      else
        quantize_row_scalar(offset, x + r * k, blocks, q, d, corr);
    }
  });
}

void quantize_acts(DType format, const float* x, int64_t rows, int64_t k, QuantizedActs& out,
                   ThreadPool* pool) {
  quantize_acts(vec_kernels().isa == Isa::kAvx512 ? Isa::kAvx512 : Isa::kScalar, format, x, rows, k,
                out, pool);
}

}  // namespace izwi::cpu
