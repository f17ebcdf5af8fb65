// sin(x) for SIMD registers, shared by the AVX2 and AVX-512 kernels.
//
// Cody-Waite reduction by pi/4 in three float parts, then the classic Cephes
// minimax polynomials for sin and cos on [-pi/4, pi/4]. Accurate to a few ulp
// for |x| < 8192; callers fall back to std::sin beyond that. (The AVX2 kernels
// take sin^2 alone, reduced by pi/2 with the same parts doubled: see sin2_8.)
#pragma once

namespace izwi::cpu::simd_sin {

inline constexpr float kFourOverPi = 1.27323954473516f;
inline constexpr float kTwoOverPi = 0.636619772367581f;
inline constexpr float kDp1 = 0.78515625f;
inline constexpr float kDp2 = 2.4187564849853515625e-4f;
inline constexpr float kDp3 = 3.77489497744594108e-8f;
inline constexpr float kSin0 = -1.9515295891e-4f;
inline constexpr float kSin1 = 8.3321608736e-3f;
inline constexpr float kSin2 = -1.6666654611e-1f;
inline constexpr float kCos0 = 2.443315711809948e-5f;
inline constexpr float kCos1 = -1.388731625493765e-3f;
inline constexpr float kCos2 = 4.166664568298827e-2f;
inline constexpr float kMaxArg = 8192.0f;

}  // namespace izwi::cpu::simd_sin
