// Sampling: the warpers keep exactly the tokens they should, draws follow the
// filtered distribution, and seeds make generation reproducible.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <thread>

#include "izwi/izwi.h"
#include "models/qwen3_tts/sampler.h"
#include "test_util.h"

namespace izwi {
namespace {

using tts::SamplingParams;

TEST(Sampler, GreedyTakesTheLowestIndexOnTies) {
  std::vector<float> l = {0.1f, 3.0f, 3.0f, -1.0f};
  tts::Sampler s(1);
  EXPECT_EQ(s.pick(l.data(), 4, {false, 1.0f, 0, 1.0f}), 1);
}

TEST(Sampler, TopKOfOneIsGreedy) {
  tts::Sampler s(7);
  const auto base = test::random_vector(300, 3, -4.0f, 4.0f);
  for (int i = 0; i < 50; ++i) {
    auto l = base;
    EXPECT_EQ(s.pick(l.data(), 300, {true, 0.7f, 1, 1.0f}), tts::argmax(base.data(), 300));
  }
}

TEST(Sampler, RepetitionPenaltyFollowsTheSignRule) {
  std::vector<float> l = {2.0f, -2.0f, 1.0f};
  tts::apply_repetition_penalty(l.data(), 3, {0, 1, 1}, 2.0f);  // duplicates count once
  EXPECT_EQ(l, (std::vector<float>{1.0f, -4.0f, 1.0f}));
}

// Empirical frequencies of many draws against the distribution the warpers
// define: softmax(logits / T) restricted to the top-k, then to the top-p nucleus.
TEST(Sampler, FrequenciesFollowTheFilteredDistribution) {
  const std::vector<float> logits = {2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -0.5f, -1.0f, -3.0f};
  const int n = static_cast<int>(logits.size());
  struct Case {
    SamplingParams p;
    std::vector<int> allowed;  // which ids may be drawn
  };
  const Case cases[] = {
      {{true, 1.0f, 0, 1.0f}, {0, 1, 2, 3, 4, 5, 6, 7}},
      {{true, 0.5f, 3, 1.0f}, {0, 1, 2}},
      // T = 1: probabilities 0.405 0.245 0.149 ...; top-p 0.6 keeps the smallest set reaching 0.6.
      {{true, 1.0f, 0, 0.6f}, {0, 1}},
      // temperature, then top-k, then top-p on the renormalised top-k: T = 2 over ids 0..3 gives
      // 0.35 0.27 0.21 0.17; the nucleus for 0.7 is {0, 1, 2}.
      {{true, 2.0f, 4, 0.7f}, {0, 1, 2}},
  };
  for (const auto& c : cases) {
    std::vector<double> expect(n, 0.0);
    double z = 0;
    for (int i : c.allowed) z += std::exp(logits[i] / c.p.temperature);
    for (int i : c.allowed) expect[i] = std::exp(logits[i] / c.p.temperature) / z;
    tts::Sampler s(12345);
    const int draws = 200000;
    std::vector<int> count(n, 0);
    for (int k = 0; k < draws; ++k) {
      auto l = logits;
      count[s.pick(l.data(), n, c.p)]++;
    }
    for (int i = 0; i < n; ++i) {
      const double f = static_cast<double>(count[i]) / draws;
      // 5 standard deviations of a binomial proportion.
      const double sd = std::sqrt(std::max(expect[i] * (1 - expect[i]), 1e-12) / draws);
      EXPECT_NEAR(f, expect[i], 5 * sd + 1e-9)
          << "id " << i << " T=" << c.p.temperature << " k=" << c.p.top_k << " p=" << c.p.top_p;
    }
  }
}

// The warpers and the draw written plainly over the whole vocabulary (as
// Sampler::pick was until it looked only at the tokens top-k leaves): the
// same generator, the same sums in the same order.
int32_t whole_vocabulary_pick(std::mt19937_64& rng, float* logits, int64_t n,
                              const SamplingParams& p) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) logits[i] /= p.temperature;
  if (p.top_k > 0 && p.top_k < n) {
    std::vector<float> sorted(logits, logits + n);
    std::nth_element(sorted.begin(), sorted.begin() + (p.top_k - 1), sorted.end(),
                     std::greater<float>());
    for (int64_t i = 0; i < n; ++i)
      if (logits[i] < sorted[p.top_k - 1]) logits[i] = kNegInf;
  }
  const float mx = *std::max_element(logits, logits + n);
  std::vector<double> prob(static_cast<size_t>(n), 0.0);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += (prob[i] = logits[i] == kNegInf ? 0.0 : std::exp(static_cast<double>(logits[i] - mx)));
  for (double& q : prob) q /= sum;
  if (p.top_p < 1.0f) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return logits[a] < logits[b]; });
    double cum = 0;
    for (int64_t r = 0; r + 1 < n; ++r) {
      cum += prob[order[r]];
      if (cum > 1.0 - p.top_p) break;
      prob[order[r]] = 0.0;
    }
    sum = std::accumulate(prob.begin(), prob.end(), 0.0);
    for (double& q : prob) q /= sum;
  }
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double r = u(rng), acc = 0;
  int64_t last = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (prob[i] <= 0) continue;
    last = i;
    acc += prob[i];
    if (r < acc) return static_cast<int32_t>(i);
  }
  return static_cast<int32_t>(last);
}

