// Choosing codes from logits: the official logits processors (repetition
// penalty, suppressed ids, min_new_tokens) and warpers (temperature, top-k,
// top-p), then argmax or a draw from a seeded generator.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace izwi::tts {

struct SamplingParams {
  bool do_sample = true;  // false: greedy (argmax, lowest index on ties)
  float temperature = 0.9f;
  int top_k = 50;      // <= 0: off
  float top_p = 1.0f;  // >= 1: off
};

// For each distinct id in `previous`: s = s * penalty if s < 0, else s / penalty.
void apply_repetition_penalty(float* logits, int64_t n, const std::vector<int32_t>& previous,
                              float penalty);

class Sampler {
 public:
  explicit Sampler(uint64_t seed) : rng_(seed) {}
  // Picks an id from logits [n] (modified in place by the warpers).
  int32_t pick(float* logits, int64_t n, const SamplingParams& params);

 private:
  std::mt19937_64 rng_;
  // Scratch, reused across picks.
  std::vector<float> heap_;     // the k largest logits
  std::vector<int32_t> live_;   // ids left after top-k (and not -inf), ascending
  std::vector<double> prob_;    // their probabilities
  std::vector<int32_t> order_;  // positions in live_ by ascending logit (top-p)
};

int32_t argmax(const float* logits, int64_t n);

}  // namespace izwi::tts
