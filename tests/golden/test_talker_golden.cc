// Talker and code predictor against the official golden vectors.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "core/thread_pool.h"
#include "models/qwen3_tts/code_predictor.h"
#include "models/qwen3_tts/sampler.h"
#include "models/qwen3_tts/talker.h"
#include "test_util.h"
#include "tiny_model.h"

namespace izwi {
namespace {

using test::load_f32;
using test::load_i64;
using test::within_golden_tolerance;

using test::tiny;

TEST(TalkerGolden, ForwardMatchesEveryLayerInputAndLogits) {
  auto& m = tiny();
  std::vector<int64_t> shape;
  const auto x = load_f32("talker_fwd_in_embeds", &shape);
  const int64_t T = shape[0], H = shape[1];
  std::vector<int64_t> pos(T);
  for (int64_t t = 0; t < T; ++t) pos[t] = t;
  std::map<std::string, std::vector<float>> rec;
  auto state = m.talker.new_state(T);
  std::vector<float> hidden(T * H), logits(T * m.talker.vocab());
  m.talker.forward(&m.pool, x.data(), T, pos.data(), nullptr, state, hidden.data(),
                   [&](const std::string& name, const std::vector<int64_t>&, const float* d) {
                     rec[name] = std::vector<float>(d, d + T * H);
                   });
  m.talker.logits(&m.pool, hidden.data(), T, logits.data());
  EXPECT_TRUE(within_golden_tolerance(rec["hidden0"], load_f32("talker_fwd_hidden0")));
  EXPECT_TRUE(within_golden_tolerance(rec["hidden1"], load_f32("talker_fwd_hidden1")));
  EXPECT_TRUE(within_golden_tolerance(hidden, load_f32("talker_fwd_final_norm")));
  EXPECT_TRUE(within_golden_tolerance(logits, load_f32("talker_fwd_logits")));
}

TEST(TalkerGolden, LeftPaddedBatchMatchesOnUnmaskedRows) {
  auto& m = tiny();
  std::vector<int64_t> shape;
  const auto x = load_f32("talker_lp_in_embeds", &shape);
  const auto mask = load_i64("talker_lp_mask");
  const auto ref = load_f32("talker_lp_logits");
  const int64_t B = shape[0], T = shape[1], H = shape[2], V = m.talker.vocab();
  for (int64_t b = 0; b < B; ++b) {
    SCOPED_TRACE(b);
    // Positions: cumsum(mask) - 1, padded positions set to 1.
    std::vector<int64_t> pos(T);
    std::vector<uint8_t> valid(T);
    int64_t c = 0;
    for (int64_t t = 0; t < T; ++t) {
      valid[t] = mask[b * T + t] != 0;
      c += valid[t];
      pos[t] = valid[t] ? c - 1 : 1;
    }
    auto state = m.talker.new_state(T);
    std::vector<float> hidden(T * H), logits(T * V);
    m.talker.forward(&m.pool, x.data() + b * T * H, T, pos.data(), valid.data(), state,
                     hidden.data());
    m.talker.logits(&m.pool, hidden.data(), T, logits.data());
    std::vector<float> ours, want;
    for (int64_t t = 0; t < T; ++t)
      if (valid[t]) {
        ours.insert(ours.end(), logits.begin() + t * V, logits.begin() + (t + 1) * V);
        want.insert(want.end(), ref.begin() + (b * T + t) * V, ref.begin() + (b * T + t + 1) * V);
      }
    EXPECT_FALSE(ours.empty());
    EXPECT_TRUE(within_golden_tolerance(ours, want));
  }
}

TEST(CodePredictorGolden, GreedyCodesAndLogitsMatch) {
  auto& m = tiny();
  const auto hidden = load_f32("cp_in_past_hidden");
  const auto code0 = load_i64("cp_in_code0");
  std::vector<float> e0(m.talker.hidden());
  m.talker.embed_codec(static_cast<int32_t>(code0[0]), e0.data());
  auto state = m.cp.new_state();
  std::vector<int32_t> codes(15);
  std::vector<float> logits(15 * m.cp.vocab());
  m.cp.predict(
      &m.pool, hidden.data(), e0.data(), state, [](int, float* l) { return tts::argmax(l, 256); },
      codes.data(), logits.data());
  EXPECT_TRUE(within_golden_tolerance(logits, load_f32("cp_logits")));
  const auto want = load_i64("cp_codes");
  EXPECT_EQ(std::vector<int64_t>(codes.begin(), codes.end()), want);
  // The state is reused frame after frame: a second run gives the same codes.
  std::vector<int32_t> again(15);
  m.cp.predict(
      &m.pool, hidden.data(), e0.data(), state, [](int, float* l) { return tts::argmax(l, 256); },
      again.data());
  EXPECT_EQ(again, codes);
}

TEST(CodePredictorGolden, TeacherForcedLogitsMatch) {
  auto& m = tiny();
  std::vector<int64_t> shape;
  const auto ids = load_i64("cptf_in_codec_ids", &shape);
  const auto hidden = load_f32("cptf_in_hidden");
  const auto ref = load_f32("cptf_logits");
  const int64_t N = shape[0], G = shape[1], H = m.talker.hidden(), V = m.cp.vocab();
  std::vector<float> ours;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<int32_t> codes(ids.begin() + n * G, ids.begin() + (n + 1) * G);
    std::vector<float> e0(H), logits((G - 1) * V);
    m.talker.embed_codec(codes[0], e0.data());
    m.cp.teacher_forced(&m.pool, hidden.data() + n * H, e0.data(), codes.data(), logits.data());
    ours.insert(ours.end(), logits.begin(), logits.end());
  }
  EXPECT_TRUE(within_golden_tolerance(ours, ref));
}

}  // namespace
}  // namespace izwi