// Every draw, and the warped logits left behind, equal the whole-vocabulary
// reference's: vocabularies of the talker and code predictor and small ones,
// top-k off, inside and past the vocabulary, top-p on and off, logits with
// ties (rounded to quarters) and suppressed ids (-inf).
TEST(Sampler, DrawsWhatTheWholeVocabularyReferenceDraws) {
  std::mt19937 gen(11);
  int draws = 0;
  for (int64_t n : {8, 300, 2048, 3072})
    for (int k : {0, 1, 5, 50, 299, 3072, 5000})
      for (float top_p : {1.0f, 0.95f, 0.5f})
        for (bool ties : {false, true}) {
          const SamplingParams params{true, 0.9f, k, top_p};
          SCOPED_TRACE(testing::Message() << "n " << n << " k " << k << " p " << top_p);
          tts::Sampler sampler(77);
          std::mt19937_64 rng(77);
          std::normal_distribution<float> dist(0.0f, 3.0f);
          for (int round = 0; round < 8; ++round) {
            std::vector<float> logits(static_cast<size_t>(n));
            for (float& v : logits) v = ties ? std::round(4 * dist(gen)) / 4 : dist(gen);
            for (int64_t i = round; i < n; i += 7)  // suppressed, as the processors do
              logits[static_cast<size_t>(i)] = -std::numeric_limits<float>::infinity();
            auto ours = logits, theirs = logits;
            ASSERT_EQ(sampler.pick(ours.data(), n, params),
                      whole_vocabulary_pick(rng, theirs.data(), n, params));
            ASSERT_EQ(ours, theirs);
            ++draws;
          }
        }
  EXPECT_EQ(draws, 4 * 7 * 3 * 2 * 8);
}

struct Tiny {
  std::unique_ptr<TtsModel> model = TtsModel::load(test::golden_model());
  Voice voice = model->clone_voice(Audio{test::load_f32("spk_in_wav"), 24000, 1});
};

Tiny& tiny() {
  static Tiny t;
  return t;
}

TEST(Synthesis, SameSeedSameAudioDifferentSeedDifferentCodes) {
  auto& t = tiny();
  SynthesisOptions o;
  o.language = "english";
  o.max_new_tokens = 20;
  o.seed = 42;
  const auto a = t.model->synthesize("The quick brown fox.", t.voice, o);
  const auto b = t.model->synthesize("The quick brown fox.", t.voice, o);
  EXPECT_EQ(a.codes.values, b.codes.values);
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_EQ(a.seed, 42u);
  o.seed = 43;
  const auto c = t.model->synthesize("The quick brown fox.", t.voice, o);
  EXPECT_NE(a.codes.values, c.codes.values);
}

TEST(Synthesis, TopKOneMatchesGreedy) {
  auto& t = tiny();
  SynthesisOptions greedy;
  greedy.language = "english";
  greedy.max_new_tokens = 12;
  greedy.greedy = true;
  SynthesisOptions k1 = greedy;
  k1.greedy = false;
  k1.top_k = 1;
  k1.subtalker_top_k = 1;
  k1.seed = 9;
  EXPECT_EQ(t.model->synthesize("Testing, one, two.", t.voice, greedy).codes.values,
            t.model->synthesize("Testing, one, two.", t.voice, k1).codes.values);
}

TEST(Synthesis, ConcurrentRequestsOnOneModelAgreeWithSequentialOnes) {
  auto& t = tiny();
  SynthesisOptions o;
  o.language = "english";
  o.max_new_tokens = 16;
  o.seed = 5;
  const std::string texts[2] = {"Hello there, friend.", "A different sentence entirely."};
  std::vector<float> sequential[2];
  for (int i = 0; i < 2; ++i) sequential[i] = t.model->synthesize(texts[i], t.voice, o).samples;
  std::vector<float> parallel[2];
  std::thread a([&] { parallel[0] = t.model->synthesize(texts[0], t.voice, o).samples; });
  std::thread b([&] { parallel[1] = t.model->synthesize(texts[1], t.voice, o).samples; });
  a.join();
  b.join();
  EXPECT_EQ(parallel[0], sequential[0]);
  EXPECT_EQ(parallel[1], sequential[1]);
}

TEST(Synthesis, LengthLimitsAndEarlyStop) {
  auto& t = tiny();
  SynthesisOptions o;
  o.language = "english";
  o.greedy = true;
  o.max_seconds = 0.5;  // 0.5 s at 12.5 frames/s: at most ceil(6.25) + 1 = 8 talker steps
  const auto r = t.model->synthesize("Hello, world!", t.voice, o);
  EXPECT_LE(r.talker_steps, 8);
  EXPECT_LE(r.codes.frames, 7);
  EXPECT_EQ(r.samples.size(), static_cast<size_t>(r.codes.frames) * 1920);
  SynthesisOptions stop = o;
  stop.max_seconds = 0;
  stop.max_new_tokens = 30;
  stop.on_frame = [](const FrameProgress& f) { return f.frame < 2; };
  EXPECT_EQ(t.model->synthesize("Hello, world!", t.voice, stop).codes.frames, 3);
}

TEST(Synthesis, BadOptionsAreRejected) {
  auto& t = tiny();
  SynthesisOptions o;
  o.language = "english";
  o.temperature = 0.0f;
  EXPECT_THROW(t.model->synthesize("hi", t.voice, o), Error);
  o.temperature.reset();
  o.top_p = 1.5f;
  EXPECT_THROW(t.model->synthesize("hi", t.voice, o), Error);
  o.top_p.reset();
  o.instruct = "whisper";
  EXPECT_THROW(t.model->synthesize("hi", t.voice, o), Error);  // Base models take no instructions
  EXPECT_THROW(t.model->preset_voice("serena"), Error);        // Base models have no presets
  Voice wrong = t.voice;
  wrong.xvector.resize(10);
  EXPECT_THROW(t.model->synthesize("hi", wrong, {}), Error);
  EXPECT_THROW(t.model->synthesize("hi", Voice{}, {}), Error);
}

}  // namespace
}  // namespace izwi
