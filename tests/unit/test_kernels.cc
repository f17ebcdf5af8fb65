// Every kernel against its scalar reference, for every instruction set this CPU
// runs, over sizes that exercise the vector bodies and the tails.
#include <dirent.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/cpu/bf16_avx512.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_amx.h"
#include "kernels/cpu/vec.h"
#include "kernels/ops.h"
#include "test_util.h"

namespace izwi {
namespace {

using test::max_abs_diff;
using test::random_vector;

class VecKernelTest : public ::testing::TestWithParam<cpu::Isa> {};

// The kernels of the ISA under test; skips when this CPU cannot run them.
#define ISA_KERNELS(v)                                         \
  const cpu::VecKernels* v = cpu::vec_kernels_for(GetParam()); \
  if (!v) GTEST_SKIP() << "this CPU has no " << cpu::isa_name(GetParam())

TEST_P(VecKernelTest, DotF32MatchesReference) {
  ISA_KERNELS(v);
  for (int n : {1, 7, 8, 15, 16, 17, 31, 33, 64, 100, 1024, 1031}) {
    auto a = random_vector(n, 1 + n), b = random_vector(n, 2 + n);
    const float ref = cpu::vec_kernels_scalar().dot_f32(a.data(), b.data(), n);
    EXPECT_NEAR(v->dot_f32(a.data(), b.data(), n), ref, 1e-5 * std::sqrt(n)) << "n=" << n;
  }
}

TEST_P(VecKernelTest, DotHalfPrecisionWeightsMatchReference) {
  ISA_KERNELS(v);
  for (int n : {3, 16, 33, 128, 1000, 2048}) {
    auto wf = random_vector(n, 3 + n), x = random_vector(n, 4 + n);
    std::vector<uint16_t> wb(n), wh(n);
    for (int i = 0; i < n; ++i) {
      wb[i] = f32_to_bf16(wf[i]);
      wh[i] = f32_to_f16(wf[i]);
    }
    EXPECT_NEAR(v->dot_bf16(wb.data(), x.data(), n),
                cpu::vec_kernels_scalar().dot_bf16(wb.data(), x.data(), n), 1e-5 * std::sqrt(n));
    EXPECT_NEAR(v->dot_f16(wh.data(), x.data(), n),
                cpu::vec_kernels_scalar().dot_f16(wh.data(), x.data(), n), 1e-5 * std::sqrt(n));
  }
}

// Weights read once for 1..8 activation rows: every dtype, odd lengths (the
// masked / scalar tails), rows with a stride, and guard values around the
// outputs that must stay untouched.
TEST_P(VecKernelTest, DotRowsMatchesReferenceForEveryDtypeAndRowCount) {
  ISA_KERNELS(v);
  const auto& ref = cpu::vec_kernels_scalar();
  for (int n : {1, 7, 15, 16, 17, 33, 100, 1024, 1031}) {
    const int64_t ldx = n + 5;
    auto wf = random_vector(n, 11 + n), x = random_vector(cpu::kMaxDotRows * ldx, 12 + n);
    std::vector<uint16_t> wb(n), wh(n);
    for (int i = 0; i < n; ++i) {
      wb[i] = f32_to_bf16(wf[i]);
      wh[i] = f32_to_f16(wf[i]);
    }
    struct Case {
      const void* w;
      cpu::VecKernels::DotRows ours, theirs;
    } cases[] = {{wf.data(), v->dot_rows_f32, ref.dot_rows_f32},
                 {wb.data(), v->dot_rows_bf16, ref.dot_rows_bf16},
                 {wh.data(), v->dot_rows_f16, ref.dot_rows_f16}};
    for (const Case& c : cases)
      for (int rows = 1; rows <= cpu::kMaxDotRows; ++rows) {
        std::vector<float> got(rows + 2, 12345.0f), want(rows);
        c.ours(c.w, x.data(), ldx, rows, n, got.data() + 1);
        c.theirs(c.w, x.data(), ldx, rows, n, want.data());
        EXPECT_EQ(got[0], 12345.0f);
        EXPECT_EQ(got[rows + 1], 12345.0f);
        for (int m = 0; m < rows; ++m)
          EXPECT_NEAR(got[m + 1], want[m], 1e-5 * std::sqrt(n)) << "n=" << n << " rows=" << rows;
      }
  }
}

// A row's sums do not depend on how many rows share the weight row's pass
// (ops::linear sizes the groups by K to keep them in L1): in a group of 2..8,
// each row's sum is bit for bit what the row gives alone, on every ISA.
TEST_P(VecKernelTest, DotRowsGiveEachRowItsSumsAlone) {
  ISA_KERNELS(v);
  for (int n : {17, 1024, 3072}) {
    auto wf = random_vector(n, 21 + n), x = random_vector(cpu::kMaxDotRows * n, 22 + n);
    std::vector<uint16_t> wb(n), wh(n);
    for (int i = 0; i < n; ++i) {
      wb[i] = f32_to_bf16(wf[i]);
      wh[i] = f32_to_f16(wf[i]);
    }
    const std::pair<const void*, cpu::VecKernels::DotRows> cases[] = {
        {wf.data(), v->dot_rows_f32}, {wb.data(), v->dot_rows_bf16}, {wh.data(), v->dot_rows_f16}};
    for (const auto& [w, dot] : cases)
      for (int rows = 2; rows <= cpu::kMaxDotRows; ++rows) {
        std::vector<float> together(rows);
        dot(w, x.data(), n, rows, n, together.data());
        for (int m = 0; m < rows; ++m) {
          float alone = 0;
          dot(w, x.data() + m * n, n, 1, n, &alone);
          EXPECT_EQ(together[m], alone) << "n=" << n << " rows=" << rows << " m=" << m;
        }
      }
  }
}

TEST_P(VecKernelTest, SnakeMatchesReferenceIncludingLargeArguments) {
  ISA_KERNELS(v);
  for (int n : {1, 5, 16, 37, 1000}) {
    for (float alpha :
         {0.5f, 1.0f, 7.3f, 5000.0f}) {  // 5000: past the polynomial range -> libm path
      auto x = random_vector(n, 5 + n, -4.0f, 4.0f);
      auto ref = x;
      cpu::vec_kernels_scalar().snake(ref.data(), n, alpha, 0.8f);
      v->snake(x.data(), n, alpha, 0.8f);
      EXPECT_LT(max_abs_diff(x, ref), 2e-6) << "n=" << n << " alpha=" << alpha;
    }
  }
}

// SiLU with the SIMD exp: within a few ulp of std::exp's over the float range
// (both clamps, the saturated ends, zero, NaN), odd lengths for the tails. Far
// below zero the reference is -x / exp(-x) -> -0 and ours a clamped exp's tiny
// quotient: both under 1e-30.
TEST_P(VecKernelTest, SiluMatchesReferenceOverTheFloatRange) {
  ISA_KERNELS(v);
  for (int n : {1, 7, 16, 37, 4000}) {
    auto x = random_vector(n, 8 + n, -20.0f, 20.0f);
    const float edges[] = {0.0f,   -0.0f,  1e-30f,  -1e-30f, 87.0f,  -87.0f,  88.5f,
                           -88.5f, 100.0f, -100.0f, 1e30f,   -1e30f, 3.0e38f, -3.0e38f};
    for (size_t i = 0; i < std::size(edges) && static_cast<int>(i) < n; ++i) x[i] = edges[i];
    auto ref = x;
    cpu::vec_kernels_scalar().silu(ref.data(), n);
    v->silu(x.data(), n);
    for (int i = 0; i < n; ++i)
      ASSERT_NEAR(x[i], ref[i], 4e-7f * std::abs(ref[i]) + 1e-30f) << "n=" << n << " i=" << i;
  }
  std::vector<float> nan = {std::nanf("")};
  v->silu(nan.data(), 1);
  EXPECT_TRUE(std::isnan(nan[0]));
}

TEST_P(VecKernelTest, AxpyMatchesReference) {
  ISA_KERNELS(v);
  for (int n : {1, 9, 16, 40}) {
    auto x = random_vector(n, 6), y = random_vector(n, 7), ref = y;
    cpu::vec_kernels_scalar().axpy(ref.data(), x.data(), 0.37f, n);
    v->axpy(y.data(), x.data(), 0.37f, n);
    EXPECT_LT(max_abs_diff(y, ref), 1e-6);
  }
}

// One query's attention loops in one call: every key's score and every value's
// weighted add are, bit for bit, this ISA's dot_f32 and axpy per key in turn;
// keys marked invalid are skipped (their scores left as they were).
TEST_P(VecKernelTest, AttentionRowsAreDotAndAxpyPerKey) {
  ISA_KERNELS(v);
  for (int64_t n : {int64_t{1}, int64_t{20}, int64_t{64}, int64_t{128}, int64_t{200}}) {
    const int64_t rows = 37, ld = 2 * n + 3;  // keys of one head inside wider rows
    auto q = random_vector(static_cast<size_t>(n), 11), kv = random_vector(rows * ld, 12),
         a = random_vector(rows, 13);
    std::vector<uint8_t> valid(rows, 1);
    valid[0] = valid[5] = valid[36] = 0;
    const uint8_t* masks[] = {nullptr, valid.data()};
    for (const uint8_t* mask : masks) {
      std::vector<float> scores(rows, -7.0f), want(rows, -7.0f);
      v->dot_keys(q.data(), kv.data() + 1, ld, rows, n, mask, 0.125f, scores.data());
      for (int64_t j = 0; j < rows; ++j)
        if (!mask || mask[j]) want[j] = v->dot_f32(q.data(), kv.data() + 1 + j * ld, n) * 0.125f;
      EXPECT_EQ(scores, want) << "n=" << n;
      auto y = random_vector(static_cast<size_t>(n), 14), y_want = y;
      v->axpy_values(y.data(), kv.data() + 2, ld, a.data(), 0.3f, rows, n, mask);
      for (int64_t j = 0; j < rows; ++j)
        if (!mask || mask[j]) v->axpy(y_want.data(), kv.data() + 2 + j * ld, a[j] * 0.3f, n);
      EXPECT_EQ(y, y_want) << "n=" << n;

      // Two queries at once (grouped-query attention): each the single call's
      // sums bit for bit, and nothing written past its row or skipped key.
      auto q2 = random_vector(static_cast<size_t>(2 * n), 15);
      const int64_t ldo = rows + 5;
      std::vector<float> pair(static_cast<size_t>(2 * ldo), -7.0f), alone(pair);
      v->dot_keys2(q2.data(), n, kv.data() + 1, ld, rows, n, mask, 0.125f, pair.data(), ldo);
      for (int g = 0; g < 2; ++g)
        v->dot_keys(q2.data() + g * n, kv.data() + 1, ld, rows, n, mask, 0.125f,
                    alone.data() + g * ldo);
      EXPECT_EQ(pair, alone) << "n=" << n;
      const int64_t ldy = n + 3;
      auto y2 = random_vector(static_cast<size_t>(2 * ldy), 16), y2_want = y2;
      const auto a2 = random_vector(static_cast<size_t>(2 * ldo), 17);
      const float scales[2] = {0.3f, -1.7f};
      v->axpy_values2(y2.data(), ldy, kv.data() + 2, ld, a2.data(), ldo, scales, rows, n, mask);
      for (int g = 0; g < 2; ++g)
        v->axpy_values(y2_want.data() + g * ldy, kv.data() + 2, ld, a2.data() + g * ldo, scales[g],
                       rows, n, mask);
      EXPECT_EQ(y2, y2_want) << "n=" << n;
    }
  }
}

// The attention rows over a half-precision cache (f16 bits) are, bit for bit,
// this ISA's f32 rows over the same cache widened: the loads widen exactly and
// the sums are the same. Random values of a few thousand (f16's 11 bits
// round them) and rows inside wider ones, as a cache's heads are.
TEST_P(VecKernelTest, HalfCacheRowsAreTheF32RowsOnTheWidenedCache) {
  ISA_KERNELS(v);
  for (int64_t n : {int64_t{1}, int64_t{20}, int64_t{64}, int64_t{128}, int64_t{200}}) {
    const int64_t rows = 37, ld = 2 * n + 3;
    auto q = random_vector(static_cast<size_t>(2 * n), 21), a = random_vector(2 * rows + 10, 23);
    auto values = random_vector(rows * ld, 22);
    for (float& x : values) x *= 3000.0f;
    std::vector<uint16_t> half(values.size());
    cpu::vec_kernels_scalar().to_f16(values.data(), static_cast<int64_t>(values.size()),
                                     half.data());
    std::vector<float> wide(half.size());
    for (size_t i = 0; i < half.size(); ++i) wide[i] = f16_to_f32(half[i]);
    std::vector<uint8_t> valid(rows, 1);
    valid[0] = valid[5] = valid[36] = 0;
    const uint8_t* masks[] = {nullptr, valid.data()};
    for (const uint8_t* mask : masks) {
      const int64_t ldo = rows + 5;
      std::vector<float> got(static_cast<size_t>(2 * ldo), -7.0f), want(got);
      v->dot_keys_f16(q.data(), half.data() + 1, ld, rows, n, mask, 0.125f, got.data());
      v->dot_keys(q.data(), wide.data() + 1, ld, rows, n, mask, 0.125f, want.data());
      EXPECT_EQ(got, want) << "dot_keys, n=" << n;
      v->dot_keys2_f16(q.data(), n, half.data() + 1, ld, rows, n, mask, 0.125f, got.data(), ldo);
      v->dot_keys2(q.data(), n, wide.data() + 1, ld, rows, n, mask, 0.125f, want.data(), ldo);
      EXPECT_EQ(got, want) << "dot_keys2, n=" << n;
      const int64_t ldy = n + 3;
      auto y = random_vector(static_cast<size_t>(2 * ldy), 24), y_want = y;
      v->axpy_values_f16(y.data(), half.data() + 2, ld, a.data(), 0.3f, rows, n, mask);
      v->axpy_values(y_want.data(), wide.data() + 2, ld, a.data(), 0.3f, rows, n, mask);
      EXPECT_EQ(y, y_want) << "axpy_values, n=" << n;
      const float scales[2] = {0.3f, -1.7f};
      v->axpy_values2_f16(y.data(), ldy, half.data() + 2, ld, a.data(), rows + 5, scales, rows, n,
                          mask);
      v->axpy_values2(y_want.data(), ldy, wide.data() + 2, ld, a.data(), rows + 5, scales, rows, n,
                      mask);
      EXPECT_EQ(y, y_want) << "axpy_values2, n=" << n;
    }
  }
}

// to_f16 rounds to nearest even as core's f32_to_f16 does (subnormals
// included), clamps what would overflow to +-65504, keeps NaN a NaN, and
// writes nothing past n.
TEST_P(VecKernelTest, ToF16RoundsToNearestEvenAndClampsOverflow) {
  ISA_KERNELS(v);
  std::vector<float> x = random_vector(1000, 31);
  for (size_t i = 0; i < x.size(); ++i) x[i] *= std::pow(10.0f, static_cast<float>(i % 13) - 7.0f);
  const float edges[] = {0.0f,
                         -0.0f,
                         1.0f,
                         65504.0f,
                         65519.0f,
                         65520.0f,
                         -65536.0f,
                         1e10f,
                         -1e30f,
                         6e-8f,
                         -3e-8f,
                         2.98e-8f,
                         1e-5f,
                         0.33333f,
                         1.00048828125f,
                         1.00146484375f,
                         std::numeric_limits<float>::infinity(),
                         -std::numeric_limits<float>::infinity()};
  x.insert(x.begin(), std::begin(edges), std::end(edges));
  for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{8}, int64_t{15}, int64_t{17},
                    static_cast<int64_t>(x.size())}) {
    std::vector<uint16_t> got(static_cast<size_t>(n) + 3, 0xabcd);
    v->to_f16(x.data(), n, got.data());
    for (int64_t i = 0; i < n; ++i) {
      const float c = std::min(65504.0f, std::max(-65504.0f, x[i]));
      EXPECT_EQ(got[i], f32_to_f16(c)) << "x=" << x[i];
    }
    for (size_t i = static_cast<size_t>(n); i < got.size(); ++i) EXPECT_EQ(got[i], 0xabcd);
  }
  EXPECT_EQ(f16_to_f32([&] {
              uint16_t h;
              const float big = 1e10f;
              v->to_f16(&big, 1, &h);
              return h;
            }()),
            65504.0f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  uint16_t h = 0;
  v->to_f16(&nan, 1, &h);
  EXPECT_TRUE(std::isnan(f16_to_f32(h)));
}

// mix_rows against the matrix product in double, with zero entries and guard
// values after each output row; the same sums in the same order as the scalar one.
TEST_P(VecKernelTest, MixRowsMatchesReferenceAndSkipsZeros) {
  ISA_KERNELS(v);
  // Each register-held size, and Winograd F(6, 7)'s fixed 6 x 12 and 12 x 12.
  for (int n_in : {1, 8, 9, 10, 12, 16})
    for (int n_out : {1, 2, 4, 6, 8, 10, 12, 16})
      for (int64_t n : {1, 7, 8, 33, 100}) {
        auto coef = random_vector(static_cast<size_t>(n_out * n_in), 8 + n_in);
        for (size_t i = 0; i < coef.size(); i += 3) coef[i] = 0.0f;
        const cpu::MixMatrix mx = cpu::mix_matrix(coef.data(), n_out, n_in);
        const auto in_data = random_vector(static_cast<size_t>(n_in * n), 9);
        std::vector<float> out_data(static_cast<size_t>(n_out * (n + 4)), 5.0f),
            scalar_out(out_data);
        const float* in[cpu::kMaxMixRows];
        float *out[cpu::kMaxMixRows], *sout[cpu::kMaxMixRows];
        for (int j = 0; j < n_in; ++j) in[j] = in_data.data() + j * n;
        for (int p = 0; p < n_out; ++p) {
          out[p] = out_data.data() + p * (n + 4);
          sout[p] = scalar_out.data() + p * (n + 4);
        }
        v->mix_rows(mx, in, out, n);
        cpu::vec_kernels_scalar().mix_rows(mx, in, sout, n);
        for (int p = 0; p < n_out; ++p) {
          for (int64_t i = 0; i < n; ++i) {
            double ref = 0;
            for (int j = 0; j < n_in; ++j)
              ref += static_cast<double>(coef[p * n_in + j]) * in[j][i];
            ASSERT_NEAR(out[p][i], ref, 1e-5) << n_out << "x" << n_in << " n=" << n;
            ASSERT_EQ(out[p][i], sout[p][i]) << "not the scalar kernel's sums";
          }
          for (int64_t i = n; i < n + 4; ++i) ASSERT_EQ(out[p][i], 5.0f) << "wrote past the row";
        }
      }
  EXPECT_THROW(cpu::mix_matrix(nullptr, 17, 2), Error);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, VecKernelTest,
                         ::testing::Values(cpu::Isa::kScalar, cpu::Isa::kAvx2, cpu::Isa::kAvx512),
                         [](const auto& param_info) {
                           return std::string(cpu::isa_name(param_info.param));
                         });

TEST(HalfConversion, RoundTripsAndRoundsToNearestEven) {
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f)), 1.0f);
  EXPECT_EQ(f16_to_f32(f32_to_f16(-2.5f)), -2.5f);
  EXPECT_EQ(f16_to_f32(f32_to_f16(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(1e6f))));
  EXPECT_NEAR(f16_to_f32(f32_to_f16(1e-6f)), 1e-6f, 1e-7f);  // subnormal
  // 1 + 2^-8 is halfway between two bf16 values: ties go to the even one (1.0).
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + 1.0f / 256)), 1.0f);
}

