// AMX-BF16 GEMM (compiled with -mamx-tile -mamx-bf16 -mavx512bf16 ...).
//
// Eight tiles: C00 C01 C10 C11 (tmm0-3, f32 16 x 16), A0 A1 (tmm4-5, 16 rows x
// 32 bf16), B0 B1 (tmm6-7, 16 bf16 pairs x 16 columns). One K step of 32 loads
// two A and two B tiles and issues four tdpbf16ps: a 32 x 32 block of C per
// pass over K. A (weights) is read straight from its row-major storage; B is
// packed per call. Results go through a 16 x 16 scratch tile so the epilogue
// (bias, transposed store, partial columns) is plain AVX-512.
#include "kernels/cpu/gemm_amx.h"

#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/quant.h"
#include "kernels/cpu/lanes_avx512.h"
#include "kernels/cpu/sin_avx512.h"
#include "kernels/cpu/transpose_avx512.h"

namespace izwi::cpu {

namespace {

constexpr long kArchReqXcompPerm = 0x1023;  // arch_prctl: ask for an XSAVE feature
constexpr long kXfeatureXtiledata = 18;

// AMX unless IZWI_ISA asks for less than "avx512" (e.g. "avx512-noamx": the
// AVX-512 kernels, bf16 products by AVX512-BF16).
bool detect() {
  if (const char* env = std::getenv("IZWI_ISA"))
    if (std::strcmp(env, "avx512") != 0) return false;
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool amx_bf16 = (d >> 22) & 1, amx_tile = (d >> 24) & 1;
  const bool avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1;
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  const bool avx512_bf16 = (a >> 5) & 1;
  if (!(amx_bf16 && amx_tile && avx512f && avx512bw && avx512_bf16)) return false;
  // Linux hands out the 8 KB tile state only on request (5.16+).
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Each thread loads the configuration once; nothing else here changes it.
void configure_tiles() {
  thread_local bool configured = false;
  if (configured) return;
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  // GCC 12 does not treat ldtilecfg as reading `cfg`, and may drop the stores
  // above as dead (then every tile is unconfigured: #UD on first use).
  __asm__ __volatile__("" : : "m"(cfg));
  _tile_loadconfig(&cfg);
  configured = true;
}

// One K step of 32 on the 2 x 2 accumulators: A rows a0 (and a1 when two_rows)
// times B panels b0 (and b1 when two_cols), each tile 1 KB.
inline void dp_step(const uint16_t* a0, const uint16_t* a1, int64_t a_stride, const uint16_t* b0,
                    const uint16_t* b1, bool two_rows, bool two_cols) {
  _tile_loadd(4, a0, a_stride);
  _tile_loadd(6, b0, 64);
  _tile_dpbf16ps(0, 4, 6);
  if (two_cols) {
    _tile_loadd(7, b1, 64);
    _tile_dpbf16ps(1, 4, 7);
  }
  if (two_rows) {
    _tile_loadd(5, a1, a_stride);
    _tile_dpbf16ps(2, 5, 6);
    if (two_cols) _tile_dpbf16ps(3, 5, 7);
  }
}

inline void zero_accumulators() {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
}

// Hands each used accumulator to store(tile, row offset, column offset) via `tile`.
template <class Store>
void store_accumulators(float* tile, bool two_rows, bool two_cols, const Store& store) {
  _tile_stored(0, tile, 64);
  store(0, 0);
  if (two_cols) {
    _tile_stored(1, tile, 64);
    store(0, 16);
  }
  if (two_rows) {
    _tile_stored(2, tile, 64);
    store(16, 0);
    if (two_cols) {
      _tile_stored(3, tile, 64);
      store(16, 16);
    }
  }
}

// The bf16 bits as an integer vector.
inline __m256i to_bf16x16(__m512 v) {
  return (__m256i)_mm512_cvtneps_pbh(v);
}

// Two rows of 16 values -> one 64-byte tile row of (row0, row1) pairs.
inline void store_pairs(__m512 r0, __m512 r1, uint16_t* out) {
  const __m512i lo = _mm512_cvtepu16_epi32(to_bf16x16(r0));
  const __m512i hi = _mm512_slli_epi32(_mm512_cvtepu16_epi32(to_bf16x16(r1)), 16);
  _mm512_storeu_si512(out, _mm512_or_si512(lo, hi));
}

// Packs B row by row: `row(k, n0, mask)` gives 16 f32 values of row k from
// column n0 (zero outside mask, and for k >= K).
template <class Row>
void pack_b(int64_t K, int64_t N, uint16_t* out, const Row& row) {
  const int64_t Kp = amx_round_k(K);
  for (int64_t n0 = 0; n0 < N; n0 += kAmxN) {
    uint16_t* panel = out + n0 * Kp;
    const __mmask16 m = first_lanes(N - n0);
    for (int64_t k = 0; k < Kp; k += 2) {
      const __m512 r0 = k < K ? row(k, n0, m) : _mm512_setzero_ps();
      const __m512 r1 = k + 1 < K ? row(k + 1, n0, m) : _mm512_setzero_ps();
      store_pairs(r0, r1, panel + k * kAmxN);
    }
  }
}

// One 16 x 16 accumulator tile (in `tile`, row-major) into C with the epilogue.
void store_tile(const float* tile, int64_t m0, int64_t n0, int64_t N, const float* bias, float* C,
                int64_t ldc, bool transpose_c) {
  const int64_t cols = std::min<int64_t>(16, N - n0);
  if (cols <= 0) return;
  if (!transpose_c) {
    const __mmask16 mask = first_lanes(cols);
    for (int r = 0; r < 16; ++r) {
      __m512 v = _mm512_loadu_ps(tile + r * 16);
      if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(bias[m0 + r]));
      _mm512_mask_storeu_ps(C + (m0 + r) * ldc + n0, mask, v);
    }
    return;
  }
  // C^T: column n of the tile is 16 consecutive outputs of activation row n0 + n.
  const __m512i down =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(16));
  const __m512 b = bias ? _mm512_loadu_ps(bias + m0) : _mm512_setzero_ps();
  for (int64_t n = 0; n < cols; ++n) {
    const __m512 v = _mm512_i32gather_ps(down, tile + n, 4);
    _mm512_storeu_ps(C + (n0 + n) * ldc + m0, _mm512_add_ps(v, b));
  }
}

}  // namespace

