// Scalar reference kernels: plain loops, accumulated in double where that makes
// them a better yardstick for the SIMD versions.
#include <cmath>

#include "core/tensor.h"
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

}  // namespace

const VecKernels& vec_kernels_scalar() {
  static const VecKernels k{Isa::kScalar,
                            dot_f32,
                            dot_bf16,
                            dot_f16,
                            snake,
                            axpy,
                            dot_rows<float, f32_id>,
                            dot_rows<uint16_t, bf16_to_f32>,
                            dot_rows<uint16_t, f16_to_f32>};
  return k;
}

}  // namespace izwi::cpu