Tensor make_weight(DType dt, int64_t N, int64_t K, uint32_t seed) {
  Tensor t = Tensor::owned_f32({N, K}, random_vector(static_cast<size_t>(N * K), seed));
  if (dt == DType::kF32) return t;
  auto half = std::make_shared<std::vector<uint16_t>>(static_cast<size_t>(N * K));
  for (int64_t i = 0; i < N * K; ++i)
    (*half)[i] = dt == DType::kBF16 ? f32_to_bf16(t.f32()[i]) : f32_to_f16(t.f32()[i]);
  Tensor h;
  h.dtype = dt;
  h.shape = {N, K};
  h.data = half->data();
  h.owner = std::shared_ptr<const void>(half, half->data());
  return h;
}

TEST(Linear, MatchesReferenceForAllDtypesAndBatchSizes) {
  ThreadPool pool(2);
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16})
    // GEMV, small-M, row groups, prompts (bf16 weight rows from 16 with K even:
    // 12/4/1-row weight tiles, 16/32-row activation panels), GEMM (>= 32)
    for (int64_t K : {93, 94})
      for (int64_t M : {1, 2, 3, 8, 9, 16, 17, 40, 70}) {
        const int64_t N = 70;
        Tensor W = make_weight(dt, N, K, 11);
        auto x = random_vector(static_cast<size_t>(M * K), 12), bias = random_vector(N, 13);
        std::vector<float> y(M * N + 16, 9.0f), ref(M * N);
        ops::linear(&pool, x.data(), M, K, W, bias.data(), y.data());
        ops::linear_ref(x.data(), M, K, W, bias.data(), ref.data());
        for (size_t i = ref.size(); i < y.size(); ++i) ASSERT_EQ(y[i], 9.0f) << "guard " << i;
        y.resize(ref.size());
        EXPECT_LT(max_abs_diff(y, ref), 2e-5) << dtype_name(dt) << " K=" << K << " M=" << M;
      }
}

// Our GEMM, on every ISA that has one (kernels/cpu/gemm.h).
class GemmKernelTest : public ::testing::TestWithParam<cpu::Isa> {
 protected:
  const cpu::GemmKernels& kernels() { return *cpu::gemm_kernels_for(GetParam()); }
  void SetUp() override {
    if (!cpu::gemm_kernels_for(GetParam()))
      GTEST_SKIP() << "this CPU has no " << cpu::isa_name(GetParam());
  }
};

INSTANTIATE_TEST_SUITE_P(AllIsas, GemmKernelTest,
                         ::testing::Values(cpu::Isa::kAvx2, cpu::Isa::kAvx512),
                         [](const auto& param_info) {
                           return std::string(cpu::isa_name(param_info.param));
                         });

