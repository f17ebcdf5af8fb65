// Stride-1 convolutions by Winograd's minimal filtering, F(m, K): m outputs
// spaced by the dilation from m + K - 1 inputs with m + K - 1 products instead
// of m * K. Over channels each "product" is a GEMM [Cout, Cin] x [Cin, tiles],
// so a kernel-7 convolution costs 12 GEMMs over a sixth of the time axis
// (m = 6) instead of 7 over all of it: 3.5x fewer multiply-adds. The codec
// decoder's residual units are kernel-7 convolutions (70 % of its work).
//
// The algorithm is Toom-Cook's, transposed (a correlation is the transpose of
// a polynomial product): with n = m + K - 1 points (n - 1 finite ones and
// infinity), Vn [n, n] evaluating degree-(n-1) polynomials at them, Vg [n, K]
// and Vh [n, m] the same for degrees K-1 and m-1,
//   y = Vh^T [ (Vg w) .* (Vn^-T u) ]
// for one tile (u: n inputs, y: m outputs). Matrices are made in double at
// pack time; the transforms run in f32 and round a little differently from the
// direct sums (tested against conv1d_ref with a bound).
//
// Tiling over a dilated signal: output n = s * d + i (i < d) lies in "row" s of
// the time axis cut into rows of d samples. A tile is rows m*b .. m*b + m - 1
// at one i, so tile q = b * d + i (b-major), and its input j is padded-input
// row m*b + j at i. Splitting the padded input's rows by phase (row mod m)
// makes input j of every tile a contiguous window of one phase array, and the
// outputs of phase r are likewise contiguous: all transforms are plain loops
// over tiles, which the compiler vectorises.

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/no_zero.h"
#include "core/thread_pool.h"
#include "core/thread_scratch.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vec.h"
#include "kernels/ops.h"

namespace izwi::ops {

namespace {

// m, measured on the codec's golden model (largest difference from the official
// waveform; the golden tolerance is 1e-4): F(2, 7) 1.4e-5, F(4, 7) 4.5e-5,
// F(6, 7) 6.7e-5; on the real-size random checkpoint the waveform is 99.3 dB
// (F(4, 7)) and 96.2 dB (F(6, 7)) above its difference from the f32 decode.
// F(6, 7): 3.5x fewer products than the direct sums (2 per output, against
// F(4, 7)'s 2.5), within the tolerance with a 1.5x margin. F(8, 7) would need
// more interpolation points than kPoints has small ones.
constexpr int kTileOutputs = 6;

// Finite interpolation points, the small ones first (larger ones grow the
// transforms' coefficients and so their rounding error).
constexpr double kPoints[] = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 1.0 / 3, -1.0 / 3};

// Inverse of the n x n row-major matrix a (Gauss-Jordan, partial pivoting).
std::vector<double> inverse(std::vector<double> a, int n) {
  std::vector<double> inv(static_cast<size_t>(n * n), 0.0);
  for (int i = 0; i < n; ++i) inv[i * n + i] = 1.0;
  for (int c = 0; c < n; ++c) {
    int piv = c;
    for (int r = c + 1; r < n; ++r)
      if (std::fabs(a[r * n + c]) > std::fabs(a[piv * n + c])) piv = r;
    for (int k = 0; k < n; ++k) {
      std::swap(a[c * n + k], a[piv * n + k]);
      std::swap(inv[c * n + k], inv[piv * n + k]);
    }
    const double s = 1.0 / a[c * n + c];
    for (int k = 0; k < n; ++k) {
      a[c * n + k] *= s;
      inv[c * n + k] *= s;
    }
    for (int r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r * n + c];
      for (int k = 0; k < n; ++k) {
        a[r * n + k] -= f * a[c * n + k];
        inv[r * n + k] -= f * inv[c * n + k];
      }
    }
  }
  return inv;
}

// Row p of the evaluation matrix for polynomials of `degree`: the powers of
// point p, or (the last point, infinity) the leading coefficient.
double eval(int p, int n, int power, int degree) {
  if (p == n - 1) return power == degree ? 1.0 : 0.0;
  return std::pow(kPoints[p], power);
}

}  // namespace

