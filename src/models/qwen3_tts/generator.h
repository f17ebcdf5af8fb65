// The generation loop: talker prefill, then per frame the code predictor and
// one talker step, as the official `generate` runs it (greedy or sampled).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "models/qwen3_tts/prompt.h"
#include "models/qwen3_tts/sampler.h"

namespace izwi::tts {

struct GenerateOptions {
  SamplingParams talker;     // code 0
  SamplingParams subtalker;  // codes 1..15
  float repetition_penalty = 1.05f;
  int max_new_tokens = 8192;  // talker steps; the last one yields no frame
  int min_new_tokens = 2;     // EOS is forbidden before this many tokens
  uint64_t seed = 0;
  // Called with each frame's 16 codes as soon as it exists; return false to stop.
  std::function<bool(int64_t frame, const int32_t* codes)> on_frame;
};

// Optional record of the internals (golden tests, debugging).
struct GenerateTrace {
  std::vector<float> talker_logits;       // [calls, vocab] raw codec_head logits
  std::vector<float> talker_last_hidden;  // [calls, hidden]
  std::vector<float> step_embeds;         // [calls - 1, hidden]
  std::vector<float> cp_logits;           // [frames, groups - 1, cp_vocab]
};

struct Generated {
  int64_t frames = 0;
  std::vector<int32_t> codes;            // [frames, groups]
  std::vector<float> hidden;             // [frames, hidden]: talker hidden that produced each frame
  std::vector<int32_t> talker_sequence;  // every code-0 token sampled, EOS included
  bool stopped_on_eos = false;
  bool stopped_by_callback = false;
};

Generated generate(ThreadPool* pool, const Talker& talker, const CodePredictor& cp,
                   const Prompt& prompt, const GenerateOptions& options,
                   GenerateTrace* trace = nullptr);

}  // namespace izwi::tts