// Against the double-precision reference: every transpose combination, edges
// of the register tile (12 x 32 AVX-512, 6 x 16 AVX2) and of the K/M/N blocks,
// leading dimensions wider than the matrices, and guard values beside C.
TEST_P(GemmKernelTest, MatchesReferenceForAllTransposesAndEdges) {
  const cpu::GemmKernels& g = kernels();
  ThreadPool pool(2);
  struct Size {
    int64_t M, N, K;
  };
  for (const Size& z : {Size{1, 1, 1}, Size{7, 33, 5}, Size{12, 32, 256}, Size{13, 31, 257},
                        Size{150, 70, 300}, Size{17, 2100, 19}, Size{300, 3, 40}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int64_t lda = (ta ? z.M : z.K) + 3, ldb = (tb ? z.K : z.N) + 2, ldc = z.N + 5;
        auto A = random_vector(static_cast<size_t>((ta ? z.K : z.M) * lda), 91);
        auto B = random_vector(static_cast<size_t>((tb ? z.N : z.K) * ldb), 92);
        std::vector<float> C(static_cast<size_t>(z.M * ldc + 1), 777.0f), R(C);
        g.gemm(&pool, ta, tb, z.M, z.N, z.K, A.data(), lda, B.data(), ldb, C.data(), ldc,
               cpu::GemmType::kF32, false);
        ops::gemm_ref(ta, tb, z.M, z.N, z.K, A.data(), lda, B.data(), ldb, R.data(), ldc);
        double worst = 0;
        for (int64_t m = 0; m < z.M; ++m) {
          for (int64_t n = 0; n < z.N; ++n)
            worst = std::max(worst, std::abs(static_cast<double>(C[m * ldc + n]) - R[m * ldc + n]));
          for (int64_t n = z.N; n < ldc && m * ldc + n < static_cast<int64_t>(C.size()); ++n)
            EXPECT_EQ(C[m * ldc + n], 777.0f) << "guard written at row " << m;
        }
        EXPECT_LT(worst, 2e-5 * std::sqrt(static_cast<double>(z.K)))
            << z.M << "x" << z.N << "x" << z.K << " ta=" << ta << " tb=" << tb;
      }
}

// A bf16 / f16 weight matrix as B (transposed, widened while packed: prompts
// on half-precision weights) against the reference on the widened values:
// 8 x 8 transpose blocks with partial column blocks, and a K tail.
TEST_P(GemmKernelTest, HalfPrecisionWeightsAsBMatchReference) {
  const cpu::GemmKernels& g = kernels();
  if (!g.half_b) GTEST_SKIP() << "no half-precision B on " << cpu::isa_name(GetParam());
  ThreadPool pool(2);
  for (DType dt : {DType::kBF16, DType::kF16})
    for (int64_t K : {8, 93, 300})
      for (int64_t N : {5, 16, 37}) {
        const int64_t M = 40, ldb = K + 2, ldc = N + 3;
        const Tensor W = make_weight(dt, N, ldb, 31);
        std::vector<float> wide(static_cast<size_t>(N * ldb));
        W.to_f32(0, N * ldb, wide.data());
        auto A = random_vector(static_cast<size_t>(M * K), 32);
        std::vector<float> C(static_cast<size_t>(M * ldc), 777.0f), R(C);
        g.gemm(&pool, false, true, M, N, K, A.data(), K, W.data, ldb, C.data(), ldc,
               dt == DType::kBF16 ? cpu::GemmType::kBF16 : cpu::GemmType::kF16, false);
        ops::gemm_ref(false, true, M, N, K, A.data(), K, wide.data(), ldb, R.data(), ldc);
        double worst = 0;
        for (int64_t m = 0; m < M; ++m) {
          for (int64_t n = 0; n < N; ++n)
            worst = std::max(worst, std::abs(static_cast<double>(C[m * ldc + n]) - R[m * ldc + n]));
          for (int64_t n = N; n < ldc; ++n)
            EXPECT_EQ(C[m * ldc + n], 777.0f) << "guard written at row " << m;
        }
        EXPECT_LT(worst, 2e-5 * std::sqrt(static_cast<double>(K)))
            << dtype_name(dt) << " N=" << N << " K=" << K;
      }
}

TEST_P(GemmKernelTest, AccumulateAddsToWhatCHolds) {
  const cpu::GemmKernels& g = kernels();
  ThreadPool pool(2);
  const int64_t M = 19, N = 70, K = 300, ldc = N + 3;  // two K blocks, edge tiles
  auto A = random_vector(static_cast<size_t>(M * K), 93);
  auto B = random_vector(static_cast<size_t>(K * N), 94);
  auto C = random_vector(static_cast<size_t>(M * ldc), 95);
  std::vector<float> R(C.size());
  ops::gemm_ref(false, false, M, N, K, A.data(), K, B.data(), N, R.data(), ldc);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < ldc; ++n)
      R[m * ldc + n] = n < N ? R[m * ldc + n] + C[m * ldc + n] : C[m * ldc + n];
  g.gemm(&pool, false, false, M, N, K, A.data(), K, B.data(), N, C.data(), ldc, cpu::GemmType::kF32,
         true);
  EXPECT_LT(max_abs_diff(C, R), 1e-4);
}

// A prepacked left operand: both storage orders, rows across panels and A
// blocks, K across K blocks, guards beside C.
TEST_P(GemmKernelTest, PrepackedAMatchesReference) {
  const cpu::GemmKernels& g = kernels();
  ThreadPool pool(2);
  struct Size {
    int64_t M, N, K;
  };
  for (const Size& z : {Size{1, 1, 1}, Size{13, 70, 300}, Size{150, 33, 20}, Size{300, 2100, 9}})
    for (bool ta : {false, true}) {
      const int64_t lda = (ta ? z.M : z.K) + 3, ldc = z.N + 5;
      auto A = random_vector(static_cast<size_t>((ta ? z.K : z.M) * lda), 98);
      auto B = random_vector(static_cast<size_t>(z.K * z.N), 99);
      const std::vector<float> packed = g.pack_a(ta, z.M, z.K, A.data(), lda);
      ASSERT_EQ(static_cast<int64_t>(packed.size()), g.packed_a_size(z.M, z.K));
      std::vector<float> C(static_cast<size_t>(z.M * ldc), 777.0f), R(C.size());
      g.gemm_packed_a(&pool, z.M, z.N, z.K, packed.data(), B.data(), z.N, C.data(), ldc, false);
      ops::gemm_ref(ta, false, z.M, z.N, z.K, A.data(), lda, B.data(), z.N, R.data(), ldc);
      double worst = 0;
      for (int64_t m = 0; m < z.M; ++m) {
        for (int64_t n = 0; n < z.N; ++n)
          worst = std::max(worst, std::abs(static_cast<double>(C[m * ldc + n]) - R[m * ldc + n]));
        for (int64_t n = z.N; n < ldc; ++n) EXPECT_EQ(C[m * ldc + n], 777.0f) << "guard, row " << m;
      }
      EXPECT_LT(worst, 2e-5 * std::sqrt(static_cast<double>(z.K)))
          << z.M << "x" << z.N << "x" << z.K << " ta=" << ta;
    }
}

// The im2col-free convolution GEMM against the double-precision convolution:
// taps and dilations, channel counts across K blocks, output lengths across
// register tiles, a signal row wider than the convolution reads, guards beside C.
TEST_P(GemmKernelTest, ConvGemmMatchesConvolutionReference) {
  const cpu::GemmKernels& g = kernels();
  ThreadPool pool(2);
  struct Case {
    int64_t cin, cout, T;
    int taps, dilation;
  };
  for (const Case& c : {Case{1, 1, 1, 1, 1}, Case{3, 5, 50, 7, 1}, Case{40, 9, 77, 7, 9},
                        Case{96, 33, 130, 7, 3}, Case{5, 17, 2100, 3, 1}})
    for (bool accumulate : {false, true}) {
      const int64_t span = static_cast<int64_t>(c.taps - 1) * c.dilation, ldx = c.T + span + 4;
      const int64_t ldc = c.T + 5;
      auto x = random_vector(static_cast<size_t>(c.cin * ldx), 96);
      auto w = random_vector(static_cast<size_t>(c.cout * c.cin * c.taps), 97);
      std::vector<float> y(static_cast<size_t>(c.cout * ldc), 777.0f), ref(c.cout * c.T);
      // The reference convolves each row's first T + span samples without padding.
      std::vector<float> rows(static_cast<size_t>(c.cin * (c.T + span)));
      for (int64_t i = 0; i < c.cin; ++i)
        std::copy_n(x.data() + i * ldx, c.T + span, rows.data() + i * (c.T + span));
      ops::Conv1dParams p;
      p.dilation = c.dilation;
      ops::conv1d_ref(rows.data(), c.cin, c.T + span, w.data(), c.cout, c.taps, nullptr, p,
                      ref.data());
      if (accumulate)
        for (int64_t o = 0; o < c.cout; ++o)
          for (int64_t t = 0; t < c.T; ++t) {
            y[o * ldc + t] = 0.25f * static_cast<float>(t % 7);
            ref[o * c.T + t] += y[o * ldc + t];
          }
      g.conv_gemm(&pool, c.cout, c.T, c.cin * c.taps, w.data(), c.cin * c.taps, x.data(), ldx,
                  c.taps, c.dilation, y.data(), ldc, accumulate);
      double worst = 0;
      for (int64_t o = 0; o < c.cout; ++o) {
        for (int64_t t = 0; t < c.T; ++t)
          worst = std::max(worst, std::abs(static_cast<double>(y[o * ldc + t]) - ref[o * c.T + t]));
        for (int64_t t = c.T; t < ldc; ++t) EXPECT_EQ(y[o * ldc + t], 777.0f) << "guard, row " << o;
      }
      EXPECT_LT(worst, 2e-5 * std::sqrt(static_cast<double>(c.cin * c.taps)))
          << c.cin << " -> " << c.cout << ", T " << c.T << ", taps " << c.taps << ", dilation "
          << c.dilation << ", accumulate " << accumulate;
    }
}

TEST(Linear, RejectsWeightOfWrongShape) {
  Tensor W = make_weight(DType::kF32, 4, 5, 1);
  std::vector<float> x(6), y(4);
  try {
    ops::linear(nullptr, x.data(), 1, 6, W, nullptr, y.data());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected a weight of shape [N, 6], got [4, 5]"),
              std::string::npos)
        << e.what();
  }
}

struct ConvCase {
  int64_t cin, cout, T;
  int K, stride, dilation, groups;
  int64_t pl, pr;
  ops::PadMode mode;
};