bool amx_available() {
  static const bool available = detect();
  return available;
}

void amx_pack_b_rows(const float* src, int64_t ld, int64_t K, int64_t N, uint16_t* out) {
  pack_b(K, N, out, [&](int64_t k, int64_t n0, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, src + k * ld + n0);
  });
}

bool amx_quant_supported(DType format, int64_t K) {
  return (format == DType::kQ8 || format == DType::kQ4) && K > 0 &&
         K % (kQuantBlock * kChunkBlocks) == 0;
}

// Dequantization order within a chunk of 16 blocks (512 weights), position p:
//   Q8: p = 64 g + i is stored byte p: weight 4 g + i % 4 of block i / 4.
//   Q4: line h = p / 128 holds 64 bytes; p % 128 < 64 are their low nibbles
//       (group 2 h), the rest their high nibbles (group 2 h + 1); byte i of the
//       line is weight 4 g + i % 4 of block i / 4 for its group g.
std::vector<int32_t> amx_quant_permutation(DType format, int64_t K) {
  std::vector<int32_t> perm(static_cast<size_t>(K));
  for (int64_t p = 0; p < K; ++p) {
    const int64_t chunk = p / 512, q = p % 512;
    int64_t g, i;
    if (format == DType::kQ8) {
      g = q / 64;
      i = q % 64;
    } else {
      g = 2 * (q / 128) + (q % 128 >= 64 ? 1 : 0);
      i = q % 64;
    }
    const int64_t block = chunk * kChunkBlocks + i / 4, e = 4 * g + i % 4;
    perm[static_cast<size_t>(p)] = static_cast<int32_t>(block * kQuantBlock + e);
  }
  return perm;
}

// How far ahead of its reads the dequantization prefetches the weight rows
// (contiguous, read once per prompt from memory): without it the loads
// waited on memory for ~60 % of this function's time.
constexpr int64_t kDequantAhead = 4096;