WinogradTransforms winograd_transforms(int m, int K) {
  const int n = m + K - 1;
  if (m < 1 || K < 2 || n - 1 > static_cast<int>(std::size(kPoints)))
    fail(ErrorKind::kInvalidArgument, "winograd_transforms: expected 1 <= m and 2 <= K with m + K ",
         "- 1 <= ", std::size(kPoints) + 1, ", got m = ", m, ", K = ", K);
  std::vector<double> vn(static_cast<size_t>(n * n));
  for (int p = 0; p < n; ++p)
    for (int k = 0; k < n; ++k) vn[p * n + k] = eval(p, n, k, n - 1);
  const std::vector<double> vinv = inverse(vn, n);
  WinogradTransforms t;
  t.m = m;
  t.K = K;
  t.n = n;
  t.g.resize(static_cast<size_t>(n * K));
  t.bt.resize(static_cast<size_t>(n * n));
  t.at.resize(static_cast<size_t>(m * n));
  for (int p = 0; p < n; ++p) {
    for (int k = 0; k < K; ++k) t.g[p * K + k] = eval(p, n, k, K - 1);
    for (int j = 0; j < n; ++j) t.bt[p * n + j] = vinv[j * n + p];  // Vn^-T
    for (int i = 0; i < m; ++i) t.at[i * n + p] = eval(p, n, i, m - 1);
  }
  return t;
}

bool winograd_conv_supported(int64_t Cout, int K) {
  return packed_convolutions_available() && K >= 2 &&
         kTileOutputs + K - 1 <= static_cast<int>(std::size(kPoints)) + 1 &&
         Cout >= kDirectConvMaxOut;
}

WinogradConvWeights pack_conv1d_winograd(const float* W, int64_t Cout, int64_t Cin, int K) {
  const cpu::GemmKernels* g = cpu::gemm_kernels();
  if (!g || !winograd_conv_supported(Cout, K))
    fail(ErrorKind::kInvalidArgument, "pack_conv1d_winograd: needs AVX2 + FMA or AVX-512, a ",
         "kernel of 2 to ", std::size(kPoints) + 2 - kTileOutputs, " and at least ",
         kDirectConvMaxOut, " output channels; got kernel ", K, ", ", Cout, " outputs");
  WinogradConvWeights out;
  const WinogradTransforms tf = winograd_transforms(kTileOutputs, K);
  out.m = tf.m;
  out.n = tf.n;
  out.cin = Cin;
  out.cout = Cout;
  out.kernel = K;
  const int n = tf.n;
  out.bt.assign(tf.bt.begin(), tf.bt.end());
  out.at.assign(tf.at.begin(), tf.at.end());
  // U_p [Cout, Cin] = sum_k G[p][k] W[:, :, k], in double, then packed as a GEMM's A.
  std::vector<float> u(static_cast<size_t>(Cout * Cin));
  for (int p = 0; p < n; ++p) {
    for (int64_t o = 0; o < Cout; ++o)
      for (int64_t c = 0; c < Cin; ++c) {
        const float* w = W + (o * Cin + c) * K;
        double s = 0.0;
        for (int k = 0; k < K; ++k) s += tf.g[p * K + k] * w[k];
        u[static_cast<size_t>(o * Cin + c)] = static_cast<float>(s);
      }
    std::vector<float> packed = g->pack_a(false, Cout, Cin, u.data(), Cin);
    if (p == 0) {
      out.point_stride = static_cast<int64_t>(packed.size());
      out.panels.resize(static_cast<size_t>(out.point_stride * n));
    }
    std::copy(packed.begin(), packed.end(), out.panels.begin() + p * out.point_stride);
  }
  return out;
}