TEST(Conv1d, MatchesReference) {
  ThreadPool pool(2);
  const ConvCase cases[] = {
      {3, 5, 50, 7, 1, 1, 1, 6, 0, ops::PadMode::kZeros},
      {8, 16, 123, 8, 4, 1, 1, 4, 3, ops::PadMode::kZeros},    // strided
      {6, 6, 77, 7, 1, 9, 1, 54, 0, ops::PadMode::kZeros},     // dilated causal
      {4, 4, 33, 4, 2, 1, 1, 2, 1, ops::PadMode::kReplicate},  // replicate padding
      {12, 12, 90, 7, 1, 1, 12, 6, 0, ops::PadMode::kZeros},   // depthwise
      {10, 7, 64, 1, 1, 1, 1, 0, 0, ops::PadMode::kZeros},     // pointwise
      {2, 3, 5000, 3, 1, 1, 1, 2, 0, ops::PadMode::kZeros},    // several time tiles
      // Fewer than ops::kDirectConvMaxOut outputs run directly, the rest as a GEMM.
      {96, 1, 1500, 7, 1, 2, 1, 12, 3, ops::PadMode::kReplicate},
      {9, 9, 200, 5, 1, 1, 1, 4, 2, ops::PadMode::kZeros},
  };
  for (const auto& c : cases) {
    ops::Conv1dParams p{c.stride, c.dilation, c.groups, c.pl, c.pr, c.mode};
    auto x = random_vector(static_cast<size_t>(c.cin * c.T), 21);
    auto w = random_vector(static_cast<size_t>(c.cout * (c.cin / c.groups) * c.K), 22);
    auto b = random_vector(static_cast<size_t>(c.cout), 23);
    const int64_t To = ops::conv1d_out_len(c.T, c.K, p);
    std::vector<float> y(c.cout * To), ref(c.cout * To);
    ops::conv1d(&pool, x.data(), c.cin, c.T, w.data(), c.cout, c.K, b.data(), p, y.data());
    ops::conv1d_ref(x.data(), c.cin, c.T, w.data(), c.cout, c.K, b.data(), p, ref.data());
    EXPECT_LT(max_abs_diff(y, ref), 1e-4)
        << "cin=" << c.cin << " K=" << c.K << " groups=" << c.groups;
    // Accumulating (a residual added in place), with and without a bias.
    p.accumulate = true;
    for (const float* bias :
         {static_cast<const float*>(b.data()), static_cast<const float*>(nullptr)}) {
      y = random_vector(y.size(), 24);
      ref = y;
      ops::conv1d(&pool, x.data(), c.cin, c.T, w.data(), c.cout, c.K, bias, p, y.data());
      ops::conv1d_ref(x.data(), c.cin, c.T, w.data(), c.cout, c.K, bias, p, ref.data());
      EXPECT_LT(max_abs_diff(y, ref), 1e-4)
          << "accumulating, cin=" << c.cin << " K=" << c.K << " groups=" << c.groups
          << " bias=" << (bias != nullptr);
    }
  }
}

// The direct form with a stream's history read in place: the convolution of
// [left | x] without padding, or of x with zero left padding when there is none.
TEST(Conv1d, DirectFormReadsTheLeftContextInPlace) {
  ThreadPool pool(2);
  for (const auto [cin, cout, T, K, dil] :
       {std::array<int, 5>{96, 1, 1931, 7, 1}, {5, 3, 40, 3, 4}, {4, 7, 3, 7, 2}}) {
    SCOPED_TRACE(testing::Message()
                 << cin << " -> " << cout << ", T " << T << ", K " << K << ", dilation " << dil);
    const int64_t H = static_cast<int64_t>(K - 1) * dil;
    auto left = random_vector(static_cast<size_t>(cin * H), 31);
    auto x = random_vector(static_cast<size_t>(cin * T), 32);
    auto w = random_vector(static_cast<size_t>(cout * cin * K), 33);
    auto b = random_vector(static_cast<size_t>(cout), 34);
    std::vector<float> joined;  // [left | x] per channel
    for (int c = 0; c < cin; ++c) {
      joined.insert(joined.end(), left.begin() + c * H, left.begin() + (c + 1) * H);
      joined.insert(joined.end(), x.begin() + c * T, x.begin() + (c + 1) * T);
    }
    std::vector<float> y(static_cast<size_t>(cout * T) + 1, 7.0f), ref(cout * T);
    ops::Conv1dParams p;
    p.dilation = dil;
    ops::conv1d_ref(joined.data(), cin, H + T, w.data(), cout, K, b.data(), p, ref.data());
    ops::conv1d_direct(&pool, x.data(), cin, T, w.data(), cout, K, dil, b.data(), {left.data(), H},
                       y.data());
    EXPECT_LT(max_abs_diff(std::vector<float>(y.begin(), y.end() - 1), ref), 1e-4);
    EXPECT_EQ(y.back(), 7.0f);  // nothing written past the output
    p.pad_left = H;             // no history: zeros
    ops::conv1d_ref(x.data(), cin, T, w.data(), cout, K, nullptr, p, ref.data());
    ops::conv1d_direct(&pool, x.data(), cin, T, w.data(), cout, K, dil, nullptr, {}, y.data());
    EXPECT_LT(max_abs_diff(std::vector<float>(y.begin(), y.end() - 1), ref), 1e-4);
  }
  std::vector<float> v(64, 1.0f);
  EXPECT_THROW(ops::conv1d_direct(nullptr, v.data(), 1, 8, v.data(), 1, 3, 1, nullptr,
                                  {v.data(), 1}, v.data()),
               Error);  // a history of 1 sample for a kernel that needs 2
}

TEST(Conv1d, ReflectPaddingMirrorsWithoutRepeatingTheEdge) {
  // Identity kernel tap at k = 0 reads the padded input directly: [x2 x1 | x0 x1 x2 x3 | x2 x1].
  const std::vector<float> x = {10, 11, 12, 13}, w = {1, 0, 0, 0, 0};
  ops::Conv1dParams p{1, 1, 1, 2, 2, ops::PadMode::kReflect};
  std::vector<float> y(4);
  ops::conv1d(nullptr, x.data(), 1, 4, w.data(), 1, 5, nullptr, p, y.data());
  EXPECT_EQ(y, (std::vector<float>{12, 11, 10, 11}));
  ops::Conv1dParams too_long{1, 1, 1, 4, 4, ops::PadMode::kReflect};
  EXPECT_THROW(ops::conv1d(nullptr, x.data(), 1, 4, w.data(), 1, 5, nullptr, too_long, y.data()),
               Error);
}

TEST(Conv1d, OutputLengthFollowsPaddingStrideAndDilation) {
  EXPECT_EQ(ops::conv1d_out_len(100, 7, {1, 1, 1, 6, 0, ops::PadMode::kZeros}), 100);
  EXPECT_EQ(ops::conv1d_out_len(100, 8, {4, 1, 1, 4, 0, ops::PadMode::kZeros}), 25);
  EXPECT_EQ(ops::conv1d_out_len(10, 7, {1, 9, 1, 0, 0, ops::PadMode::kZeros}), 0);
}

TEST(ConvTranspose1d, MatchesReference) {
  ThreadPool pool(2);
  struct Case {
    int64_t cin, cout, T;
    int K, stride;
    int64_t trim;
  };
  for (const Case& c :
       {Case{5, 4, 30, 16, 8, 8}, Case{6, 6, 17, 2, 2, 0}, Case{3, 2, 3000, 6, 3, 3}}) {
    auto x = random_vector(static_cast<size_t>(c.cin * c.T), 31);
    auto w = random_vector(static_cast<size_t>(c.cin * c.cout * c.K), 32);
    auto b = random_vector(static_cast<size_t>(c.cout), 33);
    const int64_t To = (c.T - 1) * c.stride + c.K - c.trim;
    std::vector<float> y(c.cout * To), ref(c.cout * To);
    ops::conv_transpose1d(&pool, x.data(), c.cin, c.T, w.data(), c.cout, c.K, c.stride, b.data(),
                          c.trim, y.data());
    ops::conv_transpose1d_ref(x.data(), c.cin, c.T, w.data(), c.cout, c.K, c.stride, b.data(),
                              c.trim, ref.data());
    EXPECT_LT(max_abs_diff(y, ref), 1e-4) << "K=" << c.K;
  }
}

// Weights packed once at load give the same convolution as plain weights, bit
// for bit (the kernel sees the same panels), and match the reference: padding
// modes, dilation, pointwise, accumulating, weight rows across the 12-row panels.
TEST(PackedConv1d, EqualsPlainConvolutionAndMatchesReference) {
  if (!ops::packed_convolutions_available()) GTEST_SKIP() << "no AVX2 or AVX-512 (IZWI_ISA)";
  ThreadPool pool(2);
  const ConvCase cases[] = {
      {3, 5, 50, 7, 1, 1, 1, 6, 0, ops::PadMode::kZeros},
      {6, 13, 77, 7, 1, 9, 1, 54, 0, ops::PadMode::kZeros},     // dilated causal
      {4, 25, 33, 4, 1, 1, 1, 2, 1, ops::PadMode::kReplicate},  // replicate padding
      {10, 7, 64, 1, 1, 1, 1, 0, 0, ops::PadMode::kZeros},      // pointwise
      {40, 30, 700, 7, 1, 3, 1, 0, 0, ops::PadMode::kZeros},    // unpadded (a streamed block)
  };
  for (const auto& c : cases)
    for (bool accumulate : {false, true}) {
      ops::Conv1dParams p{c.stride, c.dilation, c.groups, c.pl, c.pr, c.mode};
      p.accumulate = accumulate;
      auto x = random_vector(static_cast<size_t>(c.cin * c.T), 41);
      auto w = random_vector(static_cast<size_t>(c.cout * c.cin * c.K), 42);
      auto b = random_vector(static_cast<size_t>(c.cout), 43);
      const int64_t To = ops::conv1d_out_len(c.T, c.K, p);
      std::vector<float> y = random_vector(static_cast<size_t>(c.cout * To), 44), plain(y), ref(y);
      const ops::PackedConvWeights packed = ops::pack_conv1d_f32(w.data(), c.cout, c.cin, c.K);
      ops::conv1d_packed(&pool, x.data(), c.cin, c.T, packed, c.cout, c.K, b.data(), p, y.data());
      ops::conv1d(&pool, x.data(), c.cin, c.T, w.data(), c.cout, c.K, b.data(), p, plain.data());
      ops::conv1d_ref(x.data(), c.cin, c.T, w.data(), c.cout, c.K, b.data(), p, ref.data());
      if (c.cout >= ops::kDirectConvMaxOut) {  // below it conv1d sums directly, in its own order
        EXPECT_EQ(y, plain) << c.cin << " -> " << c.cout << " K=" << c.K << " acc=" << accumulate;
      }
      EXPECT_LT(max_abs_diff(y, plain), 1e-4) << c.cin << " -> " << c.cout << " K=" << c.K;
      EXPECT_LT(max_abs_diff(y, ref), 1e-4) << c.cin << " -> " << c.cout << " K=" << c.K;
    }
}

TEST(PackedConvTranspose1d, EqualsPlainConvolutionAndMatchesReference) {
  if (!ops::packed_convolutions_available()) GTEST_SKIP() << "no AVX2 or AVX-512 (IZWI_ISA)";
  ThreadPool pool(2);
  struct Case {
    int64_t cin, cout, T;
    int K, stride;
    int64_t trim;
  };
  for (const Case& c : {Case{5, 4, 30, 16, 8, 8}, Case{6, 6, 17, 2, 2, 0},
                        Case{48, 7, 40, 10, 5, 5}, Case{3, 2, 3000, 6, 3, 3}}) {
    auto x = random_vector(static_cast<size_t>(c.cin * c.T), 51);
    auto w = random_vector(static_cast<size_t>(c.cin * c.cout * c.K), 52);
    auto b = random_vector(static_cast<size_t>(c.cout), 53);
    const int64_t To = (c.T - 1) * c.stride + c.K - c.trim;
    std::vector<float> y(c.cout * To), plain(y.size()), ref(y.size());
    const auto packed = ops::pack_conv_transpose1d_f32(w.data(), c.cin, c.cout, c.K);
    ops::conv_transpose1d_packed(&pool, x.data(), c.cin, c.T, packed, c.cout, c.K, c.stride,
                                 b.data(), c.trim, y.data());
    ops::conv_transpose1d(&pool, x.data(), c.cin, c.T, w.data(), c.cout, c.K, c.stride, b.data(),
                          c.trim, plain.data());
    ops::conv_transpose1d_ref(x.data(), c.cin, c.T, w.data(), c.cout, c.K, c.stride, b.data(),
                              c.trim, ref.data());
    EXPECT_EQ(y, plain) << "K=" << c.K;
    EXPECT_LT(max_abs_diff(y, ref), 1e-4) << "K=" << c.K;
  }
}

