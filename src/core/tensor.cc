#include "core/tensor.h"

#include <cstring>
#include <iterator>

#include "core/error.h"
#include "core/quant.h"

namespace izwi {

namespace {

void f32_run(const void* src, int64_t n, float* dst) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}
void bf16_run(const void* src, int64_t n, float* dst) {
  const auto* p = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(p[i]);
}
void f16_run(const void* src, int64_t n, float* dst) {
  const auto* p = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(p[i]);
}

void q8_row(const void* src, int64_t n, float* dst) {
  dequantize_row(DType::kQ8, static_cast<const uint8_t*>(src), n, dst);
}
void q4_row(const void* src, int64_t n, float* dst) {
  dequantize_row(DType::kQ4, static_cast<const uint8_t*>(src), n, dst);
}

// Indexed by DType.
constexpr DTypeTraits kTraits[] = {
    {DType::kF32, "F32", 4, 1, 4, f32_run},         {DType::kF16, "F16", 2, 1, 2, f16_run},
    {DType::kBF16, "BF16", 2, 1, 2, bf16_run},      {DType::kI32, "I32", 4, 1, 4, nullptr},
    {DType::kI64, "I64", 8, 1, 8, nullptr},         {DType::kQ8, "Q8", 0, kQuantBlock, 34, q8_row},
    {DType::kQ4, "Q4", 0, kQuantBlock, 18, q4_row},
};

}  // namespace

const DTypeTraits& dtype_traits(DType dtype) {
  const auto i = static_cast<size_t>(dtype);
  IZWI_ASSERT(i < std::size(kTraits) && kTraits[i].dtype == dtype);
  return kTraits[i];
}

size_t dtype_size(DType dtype) {
  return dtype_traits(dtype).size;
}

const char* dtype_name(DType dtype) {
  return dtype_traits(dtype).name;
}

size_t Tensor::nbytes() const {
  const DTypeTraits& t = dtype_traits(dtype);
  return static_cast<size_t>(numel() / t.block) * t.block_bytes;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const float* Tensor::f32() const {
  if (dtype != DType::kF32)
    fail(ErrorKind::kInvalidArgument, "expected an F32 tensor, got ", dtype_name(dtype));
  return static_cast<const float*>(data);
}

const int32_t* Tensor::i32() const {
  if (dtype != DType::kI32)
    fail(ErrorKind::kInvalidArgument, "expected an I32 tensor, got ", dtype_name(dtype));
  return static_cast<const int32_t*>(data);
}

namespace {

template <typename T>
Tensor owned(DType dtype, std::vector<int64_t> shape, std::vector<T> values) {
  auto buf = std::make_shared<std::vector<T>>(std::move(values));
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  IZWI_ASSERT(static_cast<int64_t>(buf->size()) == t.numel());
  t.data = buf->data();
  t.owner = std::shared_ptr<const void>(buf, buf->data());
  return t;
}

}  // namespace

Tensor Tensor::owned_f32(std::vector<int64_t> shape, std::vector<float> values) {
  return owned(DType::kF32, std::move(shape), std::move(values));
}

Tensor Tensor::owned_i32(std::vector<int64_t> shape, std::vector<int32_t> values) {
  return owned(DType::kI32, std::move(shape), std::move(values));
}

void Tensor::to_f32(int64_t offset, int64_t n, float* out) const {
  const DTypeTraits& t = dtype_traits(dtype);
  if (!t.to_f32) fail(ErrorKind::kInvalidArgument, "cannot convert a ", t.name, " tensor to F32");
  IZWI_ASSERT(offset >= 0 && n >= 0 && offset + n <= numel());
  const auto* base = static_cast<const uint8_t*>(data);
  if (t.block == 1) {
    t.to_f32(base + static_cast<size_t>(offset) * t.size, n, out);
    return;
  }
  const int64_t K = shape.back();
  if (offset % K != 0 || n % K != 0)
    fail(ErrorKind::kInvalidArgument, "a ", t.name, " tensor converts whole rows of ", K,
         " values; asked for ", n, " from ", offset);
  const size_t rb = row_bytes(dtype, K);
  for (int64_t r = 0; r < n / K; ++r)
    t.to_f32(base + rb * static_cast<size_t>(offset / K + r), K, out + r * K);
}

Tensor Tensor::to_f32() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  to_f32(0, numel(), out.data());
  return owned_f32(shape, std::move(out));
}

float bf16_to_f32(uint16_t v) {
  uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_bf16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);  // NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_f16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const int32_t exp = static_cast<int32_t>((bits >> 23) & 0xffu) - 127 + 15;
  uint32_t mant = bits & 0x7fffffu;
  if (((bits >> 23) & 0xffu) == 0xffu)
    return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));
  if (exp >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);
  if (exp <= 0) {
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const uint32_t shift = static_cast<uint32_t>(14 - exp);
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(half);
}

}  // namespace izwi
