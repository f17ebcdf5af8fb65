// The 8- and 4-bit block weight formats (core/quant.h): the storage round trip,
// the quantized activations, every ISA's kernels against the scalar reference,
// and ops::linear against the exact f32 product.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "core/quant.h"
#include "core/thread_pool.h"
#include "kernels/cpu/bf16_avx512.h"
#include "kernels/cpu/gemm_amx.h"
#include "kernels/cpu/quant_acts.h"
#include "kernels/cpu/vec.h"
#include "kernels/ops.h"
#include "test_util.h"

namespace izwi {
namespace {

using test::random_vector;

const DType kFormats[] = {DType::kQ8, DType::kQ4};

// The value of largest magnitude of each block of 32 sets the scale, and every
// weight comes back within half a step (Q8: step max|w| / 127). Q4's 16 levels
// are -8..7 steps of max|w| / 8, so a weight near the opposite extreme of the
// largest one is clamped to 7 steps: within one step.
TEST(Quant, RowsRoundTripWithinHalfAStep) {
  for (DType f : kFormats)
    for (int64_t K : {32, 96, 160, 1024}) {
      auto w = random_vector(K, 3 + K, -2.0f, 2.0f);
      w[5] = 0.0f;
      std::vector<float> zeros(32, 0.0f);
      std::copy(zeros.begin(), zeros.end(), w.end() - 32);  // an all-zero block
      std::vector<uint8_t> q(row_bytes(f, K));
      quantize_row(f, w.data(), K, q.data());
      std::vector<float> back(K);
      dequantize_row(f, q.data(), K, back.data());
      for (int64_t b = 0; b < K / 32; ++b) {
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(w[b * 32 + j]));
        const float bound = f == DType::kQ8 ? 0.5f * amax / 127.0f : amax / 8.0f;
        for (int j = 0; j < 32; ++j)
          ASSERT_LE(std::fabs(back[b * 32 + j] - w[b * 32 + j]), bound * 1.002f + 1e-7f)
              << dtype_name(f) << " K=" << K << " block " << b << " j " << j;
      }
      for (int64_t k = K - 32; k < K; ++k) EXPECT_EQ(back[k], 0.0f);
    }
}

TEST(Quant, SizesAndRefusals) {
  EXPECT_EQ(row_bytes(DType::kQ8, 1024), 1088u);  // 1024 + 32 scales * 2
  EXPECT_EQ(row_bytes(DType::kQ4, 1024), 576u);   // 512 + 64
  EXPECT_EQ(row_bytes(DType::kBF16, 1024), 2048u);
  EXPECT_TRUE(quantizable(DType::kQ4, 96));
  EXPECT_FALSE(quantizable(DType::kQ8, 48));
  EXPECT_FALSE(quantizable(DType::kBF16, 64));
  Tensor w = Tensor::owned_f32({2, 48}, random_vector(96, 1));
  try {
    quantize(w, DType::kQ8, nullptr);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of 32"), std::string::npos) << e.what();
  }
}

TEST(Quant, TensorsConvertWholeRows) {
  ThreadPool pool(2);
  for (DType f : kFormats) {
    Tensor w = Tensor::owned_f32({5, 64}, random_vector(5 * 64, 7));
    Tensor q = quantize(w, f, &pool);
    EXPECT_EQ(q.nbytes(), 5 * row_bytes(f, 64));
    std::vector<float> rows(2 * 64), one(64);
    q.to_f32(64, 128, rows.data());
    dequantize_row(f, static_cast<const uint8_t*>(q.data) + 2 * row_bytes(f, 64), 64, one.data());
    EXPECT_EQ(0, std::memcmp(rows.data() + 64, one.data(), 64 * sizeof(float)));
    EXPECT_THROW(q.to_f32(3, 64, rows.data()), Error);
  }
}

// quantize_acts stores each value where the kernels expect it (interleaved as
// the weights) and each block's offset correction, -offset * (sum of its values).
TEST(QuantActs, ValuesScalesAndCorrections) {
  for (DType f : kFormats)
    for (int64_t K : {32, 96, 224, 1024, 1120}) {
      auto x = random_vector(2 * K, 9 + K);
      cpu::QuantizedActs a;
      cpu::quantize_acts(f, x.data(), 2, K, a);
      const int offset = f == DType::kQ8 ? 128 : 8;
      for (int r = 0; r < 2; ++r)
        for (int64_t b = 0; b < K / 32; ++b) {
          int32_t total = 0;
          for (int j = 0; j < 32; ++j) {
            const int8_t q = a.q_row(r)[interleaved_position(K / 32, b, j)];
            EXPECT_NEAR(q * a.d_row(r)[b], x[r * K + b * 32 + j], a.d_row(r)[b] * 0.5f + 1e-7f);
            total += q;
          }
          EXPECT_EQ(a.corr_row(r)[b], -offset * total) << dtype_name(f) << " K=" << K;
        }
    }
}

// Halves round away from zero, as std::lround does (the scale is 1 here: max 127).
TEST(QuantActs, HalvesRoundAwayFromZero) {
  std::vector<float> x(32, 0.0f);
  const float in[] = {127.0f, 0.5f, -0.5f, 1.5f, -2.5f, 126.5f, 0.49999997f, -3.4999998f};
  std::copy(std::begin(in), std::end(in), x.begin());
  cpu::QuantizedActs a;
  cpu::quantize_acts(DType::kQ8, x.data(), 1, 32, a);
  ASSERT_EQ(a.d_row(0)[0], 1.0f);
  for (int j = 0; j < 8; ++j)
    EXPECT_EQ(a.q_row(0)[interleaved_position(1, 0, j)], std::lround(in[j])) << in[j];
}

// The AVX-512 quantizer gives the plain C++ one's bytes: values, scales,
// corrections and the zero padding, for rows of whole and partial chunks,
// all-zero blocks, halves to round and values at the block's maximum.
TEST(QuantActs, Avx512EqualsThePlainLoopByteForByte) {
  if (!cpu::vec_kernels_for(cpu::Isa::kAvx512)) GTEST_SKIP() << "this CPU has no AVX-512";
  for (DType f : kFormats)
    for (int64_t K : {32, 96, 512, 544, 1024, 3072}) {
      constexpr int64_t rows = 3;
      auto x = random_vector(rows * K, 77 + K, -3.0f, 3.0f);
      std::fill(x.begin() + 32, x.begin() + 64, 0.0f);  // an all-zero block (rows * K >= 96)
      for (int64_t i = 0; i < K; i += 7) x[K + i] = 0.5f * static_cast<float>(i % 9) - 2.0f;
      x[2 * K] = 127.0f;  // a block whose scale is exactly 1: the halves above round
      for (int j = 1; j < 32 && j < K; ++j) x[2 * K + j] = 0.5f * static_cast<float>(j) - 8.0f;
      cpu::QuantizedActs plain, simd;
      // Stale bytes from a larger earlier call: both must overwrite or clear them.
      cpu::quantize_acts(cpu::Isa::kScalar, f, x.data(), 1, 32, plain);
      cpu::quantize_acts(cpu::Isa::kScalar, f, x.data(), rows, K, plain);
      cpu::quantize_acts(cpu::Isa::kAvx512, f, x.data(), rows, K, simd);
      ASSERT_EQ(plain.stride, simd.stride);
      ASSERT_EQ(std::vector<int8_t>(plain.q.begin(), plain.q.end()),
                std::vector<int8_t>(simd.q.begin(), simd.q.end()))
          << dtype_name(f) << " K=" << K;
      EXPECT_EQ(plain.d, simd.d) << dtype_name(f) << " K=" << K;
      EXPECT_EQ(plain.corr, simd.corr) << dtype_name(f) << " K=" << K;
      EXPECT_EQ(simd.stride % 64, 0);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(simd.q.data()) % 64, 0u);
    }
}

