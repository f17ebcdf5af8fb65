// Scalar reference kernels: plain loops, accumulated in double where that makes
// them a better yardstick for the SIMD versions.
#include <cmath>

#include "core/error.h"
#include "core/quant.h"
#include "core/tensor.h"
#include "kernels/cpu/attention_rows.h"
#include "kernels/cpu/quant_acts.h"
#include "kernels/cpu/vec.h"

namespace izwi::cpu {
namespace {

float dot_f32(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

float dot_bf16(const uint16_t* w, const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(bf16_to_f32(w[i])) * x[i];
  return static_cast<float>(s);
}

float dot_f16(const uint16_t* w, const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(f16_to_f32(w[i])) * x[i];
  return static_cast<float>(s);
}

void silu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
}

void snake(float* x, int64_t n, float alpha, float inv_beta) {
  for (int64_t i = 0; i < n; ++i) {
    // The argument is rounded to float as the reference model computes it;
    // only the sine itself is taken in double.
    const float arg = x[i] * alpha;
    const double s = std::sin(static_cast<double>(arg));
    x[i] = static_cast<float>(x[i] + inv_beta * s * s);
  }
}

void axpy(float* y, const float* x, float a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// A query against a key of f16 bits, and a value row of them added: as
// dot_f32 and axpy on the widened row.
float dot_f32_f16(const float* q, const uint16_t* k, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(q[i]) * f16_to_f32(k[i]);
  return static_cast<float>(s);
}

void axpy_f16(float* y, const uint16_t* x, float a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * f16_to_f32(x[i]);
}

void to_f16(const float* x, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = f32_to_f16(clamp_to_f16_range(x[i]));
}

template <typename W, float (*ToF32)(W)>
void dot_rows(const void* wv, const float* x, int64_t ldx, int rows, int64_t n, float* out) {
  const W* w = static_cast<const W*>(wv);
  for (int m = 0; m < rows; ++m) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(ToF32(w[i])) * x[m * ldx + i];
    out[m] = static_cast<float>(s);
  }
}
float f32_id(float v) {
  return v;
}

// Per block: the exact integer dot product times dw * dx, summed in double.
template <DType F>
void dot_rows_q(const void* w, const QuantizedActs& a, int64_t m0, int rows, float* out) {
  const auto* row = static_cast<const uint8_t*>(w);
  const uint8_t* quants = row + a.blocks * 2;
  for (int i = 0; i < rows; ++i) {
    const int8_t* xq = a.q_row(m0 + i);
    const float* xd = a.d_row(m0 + i);
    double s = 0;
    for (int64_t b = 0; b < a.blocks; ++b) {
      int32_t acc = 0;
      for (int j = 0; j < 32; ++j)
        acc += quant_value(F, quants, a.blocks, b, j) * xq[interleaved_position(a.blocks, b, j)];
      uint16_t dh;
      __builtin_memcpy(&dh, row + b * 2, 2);
      s += static_cast<double>(f16_to_f32(dh)) * xd[b] * acc;
    }
    out[i] = static_cast<float>(s);
  }
}

template <DType F>
void dot_rows_q_run(const void* w, size_t row_bytes, int64_t count, const QuantizedActs& a,
                    int64_t m0, int rows, float* y, int64_t ldy) {
  float r[kMaxQuantRows];
  for (int64_t n = 0; n < count; ++n) {
    dot_rows_q<F>(static_cast<const uint8_t*>(w) + n * row_bytes, a, m0, rows, r);
    for (int i = 0; i < rows; ++i) y[i * ldy + n] = r[i];
  }
}

void mix_rows(const MixMatrix& m, const float* const* in, float* const* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    for (int p = 0, e = 0; p < m.n_out; ++p) {
      float acc = 0.0f;
      for (int k = 0; k < m.count[p]; ++k, ++e) acc = std::fma(m.value[e], in[m.col[e]][i], acc);
      out[p][i] = acc;
    }
}

}  // namespace

const VecKernels& vec_kernels_scalar() {
  static const VecKernels k{Isa::kScalar,
                            dot_f32,
                            dot_bf16,
                            dot_f16,
                            snake,
                            axpy,
                            dot_keys<float, dot_f32>,
                            axpy_values<float, axpy>,
                            dot_keys2<float, dot_f32>,
                            axpy_values2<float, axpy>,
                            dot_keys<uint16_t, dot_f32_f16>,
                            axpy_values<uint16_t, axpy_f16>,
                            dot_keys2<uint16_t, dot_f32_f16>,
                            axpy_values2<uint16_t, axpy_f16>,
                            to_f16,
                            silu,
                            dot_rows<float, f32_id>,
                            dot_rows<uint16_t, bf16_to_f32>,
                            dot_rows<uint16_t, f16_to_f32>,
                            dot_rows_q_run<DType::kQ8>,
                            dot_rows_q_run<DType::kQ4>,
                            mix_rows};
  return k;
}

MixMatrix mix_matrix(const float* coef, int n_out, int n_in) {
  if (n_out < 0 || n_in < 0 || n_out > kMaxMixRows || n_in > kMaxMixRows)
    fail(ErrorKind::kInvalidArgument, "mix_matrix: at most ", kMaxMixRows, " x ", kMaxMixRows,
         ", got ", n_out, " x ", n_in);
  MixMatrix m;
  m.n_out = n_out;
  m.n_in = n_in;
  for (int p = 0, e = 0; p < n_out; ++p)
    for (int j = 0; j < n_in; ++j)
      if (coef[p * n_in + j] != 0.0f) {
        m.col[e] = j;
        m.value[e++] = coef[p * n_in + j];
        ++m.count[p];
      }
  return m;
}

}  // namespace izwi::cpu