namespace {

// One call's shapes and operands, shared by its chunks.
struct WinogradCall {
  const float* x;
  int64_t Cin, T, Cout, To, d, pl;
  int m, n;
  const WinogradConvWeights* W;
  const float* bias;
  bool accumulate;
  int64_t extra;  // input blocks past a chunk's last tile block that its inputs reach
  cpu::MixMatrix bt, at;
  float* y_out;
};

// dst[b * d + i] = x[first + b * step + i] for b < blocks, i < d; zero where
// that index is outside x [0, T). Blocks wholly inside x are copied without
// checks (d = 1, the undilated convolutions: a strided gather of samples).
// D > 0: d == D and step == kTileOutputs * D, known to the compiler, so the
// copies of the runs unroll (the codec's dilations 1, 3 and 9; with d at run
// time each run of 3 or 9 samples was a loop of its own, and the phase copies
// took as long as the transforms they feed).
template <int D>
void gather_phase(const float* x, int64_t T, int64_t first, int64_t step_, int64_t d_,
                  int64_t blocks, float* dst) {
  const int64_t d = D > 0 ? D : d_, step = D > 0 ? kTileOutputs * D : step_;
  // Blocks [lo, hi) lie inside x.
  const int64_t lo = first >= 0 ? 0 : std::min(blocks, (-first + step - 1) / step);
  const int64_t hi =
      std::clamp<int64_t>(T - d - first < 0 ? 0 : (T - d - first) / step + 1, lo, blocks);
  auto checked = [&](int64_t b) {
    for (int64_t i = 0; i < d; ++i) {
      const int64_t k = first + b * step + i;
      dst[b * d + i] = k >= 0 && k < T ? x[k] : 0.0f;
    }
  };
  for (int64_t b = 0; b < lo; ++b) checked(b);
  if (d == 1) {
    const float* src = x + first;
    for (int64_t b = lo; b < hi; ++b) dst[b] = src[b * step];
  } else {
    for (int64_t b = lo; b < hi; ++b) {
      const float* src = x + first + b * step;  // a loop: copy_n would call memmove per block
      for (int64_t i = 0; i < d; ++i) dst[b * d + i] = src[i];
    }
  }
  for (int64_t b = hi; b < blocks; ++b) checked(b);
}

// The inverse for one output phase: y[first + b * step + i] (+)= src[b * d + i]
// + bias for b < blocks, i < d, up to the output length To.
template <int D>  // as gather_phase's
void scatter_phase(const float* src, float bias, int64_t first, int64_t step_, int64_t d_,
                   int64_t blocks, int64_t To, bool accumulate, float* y) {
  const int64_t d = D > 0 ? D : d_, step = D > 0 ? kTileOutputs * D : step_;
  // Whole blocks before the end of y, then the part of the last one.
  const int64_t full = first + d > To ? 0 : std::min(blocks, (To - d - first) / step + 1);
  if (d == 1) {
    float* dst = y + first;
    if (accumulate)
      for (int64_t b = 0; b < full; ++b) dst[b * step] += src[b] + bias;
    else
      for (int64_t b = 0; b < full; ++b) dst[b * step] = src[b] + bias;
  } else {
    for (int64_t b = 0; b < full; ++b) {
      float* dst = y + first + b * step;
      const float* s = src + b * d;
      if (accumulate)
        for (int64_t i = 0; i < d; ++i) dst[i] += s[i] + bias;
      else
        for (int64_t i = 0; i < d; ++i) dst[i] = s[i] + bias;
    }
  }
  for (int64_t b = full; b < blocks; ++b) {
    const int64_t start = first + b * step, len = std::min(d, To - start);
    for (int64_t i = 0; i < len; ++i)
      y[start + i] = (accumulate ? y[start + i] : 0.0f) + src[b * d + i] + bias;
  }
}

// gather_phase for d = 1 and all kTileOutputs (M) phases at once: block b's
// samples x[f + M b .. f + M b + M - 1] are lane b of phases 0 .. M - 1, so
// four blocks are a 4 x M transpose (written so the compiler vectorises it),
// where each phase alone was a strided gather of single samples.
void gather_phases_d1(const float* x, int64_t T, int64_t f, int64_t blocks, float* phase,
                      int64_t plen) {
  constexpr int M = kTileOutputs;
  // Blocks [lo, hi) lie wholly inside x.
  const int64_t lo = f >= 0 ? 0 : std::min<int64_t>(blocks, (-f + M - 1) / M);
  const int64_t hi = std::clamp<int64_t>(T - M - f < 0 ? 0 : (T - M - f) / M + 1, lo, blocks);
  float* p[M];
  for (int r = 0; r < M; ++r) p[r] = phase + r * plen;
  auto checked = [&](int64_t b) {
    for (int r = 0; r < M; ++r) {
      const int64_t k = f + M * b + r;
      p[r][b] = k >= 0 && k < T ? x[k] : 0.0f;
    }
  };
  for (int64_t b = 0; b < lo; ++b) checked(b);
  int64_t b = lo;
  for (; b + 4 <= hi; b += 4) {
    float t[4][M];  // t[k][r] = sample r of block b + k
    const float* s = x + f + M * b;
    for (int k = 0; k < 4; ++k)
      for (int r = 0; r < M; ++r) t[k][r] = s[M * k + r];
    for (int r = 0; r < M; ++r)
      for (int k = 0; k < 4; ++k) p[r][b + k] = t[k][r];
  }
  for (; b < hi; ++b)
    for (int r = 0; r < M; ++r) p[r][b] = x[f + M * b + r];
  for (; b < blocks; ++b) checked(b);
}

// scatter_phase for d = 1 and all M phases at once (the transpose back):
// y[first + M b + r] (+)= src[r][b] + bias for b < blocks, up to To.
void scatter_phases_d1(float* const* src, float bias, int64_t first, int64_t blocks, int64_t To,
                       bool accumulate, float* y) {
  constexpr int M = kTileOutputs;
  const int64_t full = first + M > To ? 0 : std::min<int64_t>(blocks, (To - M - first) / M + 1);
  int64_t b = 0;
  for (; b + 4 <= full; b += 4) {
    float t[4][M];  // t[k][r]: output r of block b + k
    for (int r = 0; r < M; ++r)
      for (int k = 0; k < 4; ++k) t[k][r] = src[r][b + k] + bias;
    float* out = y + first + M * b;
    if (accumulate)
      for (int k = 0; k < 4; ++k)
        for (int r = 0; r < M; ++r) out[M * k + r] += t[k][r];
    else
      for (int k = 0; k < 4; ++k)
        for (int r = 0; r < M; ++r) out[M * k + r] = t[k][r];
  }
  // The rest one sample at a time, rounded as above (and as scatter_phase
  // rounds every sample at d = 1), up to the end of y.
  for (; b < blocks; ++b)
    for (int r = 0; r < M; ++r) {
      const int64_t i = first + M * b + r;
      if (i >= To) return;
      y[i] = accumulate ? y[i] + (src[r][b] + bias) : src[r][b] + bias;
    }
}

// Tile blocks b0 .. b0 + nb (d tiles each) of the output: input transform, the
// n GEMMs, output transform. `pool` splits each step (null: all on this thread).
// D > 0: the dilation is D and m is kTileOutputs (see gather_phase).
template <int D>
void winograd_chunk_d(ThreadPool* pool, const WinogradCall& c, int64_t b0, int64_t nb) {
  IZWI_ASSERT(D == 0 || (c.d == D && c.m == kTileOutputs));
  const int m = c.m, n = c.n;
  const int64_t d = c.d, Q = nb * d, Cin = c.Cin, Cout = c.Cout;
  const cpu::VecKernels& vec = cpu::vec_kernels();
  // This thread's buffers, which only grow and are never zeroed (each is written
  // in full before it is read): nothing is allocated or cleared per call once warm.
  thread_local ThreadScratch<NoZeroVector<float>> v_buf, prod_buf;
  v_buf.resize(static_cast<size_t>(n * Cin * Q));
  prod_buf.resize(static_cast<size_t>(n * Cout * Q));
  // A pool's workers have their own thread_locals: they get the pointers.
  float *v = v_buf.data(), *prod = prod_buf.data();
  // Input transform, a channel at a time: V_p[ch][q] = sum_j BT[p][j] u_j(q).
  parallel_for(pool, Cin, 4, [&](int64_t c0, int64_t c1) {
    thread_local ThreadScratch<NoZeroVector<float>> phase;
    const int64_t plen = (nb + c.extra) * d;  // one phase array: blocks b0 .. b0 + nb + extra
    phase.resize(static_cast<size_t>(m * plen));
    for (int64_t ch = c0; ch < c1; ++ch) {
      const float* xc = c.x + ch * c.T;
      // phase r, block b, lane i = padded input at ((m (b0 + b) + r) d + i), zero outside x.
      if constexpr (D == 1)
        gather_phases_d1(xc, c.T, kTileOutputs * b0 - c.pl, nb + c.extra, phase.data(), plen);
      else
        for (int r = 0; r < m; ++r)
          gather_phase<D>(xc, c.T, (m * b0 + r) * d - c.pl, m * d, d, nb + c.extra,
                          phase.data() + r * plen);
      const float* in[cpu::kMaxMixRows];
      float* out[cpu::kMaxMixRows];
      for (int j = 0; j < n; ++j) in[j] = phase.data() + (j % m) * plen + (j / m) * d;
      for (int pt = 0; pt < n; ++pt) out[pt] = v + (pt * Cin + ch) * Q;
      vec.mix_rows(c.bt, in, out, Q);
    }
  });
  // The n products, each a GEMM over the channels.
  const cpu::GemmKernels& gemm = *cpu::gemm_kernels();
  for (int pt = 0; pt < n; ++pt)
    gemm.gemm_packed_a(pool, Cout, Q, Cin, c.W->panels.data() + pt * c.W->point_stride,
                       v + pt * Cin * Q, Q, prod + pt * Cout * Q, Q, false);
  // Output transform: phase r of tile q = sum_p AT[r][p] M_p[o][q] + bias,
  // written to output row m b + r (lanes past To dropped).
  parallel_for(pool, Cout, 4, [&](int64_t o0, int64_t o1) {
    thread_local ThreadScratch<NoZeroVector<float>> acc;
    acc.resize(static_cast<size_t>(m * Q));
    for (int64_t o = o0; o < o1; ++o) {
      const float b = c.bias ? c.bias[o] : 0.0f;
      float* yo = c.y_out + o * c.To;
      const float* in[cpu::kMaxMixRows];
      float* out[cpu::kMaxMixRows];
      for (int pt = 0; pt < n; ++pt) in[pt] = prod + (pt * Cout + o) * Q;
      for (int r = 0; r < m; ++r) out[r] = acc.data() + r * Q;
      vec.mix_rows(c.at, in, out, Q);
      if constexpr (D == 1) {
        scatter_phases_d1(out, b, kTileOutputs * b0, nb, c.To, c.accumulate, yo);
      } else {
        for (int r = 0; r < m; ++r) {
          // Block bl's d lanes go to output row m (b0 + bl) + r.
          scatter_phase<D>(out[r], b, (m * b0 + r) * d, m * d, d, nb, c.To, c.accumulate, yo);
        }
      }
    }
  });
}

// winograd_chunk_d for the codec's dilations, compiled for each.
void winograd_chunk(ThreadPool* pool, const WinogradCall& c, int64_t b0, int64_t nb) {
  const bool fixed = c.m == kTileOutputs;
  if (fixed && c.d == 1)
    winograd_chunk_d<1>(pool, c, b0, nb);
  else if (fixed && c.d == 3)
    winograd_chunk_d<3>(pool, c, b0, nb);
  else if (fixed && c.d == 9)
    winograd_chunk_d<9>(pool, c, b0, nb);
  else
    winograd_chunk_d<0>(pool, c, b0, nb);
}

}  // namespace

