// CPU convolutions over [channels, time] as GEMMs. With our GEMM (AVX-512 or
// AVX2, kernels/cpu/gemm.h) a stride-1 convolution reads its column matrix
// straight from the (padded) signal while packing (conv_gemm); otherwise im2col
// + GEMM, tiled along time so the column buffer stays a few MB even for
// 576,000-sample outputs.

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/no_zero.h"
#include "core/thread_pool.h"
#include "core/thread_scratch.h"
#include "kernels/cpu/bf16_avx512.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_amx.h"
#include "kernels/cpu/vec.h"
#include "kernels/ops.h"

namespace izwi::ops {

namespace {

constexpr int64_t kColumnBudget = 1 << 21;  // floats in one im2col tile (8 MB)

// The calling thread's column buffer, at least `n` floats. It only grows (to
// about kColumnBudget): a fresh multi-MB buffer per convolution came from mmap
// and was page-faulted in anew each time.
std::vector<float>& column_scratch(int64_t n) {
  thread_local ThreadScratch<std::vector<float>> cols;
  if (cols.size() < static_cast<size_t>(n)) cols.resize(static_cast<size_t>(n));
  return cols;
}

// The calling thread's buffer for a padded copy of a convolution's input (grows only).
std::vector<float>& padded_scratch(int64_t n) {
  thread_local ThreadScratch<std::vector<float>> padded;
  if (padded.size() < static_cast<size_t>(n)) padded.resize(static_cast<size_t>(n));
  return padded;
}

// out [cols, rows] = in [rows, cols]^T, in tiles that stay in cache on both sides.
void transpose(const float* in, int64_t rows, int64_t cols, float* out) {
  constexpr int64_t kTile = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile)
    for (int64_t c0 = 0; c0 < cols; c0 += kTile)
      for (int64_t r = r0; r < std::min(rows, r0 + kTile); ++r)
        for (int64_t c = c0; c < std::min(cols, c0 + kTile); ++c)
          out[c * rows + r] = in[r * cols + c];
}

// Input sample at padded position `pos` of channel row `row` (length T).
inline float padded_at(const float* row, int64_t T, int64_t pos, int64_t pad_left, PadMode mode) {
  const int64_t src = pos - pad_left;
  if (src >= 0 && src < T) return row[src];
  if (mode == PadMode::kZeros || T == 0) return 0.0f;
  if (mode == PadMode::kReplicate) return src < 0 ? row[0] : row[T - 1];
  const int64_t r = src < 0 ? -src : 2 * (T - 1) - src;  // reflect
  return row[std::clamp<int64_t>(r, 0, T - 1)];
}

void check_conv(int64_t Cin, int64_t T, int64_t Cout, int K, const Conv1dParams& p) {
  if (K <= 0 || p.stride <= 0 || p.dilation <= 0 || p.pad_left < 0 || p.pad_right < 0)
    fail(ErrorKind::kInvalidArgument, "conv1d: invalid kernel/stride/dilation/padding");
  if (p.pad_mode == PadMode::kReflect && (p.pad_left >= T || p.pad_right >= T))
    fail(ErrorKind::kInvalidArgument, "conv1d: reflect padding of ",
         std::max(p.pad_left, p.pad_right), " needs an input longer than that, got ", T, " steps");
  if (p.groups != 1 && !(p.groups == Cin && p.groups == Cout))
    fail(ErrorKind::kInvalidArgument, "conv1d: groups must be 1 or depthwise (", Cin, "), got ",
         p.groups);
}

// Fills y [Cout, To] with the bias (zero without one).
void fill_bias(ThreadPool* pool, const float* bias, int64_t Cout, int64_t To, float* y) {
  parallel_for(pool, Cout, 8, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) std::fill_n(y + c * To, To, bias ? bias[c] : 0.0f);
  });
}

// y [Cout, To] += bias.
void add_bias(ThreadPool* pool, const float* bias, int64_t Cout, int64_t To, float* y) {
  parallel_for(pool, Cout, 8, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t t = 0; t < To; ++t) y[c * To + t] += bias[c];
  });
}