TEST(PackedLinear, MatchesReferenceForEveryRowCount) {
  if (!ops::packed_convolutions_available()) GTEST_SKIP() << "no AVX2 or AVX-512 (IZWI_ISA)";
  ThreadPool pool(2);
  const int64_t N = 70, K = 93;
  Tensor W = make_weight(DType::kF32, N, K, 68);
  const auto packed = ops::pack_conv1d_f32(W.f32(), N, K, 1);
  auto bias = random_vector(static_cast<size_t>(N), 69);
  for (int64_t M : {1, 2, 5, 12, 13, 33, 100}) {
    auto x = random_vector(static_cast<size_t>(M * K), 70);
    std::vector<float> y(static_cast<size_t>(M * N + 16), 9.0f), ref(static_cast<size_t>(M * N));
    ops::linear_packed(&pool, x.data(), M, packed, bias.data(), y.data());
    ops::linear_ref(x.data(), M, K, W, bias.data(), ref.data());
    for (size_t i = ref.size(); i < y.size(); ++i) ASSERT_EQ(y[i], 9.0f) << "guard " << i;
    y.resize(ref.size());
    EXPECT_LT(max_abs_diff(y, ref), 2e-5) << "M=" << M;
    // Each row's sums do not depend on the rows beside it (a streamed decode
    // cuts the same rows into other blocks).
    std::vector<float> first(static_cast<size_t>(N));
    ops::linear_packed(&pool, x.data(), 1, packed, bias.data(), first.data());
    EXPECT_TRUE(std::equal(first.begin(), first.end(), y.begin())) << "M=" << M;
  }
  std::vector<float> x(K), y(N);
  EXPECT_THROW(ops::linear_packed(nullptr, x.data(), 1, ops::pack_conv1d_f32(W.f32(), N, 31, 3),
                                  nullptr, y.data()),
               Error);
}

TEST(PackedConv1d, RejectsWeightsOfAnotherShapeAndStridedConvolutions) {
  if (!ops::packed_convolutions_available()) GTEST_SKIP() << "no AVX2 or AVX-512 (IZWI_ISA)";
  const auto w = random_vector(16 * 32 * 3, 54);
  const auto packed = ops::pack_conv1d_f32(w.data(), 16, 32, 3);
  std::vector<float> x(32 * 10), y(16 * 10);
  ops::Conv1dParams p{1, 1, 1, 2, 0, ops::PadMode::kZeros};
  try {
    ops::conv1d_packed(nullptr, x.data(), 32, 10, packed, 16, 2, nullptr, p, y.data());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected packed weights for 32 -> 16 channels, kernel 2, "
                                         "got 32 -> 16, kernel 3"),
              std::string::npos)
        << e.what();
  }
  ops::Conv1dParams strided{2, 1, 1, 1, 0, ops::PadMode::kZeros};
  EXPECT_THROW(
      ops::conv1d_packed(nullptr, x.data(), 32, 10, packed, 16, 3, nullptr, strided, y.data()),
      Error);
}

// The bf16 (AMX or AVX512-BF16) convolutions against the f32 reference run on inputs and
// weights rounded to bf16 first: each product is then exact in f32, so only
// the summation order differs.
std::vector<float> rounded_to_bf16(std::vector<float> v) {
  for (float& f : v) f = bf16_to_f32(f32_to_bf16(f));
  return v;
}

#define NEED_BF16_CONVOLUTIONS()           \
  if (!ops::bf16_convolutions_available()) \
  GTEST_SKIP() << "this CPU (or OS) offers no AMX-BF16 or AVX512-BF16"

TEST(Bf16Conv1d, MatchesReferenceOnRoundedInputs) {
  NEED_BF16_CONVOLUTIONS();
  ThreadPool pool(2);
  const ConvCase cases[] = {
      {32, 16, 50, 7, 1, 3, 1, 18, 0, ops::PadMode::kZeros},     // dilated causal
      {64, 40, 300, 7, 1, 1, 1, 6, 0, ops::PadMode::kZeros},     // several chunks, column tail
      {96, 48, 33, 1, 1, 1, 1, 0, 0, ops::PadMode::kZeros},      // pointwise, row tails
      {32, 1, 123, 7, 1, 1, 1, 3, 3, ops::PadMode::kZeros},      // one output channel, both pads
      {32, 16, 70001, 3, 1, 9, 1, 18, 0, ops::PadMode::kZeros},  // several time windows
      // AVX512-BF16 work items of 48 channels (8-row tiles), then 16 (12-row tiles)
      {64, 112, 93, 3, 1, 1, 1, 2, 0, ops::PadMode::kZeros},
      {32, 24, 45, 1, 1, 1, 1, 0, 0, ops::PadMode::kZeros},  // two panels, the second partial
  };
  for (const auto& c : cases) {
    ops::Conv1dParams p{c.stride, c.dilation, c.groups, c.pl, c.pr, c.mode};
    auto x = rounded_to_bf16(random_vector(static_cast<size_t>(c.cin * c.T), 51));
    auto w = rounded_to_bf16(random_vector(static_cast<size_t>(c.cout * c.cin * c.K), 52));
    auto b = random_vector(static_cast<size_t>(c.cout), 53);
    const int64_t To = ops::conv1d_out_len(c.T, c.K, p);
    std::vector<float> y(c.cout * To, 7.0f), ref(c.cout * To);
    const auto wb = ops::pack_conv1d_bf16(w.data(), c.cout, c.cin, c.K);
    ops::conv1d_bf16(&pool, x.data(), c.cin, c.T, wb, c.cout, c.K, b.data(), p, y.data());
    ops::conv1d_ref(x.data(), c.cin, c.T, w.data(), c.cout, c.K, b.data(), p, ref.data());
    EXPECT_LT(max_abs_diff(y, ref), 2e-5 * std::sqrt(c.cin * c.K))
        << "cin=" << c.cin << " cout=" << c.cout << " K=" << c.K << " T=" << c.T;
  }
}

TEST(Bf16Conv1d, RoundsUnroundedInputsToBf16) {
  // Unrounded inputs differ from the f32 result by about bf16's 2^-9 per
  // factor: far more than summation noise, far less than a wrong product.
  NEED_BF16_CONVOLUTIONS();
  const int64_t cin = 32, cout = 16, T = 64;
  auto x = random_vector(static_cast<size_t>(cin * T), 54);
  auto w = random_vector(static_cast<size_t>(cout * cin * 3), 55);
  ops::Conv1dParams p{1, 1, 1, 2, 0, ops::PadMode::kZeros};
  std::vector<float> y(cout * T), ref(cout * T);
  ops::conv1d_bf16(nullptr, x.data(), cin, T, ops::pack_conv1d_bf16(w.data(), cout, cin, 3), cout,
                   3, nullptr, p, y.data());
  ops::conv1d_ref(x.data(), cin, T, w.data(), cout, 3, nullptr, p, ref.data());
  const double d = max_abs_diff(y, ref);
  EXPECT_GT(d, 1e-5);
  EXPECT_LT(d, 0.05);
}

// A random kernel-K convolution packed for bf16, with a bias and the SnakeBeta
// of its input (alpha > 0, as exp of the checkpoint's log scale).
struct RandomBf16Conv {
  std::vector<float> b, alpha, inv_beta;
  ops::Bf16ConvWeights packed;
  ops::InputSnake snake() const { return {alpha.data(), inv_beta.data()}; }
};

RandomBf16Conv random_bf16_conv(int64_t cin, int64_t cout, int K, uint32_t seed) {
  RandomBf16Conv c;
  const auto w = random_vector(static_cast<size_t>(cout * cin * K), seed);
  c.b = random_vector(static_cast<size_t>(cout), seed + 1);
  c.packed = ops::pack_conv1d_bf16(w.data(), cout, cin, K);
  c.alpha = random_vector(static_cast<size_t>(cin), seed + 2);
  for (float& a : c.alpha) a = std::exp(a);
  c.inv_beta = random_vector(static_cast<size_t>(cin), seed + 3);
  return c;
}

// A stream's history read in place of the left padding (LeftContext) gives the
// convolution of [history | x] without padding, bit for bit: the same bf16
// inputs in the same time-major rows. History longer than the padding, equal
// to it, and a block shorter than the history (a 1-frame block of a stream).
TEST(Bf16Conv1d, LeftContextEqualsTheConcatenatedSignal) {
  NEED_BF16_CONVOLUTIONS();
  ThreadPool pool(2);
  const int64_t cin = 64, cout = 48, K = 7, dilation = 3, H = (K - 1) * dilation;
  const RandomBf16Conv conv = random_bf16_conv(cin, cout, K, 56);
  const auto& wb = conv.packed;
  const auto& b = conv.b;
  for (int64_t extra : {0, 5})
    for (int64_t T : {4, 40, 333}) {
      const int64_t L = H + extra;
      auto hist = random_vector(static_cast<size_t>(cin * L), 60), x = random_vector(cin * T, 61);
      std::vector<float> cat(static_cast<size_t>(cin * (L + T)));
      for (int64_t c = 0; c < cin; ++c) {
        std::copy_n(hist.data() + c * L, L, cat.data() + c * (L + T));
        std::copy_n(x.data() + c * T, T, cat.data() + c * (L + T) + L);
      }
      ops::Conv1dParams in_place{1, dilation, 1, H, 0, ops::PadMode::kZeros};
      ops::Conv1dParams unpadded{1, dilation, 1, 0, 0, ops::PadMode::kZeros};
      const ops::InputSnake snake = conv.snake();
      std::vector<float> got(cout * T, 7.0f), whole(cout * (L + T - H));
      ops::conv1d_bf16(&pool, x.data(), cin, T, wb, cout, K, b.data(), in_place, got.data(), snake,
                       {hist.data(), L});
      ops::conv1d_bf16(&pool, cat.data(), cin, L + T, wb, cout, K, b.data(), unpadded, whole.data(),
                       snake);
      // whole's last T outputs per channel are the block's.
      for (int64_t co = 0; co < cout; ++co)
        for (int64_t t = 0; t < T; ++t)
          ASSERT_EQ(got[co * T + t], whole[co * (L + T - H) + (L - H) + t])
              << "extra=" << extra << " T=" << T << " co=" << co << " t=" << t;
    }
  // A history shorter than the padding it stands for is refused.
  std::vector<float> x(cin * 8), y(cout * 8), hist(cin * (H - 1));
  ops::Conv1dParams p{1, dilation, 1, H, 0, ops::PadMode::kZeros};
  EXPECT_THROW(ops::conv1d_bf16(nullptr, x.data(), cin, 8, wb, cout, K, nullptr, p, y.data(), {},
                                {hist.data(), H - 1}),
               Error);
}