void conv1d_winograd(ThreadPool* pool, const float* x, int64_t Cin, int64_t T,
                     const WinogradConvWeights& W, int64_t Cout, const float* bias,
                     const Conv1dParams& p, float* y) {
  if (W.empty() || W.cin != Cin || W.cout != Cout)
    fail(ErrorKind::kInvalidArgument, "conv1d_winograd: expected weights for ", Cin, " -> ", Cout,
         " channels, got ", W.cin, " -> ", W.cout);
  if (p.groups != 1 || p.stride != 1 || p.pad_mode != PadMode::kZeros || p.dilation < 1 ||
      p.pad_left < 0 || p.pad_right < 0)
    fail(ErrorKind::kInvalidArgument, "conv1d_winograd: only stride 1, groups 1, zero padding, ",
         "got stride ", p.stride, ", groups ", p.groups, ", dilation ", p.dilation);
  const int64_t To = conv1d_out_len(T, W.kernel, p);
  if (To <= 0) return;
  const int m = W.m, n = W.n;
  const WinogradCall c{x,
                       Cin,
                       T,
                       Cout,
                       To,
                       p.dilation,
                       p.pad_left,
                       m,
                       n,
                       &W,
                       bias,
                       p.accumulate,
                       (n - 1) / m + 1,
                       cpu::mix_matrix(W.bt.data(), n, n),
                       cpu::mix_matrix(W.at.data(), m, n),
                       y};
  // Output rows of d samples, in blocks of m rows: a block is d tiles.
  const int64_t d = p.dilation, rows = (To + d - 1) / d, blocks = (rows + m - 1) / m;
  // Tiles per chunk: its transformed inputs and products ([n, Cin + Cout, tiles])
  // about 1 MB, so they stay near the core, but at least 128: each chunk reads
  // all the weights again, and its GEMMs need columns to reuse them on.
  const int64_t tiles = std::clamp<int64_t>((int64_t{1} << 20) / (4 * n * (Cin + Cout)), 128, 512);
  const int64_t chunk_blocks = std::max<int64_t>(1, tiles / d);
  const int64_t chunks = (blocks + chunk_blocks - 1) / chunk_blocks;
  const int threads = pool ? pool->size() : 1;
  if (chunks >= 2 * threads) {
    // Enough chunks: each thread runs whole ones on its own (no barrier between
    // the steps, and its buffers stay in its cache).
    parallel_for(pool, chunks, 1, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) {
        const int64_t b0 = k * chunk_blocks;
        winograd_chunk(nullptr, c, b0, std::min(chunk_blocks, blocks - b0));
      }
    });
    return;
  }
  // A short signal (a streamed block): one chunk, each step split over the pool.
  winograd_chunk(pool, c, 0, blocks);
}

