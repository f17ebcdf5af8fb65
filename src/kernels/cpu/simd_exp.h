// exp(x) for SIMD registers, shared by the AVX2 and AVX-512 kernels (SiLU).
//
// Cody-Waite reduction by ln 2 in two float parts, x = n ln 2 + r with
// |r| <= ln 2 / 2, then the Cephes minimax polynomial for e^r and a scale by
// 2^n. Within a few ulp of std::exp from kMinArg (about FLT_MIN) to kMaxArg
// (about FLT_MAX); callers clamp below kMinArg and return infinity above.
#pragma once

namespace izwi::cpu::simd_exp {

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kP0 = 1.9875691500e-4f;
inline constexpr float kP1 = 1.3981999507e-3f;
inline constexpr float kP2 = 8.3334519073e-3f;
inline constexpr float kP3 = 4.1665795894e-2f;
inline constexpr float kP4 = 1.6666665459e-1f;
inline constexpr float kP5 = 5.0000001201e-1f;
inline constexpr float kMinArg = -87.3365447504f;
inline constexpr float kMaxArg = 88.3762626647949f;

}  // namespace izwi::cpu::simd_exp