// p.accumulate adds each output to y as it is stored: bit for bit what adding
// the written outputs afterwards gives (the codec's residual units did that in
// a second pass), over several work items and threads, with a stream's left
// context and a fused SnakeBeta.
TEST(Bf16Conv1d, AccumulateEqualsAddingTheOutputAfterwards) {
  NEED_BF16_CONVOLUTIONS();
  ThreadPool pool(2);
  const int64_t cin = 64, cout = 112, K = 7, dilation = 3, H = (K - 1) * dilation;
  const RandomBf16Conv conv = random_bf16_conv(cin, cout, K, 62);
  const auto& wb = conv.packed;
  const auto& b = conv.b;
  const ops::InputSnake snake = conv.snake();
  for (int64_t T : {5, 300}) {
    auto x = random_vector(static_cast<size_t>(cin * T), 66);
    auto hist = random_vector(static_cast<size_t>(cin * H), 67);
    const auto before = random_vector(static_cast<size_t>(cout * T), 68);
    ops::Conv1dParams p{1, dilation, 1, H, 0, ops::PadMode::kZeros};
    std::vector<float> out(static_cast<size_t>(cout * T));
    ops::conv1d_bf16(&pool, x.data(), cin, T, wb, cout, K, b.data(), p, out.data(), snake,
                     {hist.data(), H});
    std::vector<float> y = before;
    p.accumulate = true;
    ops::conv1d_bf16(&pool, x.data(), cin, T, wb, cout, K, b.data(), p, y.data(), snake,
                     {hist.data(), H});
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_EQ(y[i], before[i] + out[i]) << "T=" << T << " i=" << i;
  }
}

TEST(Bf16Conv1d, RejectsWhatItCannotRun) {
  NEED_BF16_CONVOLUTIONS();
  std::vector<float> w(16 * 32 * 3), x(32 * 10), y(16 * 10);
  const auto wb = ops::pack_conv1d_bf16(w.data(), 16, 32, 3);
  ops::Conv1dParams p{1, 1, 1, 2, 0, ops::PadMode::kZeros};
  EXPECT_THROW(ops::conv1d_bf16(nullptr, x.data(), 32, 10, wb, 16, 2, nullptr, p, y.data()),
               Error);  // kernel 2 against weights packed for 3
  ops::Conv1dParams strided{2, 1, 1, 2, 0, ops::PadMode::kZeros};
  EXPECT_THROW(ops::conv1d_bf16(nullptr, x.data(), 32, 10, wb, 16, 3, nullptr, strided, y.data()),
               Error);
  EXPECT_THROW(ops::pack_conv1d_bf16(w.data(), 16, 24, 3), Error);  // 24 input channels
}

TEST(Bf16ConvTranspose1d, MatchesReferenceOnRoundedInputs) {
  NEED_BF16_CONVOLUTIONS();
  ThreadPool pool(2);
  struct Case {
    int64_t cin, cout, T;
    int K, stride;
    int64_t trim;
  };
  for (const Case& c : {Case{64, 16, 30, 16, 8, 8}, Case{32, 7, 17, 6, 3, 3},
                        Case{96, 32, 300, 10, 5, 5}, Case{32, 3, 20000, 4, 2, 2}}) {
    auto x = rounded_to_bf16(random_vector(static_cast<size_t>(c.cin * c.T), 56));
    auto w = rounded_to_bf16(random_vector(static_cast<size_t>(c.cin * c.cout * c.K), 57));
    auto b = random_vector(static_cast<size_t>(c.cout), 58);
    const int64_t To = (c.T - 1) * c.stride + c.K - c.trim;
    std::vector<float> y(c.cout * To), ref(c.cout * To);
    const auto wt = ops::pack_conv_transpose1d_bf16(w.data(), c.cin, c.cout, c.K);
    ops::conv_transpose1d_bf16(&pool, x.data(), c.cin, c.T, wt, c.cout, c.K, c.stride, b.data(),
                               c.trim, y.data());
    ops::conv_transpose1d_ref(x.data(), c.cin, c.T, w.data(), c.cout, c.K, c.stride, b.data(),
                              c.trim, ref.data());
    EXPECT_LT(max_abs_diff(y, ref), 2e-5 * std::sqrt(c.cin)) << "K=" << c.K << " T=" << c.T;
  }
}

TEST(Bf16Linear, MatchesReferenceOnRoundedInputs) {
  NEED_BF16_CONVOLUTIONS();
  ThreadPool pool(2);
  const int64_t K = 96;
  for (int64_t N : {5, 16, 17, 40})
    for (int64_t M : {1, 3, 4, 5, 12, 13, 33, 70}) {  // the row tiles' edges (12, 4; AMX 16, 32)
      Tensor W = make_weight(DType::kF32, N, K, 61);
      auto w = rounded_to_bf16(std::vector<float>(W.f32(), W.f32() + N * K));
      auto x = rounded_to_bf16(random_vector(static_cast<size_t>(M * K), 62));
      auto bias = random_vector(static_cast<size_t>(N), 63);
      // Guard values after y: nothing is written past M rows.
      std::vector<float> y(static_cast<size_t>(M * N + 16), 9.0f), ref(static_cast<size_t>(M * N));
      ops::linear_bf16(&pool, x.data(), M, ops::pack_conv1d_bf16(w.data(), N, K, 1), bias.data(),
                       y.data());
      ops::linear_ref(x.data(), M, K, Tensor::owned_f32({N, K}, w), bias.data(), ref.data());
      for (size_t i = ref.size(); i < y.size(); ++i) ASSERT_EQ(y[i], 9.0f) << "guard " << i;
      y.resize(ref.size());
      EXPECT_LT(max_abs_diff(y, ref), 2e-5 * std::sqrt(K)) << "N=" << N << " M=" << M;
    }
  // Weights packed as a wider convolution are refused.
  const auto w3 = random_vector(16 * 32 * 3, 64);
  std::vector<float> x(32), y(16);
  EXPECT_THROW(ops::linear_bf16(nullptr, x.data(), 1, ops::pack_conv1d_bf16(w3.data(), 16, 32, 3),
                                nullptr, y.data()),
               Error);
}

// The bf16 kernels' time-major input: every padding case (before, inside, past
// the signal), a left context (a stream's history) shorter and longer than the
// padding before the signal, row counts off the 16-row blocks, SnakeBeta (with
// an argument beyond the fast sine's range on one channel), and guard values
// after it.
TEST(Bf16TimeMajor, MatchesReferenceIncludingPaddingAndSnake) {
  NEED_BF16_CONVOLUTIONS();
  const int64_t C = 64, T = 50;
  const auto x = random_vector(static_cast<size_t>(C * T), 71);
  auto alpha = random_vector(static_cast<size_t>(C), 72), inv_beta = random_vector(C, 73);
  for (float& a : alpha) a = std::exp(a);
  alpha[5] = 1e4f;  // the exact libm path
  for (int64_t left_len : {0, 9, 30}) {
    const auto left = random_vector(static_cast<size_t>(C * left_len + 1), 74);
    for (bool snake : {false, true})
      for (int64_t first : {-20, -3, 0, 7, 40})
        for (int64_t rows : {1, 15, 16, 17, 33, 90}) {
          std::vector<uint16_t> out(static_cast<size_t>(rows * C + 32), 0xABCD);
          cpu::amx_time_major(x.data(), C, T, first, rows, snake ? alpha.data() : nullptr,
                              snake ? inv_beta.data() : nullptr, out.data(),
                              left_len ? left.data() : nullptr, left_len);
          for (size_t i = static_cast<size_t>(rows * C); i < out.size(); ++i)
            ASSERT_EQ(out[i], 0xABCD) << "guard " << i;
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < C; ++c) {
              const int64_t pos = first + r;
              float v = pos >= 0 && pos < T           ? x[c * T + pos]
                        : pos < 0 && pos >= -left_len ? left[c * left_len + left_len + pos]
                                                      : 0.0f;
              if (snake) {
                const float s = std::sin(v * alpha[c]);
                v += inv_beta[c] * s * s;
              }
              const float got = bf16_to_f32(out[r * C + c]);
              // One bf16 step at most: the fast sine may round the other way.
              ASSERT_LE(std::abs(got - v), std::abs(v) / 128.0 + 1e-6)
                  << "left=" << left_len << " snake=" << snake << " first=" << first
                  << " rows=" << rows << " r=" << r << " c=" << c;
              if (!snake) {
                ASSERT_EQ(out[r * C + c], f32_to_bf16(v));
              }
            }
        }
  }
}

// The AVX512-BF16 block itself (the ops above run AMX instead where a CPU has
// both): every edge of its 12- and 4-row tiles and of its two 16-channel
// panels, taps and dilation, a block starting inside the signal, guard values
// around the block it writes, and outputs written or added to what is there.
TEST(Avx512Bf16ConvBlock, MatchesReferenceAtEveryEdge) {
  if (!cpu::avx512_bf16_available()) GTEST_SKIP() << "this CPU has no AVX512-BF16 (or IZWI_ISA)";
  const int64_t Cin = 64, Cout = 48, T = 96;
  for (int taps : {1, 3})
    for (int64_t dilation : {1, 2}) {
      auto w = rounded_to_bf16(random_vector(static_cast<size_t>(Cout * Cin * taps), 65));
      std::vector<uint16_t> packed(cpu::amx_packed_b_elems(Cin * taps, Cout));
      cpu::amx_pack_conv_weights(w.data(), Cout, Cin, taps, packed.data());
      // Time-major bf16 signal with room for the halo after the last row.
      const int64_t rows_in = T + (taps - 1) * dilation;
      auto xf = rounded_to_bf16(random_vector(static_cast<size_t>(rows_in * Cin), 66));
      std::vector<uint16_t> xtm(xf.size());
      for (size_t i = 0; i < xf.size(); ++i) xtm[i] = f32_to_bf16(xf[i]);
      auto bias = random_vector(static_cast<size_t>(Cout), 67);
      for (int64_t t0 : {0, 5})
        for (int64_t rows : {1, 4, 11, 12, 13, 27, 64})
          for (int64_t n0 : {0, 16, 32})
            for (int64_t cols : {1, 15, 16, 17, 32})
              for (bool accumulate : {false, true}) {
                if (n0 + cols > Cout || t0 + rows > T) continue;
                std::vector<float> y(static_cast<size_t>(Cout * T), 9.0f);
                cpu::avx512_bf16_conv_block(xtm.data(), Cin, taps, dilation, t0, rows,
                                            packed.data(), n0, cols, bias.data(), y.data(), T,
                                            accumulate);
                double worst = 0;
                for (int64_t n = 0; n < Cout; ++n)
                  for (int64_t t = 0; t < T; ++t) {
                    const float got = y[n * T + t];
                    if (n < n0 || n >= n0 + cols || t < t0 || t >= t0 + rows) {
                      ASSERT_EQ(got, 9.0f) << "wrote outside the block at n=" << n << " t=" << t;
                      continue;
                    }
                    double s = bias[n] + (accumulate ? 9.0 : 0.0);
                    for (int j = 0; j < taps; ++j)
                      for (int64_t ci = 0; ci < Cin; ++ci)
                        s += static_cast<double>(w[(n * Cin + ci) * taps + j]) *
                             xf[(t + j * dilation) * Cin + ci];
                    worst = std::max(worst, std::abs(s - got));
                  }
                EXPECT_LT(worst, 2e-5 * std::sqrt(Cin * taps))
                    << "taps=" << taps << " dilation=" << dilation << " t0=" << t0
                    << " rows=" << rows << " n0=" << n0 << " cols=" << cols
                    << " accumulate=" << accumulate;
              }
    }
}

