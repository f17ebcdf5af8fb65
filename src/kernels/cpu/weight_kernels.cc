#include "kernels/cpu/weight_kernels.h"

#include "core/error.h"

namespace izwi::cpu {

namespace {

template <typename T, float (*VecKernels::*Dot)(const T*, const float*, int64_t)>
void gemv(const VecKernels& vk, const void* w, const float* x, int64_t k, int64_t rows, float* y) {
  const T* p = static_cast<const T*>(w);
  for (int64_t r = 0; r < rows; ++r) y[r] = (vk.*Dot)(p + r * k, x, k);
}

}  // namespace

WeightKernels weight_kernels(DType dtype, const VecKernels& vk, const char* op) {
  switch (dtype) {
    case DType::kF32:
      return {dtype, gemv<float, &VecKernels::dot_f32>, vk.dot_rows_f32, GemmType::kF32};
    case DType::kBF16:
      return {dtype, gemv<uint16_t, &VecKernels::dot_bf16>, vk.dot_rows_bf16, GemmType::kBF16};
    case DType::kF16:
      return {dtype, gemv<uint16_t, &VecKernels::dot_f16>, vk.dot_rows_f16, GemmType::kF16};
    case DType::kQ8:
      return {dtype, nullptr, nullptr, std::nullopt, vk.dot_rows_q8};
    case DType::kQ4:
      return {dtype, nullptr, nullptr, std::nullopt, vk.dot_rows_q4};
    default:
      fail(ErrorKind::kInvalidArgument, op, ": weight dtype ", dtype_name(dtype),
           " is not supported (f32, bf16, f16, Q8 and Q4 are)");
  }
}

}  // namespace izwi::cpu
