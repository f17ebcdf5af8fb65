#include "izwi/npy.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "core/file_util.h"

namespace izwi {

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

size_t type_size(NpyArray::Type t) {
  switch (t) {
    case NpyArray::Type::kF32:
      return 4;
    case NpyArray::Type::kF64:
      return 8;
    case NpyArray::Type::kI16:
      return 2;
    case NpyArray::Type::kI32:
      return 4;
    case NpyArray::Type::kI64:
      return 8;
  }
  return 0;
}

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

std::vector<float> NpyArray::as_f32() const {
  const int64_t n = numel();
  std::vector<float> out(static_cast<size_t>(n));
  const uint8_t* p = bytes.data();
  for (int64_t i = 0; i < n; ++i) {
    switch (type) {
      case Type::kF32:
        out[i] = load<float>(p + 4 * i);
        break;
      case Type::kF64:
        out[i] = static_cast<float>(load<double>(p + 8 * i));
        break;
      case Type::kI16:
        out[i] = load<int16_t>(p + 2 * i) / 32768.0f;
        break;
      case Type::kI32:
        out[i] = static_cast<float>(load<int32_t>(p + 4 * i));
        break;
      case Type::kI64:
        out[i] = static_cast<float>(load<int64_t>(p + 8 * i));
        break;
    }
  }
  return out;
}

std::vector<int64_t> NpyArray::as_i64() const {
  const int64_t n = numel();
  std::vector<int64_t> out(static_cast<size_t>(n));
  const uint8_t* p = bytes.data();
  for (int64_t i = 0; i < n; ++i) {
    switch (type) {
      case Type::kI16:
        out[i] = load<int16_t>(p + 2 * i);
        break;
      case Type::kI32:
        out[i] = load<int32_t>(p + 4 * i);
        break;
      case Type::kI64:
        out[i] = load<int64_t>(p + 8 * i);
        break;
      default:
        fail(ErrorKind::kInvalidArgument, "expected an integer .npy array, got a float one");
    }
  }
  return out;
}

NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& what) {
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10 || std::memcmp(data, kMagic, 6) != 0)
    fail(ErrorKind::kInvalidFormat, "'", what, "' is not a .npy file (bad magic)");
  const int major = data[6];
  size_t header_len, header_start;
  if (major == 1) {
    header_len = data[8] | (data[9] << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) fail(ErrorKind::kInvalidFormat, "'", what, "' is truncated");
    header_len = load<uint32_t>(data + 8);
    header_start = 12;
  } else {
    fail(ErrorKind::kInvalidFormat, "'", what, "' has unsupported .npy version ", major);
  }
  if (header_start + header_len > size)
    fail(ErrorKind::kInvalidFormat, "'", what, "' is truncated");
  const std::string header(reinterpret_cast<const char*>(data + header_start), header_len);

  NpyArray arr;
  // The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4),
  // }
  auto value_after = [&](const std::string& key) -> std::string {
    const size_t k = header.find("'" + key + "'");
    if (k == std::string::npos)
      fail(ErrorKind::kInvalidFormat, "'", what, "': .npy header has no '", key, "'");
    const size_t colon = header.find(':', k);
    if (colon == std::string::npos)
      fail(ErrorKind::kInvalidFormat, "'", what, "': malformed .npy header");
    return header.substr(colon + 1);
  };
  std::string descr = value_after("descr");
  const size_t q1 = descr.find('\''), q2 = q1 == std::string::npos ? q1 : descr.find('\'', q1 + 1);
  if (q2 == std::string::npos) fail(ErrorKind::kInvalidFormat, "'", what, "': malformed 'descr'");
  descr = descr.substr(q1 + 1, q2 - q1 - 1);
  if (descr == "<f4")
    arr.type = NpyArray::Type::kF32;
  else if (descr == "<f8")
    arr.type = NpyArray::Type::kF64;
  else if (descr == "<i2")
    arr.type = NpyArray::Type::kI16;
  else if (descr == "<i4")
    arr.type = NpyArray::Type::kI32;
  else if (descr == "<i8")
    arr.type = NpyArray::Type::kI64;
  else
    fail(ErrorKind::kInvalidFormat, "'", what, "' has element type '", descr,
         "'; expected float32 (<f4), float64, int16, int32 or int64 (little endian)");
  const std::string order = value_after("fortran_order");
  const size_t order_at = order.find_first_not_of(' ');
  if (order_at != std::string::npos && order.compare(order_at, 4, "True") == 0)
    fail(ErrorKind::kInvalidFormat, "'", what, "' is in Fortran order; save it in C order");
  const std::string shape = value_after("shape");
  const size_t open = shape.find('('), close = shape.find(')');
  if (open == std::string::npos || close == std::string::npos || close < open)
    fail(ErrorKind::kInvalidFormat, "'", what, "': malformed 'shape'");
  int64_t dim = -1;
  for (size_t i = open + 1; i <= close; ++i) {
    const char ch = shape[i];
    if (ch >= '0' && ch <= '9') {
      dim = (dim < 0 ? 0 : dim) * 10 + (ch - '0');
      if (dim > (int64_t{1} << 40))
        fail(ErrorKind::kInvalidFormat, "'", what, "': dimension too large");
    } else if (ch == ',' || ch == ')') {
      if (dim >= 0) arr.shape.push_back(dim);
      dim = -1;
    } else if (ch != ' ') {
      fail(ErrorKind::kInvalidFormat, "'", what, "': malformed 'shape'");
    }
  }
  // The element count, refused before it can overflow (dimensions of up to
  // 2^40 each could multiply past 64 bits).
  size_t payload = type_size(arr.type);
  for (int64_t d : arr.shape)
    if (__builtin_mul_overflow(payload, static_cast<size_t>(d), &payload))
      fail(ErrorKind::kInvalidFormat, "'", what, "': shape ", shape_str(arr.shape),
           " is too large");
  const size_t begin = header_start + header_len;
  if (size - begin < payload)
    fail(ErrorKind::kInvalidFormat, "'", what, "' is truncated: shape ", shape_str(arr.shape),
         " needs ", payload, " bytes of data, the file has ", size - begin);
  arr.bytes.assign(data + begin, data + begin + payload);
  return arr;
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kNotFound, "cannot open '", path, "'");
  std::vector<uint8_t> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_npy(buf.data(), buf.size(), path);
}

namespace {

void write_raw(const std::string& path, const std::vector<int64_t>& shape, const char* descr,
               const void* data, size_t elem) {
  std::string dims;
  int64_t n = 1;
  for (int64_t d : shape) {
    dims += std::to_string(d) + ", ";
    n *= d;
  }
  if (shape.size() > 1) dims.erase(dims.size() - 2);  // "(3,)" keeps its comma, "(3, 4)" does not
  std::string header =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string bytes = {static_cast<char>(0x93), 'N', 'U', 'M', 'P', 'Y', 1, 0};
  const uint16_t len = static_cast<uint16_t>(header.size());
  bytes.append(reinterpret_cast<const char*>(&len), 2);
  bytes += header;
  bytes.append(static_cast<const char*>(data), static_cast<size_t>(n) * elem);
  write_file_atomic(path, bytes);
}

}  // namespace

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  write_raw(path, shape, "<f4", data, 4);
}
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const int32_t* data) {
  write_raw(path, shape, "<i4", data, 4);
}
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const int64_t* data) {
  write_raw(path, shape, "<i8", data, 8);
}

}  // namespace izwi