// The transposed convolution's second half: y[co, (t0 + t) * stride + k] += cols[(co, k), t]
// for cols [Cout * K, nt], positions past To dropped.
void overlap_add(ThreadPool* pool, const float* cols, int64_t Cout, int K, int64_t nt, int64_t t0,
                 int stride, int64_t To, float* y) {
  parallel_for(pool, Cout, 4, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      float* yr = y + c * To;
      for (int k = 0; k < K; ++k) {
        const float* cr = cols + (c * K + k) * nt;
        for (int64_t t = 0; t < nt; ++t) {
          const int64_t pos = (t0 + t) * stride + k;
          if (pos < To) yr[pos] += cr[t];
        }
      }
    }
  });
}

}  // namespace

int64_t conv1d_out_len(int64_t T, int kernel, const Conv1dParams& p) {
  const int64_t span = static_cast<int64_t>(p.dilation) * (kernel - 1) + 1;
  const int64_t padded = T + p.pad_left + p.pad_right;
  return padded < span ? 0 : (padded - span) / p.stride + 1;
}

namespace {

// x itself (ld = T) when p has no padding, else its padded copy [Cin, ld] in
// the calling thread's scratch (ld = T + pad_left + pad_right).
const float* padded_input(ThreadPool* pool, const float* x, int64_t Cin, int64_t T,
                          const Conv1dParams& p, int64_t& ld) {
  ld = T;
  if (p.pad_left == 0 && p.pad_right == 0) return x;
  ld = T + p.pad_left + p.pad_right;
  float* copy = padded_scratch(Cin * ld).data();
  parallel_for(pool, Cin, 8, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t i = 0; i < ld; ++i)
        copy[c * ld + i] = padded_at(x + c * T, T, i, p.pad_left, p.pad_mode);
  });
  return copy;
}

// A stride-1 convolution to a few output channels (the codec decoder's last,
// to one audio channel): y[co, t] += sum over (ci, k) of W[co, ci, k] *
// in(ci, t + k * dilation), where in(ci, j) is left[ci, j] for j < L and
// x[ci, j - L] after it; each (ci, k) term is one or two axpy over a run of t.
// GEMM tiles of 12-32 output channels would be almost all padding. Runs of the
// output columns are split over the pool.
void conv1d_direct_add(ThreadPool* pool, const float* left, int64_t L, const float* x, int64_t ldx,
                       int64_t Cin, const float* W, int64_t Cout, int K, int dilation, int64_t To,
                       float* y) {
  const cpu::VecKernels& vk = cpu::vec_kernels();
  constexpr int64_t kTile = 512;  // output columns summed in L1
  parallel_for(pool, To, 2 * kTile, [&](int64_t c0, int64_t c1) {
    for (int64_t t0 = c0; t0 < c1; t0 += kTile) {
      const int64_t t1 = std::min(c1, t0 + kTile);
      for (int64_t co = 0; co < Cout; ++co) {
        float* yr = y + co * To;
        for (int64_t ci = 0; ci < Cin; ++ci)
          for (int k = 0; k < K; ++k) {
            const float w = W[(co * Cin + ci) * K + k];
            const int64_t o = static_cast<int64_t>(k) * dilation;
            const int64_t split = std::clamp(L - o, t0, t1);  // t < split: the left context
            if (split > t0) vk.axpy(yr + t0, left + ci * L + t0 + o, w, split - t0);
            if (t1 > split) vk.axpy(yr + split, x + ci * ldx + split + o - L, w, t1 - split);
          }
      }
    }
  });
}

