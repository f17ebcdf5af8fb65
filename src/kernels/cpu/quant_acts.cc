#include "kernels/cpu/quant_acts.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/quant.h"

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

}  // namespace

void quantize_acts(DType format, const float* x, int64_t rows, int64_t k, QuantizedActs& out) {
  IZWI_ASSERT(quantizable(format, k));
  const int64_t blocks = k / kQuantBlock;
  const int64_t chunks = (blocks + kChunkBlocks - 1) / kChunkBlocks;
  out.format = format;
  out.k = k;
  out.rows = rows;
  out.blocks = blocks;
  // 64 bytes of padding: a kernel may load a whole zmm at a partial chunk's end.
  out.stride = k + 64;
  out.corr_stride = chunks * kChunkBlocks;
  // resize() only allocates when a buffer grows.
  out.q.resize(static_cast<size_t>(rows * out.stride));
  out.d.resize(static_cast<size_t>(rows * blocks));
  out.corr.resize(static_cast<size_t>(rows * out.corr_stride));
  const int offset = format == DType::kQ8 ? 128 : 8;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * k;
    int8_t* q = out.q.data() + r * out.stride;
    int32_t* corr = out.corr.data() + r * out.corr_stride;
    std::fill(q + k, q + out.stride, 0);
    std::fill(corr, corr + out.corr_stride, 0);
    for (int64_t b = 0; b < blocks; ++b) {
      float amax = 0;
      for (int j = 0; j < kQuantBlock; ++j) amax = std::max(amax, std::fabs(xr[b * 32 + j]));
      const float d = amax / 127.0f;
      const float inv = d != 0 ? 1.0f / d : 0.0f;
      out.d[static_cast<size_t>(r * blocks + b)] = d;
      int32_t sum = 0;
      for (int j = 0; j < kQuantBlock; ++j) {
        const auto v = static_cast<int8_t>(round_half_away(xr[b * 32 + j] * inv));
        q[interleaved_position(blocks, b, j)] = v;
        sum += v;
      }
      corr[b] = -offset * sum;  // chunk c's lanes are corr[16 c .. 16 c + 15]
    }
  }
}

}  // namespace izwi::cpu
