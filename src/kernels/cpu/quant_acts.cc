#include "kernels/cpu/quant_acts.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/quant.h"

namespace izwi::cpu {

void quantize_acts(DType format, const float* x, int64_t rows, int64_t k, QuantizedActs& out) {
  IZWI_ASSERT(quantizable(format, k));
  const bool q8 = format == DType::kQ8;
  const int64_t blocks = k / kQuantBlock;
  const int64_t chunk = q8 ? 64 : 128;  // value bytes per 16 corr lanes
  out.format = format;
  out.k = k;
  out.rows = rows;
  out.blocks = blocks;
  out.stride = q8 ? (k + 63) / 64 * 64 : (blocks + 3) / 4 * 128;
  out.corr_stride = out.stride / chunk * 16;
  // resize() only allocates when a buffer grows; the padding must be zeros.
  out.q.resize(static_cast<size_t>(rows * out.stride));
  out.d.resize(static_cast<size_t>(rows * blocks));
  out.corr.resize(static_cast<size_t>(rows * out.corr_stride));
  const int offset = q8 ? 128 : 8;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * k;
    int8_t* q = out.q.data() + r * out.stride;
    std::fill(q, q + out.stride, 0);
    for (int64_t b = 0; b < blocks; ++b) {
      float amax = 0;
      for (int j = 0; j < kQuantBlock; ++j) amax = std::max(amax, std::fabs(xr[b * 32 + j]));
      const float d = amax / 127.0f;
      const float inv = d != 0 ? 1.0f / d : 0.0f;
      out.d[static_cast<size_t>(r * blocks + b)] = d;
      for (int j = 0; j < kQuantBlock; ++j)
        q[act_position(format, b, j)] = static_cast<int8_t>(std::lround(xr[b * 32 + j] * inv));
    }
    // Lane l of a chunk multiplies value bytes 4l..4l+3 (and, for Q4, the same
    // four of the group's high half).
    int32_t* corr = out.corr.data() + r * out.corr_stride;
    for (int64_t c = 0; c < out.stride / chunk; ++c)
      for (int l = 0; l < 16; ++l) {
        int32_t s = 0;
        for (int i = 0; i < 4; ++i) {
          s += q[c * chunk + 4 * l + i];
          if (!q8) s += q[c * chunk + 64 + 4 * l + i];
        }
        corr[c * 16 + l] = -offset * s;
      }
  }
}

}  // namespace izwi::cpu
