#include "core/quant.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "core/error.h"
#include "core/sanitizer.h"
#include "core/thread_pool.h"

namespace izwi {

bool is_block_format(DType dtype) {
  return dtype == DType::kQ8 || dtype == DType::kQ4;
}

bool quantizable(DType format, int64_t K) {
  return is_block_format(format) && K > 0 && K % kQuantBlock == 0;
}

size_t row_bytes(DType dtype, int64_t K) {
  const DTypeTraits& t = dtype_traits(dtype);
  IZWI_ASSERT(K % t.block == 0);
  return static_cast<size_t>(K / t.block) * t.block_bytes;
}

void quantize_row(DType format, const float* w, int64_t K, uint8_t* out) {
  IZWI_ASSERT(quantizable(format, K));
  const int64_t nb = K / kQuantBlock;
  uint8_t* q = out + nb * 2;
  if (format == DType::kQ4) std::memset(q, 0, static_cast<size_t>(K / 2));
  for (int64_t b = 0; b < nb; ++b) {
    const float* x = w + b * kQuantBlock;
    float d = 0;
    if (format == DType::kQ8) {
      float amax = 0;
      for (int j = 0; j < kQuantBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
      d = amax / 127.0f;
    } else {
      float m = 0;  // the value of largest magnitude, with its sign
      for (int j = 0; j < kQuantBlock; ++j)
        if (std::fabs(x[j]) > std::fabs(m)) m = x[j];
      d = m / -8.0f;
    }
    // The kernels multiply with the f16-rounded scale; quantize against it too.
    const uint16_t dh = f32_to_f16(d);
    std::memcpy(out + b * 2, &dh, 2);
    const float dr = f16_to_f32(dh);
    const float inv = dr != 0 ? 1.0f / dr : 0.0f;
    for (int j = 0; j < kQuantBlock; ++j) {
      if (format == DType::kQ8) {
        const long v = std::clamp(std::lround(x[j] * inv), -127L, 127L);
        q[interleaved_position(nb, b, j)] = static_cast<uint8_t>(v + 128);
      } else {
        const long v = std::clamp(std::lround(x[j] * inv) + 8, 0L, 15L);
        int shift;
        const int64_t byte = q4_position(nb, b, j, &shift);
        q[byte] = static_cast<uint8_t>(q[byte] | (v << shift));
      }
    }
  }
}

void dequantize_row(DType format, const uint8_t* row, int64_t K, float* out) {
  IZWI_ASSERT(quantizable(format, K));
  const int64_t nb = K / kQuantBlock;
  const uint8_t* q = row + nb * 2;
  for (int64_t b = 0; b < nb; ++b) {
    uint16_t dh;
    std::memcpy(&dh, row + b * 2, 2);
    const float d = f16_to_f32(dh);
    for (int j = 0; j < kQuantBlock; ++j)
      out[b * kQuantBlock + j] = d * static_cast<float>(quant_value(format, q, nb, b, j));
  }
}

std::shared_ptr<uint8_t> weight_buffer(size_t bytes) {
  constexpr size_t kHuge = size_t{2} << 20, kPage = 4096;
  // AddressSanitizer checks reads past the end of malloc'd blocks, not of
  // mappings: under it the weights stay where it can see their bounds.
  if (kAddressSanitizer) {
    void* p = nullptr;
    if (posix_memalign(&p, kHuge, std::max<size_t>(bytes, 1)) != 0) throw std::bad_alloc();
    return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
  }
  // Mapped here rather than taken from malloc: with the heap kept for reuse
  // (configure_allocator) malloc serves blocks up to 32 MB from the heap,
  // where they lost their huge pages (+34 k page faults loading 0.6B q8, and
  // a TLB miss per 4 KB of every frame's weight stream). Over-mapped by one
  // huge page, then trimmed to a 2 MB-aligned start.
  const size_t len = (std::max<size_t>(bytes, 1) + kPage - 1) / kPage * kPage;
  const size_t span = len + kHuge;
  void* p = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (start + kHuge - 1) / kHuge * kHuge;
  const size_t head = aligned - start, tail = span - head - len;
  if (head > 0) munmap(p, head);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + len), tail);
  auto* q = reinterpret_cast<uint8_t*>(aligned);
  // Advice only (without THP the pages stay small), and only for whole huge
  // pages: a partial last one would be resident in full.
  if (len >= kHuge) madvise(q, len / kHuge * kHuge, MADV_HUGEPAGE);
  return std::shared_ptr<uint8_t>(q, [len](uint8_t* r) { munmap(r, len); });
}

Tensor quantize(const Tensor& w, DType format, ThreadPool* pool) {
  if (w.shape.size() != 2)
    fail(ErrorKind::kInvalidArgument, "quantize: expected a 2-D weight, got ", shape_str(w.shape));
  const int64_t N = w.shape[0], K = w.shape[1];
  if (!quantizable(format, K))
    fail(ErrorKind::kInvalidArgument, "quantize: rows of ", K, " values cannot be stored as ",
         dtype_name(format), " (it needs a multiple of ", kQuantBlock, ")");
  const size_t rb = row_bytes(format, K);
  std::shared_ptr<uint8_t> buf = weight_buffer(rb * static_cast<size_t>(N));
  parallel_for(pool, N, 16, [&](int64_t n0, int64_t n1) {
    std::vector<float> row(static_cast<size_t>(K));
    for (int64_t n = n0; n < n1; ++n) {
      w.to_f32(n * K, K, row.data());
      quantize_row(format, row.data(), K, buf.get() + rb * static_cast<size_t>(n));
    }
  });
  Tensor t;
  t.dtype = format;
  t.shape = w.shape;
  t.data = buf.get();
  t.owner = std::move(buf);
  return t;
}

}  // namespace izwi
