#include "models/qwen3_tts/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace izwi::tts {

void apply_repetition_penalty(float* logits, int64_t n, const std::vector<int32_t>& previous,
                              float penalty) {
  if (penalty == 1.0f || previous.empty()) return;
  // Each distinct id once: marks in a per-thread table (no allocation per call
  // once grown), cleared again afterwards.
  thread_local std::vector<uint8_t> seen;
  if (static_cast<int64_t>(seen.size()) < n) seen.resize(static_cast<size_t>(n), 0);
  for (int32_t id : previous) {
    if (id < 0 || id >= n || seen[id]) continue;
    seen[id] = 1;
    logits[id] = logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty;
  }
  for (int32_t id : previous)
    if (id >= 0 && id < n) seen[id] = 0;
}

int32_t argmax(const float* logits, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (logits[i] > logits[best]) best = i;
  return static_cast<int32_t>(best);
}

int32_t Sampler::pick(float* logits, int64_t n, const SamplingParams& p) {
  if (!p.do_sample) return argmax(logits, n);
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  if (!(p.temperature > 0))
    fail(ErrorKind::kInvalidArgument, "temperature must be positive, got ", p.temperature);
  for (int64_t i = 0; i < n; ++i) logits[i] /= p.temperature;
  if (p.top_k > 0 && p.top_k < n) {
    // Keep the k largest (and anything tied with the k-th).
    std::vector<float>& sorted = sorted_;
    sorted.assign(logits, logits + n);
    std::nth_element(sorted.begin(), sorted.begin() + (p.top_k - 1), sorted.end(),
                     std::greater<float>());
    const float kth = sorted[p.top_k - 1];
    for (int64_t i = 0; i < n; ++i)
      if (logits[i] < kth) logits[i] = kNegInf;
  }
  const float mx = *std::max_element(logits, logits + n);
  if (mx == kNegInf) fail(ErrorKind::kInternal, "every token was filtered out before sampling");
  std::vector<double>& prob = prob_;
  prob.assign(static_cast<size_t>(n), 0.0);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += (prob[i] = logits[i] == kNegInf ? 0.0 : std::exp(static_cast<double>(logits[i] - mx)));
  for (double& q : prob) q /= sum;
  if (p.top_p < 1.0f) {
    // Drop the least likely tokens whose cumulative probability stays <= 1 - top_p
    // (ascending order, as the reference warper does); the most likely always stays.
    std::vector<int64_t>& order = order_;
    order.resize(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return logits[a] < logits[b]; });
    double cum = 0;
    for (int64_t r = 0; r + 1 < n; ++r) {
      cum += prob[order[r]];
      if (cum <= 1.0 - p.top_p)
        prob[order[r]] = 0.0;
      else
        break;
    }
    sum = std::accumulate(prob.begin(), prob.end(), 0.0);
    for (double& q : prob) q /= sum;
  }
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double r = u(rng_), acc = 0;
  int64_t last_nonzero = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (prob[i] <= 0) continue;
    last_nonzero = i;
    acc += prob[i];
    if (r < acc) return static_cast<int32_t>(i);
  }
  return static_cast<int32_t>(last_nonzero);
}

}  // namespace izwi::tts