bool winograd_conv_transpose_supported(int64_t Cout, int K, int stride) {
  return stride >= 1 && K % stride == 0 && K / stride >= 2 &&
         winograd_conv_supported(Cout * stride, K / stride);
}

WinogradConvWeights pack_conv_transpose1d_winograd(const float* W, int64_t Cin, int64_t Cout, int K,
                                                   int stride) {
  if (!winograd_conv_transpose_supported(Cout, K, stride))
    fail(ErrorKind::kInvalidArgument, "pack_conv_transpose1d_winograd: needs AVX2 + FMA or ",
         "AVX-512 and a kernel of 2 or more whole strides; got kernel ", K, ", stride ", stride,
         ", ", Cout, " outputs");
  const int J = K / stride;
  const int64_t rows = Cout * stride;
  // Row co * stride + p, tap k over x[t - (J - 1) + k]: W[:, co, p + (J - 1 - k) * stride].
  std::vector<float> w(static_cast<size_t>(rows * Cin * J));
  for (int64_t co = 0; co < Cout; ++co)
    for (int p = 0; p < stride; ++p)
      for (int64_t ci = 0; ci < Cin; ++ci)
        for (int k = 0; k < J; ++k)
          w[static_cast<size_t>(((co * stride + p) * Cin + ci) * J + k)] =
              W[(ci * Cout + co) * K + p + (J - 1 - k) * stride];
  return pack_conv1d_winograd(w.data(), rows, Cin, J);
}