// conv1d with the weights W [Cout, Cin/groups, K] plain, or (packed: stride 1,
// groups 1, our GEMM: cpu::gemm_kernels()) as its pack_a panels of the [Cout, Cin * K] matrix.
void conv1d_impl(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const float* W,
                 bool packed, int64_t Cout, int K, const float* bias, const Conv1dParams& p,
                 float* y) {
  check_conv(Cin, T, Cout, K, p);
  const int64_t To = conv1d_out_len(T, K, p);
  if (To == 0) return;
  const cpu::GemmKernels* g = cpu::gemm_kernels();  // null: BLAS and im2col
  IZWI_ASSERT(!packed || (p.groups == 1 && p.stride == 1 && g));

  if (p.groups != 1) {  // depthwise: each channel its own K-tap filter
    parallel_for(pool, Cout, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const float* xr = x + c * T;
        const float* w = W + c * K;
        float* yr = y + c * To;
        for (int64_t t = 0; t < To; ++t) {
          float s = bias ? bias[c] : 0.0f;
          for (int k = 0; k < K; ++k)
            s += w[k] * padded_at(xr, T, t * p.stride + static_cast<int64_t>(k) * p.dilation,
                                  p.pad_left, p.pad_mode);
          yr[t] = p.accumulate ? yr[t] + s : s;
        }
      }
    });
    return;
  }

  // The bias goes in first (filled, or added when accumulating); the products
  // then accumulate onto it.
  if (bias) (p.accumulate ? add_bias : fill_bias)(pool, bias, Cout, To, y);
  const bool onto_y = p.accumulate || bias;
  const int64_t rows = Cin * K;
  const bool padded = p.pad_left > 0 || p.pad_right > 0;
  if (!packed && p.stride == 1 && Cout < kDirectConvMaxOut) {
    int64_t ld;
    const float* src = padded_input(pool, x, Cin, T, p, ld);
    if (!onto_y) std::fill(y, y + Cout * To, 0.0f);
    conv1d_direct_add(pool, nullptr, 0, src, ld, Cin, W, Cout, K, p.dilation, To, y);
    return;
  }
  if (K == 1 && p.stride == 1 && !padded) {
    if (packed)
      g->gemm_packed_a(pool, Cout, T, Cin, W, x, T, y, T, onto_y);
    else
      gemm(pool, false, false, Cout, T, Cin, W, Cin, x, T, y, T, onto_y);
    return;
  }
  if (p.stride == 1 && g) {
    // The column matrix is read from the signal itself; only padding needs a copy.
    int64_t ld;
    const float* src = padded_input(pool, x, Cin, T, p, ld);
    g->conv_gemm(pool, Cout, To, rows, W, packed ? 0 : rows, src, ld, K, p.dilation, y, To, onto_y);
    return;
  }
  const int64_t tile = std::max<int64_t>(64, std::min<int64_t>(To, kColumnBudget / rows));
  std::vector<float>& cols = column_scratch(rows * tile);
  for (int64_t t0 = 0; t0 < To; t0 += tile) {
    const int64_t nt = std::min(tile, To - t0);
    parallel_for(pool, rows, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t ci = r / K, k = r % K;
        const float* xr = x + ci * T;
        float* out = cols.data() + r * nt;
        const int64_t off = k * p.dilation;
        for (int64_t t = 0; t < nt; ++t) {
          const int64_t pos = (t0 + t) * p.stride + off;
          const int64_t src = pos - p.pad_left;
          out[t] = (src >= 0 && src < T) ? xr[src] : padded_at(xr, T, pos, p.pad_left, p.pad_mode);
        }
      }
    });
    gemm(pool, false, false, Cout, nt, rows, W, rows, cols.data(), nt, y + t0, To, onto_y);
  }
}

// conv_transpose1d with W [Cin, Cout, K] plain, or packed as the panels of W^T [Cout * K, Cin].
void conv_transpose1d_impl(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const float* W,
                           bool packed, int64_t Cout, int K, int stride, const float* bias,
                           int64_t trim_right, float* y) {
  const int64_t full = (T - 1) * stride + K;
  const int64_t To = full - trim_right;
  if (T <= 0 || To <= 0) return;
  fill_bias(pool, bias, Cout, To, y);
  // cols[(co, k), t] = sum_ci W[ci, co, k] * x[ci, t]; then y[co, t*stride + k] += cols.
  const int64_t rows = Cout * K;
  const int64_t tile = std::max<int64_t>(64, std::min<int64_t>(T, kColumnBudget / rows));
  std::vector<float>& cols = column_scratch(rows * tile);
  for (int64_t t0 = 0; t0 < T; t0 += tile) {
    const int64_t nt = std::min(tile, T - t0);
    if (packed)
      cpu::gemm_kernels()->gemm_packed_a(pool, rows, nt, Cin, W, x + t0, T, cols.data(), nt, false);
    else
      gemm(pool, true, false, rows, nt, Cin, W, rows, x + t0, T, cols.data(), nt);
    overlap_add(pool, cols.data(), Cout, K, nt, t0, stride, To, y);
  }
}

}  // namespace