void amx_dequantize_rows(DType format, const uint8_t* rows, size_t row_bytes, int64_t n_rows,
                         int64_t K, uint16_t* out) {
  const int64_t blocks = K / kQuantBlock, chunks = blocks / kChunkBlocks;
  const bool q8 = format == DType::kQ8;
  const __m512i offset = _mm512_set1_epi32(q8 ? 128 : 8);
  // Lanes of 16 consecutive quant bytes 16 s .. 16 s + 15 of a 64-byte line
  // belong to blocks 4 s + lane / 4.
  __m512i block_of[4];
  for (int s = 0; s < 4; ++s)
    block_of[s] = _mm512_setr_epi32(4 * s, 4 * s, 4 * s, 4 * s, 4 * s + 1, 4 * s + 1, 4 * s + 1,
                                    4 * s + 1, 4 * s + 2, 4 * s + 2, 4 * s + 2, 4 * s + 2,
                                    4 * s + 3, 4 * s + 3, 4 * s + 3, 4 * s + 3);
  const __m128i low = _mm_set1_epi8(0x0F);
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = rows + r * row_bytes;
    const uint16_t* scales = reinterpret_cast<const uint16_t*>(row);
    const uint8_t* quants = row + blocks * sizeof(uint16_t);
    uint16_t* o = out + r * K;
    for (int64_t c = 0; c < chunks; ++c) {
      const __m512 d = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + c * kChunkBlocks)));
      __m512 scale[4];
      for (int s = 0; s < 4; ++s) scale[s] = _mm512_permutexvar_ps(block_of[s], d);
      // 16 bytes' values (already unpacked to bytes) -> 16 bf16 at dst.
      const auto emit = [&](__m128i bytes, int s, uint16_t* dst) {
        const __m512i v = _mm512_sub_epi32(_mm512_cvtepu8_epi32(bytes), offset);
        const __m512 w = _mm512_mul_ps(_mm512_cvtepi32_ps(v), scale[s]);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), (__m256i)_mm512_cvtneps_pbh(w));
      };
      if (q8) {
        const uint8_t* chunk = quants + c * 512;
        for (int64_t line = 0; line < 8; ++line) {
          _mm_prefetch(reinterpret_cast<const char*>(chunk + line * 64 + kDequantAhead),
                       _MM_HINT_T0);
          for (int s = 0; s < 4; ++s)
            emit(_mm_loadu_si128(reinterpret_cast<const __m128i*>(chunk + line * 64 + s * 16)), s,
                 o + c * 512 + line * 64 + s * 16);
        }
      } else {
        const uint8_t* chunk = quants + c * 256;
        for (int64_t line = 0; line < 4; ++line) {
          _mm_prefetch(reinterpret_cast<const char*>(chunk + line * 64 + kDequantAhead),
                       _MM_HINT_T0);
          for (int s = 0; s < 4; ++s) {
            const __m128i b =
                _mm_loadu_si128(reinterpret_cast<const __m128i*>(chunk + line * 64 + s * 16));
            uint16_t* dst = o + c * 512 + line * 128 + s * 16;
            emit(_mm_and_si128(b, low), s, dst);
            emit(_mm_and_si128(_mm_srli_epi16(b, 4), low), s, dst + 64);
          }
        }
      }
    }
  }
}

void amx_pack_b_cols_permuted(const float* src, int64_t ld, int64_t K, int64_t N,
                              const int32_t* perm, uint16_t* out) {
  // Activation row n supplies column n: 32 values along k at a time (gathered
  // through perm) become 16 pairs, one per tile row, scattered down the panel.
  const int64_t Kp = amx_round_k(K);
  std::memset(out, 0, amx_packed_b_elems(K, N) * sizeof(uint16_t));
  const __m512i down =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(16));
  for (int64_t n = 0; n < N; ++n) {
    uint16_t* col = out + (n / kAmxN) * kAmxN * Kp + (n % kAmxN) * 2;
    const float* x = src + n * ld;
    for (int64_t k = 0; k + 32 <= K; k += 32) {
      const __m512 lo = _mm512_i32gather_ps(_mm512_loadu_si512(perm + k), x, 4);
      const __m512 hi = _mm512_i32gather_ps(_mm512_loadu_si512(perm + k + 16), x, 4);
      _mm512_i32scatter_epi32(col + k * kAmxN, down, (__m512i)_mm512_cvtne2ps_pbh(hi, lo), 4);
    }
  }
}