// Every weight and activation position of a row is used once: the layout maps
// blocks x 32 onto the row's bytes without overlap.
TEST(QuantActs, InterleavedPositionsCoverTheRowOnce) {
  for (int64_t nb : {1, 3, 16, 17, 35}) {
    std::vector<int> q8(nb * 32, 0), q4(nb * 16 * 2, 0);
    for (int64_t b = 0; b < nb; ++b)
      for (int e = 0; e < 32; ++e) {
        ++q8.at(interleaved_position(nb, b, e));
        int shift;
        const int64_t byte = q4_position(nb, b, e, &shift);
        ++q4.at(byte * 2 + shift / 4);
      }
    for (int v : q8) EXPECT_EQ(v, 1) << nb;
    for (int v : q4) EXPECT_EQ(v, 1) << nb;
  }
}

class QuantKernelTest : public ::testing::TestWithParam<cpu::Isa> {};

// `rows` random weight rows of K quantized to `f` (row_bytes apart), and
// kMaxQuantRows random activation rows quantized for them.
struct QuantOperands {
  size_t row_bytes;
  std::vector<uint8_t> weights;
  cpu::QuantizedActs acts;
};
QuantOperands quant_operands(DType f, int64_t K, int64_t rows, uint32_t seed) {
  QuantOperands o;
  auto w = random_vector(rows * K, seed);
  o.row_bytes = row_bytes(f, K);
  o.weights.resize(rows * o.row_bytes);
  for (int64_t n = 0; n < rows; ++n)
    quantize_row(f, w.data() + n * K, K, o.weights.data() + n * o.row_bytes);
  auto x = random_vector(cpu::kMaxQuantRows * K, seed + 1);
  cpu::quantize_acts(f, x.data(), cpu::kMaxQuantRows, K, o.acts);
  return o;
}

