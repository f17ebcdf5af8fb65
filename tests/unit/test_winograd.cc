// Winograd convolutions (kernels/cpu/conv_winograd.cc): the transforms against
// the direct correlation in double, and conv1d_winograd against conv1d_ref
// over the shapes the codec decoder runs (dilations 1, 3, 9; causal padding;
// unpadded streamed blocks; residuals added in place) and the edges of the
// tiling (outputs shorter than one tile, chunks, the GEMM's panels); and the
// transposed convolutions run as their output phases' convolutions.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ops.h"
#include "test_util.h"

namespace izwi {
namespace {

using test::random_vector;

TEST(WinogradTransforms, GiveTheDirectCorrelationExactly) {
  for (int m = 1; m <= 4; ++m)
    for (int K = 2; K + m - 1 <= 12; ++K) {
      const ops::WinogradTransforms t = ops::winograd_transforms(m, K);
      ASSERT_EQ(t.n, m + K - 1);
      const auto w = random_vector(static_cast<size_t>(K), 1 + K);
      const auto u = random_vector(static_cast<size_t>(t.n), 2 + m);
      std::vector<double> prod(static_cast<size_t>(t.n));
      for (int p = 0; p < t.n; ++p) {
        double gw = 0, bu = 0;
        for (int k = 0; k < K; ++k) gw += t.g[p * K + k] * w[k];
        for (int j = 0; j < t.n; ++j) bu += t.bt[p * t.n + j] * u[j];
        prod[p] = gw * bu;
      }
      for (int i = 0; i < m; ++i) {
        double y = 0, direct = 0;
        for (int p = 0; p < t.n; ++p) y += t.at[i * t.n + p] * prod[p];
        for (int k = 0; k < K; ++k) direct += static_cast<double>(w[k]) * u[i + k];
        EXPECT_NEAR(y, direct, 1e-9) << "F(" << m << ", " << K << ") output " << i;
      }
    }
  EXPECT_THROW(ops::winograd_transforms(2, 40), Error);
}

struct Case {
  int64_t cin, cout, T;
  int K, dilation;
  int64_t pad_left, pad_right;
};

TEST(WinogradConv1d, MatchesReferenceOverTheDecodersShapesAndTheTilingsEdges) {
  if (!ops::winograd_conv_supported(8, 7)) GTEST_SKIP() << "no AVX2 or AVX-512 (IZWI_ISA)";
  ThreadPool pool(2);
  const Case cases[] = {
      {96, 96, 1920, 7, 1, 6, 0},   // the last block's residual unit, causal, one frame
      {40, 24, 300, 7, 3, 18, 0},   // dilation 3, causal
      {48, 16, 731, 7, 9, 0, 0},    // dilation 9, unpadded (a streamed block after its history)
      {13, 9, 55, 7, 9, 54, 0},     // odd channel counts; output shorter than two tile rows
      {16, 8, 1, 7, 9, 54, 0},      // a single output
      {24, 30, 40, 7, 1, 3, 3},     // both sides padded
      {20, 12, 100, 3, 2, 4, 0},    // another kernel
      {64, 80, 5000, 7, 1, 6, 0},   // several chunks of tiles
      {64, 80, 5000, 7, 3, 18, 0},  // several chunks, runs of 3 (chunks end mid-signal)
  };
  for (const Case& c : cases)
    for (bool accumulate : {false, true}) {
      ops::Conv1dParams p;
      p.dilation = c.dilation;
      p.pad_left = c.pad_left;
      p.pad_right = c.pad_right;
      p.accumulate = accumulate;
      const auto x = random_vector(static_cast<size_t>(c.cin * c.T), 61);
      const auto w = random_vector(static_cast<size_t>(c.cout * c.cin * c.K), 62, -0.2f, 0.2f);
      const auto b = random_vector(static_cast<size_t>(c.cout), 63);
      const int64_t To = ops::conv1d_out_len(c.T, c.K, p);
      // Guard values after the output: nothing may be written there.
      std::vector<float> y = random_vector(static_cast<size_t>(c.cout * To + 64), 64);
      std::vector<float> ref(y.begin(), y.end() - 64);
      const std::vector<float> guard(y.end() - 64, y.end());
      const auto packed = ops::pack_conv1d_winograd(w.data(), c.cout, c.cin, c.K);
      ops::conv1d_winograd(&pool, x.data(), c.cin, c.T, packed, c.cout, b.data(), p, y.data());
      ops::conv1d_ref(x.data(), c.cin, c.T, w.data(), c.cout, c.K, b.data(), p, ref.data());
      double err = 0, scale = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        err = std::max(err, std::abs(static_cast<double>(y[i]) - ref[i]));
        scale = std::max(scale, std::abs(static_cast<double>(ref[i])));
      }
      // The direct f32 sums are within ~1e-6 of this scale; the transforms add a
      // few tens of those (the worst of these cases: F(6, 7) 2.2e-5, F(4, 7) 1.7e-5).
      EXPECT_LT(err, 3e-5 * scale) << c.cin << " -> " << c.cout << " T=" << c.T
                                   << " d=" << c.dilation << " acc=" << accumulate;
      EXPECT_TRUE(std::equal(guard.begin(), guard.end(), y.end() - 64)) << "wrote past the output";
    }
}

struct TransposeCase {
  int64_t cin, cout, T;
  int K, stride;
  int64_t trim;
};

// The decoder's upsamplers (kernel 2 * stride) and the edges: other tap
// counts, odd channels, trims that cut a phase column, a single input sample.
TEST(WinogradConvTranspose1d, MatchesReferenceOverTheDecodersUpsamplersAndTheEdges) {
  if (!ops::winograd_conv_transpose_supported(8, 4, 2)) GTEST_SKIP() << "no AVX2 or AVX-512";
  ThreadPool pool(2);
  const TransposeCase cases[] = {
      {96, 48, 8, 16, 8, 8},   // 1536 -> 768 at stride 8, causal trim, scaled down
      {48, 24, 60, 10, 5, 5},  // stride 5
      {40, 20, 240, 8, 4, 4},  // stride 4
      {24, 12, 960, 6, 3, 3},  // stride 3, long enough for several chunks of tiles
      {24, 12, 961, 6, 3, 0},  // untrimmed (the streamed form keeps the overlap)
      {13, 9, 5, 6, 3, 1},     // odd channels; the trim cuts the last phase column
      {16, 8, 1, 4, 2, 2},     // one input sample
      {20, 10, 33, 9, 3, 6},   // three taps
      {20, 10, 33, 9, 3, 0},
  };
  for (const TransposeCase& c : cases)
    for (bool with_bias : {true, false}) {
      const auto x = random_vector(static_cast<size_t>(c.cin * c.T), 71);
      const auto w = random_vector(static_cast<size_t>(c.cin * c.cout * c.K), 72, -0.2f, 0.2f);
      const auto b = random_vector(static_cast<size_t>(c.cout), 73);
      const float* bias = with_bias ? b.data() : nullptr;
      const int64_t To = (c.T - 1) * c.stride + c.K - c.trim;
      std::vector<float> y = random_vector(static_cast<size_t>(c.cout * To + 64), 74);
      std::vector<float> ref(y.begin(), y.end() - 64);
      const std::vector<float> guard(y.end() - 64, y.end());
      ASSERT_TRUE(ops::winograd_conv_transpose_supported(c.cout, c.K, c.stride));
      const auto packed =
          ops::pack_conv_transpose1d_winograd(w.data(), c.cin, c.cout, c.K, c.stride);
      ops::conv_transpose1d_winograd(&pool, x.data(), c.cin, c.T, packed, c.cout, c.stride, bias,
                                     c.trim, y.data());
      ops::conv_transpose1d_ref(x.data(), c.cin, c.T, w.data(), c.cout, c.K, c.stride, bias, c.trim,
                                ref.data());
      double err = 0, scale = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        err = std::max(err, std::abs(static_cast<double>(y[i]) - ref[i]));
        scale = std::max(scale, std::abs(static_cast<double>(ref[i])));
      }
      EXPECT_LT(err, 2e-5 * scale)
          << c.cin << " -> " << c.cout << " K=" << c.K << " stride=" << c.stride << " T=" << c.T
          << " trim=" << c.trim << " bias=" << with_bias;
      EXPECT_TRUE(std::equal(guard.begin(), guard.end(), y.end() - 64)) << "wrote past the output";
    }
}

