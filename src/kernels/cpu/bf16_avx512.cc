// bf16 convolution blocks on AVX512-BF16 (compiled with -mavx512bf16 ...).
//
// A register tile of R time rows x P panels of 16 output channels: R * P zmm
// accumulators (f32, 16 channels of one time row each). Per K pair (channels
// ci, ci + 1 of tap j): P loads of a panel's pair row, R broadcasts of the
// signal's pair at time t + j * dilation, R * P vdpbf16ps. R = 8, P = 3 (up to
// 48 channels) or R = 12, P = 2 (up to 32) keep 24 accumulators, the weight
// vectors and a broadcast in the 32 registers. Rows past the last full tile go
// in tiles of 4, so no read goes beyond the time-major copy's rows rounded up
// to 4 (its callers round them up to 32).
#include "kernels/cpu/bf16_avx512.h"

#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/gemm_amx.h"
#include "kernels/cpu/lanes_avx512.h"
#include "kernels/cpu/transpose_avx512.h"
#include "kernels/cpu/vec.h"

namespace izwi::cpu {

namespace {

constexpr int64_t kPanel = 16;  // output channels per weight panel

bool detect() {
  if (vec_kernels().isa != Isa::kAvx512) return false;  // IZWI_ISA asked for less, or no AVX-512
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  return (a >> 5) & 1;  // CPUID.(7,1):EAX bit 5: AVX512_BF16
}

inline __m512i broadcast_pair(const uint16_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm512_set1_epi32(v);
}

// Tile rows are kAvx512Bf16MaxCols floats apart.
constexpr int64_t kTileStride = kAvx512Bf16MaxCols;

// Rows tr .. tr + R of the block into tile[r * kTileStride + channel] (channels
// of the P panels from B0, kp elements apart).
template <int R, int P>
void tile_rows(const uint16_t* xtm, int64_t Cin, int taps, int64_t dilation, int64_t tr,
               const uint16_t* B0, int64_t kp, float* tile) {
  __m512 acc[R][P];
  for (auto& row : acc)
    for (auto& a : row) a = _mm512_setzero_ps();
  for (int j = 0; j < taps; ++j) {
    const uint16_t* x = xtm + (tr + j * dilation) * Cin;
    const uint16_t* b = B0 + j * Cin * kPanel;
    for (int64_t ci = 0; ci < Cin; ci += 2) {
      __m512i w[P];
      for (int p = 0; p < P; ++p) w[p] = _mm512_loadu_si512(b + p * kPanel * kp + ci * kPanel);
      for (int r = 0; r < R; ++r) {
        const __m512bh s = (__m512bh)broadcast_pair(x + r * Cin + ci);
        for (int p = 0; p < P; ++p) acc[r][p] = _mm512_dpbf16_ps(acc[r][p], s, (__m512bh)w[p]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < P; ++p) _mm512_storeu_ps(tile + r * kTileStride + p * kPanel, acc[r][p]);
}

// Writes rows 0 .. nr of the tile (time tr ..) channel-major with the bias,
// or adds them to y's (accumulate). Each 16 channels' R rows (and zeros up to
// 16) are transposed in registers, then stored with one masked store per
// channel. A gather per channel did the same: it cost a quarter of the short
// products (kernel-1 and transposed convolutions of the small-channel decoder
// blocks).
template <int R>
void store_tile(const float* tile, int nr, int64_t tr, int64_t n0, int64_t cols, const float* bias,
                float* y, int64_t ldy, bool accumulate) {
  const __mmask16 mask = static_cast<__mmask16>((1u << nr) - 1);
  for (int64_t c0 = 0; c0 < cols; c0 += kPanel) {
    __m512 v[16];
    for (int r = 0; r < 16; ++r)
      v[r] = r < R ? _mm512_load_ps(tile + r * kTileStride + c0) : _mm512_setzero_ps();
    transpose16(v);
    const int64_t nc = std::min<int64_t>(kPanel, cols - c0);
    for (int64_t c = 0; c < nc; ++c) {
      __m512 o = v[c];
      if (bias) o = _mm512_add_ps(o, _mm512_set1_ps(bias[n0 + c0 + c]));
      float* out = y + (n0 + c0 + c) * ldy + tr;
      if (accumulate) o = _mm512_add_ps(o, _mm512_maskz_loadu_ps(mask, out));
      _mm512_mask_storeu_ps(out, mask, o);
    }
  }
}

// R time rows x P panels per register tile: 12 x 2 or 8 x 3 (24 accumulators
// either way). Three panels load 11 vectors per 24 vdpbf16ps instead of 14,
// and eight row pointers leave GCC registers to spare where twelve did not
// (it reloaded four from the stack every K pair).
template <int P>
void block(const uint16_t* xtm, int64_t Cin, int taps, int64_t dilation, int64_t t0, int64_t rows,
           const uint16_t* B0, int64_t kp, int64_t n0, int64_t cols, const float* bias, float* y,
           int64_t ldy, bool accumulate) {
  constexpr int R = P == 3 ? 8 : 12;
  alignas(64) float tile[R * kTileStride];
  int64_t tr = t0;
  for (; tr + R <= t0 + rows; tr += R) {
    tile_rows<R, P>(xtm, Cin, taps, dilation, tr, B0, kp, tile);
    store_tile<R>(tile, R, tr, n0, cols, bias, y, ldy, accumulate);
  }
  for (; tr < t0 + rows; tr += 4) {
    tile_rows<4, P>(xtm, Cin, taps, dilation, tr, B0, kp, tile);
    store_tile<4>(tile, static_cast<int>(std::min<int64_t>(4, t0 + rows - tr)), tr, n0, cols, bias,
                  y, ldy, accumulate);
  }
}

}  // namespace

bool avx512_bf16_available() {
  static const bool available = detect();
  return available;
}

bool bf16_products_available() {
  return amx_available() || avx512_bf16_available();
}

void avx512_bf16_conv_block(const uint16_t* xtm, int64_t Cin, int taps, int64_t dilation,
                            int64_t t0, int64_t rows, const uint16_t* Bp, int64_t n0, int64_t cols,
                            const float* bias, float* y, int64_t ldy, bool accumulate) {
  const int64_t kp = Cin * taps;  // K of the packed weights (Cin is a multiple of 32)
  const uint16_t* B0 = Bp + n0 * kp;
  if (cols > 2 * kPanel)
    block<3>(xtm, Cin, taps, dilation, t0, rows, B0, kp, n0, cols, bias, y, ldy, accumulate);
  else if (cols > kPanel)
    block<2>(xtm, Cin, taps, dilation, t0, rows, B0, kp, n0, cols, bias, y, ldy, accumulate);
  else
    block<1>(xtm, Cin, taps, dilation, t0, rows, B0, kp, n0, cols, bias, y, ldy, accumulate);
}

void to_bf16(const float* x, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(n - i);
    const __m256i h = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
    _mm256_mask_storeu_epi16(out + i, m, h);
  }
}

}  // namespace izwi::cpu
