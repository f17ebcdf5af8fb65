// The two loops of one-query attention over a run of cached keys, as vector
// kernel entries (VecKernels::dot_keys, VecKernels::axpy_values): each ISA's
// vec_*.cc instantiates them with its own dot_f32 / axpy, which the compiler
// inlines, so a key costs no indirect call (a frame's attention made two per
// key and head: ~0.5 M calls per step of four streams). The sums are those of
// calling dot_f32 / axpy for each key in turn.
#pragma once

#include <cstdint>

namespace izwi::cpu {

// Rows the attention kernels (these and vec_avx512.cc's) prefetch ahead of
// the one they read. Cached keys and values are one head's rows among all
// heads' (4 KB apart in the talker), read from memory when several streams'
// caches outgrow L3. Zen 5 VM, bench_kernels' AttentionCached (the talker's
// 28 layers) at 750 positions: AVX-512 one thread 10.7-11.1 -> 9.1-9.5 ms, two
// 6.5-6.8 -> 5.8-6.1; AVX2 one thread 14.2-14.6 -> 12.7-13.1; four q4 streams'
// talker at 250 frames 14.8 -> 13.9-14.2 ms a step. 4 and 8 rows ahead gained
// less, 32 no more.
constexpr int64_t kRowsAhead = 16;

// The same distance in bytes for rows of T: an f16 cache's rows are half as
// long, so twice as many ahead.
template <typename T>
constexpr int64_t rows_ahead() {
  return kRowsAhead * static_cast<int64_t>(sizeof(float) / sizeof(T));
}

// Prefetches a row of n elements from p, a cache line at a time.
template <typename T>
inline __attribute__((always_inline)) void prefetch_row(const T* p, int64_t n) {
  for (int64_t i = 0; i < n; i += 64 / static_cast<int64_t>(sizeof(T))) __builtin_prefetch(p + i);
}

// The templates take the cache's element type T (float, or uint16_t for f16
// bits) with a Dot / Axpy that reads rows of it.

// out[j] = Dot(q, k + j * ldk, n) * scale for j < rows with valid[j] != 0
// (valid may be null); other out[j] are left as they are.
template <typename T, float (*Dot)(const float*, const T*, int64_t)>
void dot_keys(const float* q, const T* k, int64_t ldk, int64_t rows, int64_t n,
              const uint8_t* valid, float scale, float* out) {
  for (int64_t j = 0; j < rows; ++j) {
    if (j + rows_ahead<T>() < rows) prefetch_row(k + (j + rows_ahead<T>()) * ldk, n);
    if (!valid || valid[j]) out[j] = Dot(q, k + j * ldk, n) * scale;
  }
}

// For j < rows with valid[j] != 0, in order: Axpy(y, v + j * ldv, a[j] * scale, n).
template <typename T, void (*Axpy)(float*, const T*, float, int64_t)>
void axpy_values(float* y, const T* v, int64_t ldv, const float* a, float scale, int64_t rows,
                 int64_t n, const uint8_t* valid) {
  for (int64_t j = 0; j < rows; ++j) {
    if (j + rows_ahead<T>() < rows) prefetch_row(v + (j + rows_ahead<T>()) * ldv, n);
    if (!valid || valid[j]) Axpy(y, v + j * ldv, a[j] * scale, n);
  }
}

// Two queries as two calls (VecKernels::dot_keys2, axpy_values2): where no
// kernel shares the rows between them, the same sums by construction.
template <typename T, float (*Dot)(const float*, const T*, int64_t)>
void dot_keys2(const float* q, int64_t ldq, const T* k, int64_t ldk, int64_t rows, int64_t n,
               const uint8_t* valid, float scale, float* out, int64_t ldo) {
  for (int g = 0; g < 2; ++g)
    dot_keys<T, Dot>(q + g * ldq, k, ldk, rows, n, valid, scale, out + g * ldo);
}

template <typename T, void (*Axpy)(float*, const T*, float, int64_t)>
void axpy_values2(float* y, int64_t ldy, const T* v, int64_t ldv, const float* a, int64_t lda,
                  const float* scale, int64_t rows, int64_t n, const uint8_t* valid) {
  for (int g = 0; g < 2; ++g)
    axpy_values<T, Axpy>(y + g * ldy, v, ldv, a + g * lda, scale[g], rows, n, valid);
}

// The largest finite f16: VecKernels::to_f16 clamps to it.
constexpr float kF16Max = 65504.0f;

// v clamped to +-kF16Max, as to_f16 stores it (comparisons with NaN are
// false, so NaN stays NaN): the scalar kernel and the SIMD ones' tails.
inline float clamp_to_f16_range(float v) {
  return v > kF16Max ? kF16Max : v < -kF16Max ? -kF16Max : v;
}

}  // namespace izwi::cpu
