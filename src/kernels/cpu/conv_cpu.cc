// CPU convolutions over [channels, time]: im2col + BLAS GEMM, tiled along time
// so the column buffer stays a few MB even for 576,000-sample decoder outputs.

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/gemm_amx.h"
#include "kernels/ops.h"

namespace izwi::ops {

namespace {

constexpr int64_t kColumnBudget = 1 << 21;  // floats in one im2col tile (8 MB)

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

void conv1d(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const float* W, int64_t Cout,
            int K, const float* bias, const Conv1dParams& p, float* y) {
  check_conv(Cin, T, Cout, K, p);
  const int64_t To = conv1d_out_len(T, K, p);
  if (To == 0) return;

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
          yr[t] = s;
        }
      }
    });
    return;
  }

  const int64_t rows = Cin * K;
  if (K == 1 && p.stride == 1 && p.pad_left == 0 && p.pad_right == 0) {
    gemm(pool, false, false, Cout, T, Cin, W, Cin, x, T, y, T);
  } else {
    const int64_t tile = std::max<int64_t>(64, std::min<int64_t>(To, kColumnBudget / rows));
    std::vector<float> cols(static_cast<size_t>(rows * tile));
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
            out[t] =
                (src >= 0 && src < T) ? xr[src] : padded_at(xr, T, pos, p.pad_left, p.pad_mode);
          }
        }
      });
      gemm(pool, false, false, Cout, nt, rows, W, rows, cols.data(), nt, y + t0, To);
    }
  }
  if (bias) {
    parallel_for(pool, Cout, 8, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t t = 0; t < To; ++t) y[c * To + t] += bias[c];
    });
  }
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
      y[co * To + t] = static_cast<float>(s);
    }
  }
}

void conv_transpose1d(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const float* W,
                      int64_t Cout, int K, int stride, const float* bias, int64_t trim_right,
                      float* y) {
  const int64_t full = (T - 1) * stride + K;
  const int64_t To = full - trim_right;
  if (T <= 0 || To <= 0) return;
  fill_bias(pool, bias, Cout, To, y);
  // cols[(co, k), t] = sum_ci W[ci, co, k] * x[ci, t]; then y[co, t*stride + k] += cols.
  const int64_t rows = Cout * K;
  const int64_t tile = std::max<int64_t>(64, std::min<int64_t>(T, kColumnBudget / rows));
  std::vector<float> cols(static_cast<size_t>(rows * tile));
  for (int64_t t0 = 0; t0 < T; t0 += tile) {
    const int64_t nt = std::min(tile, T - t0);
    gemm(pool, true, false, rows, nt, Cin, W, rows, x + t0, T, cols.data(), nt);
    overlap_add(pool, cols.data(), Cout, K, nt, t0, stride, To, y);
  }
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
  return cpu::amx_available();
}