// Every ISA against the scalar kernel for 1..4 activation rows and a run of
// three weight rows, lengths with partial chunks (Q8: an odd block; Q4: a
// group of fewer than 4 blocks), guard values around the outputs. Only the
// float summation order differs, so they agree to f32 rounding.
TEST_P(QuantKernelTest, DotRowsMatchScalarReference) {
  const cpu::VecKernels* v = cpu::vec_kernels_for(GetParam());
  if (!v) GTEST_SKIP() << "this CPU has no " << cpu::isa_name(GetParam());
  const auto& ref = cpu::vec_kernels_scalar();
  constexpr int64_t kRun = 3;
  for (DType f : kFormats)
    for (int64_t K : {32, 64, 96, 160, 544, 1024, 1120, 3072}) {
      const QuantOperands o = quant_operands(f, K, kRun, 21 + K);
      const size_t rb = o.row_bytes;
      const uint8_t* q = o.weights.data();
      const cpu::QuantizedActs& a = o.acts;
      const auto ours = f == DType::kQ8 ? v->dot_rows_q8 : v->dot_rows_q4;
      const auto theirs = f == DType::kQ8 ? ref.dot_rows_q8 : ref.dot_rows_q4;
      // The weight rows as one run, written with a row stride of 4 (column 3
      // and the value before the first are guards).
      constexpr int64_t ldy = 4;
      for (int rows = 1; rows <= cpu::kMaxQuantRows; ++rows)
        for (int64_t m0 = 0; m0 + rows <= cpu::kMaxQuantRows; ++m0) {
          std::vector<float> got(rows * ldy + 1, 12345.0f), want(rows * ldy);
          ours(q, rb, kRun, a, m0, rows, got.data() + 1, ldy);
          theirs(q, rb, kRun, a, m0, rows, want.data(), ldy);
          EXPECT_EQ(got[0], 12345.0f);
          for (int m = 0; m < rows; ++m)
            for (int64_t n = 0; n < ldy; ++n) {
              const float g = got[1 + m * ldy + n];
              if (n >= kRun) {
                EXPECT_EQ(g, 12345.0f) << "guard " << m << "," << n;
                continue;
              }
              const float wv = want[m * ldy + n];
              EXPECT_NEAR(g, wv, 2e-6 * std::sqrt(K) + 1e-6 * std::fabs(wv))
                  << dtype_name(f) << " K=" << K << " rows=" << rows << " m0=" << m0 << " n=" << n;
            }
        }
    }
}