// Samples ahead of the current block (1 KB) that amx_time_major prefetches in
// each of its 32 channel rows.
constexpr int64_t kTimeMajorPrefetch = 256;

void amx_time_major(const float* x, int64_t C, int64_t T, int64_t first, int64_t rows,
                    const float* alpha, const float* inv_beta, uint16_t* out, const float* left,
                    int64_t left_len) {
  // Blocks of 32 channels x 16 time rows: each channel's 16 samples are one
  // contiguous load (SnakeBeta on them with the channel's scalars), then two
  // 16 x 16 transposes in registers give the time rows. 32 channel rows are
  // read front to back per block column, so each is read once.
  const __m512 limit = _mm512_set1_ps(simd_sin::kMaxArg);
  // SnakeBeta on 16 samples of one channel: v + inv_beta * sin(alpha * v)^2.
  const auto snake = [&](__m512 v, float a, float b) {
    const __m512 arg = _mm512_mul_ps(v, _mm512_set1_ps(a));
    if (_mm512_cmp_ps_mask(_mm512_abs_ps(arg), limit, _CMP_NLE_UQ)) {  // rare: exact libm
      alignas(64) float lane[16];
      _mm512_store_ps(lane, v);
      for (float& f : lane) {
        const float s = std::sin(f * a);
        f += b * s * s;
      }
      return _mm512_load_ps(lane);
    }
    const __m512 s = sin16(arg);
    return _mm512_fmadd_ps(_mm512_set1_ps(b), _mm512_mul_ps(s, s), v);
  };
  for (int64_t c0 = 0; c0 < C; c0 += 32)
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
      // Lanes lo .. hi hold samples inside the signal, lanes llo .. lo samples
      // of the left context (positions -left_len .. -1); the rest are padding:
      // zero, and SnakeBeta keeps 0 at 0.
      const int64_t p0 = first + r0, nr = std::min<int64_t>(16, rows - r0);
      const int64_t lo = std::clamp<int64_t>(-p0, 0, nr), hi = std::clamp<int64_t>(T - p0, lo, nr);
      const int64_t llo = std::clamp<int64_t>(-left_len - p0, 0, lo);
      const auto lanes = [](int64_t a, int64_t b) {
        return static_cast<__mmask16>(((1u << b) - 1) & ~((1u << a) - 1));
      };
      const __mmask16 mask = lanes(lo, hi), left_mask = lanes(llo, lo);
      __m512 v[32];
      for (int64_t c = 0; c < 32; ++c) {
        const float* row = x + (c0 + c) * T;
        // 32 rows read in step are more streams than the hardware prefetchers
        // follow: without this, the loads waited on memory for 64 % of this
        // function's time and the codec decoder took 18 % longer (median).
        _mm_prefetch(reinterpret_cast<const char*>(row + p0 + kTimeMajorPrefetch), _MM_HINT_T0);
        // An expanding load where the block starts before the signal: it reads
        // only the samples that exist (likewise in the left context).
        __m512 a = mask == 0 ? _mm512_setzero_ps()
                   : lo == 0 ? _mm512_maskz_loadu_ps(mask, row + p0)
                             : _mm512_maskz_expandloadu_ps(mask, row + p0 + lo);
        if (left_mask)
          a = _mm512_mask_expandloadu_ps(a, left_mask,
                                         left + (c0 + c) * left_len + left_len + p0 + llo);
        if (alpha && (mask | left_mask)) a = snake(a, alpha[c0 + c], inv_beta[c0 + c]);
        v[c] = a;
      }
      transpose16(v);
      transpose16(v + 16);
      for (int64_t t = 0; t < nr; ++t)
        _mm512_storeu_si512(out + (r0 + t) * C + c0, (__m512i)_mm512_cvtne2ps_pbh(v[16 + t], v[t]));
    }
}