void conv1d(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const float* W, int64_t Cout,
            int K, const float* bias, const Conv1dParams& p, float* y) {
  conv1d_impl(pool, x, Cin, T, W, false, Cout, K, bias, p, y);
}

void conv1d_direct(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const float* W,
                   int64_t Cout, int K, int dilation, const float* bias, LeftContext left,
                   float* y) {
  const int64_t H = static_cast<int64_t>(K - 1) * dilation;
  if (left.x && left.length != H)
    fail(ErrorKind::kInvalidArgument, "conv1d_direct: expected a left context of ", H,
         " samples, got ", left.length);
  if (T <= 0) return;
  fill_bias(pool, bias, Cout, T, y);
  if (left.x) {
    conv1d_direct_add(pool, left.x, H, x, T, Cin, W, Cout, K, dilation, T, y);
    return;
  }
  std::vector<float> zeros(static_cast<size_t>(Cin * H), 0.0f);
  conv1d_direct_add(pool, zeros.data(), H, x, T, Cin, W, Cout, K, dilation, T, y);
}

bool packed_convolutions_available() {
  return cpu::gemm_kernels() != nullptr;
}

namespace {

const cpu::GemmKernels& packing_gemm(const char* op) {
  const cpu::GemmKernels* g = cpu::gemm_kernels();
  if (!g)
    fail(ErrorKind::kInvalidArgument, op, ": needs AVX2 + FMA or AVX-512, which this CPU lacks");
  return *g;
}

}  // namespace

PackedConvWeights pack_conv1d_f32(const float* W, int64_t Cout, int64_t Cin, int K) {
  return PackedConvWeights{packing_gemm("pack_conv1d_f32").pack_a(false, Cout, Cin * K, W, Cin * K),
                           Cin, Cout, K};
}

PackedConvWeights pack_conv_transpose1d_f32(const float* W, int64_t Cin, int64_t Cout, int K) {
  return PackedConvWeights{
      packing_gemm("pack_conv_transpose1d_f32").pack_a(true, Cout * K, Cin, W, Cout * K), Cin, Cout,
      K};
}

namespace {

void check_packed(const PackedConvWeights& W, int64_t Cin, int64_t Cout, int K, const char* op) {
  if (W.empty() || W.cin != Cin || W.cout != Cout || W.kernel != K)
    fail(ErrorKind::kInvalidArgument, op, ": expected packed weights for ", Cin, " -> ", Cout,
         " channels, kernel ", K, ", got ", W.cin, " -> ", W.cout, ", kernel ", W.kernel);
}

}  // namespace

void conv1d_packed(ThreadPool* pool, const float* x, int64_t Cin, int64_t T,
                   const PackedConvWeights& W, int64_t Cout, int K, const float* bias,
                   const Conv1dParams& p, float* y) {
  check_packed(W, Cin, Cout, K, "conv1d_packed");
  if (p.groups != 1 || p.stride != 1)
    fail(ErrorKind::kInvalidArgument, "conv1d_packed: only stride 1, groups 1, got stride ",
         p.stride, ", groups ", p.groups);
  conv1d_impl(pool, x, Cin, T, W.panels.data(), true, Cout, K, bias, p, y);
}

void conv_transpose1d_packed(ThreadPool* pool, const float* x, int64_t Cin, int64_t T,
                             const PackedConvWeights& W, int64_t Cout, int K, int stride,
                             const float* bias, int64_t trim_right, float* y) {
  check_packed(W, Cin, Cout, K, "conv_transpose1d_packed");
  conv_transpose1d_impl(pool, x, Cin, T, W.panels.data(), true, Cout, K, stride, bias, trim_right,
                        y);
}