// A stream's sums must not depend on the streams batched with it (batched
// sessions give the codes they give alone): every ISA's kernel gives each
// activation row bit for bit the same sums whether called for it alone or with
// up to three others, over runs of one to five weight rows (pairs and a single).
TEST_P(QuantKernelTest, RowsGiveTheSameSumsAloneAndBatched) {
  const cpu::VecKernels* v = cpu::vec_kernels_for(GetParam());
  if (!v) GTEST_SKIP() << "this CPU has no " << cpu::isa_name(GetParam());
  for (DType f : kFormats)
    for (int64_t K : {96, 1024, 1120}) {
      constexpr int64_t kRows = 5;
      const QuantOperands o = quant_operands(f, K, kRows, 31 + K);
      const size_t rb = o.row_bytes;
      const uint8_t* q = o.weights.data();
      const cpu::QuantizedActs& a = o.acts;
      const auto kernel = f == DType::kQ8 ? v->dot_rows_q8 : v->dot_rows_q4;
      for (int64_t count = 1; count <= kRows; ++count)
        for (int rows = 2; rows <= cpu::kMaxQuantRows; ++rows) {
          std::vector<float> together(rows * count), alone(count);
          kernel(q, rb, count, a, 0, rows, together.data(), count);
          for (int m = 0; m < rows; ++m) {
            kernel(q, rb, count, a, m, 1, alone.data(), count);
            for (int64_t n = 0; n < count; ++n)
              EXPECT_EQ(together[m * count + n], alone[n])
                  << dtype_name(f) << " K=" << K << " rows=" << rows << " m=" << m << " n=" << n;
          }
        }
    }
}

// The largest products each format can make, where a kernel's 16-bit pair
// sums would saturate first: every quant at the end of its range (Q4 15: each
// block's first weight -1 sets the scale, the rest +1; Q8 +-127) against
// activations of +-127, the same sign throughout or alternating.
TEST_P(QuantKernelTest, ExtremeQuantsDoNotSaturate) {
  const cpu::VecKernels* v = cpu::vec_kernels_for(GetParam());
  if (!v) GTEST_SKIP() << "this CPU has no " << cpu::isa_name(GetParam());
  const auto& ref = cpu::vec_kernels_scalar();
  constexpr int64_t K = 1024;
  for (DType f : kFormats) {
    std::vector<float> w(K, 1.0f);
    for (int64_t k = 0; k < K; k += 32) w[k] = -1.0f;
    std::vector<uint8_t> q(row_bytes(f, K));
    quantize_row(f, w.data(), K, q.data());
    std::vector<float> x(cpu::kMaxQuantRows * K);
    for (int64_t k = 0; k < K; ++k) {
      x[k] = 1.0f;                                // same sign as the weights
      x[K + k] = -1.0f;                           // opposite
      x[2 * K + k] = k % 2 ? 1.0f : -1.0f;        // alternating
      x[3 * K + k] = k % 32 == 0 ? -1.0f : 1.0f;  // the weights' own signs
    }
    cpu::QuantizedActs a;
    cpu::quantize_acts(f, x.data(), cpu::kMaxQuantRows, K, a);
    const auto ours = f == DType::kQ8 ? v->dot_rows_q8 : v->dot_rows_q4;
    const auto theirs = f == DType::kQ8 ? ref.dot_rows_q8 : ref.dot_rows_q4;
    std::vector<float> got(cpu::kMaxQuantRows), want(cpu::kMaxQuantRows);
    ours(q.data(), q.size(), 1, a, 0, cpu::kMaxQuantRows, got.data(), 1);
    theirs(q.data(), q.size(), 1, a, 0, cpu::kMaxQuantRows, want.data(), 1);
    for (int m = 0; m < cpu::kMaxQuantRows; ++m)
      EXPECT_NEAR(got[m], want[m], 1e-5 * std::fabs(want[m]) + 1e-4)
          << dtype_name(f) << " activation row " << m;
    EXPECT_GT(want[3], 0.8f * K) << "the weights' own signs: every product positive";
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, QuantKernelTest,
                         ::testing::Values(cpu::Isa::kScalar, cpu::Isa::kAvx2, cpu::Isa::kAvx512),
                         [](const auto& param_info) {
                           return std::string(cpu::isa_name(param_info.param));
                         });

// ops::linear with Q8 / Q4 weights against the exact product of the same
// (dequantized) weights with the f32 activations: they differ only by the
// activations' rounding to int8, at most half a step of each block's scale per
// value, so each output is within sum |w| * step / 2.
TEST(QuantLinear, MatchesExactProductWithinActivationRounding) {
  ThreadPool pool(2);
  for (DType f : kFormats)
    for (int64_t K : {96, 1024})
      for (int64_t M : {1, 2, 3, 4, 5, 9, 40, 100}) {
        const int64_t N = 70;
        Tensor W = quantize(Tensor::owned_f32({N, K}, random_vector(N * K, 31 + K)), f, &pool);
        auto x = random_vector(M * K, 32 + M), bias = random_vector(N, 33);
        std::vector<float> y(M * N), want(M * N), wrow(K);
        ops::linear(&pool, x.data(), M, K, W, bias.data(), y.data());
        ops::linear_ref(x.data(), M, K, W, bias.data(), want.data());
        for (int64_t n = 0; n < N; ++n) {
          W.to_f32(n * K, K, wrow.data());
          for (int64_t m = 0; m < M; ++m) {
            double bound = 1e-5;
            for (int64_t b = 0; b < K / 32; ++b) {
              float amax = 0;
              for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[m * K + b * 32 + j]));
              for (int j = 0; j < 32; ++j) bound += std::fabs(wrow[b * 32 + j]) * amax / 254.0;
            }
            ASSERT_NEAR(y[m * N + n], want[m * N + n], bound)
                << dtype_name(f) << " K=" << K << " M=" << M << " n=" << n;
          }
        }
      }
}