void amx_pack_conv_weights(const float* W, int64_t Cout, int64_t Cin, int taps, uint16_t* out) {
  const int64_t K = Cin * taps;
  pack_b(K, Cout, out, [&](int64_t k, int64_t n0, __mmask16 m) {
    const int64_t j = k / Cin, ci = k % Cin;
    alignas(64) float v[16] = {};
    for (int64_t n = 0; n < 16; ++n)
      if ((m >> n) & 1) v[n] = W[((n0 + n) * Cin + ci) * taps + j];
    return _mm512_load_ps(v);
  });
}

void amx_pack_rows_bf16(const float* W, int64_t Cin, int64_t N, uint16_t* out) {
  amx_pack_b_rows(W, N, Cin, N, out);
}

void amx_conv_block(const uint16_t* xtm, int64_t Cin, int taps, int64_t dilation, int64_t t0,
                    int64_t rows, const uint16_t* Bp, int64_t n0, int64_t cols, const float* bias,
                    float* y, int64_t ldy, bool accumulate) {
  configure_tiles();
  alignas(64) float tile[16 * 16];
  const int64_t Kp = Cin * taps, a_stride = Cin * static_cast<int64_t>(sizeof(uint16_t));
  const uint16_t* B0 = Bp + n0 * Kp;
  const uint16_t* B1 = B0 + kAmxN * Kp;
  const bool two_cols = cols > 16;
  // Writes tile (t rows from tr, 16 channels from nc) channel-major with the
  // bias, or adds it to y's (accumulate).
  const auto store = [&](int64_t tr, int64_t nc) {
    const int64_t nrows = std::min<int64_t>(16, t0 + rows - tr);
    const int64_t ncols = std::min<int64_t>(16, n0 + cols - nc);
    const __mmask16 mask = first_lanes(nrows);
    const __m512i down =
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32(16));
    for (int64_t n = 0; n < ncols; ++n) {
      __m512 v = _mm512_i32gather_ps(down, tile + n, 4);
      if (bias) v = _mm512_add_ps(v, _mm512_set1_ps(bias[nc + n]));
      float* out = y + (nc + n) * ldy + tr;
      if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, out));
      _mm512_mask_storeu_ps(out, mask, v);
    }
  };
  for (int64_t tr = t0; tr < t0 + rows; tr += 32) {
    const bool two_rows = tr + 16 < t0 + rows;
    zero_accumulators();
    for (int j = 0; j < taps; ++j) {
      const uint16_t* a0 = xtm + (tr + j * dilation) * Cin;
      const int64_t kj = static_cast<int64_t>(j) * Cin;
      for (int64_t ci = 0; ci < Cin; ci += kAmxK)
        dp_step(a0 + ci, a0 + 16 * Cin + ci, a_stride, B0 + (kj + ci) * kAmxN,
                B1 + (kj + ci) * kAmxN, two_rows, two_cols);
    }
    store_accumulators(tile, two_rows, two_cols,
                       [&](int64_t r, int64_t c) { store(tr + r, n0 + c); });
  }
}

void amx_gemm_rows(const uint16_t* A, int64_t lda, int rows, const uint16_t* Bp, int64_t N,
                   int64_t Kp, const float* bias, float* C, int64_t ldc, bool transpose_c) {
  configure_tiles();
  alignas(64) float tile[16 * 16];
  const int64_t a_stride = lda * static_cast<int64_t>(sizeof(uint16_t));
  const bool two_rows = rows > 16;
  for (int64_t n0 = 0; n0 < N; n0 += 2 * kAmxN) {
    const bool two_cols = n0 + kAmxN < N;
    const uint16_t* B0 = Bp + n0 * Kp;
    const uint16_t* B1 = B0 + kAmxN * Kp;
    zero_accumulators();
    for (int64_t k = 0; k < Kp; k += kAmxK)
      dp_step(A + k, A + 16 * lda + k, a_stride, B0 + k * kAmxN, B1 + k * kAmxN, two_rows,
              two_cols);
    store_accumulators(tile, two_rows, two_cols, [&](int64_t r, int64_t c) {
      store_tile(tile, r, n0 + c, N, bias, C, ldc, transpose_c);
    });
  }
}

}  // namespace izwi::cpu
