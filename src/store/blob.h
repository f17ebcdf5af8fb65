// Vectors of 32-bit numbers as portable bytes: little-endian, whatever the
// host. Voice records keep codes, token ids and embeddings this way, so a
// database or voice file moves between machines unchanged.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace izwi::store {

template <typename T>
std::string to_le_bytes(const std::vector<T>& v) {
  static_assert(sizeof(T) == 4, "32-bit values only");
  std::string out(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, &v[i], 4);
    for (int b = 0; b < 4; ++b) out[i * 4 + b] = static_cast<char>((u >> (8 * b)) & 0xff);
  }
  return out;
}

// Bytes whose length is not a multiple of 4 lose the incomplete tail; callers
// check the count against the shape they expect.
template <typename T>
std::vector<T> from_le_bytes(std::string_view bytes) {
  static_assert(sizeof(T) == 4, "32-bit values only");
  std::vector<T> v(bytes.size() / 4);
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t u = 0;
    for (int b = 0; b < 4; ++b)
      u |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i * 4 + b])) << (8 * b);
    std::memcpy(&v[i], &u, 4);
  }
  return v;
}

}  // namespace izwi::store