TEST(WinogradConvTranspose1d, TakesOnlyKernelsOfWholeStrides) {
  if (!ops::winograd_conv_transpose_supported(8, 4, 2)) GTEST_SKIP() << "no AVX2 or AVX-512";
  EXPECT_FALSE(ops::winograd_conv_transpose_supported(8, 2, 2));  // one tap: no overlap to save
  EXPECT_FALSE(ops::winograd_conv_transpose_supported(8, 5, 2));  // not whole strides
  EXPECT_FALSE(ops::winograd_conv_transpose_supported(2, 4, 2));  // 4 phase rows: direct's
  const auto w = random_vector(8 * 4 * 6, 2);
  EXPECT_THROW(ops::pack_conv_transpose1d_winograd(w.data(), 8, 4, 5, 2), Error);
  const auto packed = ops::pack_conv_transpose1d_winograd(w.data(), 8, 4, 6, 3);
  std::vector<float> x(8 * 10), y(4 * 40);
  EXPECT_THROW(
      ops::conv_transpose1d_winograd(nullptr, x.data(), 8, 10, packed, 4, 2, nullptr, 0, y.data()),
      Error);  // packed for stride 3
  EXPECT_THROW(
      ops::conv_transpose1d_winograd(nullptr, x.data(), 7, 10, packed, 4, 3, nullptr, 0, y.data()),
      Error);
}

TEST(WinogradConv1d, RejectsWhatItCannotRun) {
  if (!ops::winograd_conv_supported(8, 7)) GTEST_SKIP() << "no AVX2 or AVX-512 (IZWI_ISA)";
  EXPECT_FALSE(ops::winograd_conv_supported(4, 7));  // too few outputs: conv1d_direct's
  EXPECT_FALSE(ops::winograd_conv_supported(16, 1));
  EXPECT_TRUE(ops::winograd_conv_supported(16, 2));  // F(4, 2): the transposed convolutions' phases
  const auto w = random_vector(16 * 8 * 7, 1);
  const auto packed = ops::pack_conv1d_winograd(w.data(), 16, 8, 7);
  std::vector<float> x(8 * 20), y(16 * 20);
  ops::Conv1dParams strided;
  strided.stride = 2;
  EXPECT_THROW(
      ops::conv1d_winograd(nullptr, x.data(), 8, 20, packed, 16, nullptr, strided, y.data()),
      Error);
  EXPECT_THROW(ops::conv1d_winograd(nullptr, x.data(), 9, 20, packed, 16, nullptr, {}, y.data()),
               Error);
  EXPECT_THROW(ops::pack_conv1d_winograd(w.data(), 4, 8, 7), Error);
}

}  // namespace
}  // namespace izwi