TEST(SnakeBeta, ThreadedMatchesReference) {
  ThreadPool pool(2);
  const int64_t C = 9, T = 301;
  auto x = random_vector(static_cast<size_t>(C * T), 41, -3, 3), ref = x;
  auto alpha = random_vector(C, 42, 0.2f, 3.0f), inv_beta = random_vector(C, 43, 0.5f, 2.0f);
  ops::snake_beta(&pool, x.data(), C, T, alpha.data(), inv_beta.data());
  ops::snake_beta_ref(ref.data(), C, T, alpha.data(), inv_beta.data());
  EXPECT_LT(max_abs_diff(x, ref), 5e-6);
}

TEST(Attention, MatchesReferenceWithWindowAndGroupedHeads) {
  ThreadPool pool(2);
  for (int64_t window : {0, 1, 8, 72}) {
    const int64_t T = 40, H = 4, KV = 2, D = 16;
    auto q = random_vector(static_cast<size_t>(T * H * D), 51),
         k = random_vector(static_cast<size_t>(T * KV * D), 52),
         v = random_vector(static_cast<size_t>(T * KV * D), 53);
    std::vector<float> out(T * H * D), ref(T * H * D);
    ops::attention_causal(&pool, q.data(), k.data(), v.data(), T, H, KV, D, window, out.data());
    ops::attention_causal_ref(q.data(), k.data(), v.data(), T, H, KV, D, window, ref.data());
    EXPECT_LT(max_abs_diff(out, ref), 1e-5) << "window=" << window;
  }
}

TEST(Attention, CachedMatchesReferenceWithMaskAndGroups) {
  ThreadPool pool(2);
  const int64_t S = 37, H = 8, KV = 2, D = 32;
  auto k = random_vector(static_cast<size_t>(S * KV * D), 71),
       v = random_vector(static_cast<size_t>(S * KV * D), 72);
  std::vector<uint8_t> valid(S, 1);
  valid[0] = valid[1] = valid[2] = 0;  // left padding
  for (int64_t T : {1, 4, 16, 30}) {   // from 16 queries: a head at a time through GEMMs
    auto q = random_vector(static_cast<size_t>(T * H * D), 73);
    std::vector<float> out(T * H * D), ref(T * H * D);
    ops::attention_cached(&pool, q.data(), k.data(), v.data(), T, S, H, KV, D, valid.data(),
                          out.data());
    ops::attention_cached_ref(q.data(), k.data(), v.data(), T, S, H, KV, D, valid.data(),
                              ref.data());
    EXPECT_LT(max_abs_diff(out, ref), 1e-5) << "T=" << T;
  }
  // Prefill through the cache equals plain causal attention.
  const int64_t T = S;
  auto q = random_vector(static_cast<size_t>(T * H * D), 74);
  std::vector<float> a(T * H * D), b(T * H * D);
  ops::attention_cached(&pool, q.data(), k.data(), v.data(), T, S, H, KV, D, nullptr, a.data());
  ops::attention_causal(&pool, q.data(), k.data(), v.data(), T, H, KV, D, 0, b.data());
  EXPECT_LT(max_abs_diff(a, b), 1e-5);
  // With a sliding window (the codec decoder's streaming transformer): against
  // the reference, and a whole prefill against windowed causal attention.
  for (int64_t window : {1, 5, 36}) {
    for (int64_t t : {1, 6, 20}) {
      std::vector<float> out(t * H * D, 5.0f), ref(t * H * D);
      // The masked keys 0..2 leave the first queries no visible key under a
      // window of 1: zeros.
      ops::attention_cached(&pool, q.data(), k.data(), v.data(), t, S, H, KV, D, valid.data(),
                            out.data(), window);
      ops::attention_cached_ref(q.data(), k.data(), v.data(), t, S, H, KV, D, valid.data(),
                                ref.data(), window);
      EXPECT_LT(max_abs_diff(out, ref), 1e-5) << "window=" << window << " T=" << t;
    }
    ops::attention_cached(&pool, q.data(), k.data(), v.data(), T, S, H, KV, D, nullptr, a.data(),
                          window);
    ops::attention_causal(&pool, q.data(), k.data(), v.data(), T, H, KV, D, window, b.data());
    EXPECT_LT(max_abs_diff(a, b), 1e-5) << "window=" << window;
  }
}

// Several streams' queries in one call (a batched step): each run's output is,
// bit for bit, what attention_cached gives it alone, whatever the other runs'
// lengths and masks, and a run with no visible key gets zeros.
TEST(Attention, CachedRunsEqualEachRunAlone) {
  ThreadPool pool(2);
  const int64_t H = 8, KV = 2, D = 32;
  const int64_t lengths[] = {5, 37, 2, 19};
  for (int64_t T : {1, 2, 16}) {  // 16: each run through the GEMMs
    std::vector<std::vector<float>> q, k, v, out, alone;
    std::vector<std::vector<uint8_t>> valid;
    std::vector<ops::AttentionRun> runs;
    for (int r = 0; r < 4; ++r) {
      const int64_t S = std::max(lengths[r], T);
      q.push_back(random_vector(static_cast<size_t>(T * H * D), 80 + r));
      k.push_back(random_vector(static_cast<size_t>(S * KV * D), 90 + r));
      v.push_back(random_vector(static_cast<size_t>(S * KV * D), 100 + r));
      valid.emplace_back(S, 1);
      if (r == 1) valid.back()[0] = valid.back()[1] = 0;                   // left padding
      if (r == 2) std::fill(valid.back().begin(), valid.back().end(), 0);  // nothing visible
      out.emplace_back(T * H * D, 7.0f);
      alone.emplace_back(T * H * D, 3.0f);
    }
    for (int r = 0; r < 4; ++r) {
      const int64_t S = std::max(lengths[r], T);
      runs.push_back({q[r].data(), k[r].data(), v[r].data(), S, valid[r].data(), out[r].data()});
      ops::attention_cached(&pool, q[r].data(), k[r].data(), v[r].data(), T, S, H, KV, D,
                            valid[r].data(), alone[r].data());
    }
    ops::attention_cached_runs(&pool, runs.data(), 4, T, H, KV, D);
    for (int r = 0; r < 4; ++r) {
      EXPECT_EQ(out[r], alone[r]) << "T=" << T << " run " << r;
      if (r == 2) {
        EXPECT_EQ(out[r], std::vector<float>(T * H * D, 0.0f));
      }
    }
  }
  // A run shorter than its queries is refused, as attention_cached refuses it.
  std::vector<float> q1(H * D * 2), kv(KV * D), o(H * D * 2);
  const ops::AttentionRun short_run{q1.data(), kv.data(), kv.data(), 1, nullptr, o.data()};
  EXPECT_THROW(ops::attention_cached_runs(&pool, &short_run, 1, 2, H, KV, D), Error);
}

// Runs over a half-precision cache (f16 bits), beside f32 ones in the same
// call: each is, bit for bit, attention_cached over its cache widened to f32,
// for a frame's rows and a prompt's (the GEMM path). Other element types are
// refused.
TEST(Attention, HalfCacheRunsAreTheWidenedCachesRuns) {
  ThreadPool pool(2);
  const int64_t H = 8, KV = 2, D = 32;
  const int64_t lengths[] = {5, 37, 2, 19};
  for (int64_t T : {1, 2, 16}) {
    std::vector<std::vector<float>> q, k, v, out, want;
    std::vector<std::vector<uint16_t>> k16, v16;
    std::vector<std::vector<uint8_t>> valid;
    std::vector<ops::AttentionRun> runs;
    for (int r = 0; r < 4; ++r) {
      const int64_t S = std::max(lengths[r], T);
      q.push_back(random_vector(static_cast<size_t>(T * H * D), 110 + r));
      k.push_back(random_vector(static_cast<size_t>(S * KV * D), 120 + r));
      v.push_back(random_vector(static_cast<size_t>(S * KV * D), 130 + r));
      k16.emplace_back(k.back().size());
      v16.emplace_back(v.back().size());
      ops::to_f16(k.back().data(), S * KV * D, k16.back().data());
      ops::to_f16(v.back().data(), S * KV * D, v16.back().data());
      if (r % 2 == 0)  // the f16 runs' reference: their caches widened
        for (size_t i = 0; i < k.back().size(); ++i) {
          k.back()[i] = f16_to_f32(k16.back()[i]);
          v.back()[i] = f16_to_f32(v16.back()[i]);
        }
      valid.emplace_back(S, 1);
      if (r == 2) valid.back()[0] = 0;
      out.emplace_back(T * H * D, 7.0f);
      want.emplace_back(T * H * D, 3.0f);
    }
    for (int r = 0; r < 4; ++r) {
      const int64_t S = std::max(lengths[r], T);
      if (r % 2 == 0)
        runs.push_back({q[r].data(), k16[r].data(), v16[r].data(), S, valid[r].data(),
                        out[r].data(), DType::kF16});
      else
        runs.push_back({q[r].data(), k[r].data(), v[r].data(), S, valid[r].data(), out[r].data()});
      ops::attention_cached(&pool, q[r].data(), k[r].data(), v[r].data(), T, S, H, KV, D,
                            valid[r].data(), want[r].data());
    }
    ops::attention_cached_runs(&pool, runs.data(), 4, T, H, KV, D);
    for (int r = 0; r < 4; ++r) EXPECT_EQ(out[r], want[r]) << "T=" << T << " run " << r;
  }
  std::vector<float> q1(H * D), o(H * D);
  std::vector<uint16_t> kv(KV * D);
  const ops::AttentionRun bf16_run{q1.data(), kv.data(), kv.data(),   1,
                                   nullptr,   o.data(),  DType::kBF16};
  EXPECT_THROW(ops::attention_cached_runs(&pool, &bf16_run, 1, 1, H, KV, D), Error);
}

TEST(Attention, WindowOfOneReturnsOwnValue) {
  const int64_t T = 5, D = 4;
  auto q = random_vector(T * D, 1), k = random_vector(T * D, 2), v = random_vector(T * D, 3);
  std::vector<float> out(T * D);
  ops::attention_causal(nullptr, q.data(), k.data(), v.data(), T, 1, 1, D, 1, out.data());
  EXPECT_LT(max_abs_diff(out, v), 1e-7);
}

TEST(Norms, LayerNormAndRmsNormMatchDefinitions) {
  const std::vector<float> x = {1, 2, 3, 4};
  const std::vector<float> w = {1, 1, 2, 1}, b = {0, 0, 0, 1};
  std::vector<float> y(4);
  ops::layer_norm(x.data(), 1, 4, w.data(), b.data(), 0.0f, y.data());
  const float sd = std::sqrt(1.25f);
  EXPECT_NEAR(y[0], -1.5f / sd, 1e-6);
  EXPECT_NEAR(y[2], 2 * 0.5f / sd, 1e-6);
  EXPECT_NEAR(y[3], 1.5f / sd + 1, 1e-6);
  ops::rms_norm(x.data(), 1, 4, w.data(), 0.0f, y.data());
  const float rms = std::sqrt(30.0f / 4);
  EXPECT_NEAR(y[1], 2 / rms, 1e-6);
  EXPECT_NEAR(y[2], 6 / rms, 1e-6);
}

