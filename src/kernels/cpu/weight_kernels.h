// The kernels that multiply activations with one weight dtype, for the CPU's
// instruction set: one entry per dtype instead of dtype switches in every op.
// A weight format is one entry here and its traits in core/tensor.h.
#pragma once

#include <cstdint>
#include <optional>

#include "core/tensor.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vec.h"

namespace izwi::cpu {

struct WeightKernels {
  DType dtype;
  // Plain dtypes (f32, bf16, f16) multiply f32 activations directly:
  // y[r] = W[r, :] · x for `rows` consecutive weight rows starting at w ([rows, k]).
  void (*gemv)(const VecKernels& vk, const void* w, const float* x, int64_t k, int64_t rows,
               float* y);
  // One weight row against up to kMaxDotRows activation rows (see VecKernels).
  VecKernels::DotRows dot_rows;
  // The packed GEMM reads this dtype as its B operand (none: widen first).
  std::optional<GemmType> gemm;
  // Block formats (Q8, Q4) multiply activations quantized for them
  // (quant_acts.h) instead; the three above are null for them.
  VecKernels::DotRowsQ dot_rows_q = nullptr;
};

// The entry for `dtype` with `vk`'s kernels; throws (naming `op`) for a dtype
// no kernel multiplies with.
WeightKernels weight_kernels(DType dtype, const VecKernels& vk, const char* op);

}  // namespace izwi::cpu
