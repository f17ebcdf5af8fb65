// Vector kernels with one implementation per instruction set.
//
// Each entry has a scalar reference (vec_scalar.cc) and AVX2 / AVX-512 versions
// (vec_avx2.cc, vec_avx512.cc, each compiled for its own ISA). The variant is
// chosen once at run time from the CPU's features (cpu_features.cc); unit tests
// run every variant the machine supports against the scalar one.
#pragma once

#include <cstdint>

namespace izwi::cpu {

struct QuantizedActs;
struct MixMatrix;

enum class Isa { kScalar, kAvx2, kAvx512 };
const char* isa_name(Isa isa);

// The attention row kernels (VecKernels::dot_keys and the others) for a KV
// cache whose rows are of T: float, or uint16_t holding f16 bits.
template <typename T>
using DotKeys = void (*)(const float* q, const T* k, int64_t ldk, int64_t rows, int64_t n,
                         const uint8_t* valid, float scale, float* out);
template <typename T>
using AxpyValues = void (*)(float* y, const T* v, int64_t ldv, const float* a, float scale,
                            int64_t rows, int64_t n, const uint8_t* valid);
template <typename T>
using DotKeys2 = void (*)(const float* q, int64_t ldq, const T* k, int64_t ldk, int64_t rows,
                          int64_t n, const uint8_t* valid, float scale, float* out, int64_t ldo);
template <typename T>
using AxpyValues2 = void (*)(float* y, int64_t ldy, const T* v, int64_t ldv, const float* a,
                             int64_t lda, const float* scale, int64_t rows, int64_t n,
                             const uint8_t* valid);

struct VecKernels {
  Isa isa;
  // sum_i a[i] * b[i]
  float (*dot_f32)(const float* a, const float* b, int64_t n);
  // sum_i w[i] * x[i] with w stored as bf16 / f16 bits.
  float (*dot_bf16)(const uint16_t* w, const float* x, int64_t n);
  float (*dot_f16)(const uint16_t* w, const float* x, int64_t n);
  // SnakeBeta on one channel row: x[i] += inv_beta * sin(alpha * x[i])^2
  void (*snake)(float* x, int64_t n, float alpha, float inv_beta);
  // y[i] += a * x[i]
  void (*axpy)(float* y, const float* x, float a, int64_t n);
  // One query against a run of cached keys and the values they weigh
  // (kernels/cpu/attention_rows.h): the sums of dot_f32 and axpy per key, in
  // one call. Rows with valid[j] == 0 are skipped (valid may be null).
  // dot_keys: out[j] = dot_f32(q, k + j * ldk, n) * scale
  // axpy_values: y += (a[j] * scale) * v[j * ldv ..], j in order
  // dot_keys2, axpy_values2: two queries of one key head (grouped-query
  // attention) at once, each key and value row read once for both: query g at
  // q + g * ldq scores into out + g * ldo, and output g at y + g * ldy weighs
  // by a + g * lda and scale[g]. Each is bit for bit what dot_keys /
  // axpy_values give it alone.
  DotKeys<float> dot_keys;
  AxpyValues<float> axpy_values;
  DotKeys2<float> dot_keys2;
  AxpyValues2<float> axpy_values2;
  // The same four over a half-precision cache (DecoderStack keeps one for
  // 8/4-bit weights): k and v rows of f16 bits, widened exactly as they are
  // loaded, so each result is bit for bit the f32 entry's on the widened rows.
  DotKeys<uint16_t> dot_keys_f16;
  AxpyValues<uint16_t> axpy_values_f16;
  DotKeys2<uint16_t> dot_keys2_f16;
  AxpyValues2<uint16_t> axpy_values2_f16;
  // out[i] = x[i] as f16 bits, rounded to nearest even; beyond +-65504 (the
  // largest finite f16) clamped to it rather than made infinite. NaN stays NaN.
  void (*to_f16)(const float* x, int64_t n, uint16_t* out);
  // SiLU in place: x[i] / (1 + exp(-x[i])). The SIMD ones use a polynomial exp
  // (simd_exp.h), within a few ulp of the scalar std::exp one.
  void (*silu)(float* x, int64_t n);
  // One weight row against up to 8 activation rows, the weights read once:
  // out[m] = sum_i w[i] * x[m * ldx + i] for m < rows (1..8); w as f32, bf16 or f16.
  using DotRows = void (*)(const void* w, const float* x, int64_t ldx, int rows, int64_t n,
                           float* out);
  DotRows dot_rows_f32, dot_rows_bf16, dot_rows_f16;
  // A run of `count` Q8 / Q4 weight rows (core/quant.h; row n at w + n * row_bytes)
  // against activation rows m0 .. m0 + rows - 1 (rows 1..kMaxQuantRows) of `a`,
  // quantized for that format: y[i * ldy + n] = row n . x[m0 + i]. A run per
  // call, not a row: the per-row call and dispatch cost as much as a short
  // row's dot products.
  using DotRowsQ = void (*)(const void* w, size_t row_bytes, int64_t count, const QuantizedActs& a,
                            int64_t m0, int rows, float* y, int64_t ldy);
  DotRowsQ dot_rows_q8, dot_rows_q4;
  // Rows mixed by a small matrix (Winograd's transforms, kernels/cpu/
  // conv_winograd.cc): out[p][i] = sum_j M[p][j] * in[j][i] for p < n_out,
  // i < n, over M's nonzero entries in j order (fused multiply-adds).
  void (*mix_rows)(const MixMatrix& m, const float* const* in, float* const* out, int64_t n);
};
constexpr int kMaxDotRows = 8;
constexpr int kMaxQuantRows = 4;
constexpr int kMaxMixRows = 16;

// A small matrix's nonzero entries, row by row, for mix_rows.
struct MixMatrix {
  int n_out = 0, n_in = 0;
  int count[kMaxMixRows] = {};              // nonzero entries of row p
  int col[kMaxMixRows * kMaxMixRows] = {};  // their columns, rows one after another
  float value[kMaxMixRows * kMaxMixRows] = {};
};
// From a row-major [n_out, n_in] matrix; throws beyond kMaxMixRows.
MixMatrix mix_matrix(const float* coef, int n_out, int n_in);

// How far ahead (bytes) the SIMD GEMVs prefetch their weight stream. The
// hardware prefetcher alone left them waiting on their loads: the code
// predictor's q4 layers (44 MB, held in L3 between its 15 passes) went from
// 14-20 to 21-30 GB/s with it. Prefetching past a buffer's end never faults.
// 4096 since the frames of batched streams run on one thread while the codec
// thread decodes (pipeline/codec_thread.h): one core alone needs more loads in
// flight to read DRAM as fast (four q4 streams' step on one thread 38.8-39.7 ->
// 36.3-36.6 ms; one stream on one thread 27.1 -> 24.1 ms; 2048 was as fast on
// two threads, where each core reads half).
constexpr int64_t kPrefetchBytes = 4096;

// AVX-512 here means F, BW, VL, DQ and VNNI (the int8 dot products of the
// quantized formats); a CPU without VNNI gets the AVX2 kernels.
// Best variant for this CPU (IZWI_ISA=scalar|avx2|avx512 forces a lower one).
const VecKernels& vec_kernels();
// A specific variant, or nullptr if this CPU cannot run it.
const VecKernels* vec_kernels_for(Isa isa);
bool cpu_supports(Isa isa);

// Per-ISA tables (defined in the vec_*.cc files).
const VecKernels& vec_kernels_scalar();
const VecKernels& vec_kernels_avx2();
const VecKernels& vec_kernels_avx512();

}  // namespace izwi::cpu
