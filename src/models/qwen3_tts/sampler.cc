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

namespace {
// The k-th largest of v[0 .. n) (ties counted), n > k > 0: a min-heap of the k
// largest seen so far, which most values pass with one comparison.
float kth_largest(const float* v, int64_t n, int k, std::vector<float>& heap) {
  heap.assign(v, v + k);
  std::make_heap(heap.begin(), heap.end(), std::greater<float>());
  for (int64_t i = k; i < n; ++i)
    if (v[i] > heap.front()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<float>());
      heap.back() = v[i];
      std::push_heap(heap.begin(), heap.end(), std::greater<float>());
    }
  return heap.front();
}
}  // namespace

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
  // Keep the k largest (and anything tied with the k-th); the rest become
  // -inf. The draw then only looks at the tokens left (`live_`, in index
  // order): a code predictor's 2048 logits with k = 50 were 6.3 us a draw over
  // the whole vocabulary, 16 draws per stream and frame. Sums and draws run
  // over the same values in the same order as over the whole vocabulary,
  // whose other entries are exact zeros.
  const bool top_k = p.top_k > 0 && p.top_k < n;
  const float kth = top_k ? kth_largest(logits, n, p.top_k, heap_) : kNegInf;
  std::vector<int32_t>& live = live_;
  live.clear();
  float mx = kNegInf;
  for (int64_t i = 0; i < n; ++i) {
    if (logits[i] < kth) logits[i] = kNegInf;
    if (logits[i] == kNegInf) continue;
    live.push_back(static_cast<int32_t>(i));
    mx = std::max(mx, logits[i]);
  }
  if (live.empty()) fail(ErrorKind::kInternal, "every token was filtered out before sampling");
  const size_t m = live.size();
  std::vector<double>& prob = prob_;  // of live[j]
  prob.resize(m);
  double sum = 0;
  for (size_t j = 0; j < m; ++j)
    sum += (prob[j] = std::exp(static_cast<double>(logits[live[j]] - mx)));
  for (double& q : prob) q /= sum;
  if (p.top_p < 1.0f) {
    // Drop the least likely tokens whose cumulative probability stays <= 1 - top_p
    // (ascending order, as the reference warper does); the most likely always stays.
    std::vector<int32_t>& order = order_;  // positions in live
    order.resize(m);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return logits[live[a]] < logits[live[b]]; });
    double cum = 0;
    for (size_t r = 0; r + 1 < m; ++r) {
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
  int32_t last_nonzero = 0;
  for (size_t j = 0; j < m; ++j) {
    if (prob[j] <= 0) continue;
    last_nonzero = live[j];
    acc += prob[j];
    if (r < acc) return live[j];
  }
  return last_nonzero;
}

}  // namespace izwi::tts
