// Helpers shared by the tests: data paths, .npy loading, golden tolerances.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/sanitizer.h"
#include "izwi/error.h"
#include "izwi/npy.h"
#include "temp_dir.h"

namespace izwi::test {

// Whether this build (and so the izwi it starts) runs under AddressSanitizer
// (core/sanitizer.h). Its quarantine holds freed memory (up to 256 MB), so
// peak-memory bounds do not apply there; LeakSanitizer checks leaks in that
// build instead.
constexpr bool kAddressSanitizer = izwi::kAddressSanitizer;

inline std::string data_path(const std::string& rel) {
  return std::string(IZWI_TEST_DATA) + "/" + rel;
}
inline std::string golden_vec(const std::string& name) {
  return data_path("golden/vectors/" + name + ".npy");
}
inline std::string golden_model() {
  return data_path("golden/model");
}

inline std::vector<float> load_f32(const std::string& name, std::vector<int64_t>* shape = nullptr) {
  NpyArray a = read_npy(golden_vec(name));
  if (shape) *shape = a.shape;
  return a.as_f32();
}

inline std::vector<int64_t> load_i64(const std::string& name,
                                     std::vector<int64_t>* shape = nullptr) {
  NpyArray a = read_npy(golden_vec(name));
  if (shape) *shape = a.shape;
  return a.as_i64();
}

// The golden README's bound: max|ours - ref| <= 1e-4 * max(1, max|ref|).
inline ::testing::AssertionResult within_golden_tolerance(const std::vector<float>& ours,
                                                          const std::vector<float>& ref) {
  if (ours.size() != ref.size())
    return ::testing::AssertionFailure()
           << "size " << ours.size() << " vs reference " << ref.size();
  double max_ref = 0, max_err = 0;
  size_t worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(static_cast<double>(ref[i])));
    const double e = std::abs(static_cast<double>(ours[i]) - ref[i]);
    if (!(e <= max_err)) {  // also catches NaN
      max_err = std::isnan(e) ? INFINITY : e;
      worst = i;
    }
  }
  const double tol = 1e-4 * std::max(1.0, max_ref);
  if (max_err <= tol)
    return ::testing::AssertionSuccess() << "max err " << max_err << " <= " << tol;
  return ::testing::AssertionFailure()
         << "max err " << max_err << " > tol " << tol << " at index " << worst << " (ours "
         << ours[worst] << ", ref " << ref[worst] << ")";
}

// Largest |a[i] - b[i]|; infinity when the sizes differ (so any bound fails).
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return m;
}

// The largest normalised correlation of `a` against `b` shifted by up to
// `max_lag` samples either way: lossy codecs delay and reshape the wave.
inline double best_correlation(const std::vector<float>& a, const std::vector<float>& b,
                               int max_lag) {
  double best = -1;
  for (int lag = -max_lag; lag <= max_lag; ++lag) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const long j = static_cast<long>(i) + lag;
      if (j < 0 || j >= static_cast<long>(b.size())) continue;
      const double y = b[static_cast<size_t>(j)];
      ab += a[i] * y;
      aa += static_cast<double>(a[i]) * a[i];
      bb += y * y;
    }
    if (aa > 0 && bb > 0) best = std::max(best, ab / std::sqrt(aa * bb));
  }
  return best;
}

inline std::vector<float> random_vector(size_t n, uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

}  // namespace izwi::test