// Many rows (a prompt, or 5-8 streams) go over the weights in L2-sized tiles of
// rows, several per thread's share: every row's outputs are still bit for bit
// those of the row alone, with the bias, whatever tile and row group it fell in.
TEST(QuantLinear, ManyRowsInTilesEqualEachRowAlone) {
  ThreadPool pool(2);
  const int64_t K = 3072, N = 1040;  // Q8 rows of 3.3 KB: tiles of 80 rows, shares of 144
  for (DType f : kFormats) {
    Tensor W = quantize(Tensor::owned_f32({N, K}, random_vector(N * K, 41)), f, &pool);
    for (int64_t M : {5, 8, 11}) {
      auto x = random_vector(M * K, 42 + M), bias = random_vector(N, 43);
      std::vector<float> y(M * N), alone(N);
      ops::linear(&pool, x.data(), M, K, W, bias.data(), y.data());
      for (int64_t m = 0; m < M; ++m) {
        ops::linear(&pool, x.data() + m * K, 1, K, W, bias.data(), alone.data());
        for (int64_t n = 0; n < N; ++n)
          ASSERT_EQ(y[m * N + n], alone[n])
              << dtype_name(f) << " M=" << M << " m=" << m << " n=" << n;
      }
    }
  }
}

// A bf16 copy of an f32 weight.
Tensor to_bf16_tensor(const Tensor& w) {
  auto half = std::make_shared<std::vector<uint16_t>>(static_cast<size_t>(w.numel()));
  for (int64_t i = 0; i < w.numel(); ++i) (*half)[i] = f32_to_bf16(w.f32()[i]);
  Tensor h;
  h.dtype = DType::kBF16;
  h.shape = w.shape;
  h.data = half->data();
  h.owner = std::shared_ptr<const void>(half, half->data());
  return h;
}

// Stacked linears equal the parts' linears side by side, bit for bit, in every
// format and on every path (rows one at a time in one parallel region, or
// prompts part by part).
TEST(LinearStacked, EqualsThePartsSideBySide) {
  ThreadPool pool(2);
  const int64_t K = 1024;
  for (DType f : {DType::kF32, DType::kBF16, DType::kQ8, DType::kQ4})
    for (int64_t M : {1, 2, 5, 16, 40}) {
      std::vector<Tensor> parts;
      for (int64_t rows : {64, 32, 48}) {
        Tensor w = Tensor::owned_f32({rows, K}, random_vector(rows * K, 80 + rows));
        parts.push_back(f == DType::kF32    ? w
                        : f == DType::kBF16 ? to_bf16_tensor(w)
                                            : quantize(w, f, &pool));
      }
      const Tensor* p[] = {&parts[0], &parts[1], &parts[2]};
      const int64_t N = 64 + 32 + 48;
      auto x = random_vector(M * K, 84);
      std::vector<float> y(M * N + 16, 9.0f), want(M * N);
      ops::linear_stacked(&pool, x.data(), M, K, p, 3, y.data());
      int64_t col = 0;
      for (const Tensor& t : parts) {
        const int64_t n = t.shape[0];
        std::vector<float> one(M * n);
        ops::linear(&pool, x.data(), M, K, t, nullptr, one.data());
        for (int64_t m = 0; m < M; ++m)
          std::copy_n(one.data() + m * n, n, want.data() + m * N + col);
        col += n;
      }
      for (size_t i = want.size(); i < y.size(); ++i) ASSERT_EQ(y[i], 9.0f) << "guard " << i;
      y.resize(want.size());
      EXPECT_EQ(y, want) << dtype_name(f) << " M=" << M;
    }
  Tensor a = Tensor::owned_f32({4, 32}, random_vector(4 * 32, 85));
  Tensor b = to_bf16_tensor(a);
  const Tensor* mixed[] = {&a, &b};
  std::vector<float> x(32), y(8);
  EXPECT_THROW(ops::linear_stacked(nullptr, x.data(), 1, 32, mixed, 2, y.data()), Error);
}