void linear_packed(ThreadPool* pool, const float* x, int64_t M, const PackedConvWeights& W,
                   const float* bias, float* y) {
  check_packed(W, W.cin, W.cout, 1, "linear_packed");  // packed as a kernel-1 convolution
  if (M <= 0) return;
  const int64_t K = W.cin, N = W.cout;
  // This thread's buffers, which only grow: nothing is allocated per call
  // (nor zeroed: both are written in full).
  thread_local ThreadScratch<NoZeroVector<float>> xt, yt;
  xt.resize(static_cast<size_t>(K * M));
  yt.resize(static_cast<size_t>(N * M));
  transpose(x, M, K, xt.data());
  conv1d_impl(pool, xt.data(), K, M, W.panels.data(), true, N, 1, bias, Conv1dParams{}, yt.data());
  transpose(yt.data(), N, M, y);
}

void conv1d_ref(const float* x, int64_t Cin, int64_t T, const float* W, int64_t Cout, int K,
                const float* bias, const Conv1dParams& p, float* y) {
  check_conv(Cin, T, Cout, K, p);
  const int64_t To = conv1d_out_len(T, K, p);
  const int64_t cin_per_group = p.groups == 1 ? Cin : 1;
  for (int64_t co = 0; co < Cout; ++co) {
    for (int64_t t = 0; t < To; ++t) {
      double s = bias ? bias[co] : 0.0;
      for (int64_t j = 0; j < cin_per_group; ++j) {
        const int64_t ci = p.groups == 1 ? j : co;
        for (int k = 0; k < K; ++k) {
          const float v =
              padded_at(x + ci * T, T, t * p.stride + static_cast<int64_t>(k) * p.dilation,
                        p.pad_left, p.pad_mode);
          s += static_cast<double>(W[(co * cin_per_group + j) * K + k]) * v;
        }
      }
      y[co * To + t] = static_cast<float>(p.accumulate ? s + y[co * To + t] : s);
    }
  }
}

void conv_transpose1d(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const float* W,
                      int64_t Cout, int K, int stride, const float* bias, int64_t trim_right,
                      float* y) {
  conv_transpose1d_impl(pool, x, Cin, T, W, false, Cout, K, stride, bias, trim_right, y);
}

void conv_transpose1d_ref(const float* x, int64_t Cin, int64_t T, const float* W, int64_t Cout,
                          int K, int stride, const float* bias, int64_t trim_right, float* y) {
  const int64_t To = (T - 1) * stride + K - trim_right;
  std::vector<double> acc(static_cast<size_t>(Cout * std::max<int64_t>(To, 0)));
  for (int64_t ci = 0; ci < Cin; ++ci)
    for (int64_t co = 0; co < Cout; ++co)
      for (int k = 0; k < K; ++k)
        for (int64_t t = 0; t < T; ++t) {
          const int64_t pos = t * stride + k;
          if (pos < To)
            acc[co * To + pos] += static_cast<double>(W[(ci * Cout + co) * K + k]) * x[ci * T + t];
        }
  for (int64_t co = 0; co < Cout; ++co)
    for (int64_t t = 0; t < To; ++t)
      y[co * To + t] = static_cast<float>(acc[co * To + t] + (bias ? bias[co] : 0.0f));
}

bool bf16_convolutions_available() {
  return cpu::bf16_products_available();
}

const char* bf16_convolution_kernel() {
  if (!bf16_convolutions_available()) return "";
  return cpu::amx_available() ? "amx" : "avx512-bf16";
}

bool bf16_conv_supported(int64_t Cin) {
  return Cin > 0 && Cin % 32 == 0;
}

