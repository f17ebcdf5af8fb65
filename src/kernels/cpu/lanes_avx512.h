// The mask of a row's 16-float part for the AVX-512 files (compiled with
// -mavx512f): its first n lanes, all 16 when n >= 16, none when n <= 0. For the
// masked tails of every kernel that walks a row 16 floats at a time.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace izwi::cpu {

inline __mmask16 first_lanes(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff)
         : n > 0 ? static_cast<__mmask16>((1u << n) - 1)
                 : static_cast<__mmask16>(0);
}

}  // namespace izwi::cpu