void conv_transpose1d_winograd(ThreadPool* pool, const float* x, int64_t Cin, int64_t T,
                               const WinogradConvWeights& W, int64_t Cout, int stride,
                               const float* bias, int64_t trim_right, float* y) {
  if (W.empty() || stride < 1 || W.cin != Cin || W.cout != Cout * stride)
    fail(ErrorKind::kInvalidArgument, "conv_transpose1d_winograd: expected weights for ", Cin,
         " -> ", Cout, " channels at stride ", stride, " (", Cout * stride, " phase rows), got ",
         W.cin, " -> ", W.cout);
  const int64_t s = stride, J = W.kernel;
  const int64_t To = (T - 1 + J) * s - trim_right;
  if (T <= 0 || To <= 0) return;
  // The phases' outputs t = 0 .. Tc - 1 reach y; zero padding of J - 1 on the
  // left (x before its start) and as far right as they need.
  const int64_t Tc = (To + s - 1) / s;
  ops::Conv1dParams p;
  p.pad_left = J - 1;
  p.pad_right = std::max<int64_t>(0, Tc - T);
  const int64_t Tp = T + p.pad_right;  // >= Tc
  // This thread's buffer, which only grows: [Cout * s, Tp], phase rows.
  thread_local ThreadScratch<NoZeroVector<float>> phases_buf;
  phases_buf.resize(static_cast<size_t>(Cout * s * Tp));
  float* phases = phases_buf.data();
  conv1d_winograd(pool, x, Cin, T, W, Cout * s, nullptr, p, phases);
  // Interleave: y[co, t * s + r] = phases[co * s + r, t] + bias[co].
  parallel_for(pool, Cout, 4, [&](int64_t c0, int64_t c1) {
    for (int64_t co = c0; co < c1; ++co) {
      const float b = bias ? bias[co] : 0.0f;
      const float* src = phases + co * s * Tp;
      float* yo = y + co * To;
      const int64_t whole = To / s;  // columns whose s samples all lie in y
      for (int64_t t = 0; t < whole; ++t)
        for (int64_t r = 0; r < s; ++r) yo[t * s + r] = src[r * Tp + t] + b;
      for (int64_t r = 0; whole * s + r < To; ++r) yo[whole * s + r] = src[r * Tp + whole] + b;
    }
  });
}

}  // namespace izwi::ops
