// izwi — NumPy .npy arrays (version 1-3, little endian, C order).
// Reads float32/float64/int16/int32/int64; writes float32, int32 and int64.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace izwi {

struct NpyArray {
  enum class Type { kF32, kF64, kI16, kI32, kI64 };
  Type type = Type::kF32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // raw little-endian payload

  int64_t numel() const;
  // Converting copies; throw if the element type cannot be represented.
  std::vector<float> as_f32() const;
  std::vector<int64_t> as_i64() const;
};

NpyArray read_npy(const std::string& path);
NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& what);

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data);
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const int32_t* data);
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const int64_t* data);

}  // namespace izwi