// Prompts through bf16 products (AMX tiles, or AVX512-BF16): rows dequantized
// to bf16 in their stored order, activations packed in the same permuted order.
TEST(AmxQuant, DequantizedRowsAreThePermutedReferenceInBf16) {
  if (!cpu::bf16_products_available())
    GTEST_SKIP() << "no AMX-BF16 or AVX512-BF16 on this CPU (or OS)";
  ThreadPool pool(2);
  for (DType f : kFormats) {
    const int64_t K = 1536, N = 3;
    ASSERT_TRUE(cpu::amx_quant_supported(f, K));
    EXPECT_FALSE(cpu::amx_quant_supported(f, 1024 + 32));  // a partial chunk
    const auto perm = cpu::amx_quant_permutation(f, K);
    std::vector<int> seen(K, 0);
    for (int32_t i : perm) ++seen[i];
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), K) << "not a permutation";
    Tensor W = quantize(Tensor::owned_f32({N, K}, random_vector(N * K, 61)), f, &pool);
    std::vector<uint16_t> got(N * K);
    const size_t rb = row_bytes(f, K);
    cpu::amx_dequantize_rows(f, static_cast<const uint8_t*>(W.data), rb, N, K, got.data());
    std::vector<float> ref(K);
    for (int64_t n = 0; n < N; ++n) {
      W.to_f32(n * K, K, ref.data());
      for (int64_t p = 0; p < K; ++p)
        ASSERT_EQ(got[n * K + p], f32_to_bf16(ref[perm[p]])) << dtype_name(f) << " p=" << p;
    }
  }
}

// Prompts with 8/4-bit weights on AMX (without it they take the int8 row
// kernels, QuantLinear above).
TEST(AmxQuant, PromptLinearMatchesExactProductWithinBf16Rounding) {
  if (!cpu::amx_available()) GTEST_SKIP() << "no AMX-BF16 on this CPU (or OS)";
  ThreadPool pool(2);
  for (DType f : kFormats)
    for (int64_t M : {16, 17, 40, 70}) {  // activation panels of 16 and pairs of 32
      // Weight rows in blocks of 32, 32, 32, 16; activation panels packed one per worker.
      const int64_t K = 1024, N = 112;
      Tensor W = quantize(Tensor::owned_f32({N, K}, random_vector(N * K, 62)), f, &pool);
      auto x = random_vector(M * K, 63 + M), bias = random_vector(N, 64);
      std::vector<float> y(M * N, 9.0f), want(M * N), wrow(K);
      ops::linear(&pool, x.data(), M, K, W, bias.data(), y.data());
      ops::linear_ref(x.data(), M, K, W, bias.data(), want.data());
      double worst = 0;
      for (int64_t n = 0; n < N; ++n) {
        W.to_f32(n * K, K, wrow.data());
        for (int64_t m = 0; m < M; ++m) {
          // Weights and activations each rounded to bf16 (2^-9 relative).
          double bound = 1e-5;
          for (int64_t k = 0; k < K; ++k) bound += std::fabs(wrow[k] * x[m * K + k]) / 256.0;
          ASSERT_NEAR(y[m * N + n], want[m * N + n], bound)
              << dtype_name(f) << " M=" << M << " n=" << n;
          worst = std::max(worst, std::fabs(y[m * N + n] - want[m * N + n]) / bound);
        }
      }
      EXPECT_GT(worst, 0.0);  // rounded: not the exact f32 product
    }
}

}  // namespace
}  // namespace izwi
