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

// kQ8 / kQ4: the 8- and 4-bit block weight formats of core/quant.h (never in a
// checkpoint; made from bf16 weights at load time).
enum class DType { kF32, kF16, kBF16, kI32, kI64, kQ8, kQ4 };

// What a dtype is, in one place: its name, storage size, and how to widen a run
// of it to f32 (null for integer dtypes, which are never widened). A weight
// format is one entry here and one in the kernels' table
// (src/kernels/cpu/weight_kernels.h).
struct DTypeTraits {
  DType dtype;
  const char* name;    // as safetensors spells it (block formats: izwi's own names)
  size_t size;         // bytes per element; 0 for block formats
  int64_t block;       // elements per block: 1, or 32 for the block formats
  size_t block_bytes;  // bytes per block
  // Widens n elements at src. Block formats are laid out per row, so for them
  // src is a row's start and n the row's length.
  void (*to_f32)(const void* src, int64_t n, float* dst);
};
const DTypeTraits& dtype_traits(DType dtype);

size_t dtype_size(DType dtype);  // 0 for block formats: use row_bytes (core/quant.h)
const char* dtype_name(DType dtype);

struct Tensor {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  std::shared_ptr<const void> owner;  // keeps `data` alive (mmap or heap buffer)

  bool empty() const { return data == nullptr; }
  int64_t numel() const;
  size_t nbytes() const;
  int64_t dim(size_t i) const { return shape.at(i); }

  // Typed access; throws if the dtype is not the one asked for.
  const float* f32() const;
  const int32_t* i32() const;

  // Elements [offset, offset + n) widened to f32; throws for integer dtypes.
  // Block formats convert whole rows: offset and n multiples of the last dimension.
  void to_f32(int64_t offset, int64_t n, float* out) const;

  // A new f32 tensor owning a converted copy (used for small tensors that are
  // combined at load time, e.g. codebooks = embedding_sum / cluster_usage).
  Tensor to_f32() const;

  static Tensor owned_f32(std::vector<int64_t> shape, std::vector<float> values);
  static Tensor owned_i32(std::vector<int64_t> shape, std::vector<int32_t> values);
};

// Scalar conversions used by the reference kernels and loaders.
float bf16_to_f32(uint16_t v);
uint16_t f32_to_bf16(float v);  // round to nearest even
float f16_to_f32(uint16_t v);
uint16_t f32_to_f16(float v);

}  // namespace izwi