namespace izwi {
namespace {

TEST(TalkerState, AGrowingKvCacheGivesTheSameStepsAsAPreallocatedOne) {
  auto& m = test::tiny();
  const int64_t H = m.talker.hidden(), steps = 40;
  const auto x = test::random_vector(static_cast<size_t>(steps * H), 17);
  auto small = m.talker.new_state(1), big = m.talker.new_state(steps);
  std::vector<float> a(static_cast<size_t>(H)), b(static_cast<size_t>(H));
  for (int64_t t = 0; t < steps; ++t) {
    m.talker.forward(&m.pool, x.data() + t * H, 1, &t, nullptr, small, a.data());
    m.talker.forward(&m.pool, x.data() + t * H, 1, &t, nullptr, big, b.data());
    ASSERT_EQ(a, b) << "step " << t;
  }
  EXPECT_GE(small.capacity, steps);
  EXPECT_EQ(small.length, steps);
}

// A talker with a half-precision KV cache (8/4-bit models use one): a prompt
// (the GEMM path) and single steps stay close to the exact cache's hidden
// states, the cache holds f16 rows only, and two sequences stepped together
// get, bit for bit, what each gets alone.
TEST(TalkerState, AHalfPrecisionCacheStaysCloseAndBatchesAsAlone) {
  auto& m = tiny();
  const tts::Talker half(m.config, m.weights, DType::kF16);
  EXPECT_EQ(half.new_state(1).k.size(), 0u);
  const int64_t H = m.talker.hidden(), prompt = 20, steps = 30;
  const auto x = test::random_vector(static_cast<size_t>((prompt + steps) * H), 18);
  std::vector<int64_t> pos(static_cast<size_t>(prompt + steps));
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int64_t>(i);
  auto exact = m.talker.new_state(1), h16 = half.new_state(1), a = half.new_state(1),
       b = half.new_state(1), scratch = half.new_state(1);
  std::vector<float> want(static_cast<size_t>(prompt * H)), got(want.size());
  m.talker.forward(&m.pool, x.data(), prompt, pos.data(), nullptr, exact, want.data());
  half.forward(&m.pool, x.data(), prompt, pos.data(), nullptr, h16, got.data());
  // Sequence b: the prompt's first 10 rows only, so the two lengths differ.
  std::vector<float> unused(want.size());
  half.forward(&m.pool, x.data(), prompt, pos.data(), nullptr, a, unused.data());
  half.forward(&m.pool, x.data(), 10, pos.data(), nullptr, b, unused.data());
  double worst = 0;
  auto relative = [](const std::vector<float>& u, const std::vector<float>& v) {
    double scale = 0;
    for (float f : u) scale = std::max(scale, static_cast<double>(std::fabs(f)));
    return test::max_abs_diff(u, v) / scale;
  };
  worst = relative(want, got);
  want.resize(static_cast<size_t>(H));
  got.resize(static_cast<size_t>(H));
  for (int64_t t = prompt; t < prompt + steps; ++t) {
    const float* xt = x.data() + t * H;
    m.talker.forward(&m.pool, xt, 1, &pos[t], nullptr, exact, want.data());
    half.forward(&m.pool, xt, 1, &pos[t], nullptr, h16, got.data());
    worst = std::max(worst, relative(want, got));
    // Batched: row 0 into a (at t), row 1 into b (at t - 10).
    std::vector<float> two(static_cast<size_t>(2 * H)), rows(two.size()), alone_a(H), alone_b(H);
    std::copy_n(xt, H, rows.data());
    std::copy_n(xt - H, H, rows.data() + H);
    const int64_t at[] = {t, t - prompt + 10};
    tts::DecoderState* states[] = {&a, &b};
    auto a_alone = a, b_alone = b;
    half.forward_batch(&m.pool, rows.data(), 2, at, states, scratch, two.data());
    half.forward(&m.pool, rows.data(), 1, &at[0], nullptr, a_alone, alone_a.data());
    half.forward(&m.pool, rows.data() + H, 1, &at[1], nullptr, b_alone, alone_b.data());
    ASSERT_EQ(std::vector<float>(two.begin(), two.begin() + H), alone_a) << "step " << t;
    ASSERT_EQ(std::vector<float>(two.begin() + H, two.end()), alone_b) << "step " << t;
  }
  // f16 keeps 11 significant bits (relative rounding 2^-12 = 2.4e-4).
  EXPECT_LT(worst, 5e-3);  // measured 3.8e-4
  EXPECT_GT(worst, 0.0);   // the cache is f16 indeed
  std::printf("half-precision KV cache: worst relative error %.2e\n", worst);
}

}  // namespace
}  // namespace izwi