namespace {

void require_bf16(const char* op) {
  if (!bf16_convolutions_available())
    fail(ErrorKind::kInvalidArgument, op,
         ": needs AMX-BF16 or AVX512-BF16, which this CPU (or OS, or IZWI_ISA) does not offer");
}

Bf16ConvWeights packed_weights(int64_t cin, int64_t cout, int kernel, int64_t K, int64_t N,
                               const char* op) {
  require_bf16(op);
  if (!bf16_conv_supported(cin))
    fail(ErrorKind::kInvalidArgument, op, ": needs input channels in multiples of 32, got ", cin);
  Bf16ConvWeights w;
  w.cin = cin;
  w.cout = cout;
  w.kernel = kernel;
  w.packed.assign(cpu::amx_packed_b_elems(K, N), 0);
  return w;
}

void check_weights(const Bf16ConvWeights& W, int64_t Cin, int64_t Cout, int K, const char* op) {
  require_bf16(op);
  if (W.cin != Cin || W.cout != Cout || W.kernel != K)
    fail(ErrorKind::kInvalidArgument, op, ": expected packed weights for ", Cin, " -> ", Cout,
         " channels, kernel ", K, ", got ", W.cin, " -> ", W.cout, ", kernel ", W.kernel);
}

// Time rows per window: the time-major copy of one window stays within 512 KB,
// so every channel group's pass over it (conv_blocks) reads it from L2. With
// 4 MB windows the decoder's wide late blocks (96-192 channels, up to 23 040
// samples a 12-frame block) streamed the copy from L3 once per 32 output
// channels: a streamed 10 s decode took 1.40-1.54 s against 1.22-1.40 s now
// (bench_codec, one thread, AMX, six alternated runs).
int64_t window_rows(int64_t Cin, int64_t total) {
  const int64_t fit = std::max<int64_t>(256, (int64_t{1} << 18) / Cin) / 32 * 32;
  return std::min(fit, (total + 31) / 32 * 32);
}

// Rows [t0, t0 + rows) of the product over the pool (added to y's with
// `accumulate`), work items of 32 (AMX) or 48 output channels x 128 time rows, on AMX tiles where
// the CPU has them, else with AVX512-BF16 (same operands, kernels/cpu/bf16_avx512.h).
void conv_blocks(ThreadPool* pool, const uint16_t* xtm, int64_t Cin, int taps, int64_t dilation,
                 int64_t rows, const Bf16ConvWeights& W, int64_t N, const float* bias, float* y,
                 int64_t ldy, bool accumulate = false) {
  constexpr int64_t kChunk = 128;
  const bool amx = cpu::amx_available();
  const auto block = amx ? cpu::amx_conv_block : cpu::avx512_bf16_conv_block;
  const int64_t width = amx ? 32 : cpu::kAvx512Bf16MaxCols;  // output channels per work item
  const int64_t groups = (N + width - 1) / width, chunks = (rows + kChunk - 1) / kChunk;
  parallel_for(pool, groups * chunks, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n0 = (i / chunks) * width, t0 = (i % chunks) * kChunk;
      block(xtm, Cin, taps, dilation, t0, std::min(kChunk, rows - t0), W.packed.data(), n0,
            std::min(width, N - n0), bias, y, ldy, accumulate);
    }
  });
}

// The time-major copy of x rows first .. first + rows, split over the pool.
void time_major(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, int64_t first,
                int64_t rows, InputSnake act, uint16_t* out, LeftContext left = {}) {
  parallel_for(pool, rows, 64, [&](int64_t r0, int64_t r1) {
    cpu::amx_time_major(x, Cin, T, first + r0, r1 - r0, act.alpha, act.inv_beta, out + r0 * Cin,
                        left.x, left.length);
  });
}

}  // namespace

Bf16ConvWeights pack_conv1d_bf16(const float* W, int64_t Cout, int64_t Cin, int K) {
  Bf16ConvWeights w = packed_weights(Cin, Cout, K, Cin * K, Cout, "pack_conv1d_bf16");
  cpu::amx_pack_conv_weights(W, Cout, Cin, K, w.packed.data());
  return w;
}

Bf16ConvWeights pack_conv_transpose1d_bf16(const float* W, int64_t Cin, int64_t Cout, int K) {
  Bf16ConvWeights w = packed_weights(Cin, Cout * K, K, Cin, Cout * K, "pack_conv_transpose1d_bf16");
  cpu::amx_pack_rows_bf16(W, Cin, Cout * K, w.packed.data());
  return w;
}

