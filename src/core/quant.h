// 8- and 4-bit block weight formats, chosen when a model is loaded for the
// talker's and code predictor's linears (their bytes are what each frame reads).
//
// A weight row of K values (K a multiple of 32) is stored as
//   [K/32 f16 scales][quants]
// with one scale d per block of 32 consecutive weights, w ~= d * (q - offset):
//   Q8: a byte per weight, q = round(w / d) + 128 in 1..255, d = max|w| / 127.
//       The offset makes the quants unsigned bytes, which is what AVX-512 VNNI's
//       vpdpbusd (u8 x s8) multiplies with int8 activations; the offset's share
//       is taken back out with the activations' sums (kernels/cpu/quant_acts.h).
//   Q4: a nibble per weight, q in 0..15 with offset 8, d = m / -8 where m is
//       the block's weight of largest magnitude (so m itself is exact, as in
//       ggml's Q4_0).
// The quants of 16 blocks (a chunk; a row's last chunk may have fewer, n) are
// interleaved four weights at a time: weights 4g..4g+3 of the chunk's block l
// sit at bytes 4n g + 4 l .. +3 (Q8), so one 64-byte load holds four weights of
// each of 16 blocks and vpdpbusd sums each block into a lane of its own: after
// 8 loads the 16 lanes are the 16 block dot products, scaled with one multiply.
// Q4 keeps groups 2h and 2h + 1 in the low and high nibbles of the bytes at
// 4n h + 4 l; a chunk is 512 (Q8) or 256 (Q4) bytes.
// Both cost what ggml's Q8_0 / Q4_0 cost, 34 / 18 bytes per 32 weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/tensor.h"

namespace izwi {

class ThreadPool;

constexpr int64_t kQuantBlock = 32;
constexpr int64_t kChunkBlocks = 16;

// Blocks in the chunk holding block b, of a row of nb blocks.
inline int64_t chunk_size(int64_t nb, int64_t b) {
  const int64_t first = b / kChunkBlocks * kChunkBlocks;
  return nb - first < kChunkBlocks ? nb - first : kChunkBlocks;
}

// Byte of weight e (0..31) of block b in a Q8 row's quants (also where the
// quantized activations keep value e of block b).
inline int64_t interleaved_position(int64_t nb, int64_t b, int e) {
  return b / kChunkBlocks * 512 + (e / 4) * 4 * chunk_size(nb, b) + (b % kChunkBlocks) * 4 + e % 4;
}

// Byte and nibble (0 low, 4 high) of weight e of block b in a Q4 row's quants.
inline int64_t q4_position(int64_t nb, int64_t b, int e, int* shift) {
  const int g = e / 4;
  *shift = g % 2 ? 4 : 0;
  return b / kChunkBlocks * 256 + (g / 2) * 4 * chunk_size(nb, b) + (b % kChunkBlocks) * 4 + e % 4;
}

// Weight e (0..31) of block b of a row of nb blocks whose quants start at
// `quants`, offset removed: the integer the kernels multiply.
inline int quant_value(DType format, const uint8_t* quants, int64_t nb, int64_t b, int e) {
  if (format == DType::kQ8) return static_cast<int>(quants[interleaved_position(nb, b, e)]) - 128;
  int shift;
  const uint8_t byte = quants[q4_position(nb, b, e, &shift)];
  return ((byte >> shift) & 0xF) - 8;
}

bool is_block_format(DType dtype);
// Can a [rows, K] weight be stored in `format`? (K a multiple of 32.)
bool quantizable(DType format, int64_t K);
// Bytes of one row of K values in `dtype` (any dtype).
size_t row_bytes(DType dtype, int64_t K);

// One row of K f32 weights -> row_bytes(format, K) bytes.
void quantize_row(DType format, const float* w, int64_t K, uint8_t* out);
// One row back to f32 (the exact values the kernels multiply with).
void dequantize_row(DType format, const uint8_t* row, int64_t K, float* out);

// An uninitialised buffer for weights that are streamed every frame: 2 MB aligned
// and advised to use huge pages (fewer TLB misses over gigabytes per second).
std::shared_ptr<uint8_t> weight_buffer(size_t bytes);

// A 2-D weight [N, K] in any float dtype, quantized row by row (rows split over
// `pool`, which may be null). Throws if K is not a multiple of 32.
Tensor quantize(const Tensor& w, DType format, ThreadPool* pool);

}  // namespace izwi
