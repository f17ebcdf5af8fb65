// Tensors: typed, shaped views of memory.
//
// A Tensor either views memory owned elsewhere (a memory-mapped checkpoint, kept
// alive by `owner`) or owns its buffer. Weights stay in their checkpoint dtype
// (bf16 on the released talker checkpoints); kernels read them as they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace izwi {

enum class DType { kF32, kF16, kBF16, kI32, kI64 };

// What a dtype is, in one place: its checkpoint name, element size, and how to
// widen a run of it to f32 (null for integer dtypes, which are never widened).
// A new weight format (8/4-bit blocks) is one more entry here and one in the
// kernels' table (src/kernels/cpu/weight_kernels.h).
struct DTypeTraits {
  DType dtype;
  const char* name;  // as safetensors spells it
  size_t size;       // bytes per element
  void (*to_f32)(const void* src, int64_t n, float* dst);
};
const DTypeTraits& dtype_traits(DType dtype);

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

struct Tensor {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  std::shared_ptr<const void> owner;  // keeps `data` alive (mmap or heap buffer)

  bool empty() const { return data == nullptr; }
  int64_t numel() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  int64_t dim(size_t i) const { return shape.at(i); }

  // Typed access; throws if the dtype is not the one asked for.
  const float* f32() const;

  // Elements [offset, offset + n) widened to f32; throws for integer dtypes.
  void to_f32(int64_t offset, int64_t n, float* out) const;

  // A new f32 tensor owning a converted copy (used for small tensors that are
  // combined at load time, e.g. codebooks = embedding_sum / cluster_usage).
  Tensor to_f32() const;

  static Tensor owned_f32(std::vector<int64_t> shape, std::vector<float> values);
};

// Scalar conversions used by the reference kernels and loaders.
float bf16_to_f32(uint16_t v);
uint16_t f32_to_bf16(float v);  // round to nearest even
float f16_to_f32(uint16_t v);
uint16_t f32_to_f16(float v);

}  // namespace izwi