// The sum of squares is split into partial sums (8 lanes, a tail): every
// element of every row must count once, whatever the width.
TEST(Norms, RmsNormOfEveryWidthMatchesALongDoubleSum) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  for (int64_t dim : {1, 7, 8, 9, 15, 128, 1023, 1024, 3072}) {
    const int64_t rows = 3;
    std::vector<float> x(static_cast<size_t>(rows * dim)), w(static_cast<size_t>(dim));
    for (float& v : x) v = nd(rng);
    for (float& v : w) v = 1.0f + 0.1f * nd(rng);
    std::vector<float> y(x.size(), -7.0f);
    ops::rms_norm(x.data(), rows, dim, w.data(), 1e-6f, y.data());
    for (int64_t r = 0; r < rows; ++r) {
      long double ss = 0;
      for (int64_t i = 0; i < dim; ++i)
        ss += static_cast<long double>(x[r * dim + i]) * x[r * dim + i];
      const long double inv = 1.0L / std::sqrt(ss / dim + 1e-6L);
      for (int64_t i = 0; i < dim; ++i) {
        const double want = static_cast<double>(w[i] * static_cast<float>(x[r * dim + i] * inv));
        ASSERT_NEAR(y[r * dim + i], want, 1e-6 * std::abs(want) + 1e-30)
            << "dim " << dim << " row " << r << " element " << i;
      }
    }
  }
}

TEST(Activations, MatchClosedForms) {
  std::vector<float> x = {-2.0f, -0.5f, 0.0f, 1.5f};
  auto g = x, s = x, e = x;
  ops::gelu_erf(g.data(), 4);
  ops::silu(s.data(), 4);
  ops::elu(nullptr, e.data(), 4);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(g[i], 0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0))), 1e-6);
    EXPECT_NEAR(s[i], x[i] / (1 + std::exp(-x[i])), 1e-6);
    EXPECT_NEAR(e[i], x[i] < 0 ? std::expm1(x[i]) : x[i], 1e-6);
  }
  // Split over a pool, ELU is still expm1 bit for bit (the encoder's codes rely on it).
  ThreadPool pool(2);
  auto big = random_vector(100003, 71, -4, 4), want = big;
  for (float& v : want)
    if (v < 0) v = std::expm1(v);
  ops::elu(&pool, big.data(), static_cast<int64_t>(big.size()));
  EXPECT_EQ(big, want);
}

TEST(Rope, RotateHalfPreservesNormAndMatchesFormula) {
  const int64_t D = 8;
  auto x = random_vector(D, 61), orig = x;
  ops::rope_rotate_half(x.data(), 1, 1, D, 3, 10000.0f);
  for (int i = 0; i < D / 2; ++i) {
    const double ang = 3.0 / std::pow(10000.0, 2.0 * i / D);
    EXPECT_NEAR(x[i], orig[i] * std::cos(ang) - orig[i + D / 2] * std::sin(ang), 1e-5);
    EXPECT_NEAR(x[i + D / 2], orig[i + D / 2] * std::cos(ang) + orig[i] * std::sin(ang), 1e-5);
  }
}

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  ThreadPool pool(3);
  for (int64_t n : {1, 2, 5, 1000}) {
    std::vector<int> hits(n, 0);
    pool.parallel_for(n, 1, [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) hits[i]++;
    });
    for (int h : hits) EXPECT_EQ(h, 1);
  }
}

// SoloWhile: while its flag is set, both kinds of loop run every index on the
// calling thread; once it is cleared (the codec thread idle) the workers join
// the next loop again, and after the guard ends the flag no longer matters.
// A loop of eight 10 ms ranges is long enough for a free worker to take some,
// even on a loaded machine.
TEST(ThreadPool, SoloWhileKeepsLoopsOnTheCallerWhileTheFlagIsSet) {
  ThreadPool pool(2);
  std::atomic<bool> busy{true};
  const std::thread::id caller = std::this_thread::get_id();
  // Indices run on a thread other than the caller, over both kinds of loop.
  auto elsewhere = [&] {
    std::atomic<int> others{0}, covered{0};
    auto body = [&](int64_t a, int64_t b) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      covered += static_cast<int>(b - a);
      if (std::this_thread::get_id() != caller) others += static_cast<int>(b - a);
    };
    pool.parallel_for(8, 1, body);
    pool.parallel_for_dynamic(8, 1, body);
    EXPECT_EQ(covered.load(), 16);
    return others.load();
  };
  {
    ThreadPool::SoloWhile solo(&pool, busy);
    EXPECT_EQ(elsewhere(), 0);
    EXPECT_THROW(ThreadPool::SoloWhile(&pool, busy), Error);  // one at a time
    busy = false;
    EXPECT_GT(elsewhere(), 0);
    busy = true;
    EXPECT_EQ(elsewhere(), 0);
  }
  EXPECT_GT(elsewhere(), 0);                     // the guard is gone, the flag with it
  ThreadPool::SoloWhile nothing(nullptr, busy);  // no pool: nothing to do
}

// Claimed chunks: every index once, in ranges no longer than the chunk that
// start on its multiples, mixed with fixed splits on the same pool; a slow
// range leaves the rest to the other threads.
TEST(ThreadPool, DynamicChunksCoverEveryIndexExactlyOnce) {
  ThreadPool pool(3);
  for (int64_t n : {1, 7, 64, 1000, 4097})
    for (int64_t chunk : {1, 16, 100, 5000}) {
      std::vector<int> hits(static_cast<size_t>(n), 0);
      std::atomic<bool> bad_range{false};
      pool.parallel_for_dynamic(n, chunk, [&](int64_t a, int64_t b) {
        if (b - a > chunk || a % chunk != 0) bad_range = true;
        for (int64_t i = a; i < b; ++i) hits[static_cast<size_t>(i)]++;
      });
      EXPECT_FALSE(bad_range) << n << " " << chunk;
      for (int h : hits) ASSERT_EQ(h, 1) << n << " " << chunk;
      std::atomic<int64_t> sum{0};
      pool.parallel_for(n, 1, [&](int64_t a, int64_t b) { sum += b - a; });
      EXPECT_EQ(sum.load(), n);
    }
  std::vector<int> hits(100, 0);
  parallel_for_dynamic(nullptr, 100, 7, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) hits[static_cast<size_t>(i)]++;
  });
  for (int h : hits) EXPECT_EQ(h, 1);

  // A worker held up in its first chunk until the other threads have run all
  // the others (which a fixed split would never let them do: it would wait
  // out the 10 s and see fewer).
  std::atomic<int> by_others{0};
  std::atomic<bool> held{false};
  const auto caller = std::this_thread::get_id();
  pool.parallel_for_dynamic(40, 1, [&](int64_t, int64_t) {
    if (std::this_thread::get_id() != caller && !held.exchange(true)) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (by_others.load() < 39 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return;
    }
    if (!held.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // let one start
    ++by_others;
  });
  EXPECT_TRUE(held.load());
  EXPECT_EQ(by_others.load(), 39);
}

// The ids of this process's threads other than the calling one.
std::vector<pid_t> other_threads() {
  std::vector<pid_t> ids;
  const pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
  if (DIR* d = opendir("/proc/self/task")) {
    while (const dirent* e = readdir(d))
      if (e->d_name[0] != '.' && std::stoi(e->d_name) != self) ids.push_back(std::stoi(e->d_name));
    closedir(d);
  }
  return ids;
}

// Workers that cannot get a core do not hold up a loop: with every thread on
// one CPU and the workers at SCHED_IDLE (they run only when nothing else wants
// the CPU), the caller runs the ranges and chunks no worker has taken and
// returns, instead of waiting for the workers to be scheduled. Under a fixed
// split each worker would run its own range (the caller 1 in 3 of them), each
// loop waiting for the idle-class threads to get the CPU.
TEST(ThreadPool, LoopsDoNotWaitForWorkersWithoutACore) {
  cpu_set_t before;
  ASSERT_EQ(sched_getaffinity(0, sizeof(before), &before), 0);
  int cpu = 0;
  while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &before)) ++cpu;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  {
    ThreadPool pool(3);
    const sched_param idle{};
    for (pid_t t : other_threads()) {
      ASSERT_EQ(sched_setaffinity(t, sizeof(one), &one), 0);
      ASSERT_EQ(sched_setscheduler(t, SCHED_IDLE, &idle), 0);
    }
    const auto caller = std::this_thread::get_id();
    int by_caller = 0, total = 0;
    std::atomic<int> by_workers{0};
    for (int loop = 0; loop < 300; ++loop) {
      std::vector<int> hits(30, 0);
      auto body = [&](int64_t a, int64_t b) {
        for (int64_t i = a; i < b; ++i) hits[static_cast<size_t>(i)]++;
        if (std::this_thread::get_id() == caller)
          ++by_caller;
        else
          ++by_workers;
      };
      if (loop % 2)
        pool.parallel_for(30, 1, body);
      else
        pool.parallel_for_dynamic(30, 10, body);
      total += 3;
      for (int h : hits) ASSERT_EQ(h, 1) << "loop " << loop;
    }
    EXPECT_EQ(by_caller + by_workers.load(), total);
    EXPECT_GE(by_caller, total * 9 / 10) << by_workers.load() << " ranges ran on workers";
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof(before), &before), 0);
}

TEST(ThreadPool, DynamicChunksPassExceptionsOnAndThePoolGoesOn) {
  ThreadPool pool(2);
  std::atomic<int64_t> done{0};
  EXPECT_THROW(pool.parallel_for_dynamic(1000, 10,
                                         [&](int64_t a, int64_t b) {
                                           if (a == 500) throw Error(ErrorKind::kInternal, "x");
                                           done += b - a;
                                         }),
               Error);
  EXPECT_EQ(done.load(), 990);  // every other chunk still ran
  std::atomic<int64_t> sum{0};
  pool.parallel_for_dynamic(64, 4, [&](int64_t a, int64_t b) { sum += b - a; });
  EXPECT_EQ(sum.load(), 64);
}

// A throw inside any range reaches the caller (never std::terminate), after
// every range has finished; the pool keeps working afterwards, also after its
// workers went to sleep between loops.
TEST(ThreadPool, ExceptionsReachTheCallerAndThePoolGoesOn) {
  ThreadPool pool(2);
  for (int64_t bad : {0, 999}) {  // in the caller's range and in a worker's
    std::atomic<int64_t> done{0};
    EXPECT_THROW(pool.parallel_for(1000, 1,
                                   [&](int64_t a, int64_t b) {
                                     if (bad >= a && bad < b)
                                       throw Error(ErrorKind::kInternal, "x");
                                     done += b - a;
                                   }),
                 Error);
    EXPECT_EQ(done.load(), 500);  // the other range ran to its end
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // workers fall asleep
  std::atomic<int64_t> sum{0};
  for (int rep = 0; rep < 1000; ++rep)
    pool.parallel_for(64, 1, [&](int64_t a, int64_t b) { sum += b - a; });
  EXPECT_EQ(sum.load(), 64000);
}

}  // namespace
}  // namespace izwi