void conv1d_bf16(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const Bf16ConvWeights& W,
                 int64_t Cout, int K, const float* bias, const Conv1dParams& p, float* y,
                 InputSnake act, LeftContext left) {
  check_conv(Cin, T, Cout, K, p);
  check_weights(W, Cin, Cout, K, "conv1d_bf16");
  if (left.x && left.length < p.pad_left)
    fail(ErrorKind::kInvalidArgument, "conv1d_bf16: a left context of ", left.length,
         " samples for a left padding of ", p.pad_left);
  if (p.groups != 1 || p.stride != 1 || p.pad_mode != PadMode::kZeros)
    fail(ErrorKind::kInvalidArgument, "conv1d_bf16: only stride 1, groups 1 with zero padding");
  const int64_t To = conv1d_out_len(T, K, p);
  if (To == 0) return;
  const int64_t halo = static_cast<int64_t>(K - 1) * p.dilation, window = window_rows(Cin, To);
  thread_local ThreadScratch<std::vector<uint16_t>> scratch;  // grows only
  scratch.resize(static_cast<size_t>((window + halo) * Cin));
  for (int64_t t0 = 0; t0 < To; t0 += window) {
    const int64_t rows = std::min(window, To - t0);
    // Output t reads padded inputs t .. t + halo, i.e. x positions t - pad_left ...
    time_major(pool, x, Cin, T, t0 - p.pad_left, (rows + 31) / 32 * 32 + halo, act, scratch.data(),
               left);
    conv_blocks(pool, scratch.data(), Cin, K, p.dilation, rows, W, Cout, bias, y + t0, To,
                p.accumulate);
  }
}

void conv_transpose1d_bf16(ThreadPool* pool, const float* x, int64_t Cin, int64_t T,
                           const Bf16ConvWeights& W, int64_t Cout, int K, int stride,
                           const float* bias, int64_t trim_right, float* y, InputSnake act) {
  check_weights(W, Cin, Cout * K, K, "conv_transpose1d_bf16");
  const int64_t To = (T - 1) * stride + K - trim_right;
  if (T <= 0 || To <= 0) return;
  fill_bias(pool, bias, Cout, To, y);
  const int64_t N = Cout * K, window = window_rows(std::max(Cin, N), T);
  thread_local ThreadScratch<std::vector<uint16_t>> scratch;
  thread_local ThreadScratch<std::vector<float>> cols;
  scratch.resize(static_cast<size_t>(window * Cin));
  cols.resize(static_cast<size_t>(N * window));
  for (int64_t t0 = 0; t0 < T; t0 += window) {
    const int64_t nt = std::min(window, T - t0);
    time_major(pool, x, Cin, T, t0, (nt + 31) / 32 * 32, act, scratch.data());
    // cols [(co, k), t] = sum_ci W[ci, (co, k)] x[ci, t0 + t]
    conv_blocks(pool, scratch.data(), Cin, 1, 1, nt, W, N, nullptr, cols.data(), nt);
    overlap_add(pool, cols.data(), Cout, K, nt, t0, stride, To, y);
  }
}

void linear_bf16(ThreadPool* pool, const float* x, int64_t M, const Bf16ConvWeights& W,
                 const float* bias, float* y) {
  check_weights(W, W.cin, W.cout, 1, "linear_bf16");  // packed as a kernel-1 convolution
  if (M <= 0) return;
  const int64_t K = W.cin, N = W.cout, rows = (M + 31) / 32 * 32;
  // x is already time-major: rounded to bf16, with zero rows up to the
  // kernels' row granule. This thread's buffers, which only grow.
  thread_local ThreadScratch<std::vector<uint16_t>> xtm;
  thread_local ThreadScratch<std::vector<float>> yt;
  xtm.resize(static_cast<size_t>(rows * K));
  yt.resize(static_cast<size_t>(N * M));
  cpu::to_bf16(x, M * K, xtm.data());
  std::fill(xtm.begin() + M * K, xtm.begin() + rows * K, uint16_t{0});
  conv_blocks(pool, xtm.data(), K, 1, 1, M, W, N, bias, yt.data(), M);
  transpose(yt.data(), N, M, y);
}

}  // namespace izwi::ops