Bf16Matrix to_bf16_matrix(const float* W, int64_t rows, int64_t cols, bool transpose) {
  Bf16Matrix m;
  m.rows = rows;
  m.cols = cols;
  m.ld = cpu::amx_round_k(cols);
  m.data.assign(static_cast<size_t>(rows * m.ld), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      m.data[r * m.ld + c] = f32_to_bf16(transpose ? W[c * rows + r] : W[r * cols + c]);
  return m;
}

namespace {

constexpr int64_t kPackedBudget = 1 << 21;  // bf16 elements of packed columns (4 MB)

void check_bf16(const Bf16Matrix& W, int64_t rows, int64_t cols, const char* op) {
  if (!cpu::amx_available())
    fail(ErrorKind::kInvalidArgument, op,
         ": needs AMX-BF16, which this CPU (or OS) does not offer");
  if (W.rows != rows || W.cols != cols || rows % cpu::kAmxM != 0)
    fail(ErrorKind::kInvalidArgument, op, ": expected bf16 weights [", rows, ", ", cols,
         "] with rows a multiple of 16, got [", W.rows, ", ", W.cols, "]");
}

// Time steps per packed tile: a multiple of 16, the packed columns within budget.
int64_t packed_tile(int64_t Kp, int64_t steps) {
  const int64_t fit = std::max<int64_t>(64, kPackedBudget / Kp) / 16 * 16;
  return std::min(fit, (steps + 15) / 16 * 16);
}

// Packs columns n0 .. n0 + n of a tile, 16-column panels split over the pool.
template <class Pack>
void pack_panels(ThreadPool* pool, int64_t nt, int64_t Kp, uint16_t* out, const Pack& pack) {
  parallel_for(pool, (nt + 15) / 16, 4, [&](int64_t p0, int64_t p1) {
    const int64_t n0 = p0 * 16;
    pack(n0, std::min(nt, p1 * 16) - n0, out + n0 * Kp);
  });
}

}  // namespace

void conv1d_bf16(ThreadPool* pool, const float* x, int64_t Cin, int64_t T, const Bf16Matrix& W,
                 int64_t Cout, int K, const float* bias, const Conv1dParams& p, float* y) {
  check_conv(Cin, T, Cout, K, p);
  check_bf16(W, Cout, Cin * K, "conv1d_bf16");
  if (p.groups != 1 || p.pad_mode != PadMode::kZeros)
    fail(ErrorKind::kInvalidArgument, "conv1d_bf16: only groups = 1 with zero padding");
  const int64_t To = conv1d_out_len(T, K, p);
  if (To == 0) return;
  const int64_t Kp = W.ld, tile = packed_tile(Kp, To);
  thread_local std::vector<uint16_t> scratch;  // grows only
  scratch.resize(cpu::amx_packed_b_elems(Cin * K, tile));
  uint16_t* packed = scratch.data();
  for (int64_t t0 = 0; t0 < To; t0 += tile) {
    const int64_t nt = std::min(tile, To - t0);
    pack_panels(pool, nt, Kp, packed, [&](int64_t n0, int64_t n, uint16_t* out) {
      cpu::amx_pack_b_conv(x, Cin, T, K, p.stride, p.dilation, p.pad_left, t0 + n0, n, out);
    });
    cpu::amx_gemm(pool, Cout, W.data.data(), W.ld, packed, nt, Kp, bias, y + t0, To, false);
  }
}

void conv_transpose1d_bf16(ThreadPool* pool, const float* x, int64_t Cin, int64_t T,
                           const Bf16Matrix& Wt, int64_t Cout, int K, int stride, const float* bias,
                           int64_t trim_right, float* y) {
  check_bf16(Wt, Cout * K, Cin, "conv_transpose1d_bf16");
  const int64_t To = (T - 1) * stride + K - trim_right;
  if (T <= 0 || To <= 0) return;
  fill_bias(pool, bias, Cout, To, y);
  const int64_t rows = Cout * K, Kp = Wt.ld, tile = packed_tile(std::max(Kp, rows), T);
  thread_local std::vector<uint16_t> scratch;
  thread_local std::vector<float> cols;
  scratch.resize(cpu::amx_packed_b_elems(Cin, tile));
  cols.resize(static_cast<size_t>(rows * tile));
  uint16_t* packed = scratch.data();
  float* c = cols.data();
  for (int64_t t0 = 0; t0 < T; t0 += tile) {
    const int64_t nt = std::min(tile, T - t0);
    pack_panels(pool, nt, Kp, packed, [&](int64_t n0, int64_t n, uint16_t* out) {
      cpu::amx_pack_b_rows(x + t0 + n0, T, Cin, n, out);
    });
    cpu::amx_gemm(pool, rows, Wt.data.data(), Wt.ld, packed, nt, Kp, nullptr, c, nt, false);
    overlap_add(pool, c, Cout, K, nt, t0, stride, To, y);
  }
}

}  // namespace izwi::ops
