// The generation loop: talker prefill, then per frame the code predictor and
// one talker step, as the official `generate` runs it (greedy or sampled).
#pragma once

#include <cstdint>
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
};

// Optional record of the internals (golden tests, debugging).
struct GenerateTrace {
  std::vector<float> talker_logits;       // [calls, vocab] raw codec_head logits
  std::vector<float> talker_last_hidden;  // [calls, hidden]
  std::vector<float> step_embeds;         // [calls - 1, hidden]
  std::vector<float> cp_logits;           // [frames, groups - 1, cp_vocab]
  std::vector<float> frame_hidden;        // [frames, hidden]: talker hidden behind each frame
};

// Wall time spent in each part of the loop, seconds.
struct GenerateTimings {
  double prefill = 0;         // the talker over the prompt
  double talker = 0;          // talker steps, logits, sampling code 0, embedding sums
  double code_predictor = 0;  // the 15 residual codes of each frame
};

struct Generated {
  int64_t frames = 0;
  std::vector<int32_t> codes;            // [frames, groups]
  std::vector<int32_t> talker_sequence;  // every code-0 token sampled, EOS included
  bool stopped_on_eos = false;
  GenerateTimings timings;
};

class Generation;

// The buffers of steps taken together (step_together): grown to the largest
// batch, then reused, so batched steps allocate nothing either.
struct StepBatch {
  std::vector<Generation*> going;  // generations that make a frame this step
  std::vector<float> hidden, code0_embeds, inputs, out;
  std::vector<int64_t> positions;
  std::vector<DecoderState*> talker_states;
  std::vector<CodePredictorState*> cp_states;
  std::vector<const CodePredictor::Pick*> picks;
  std::vector<float*> cp_logits;
  std::vector<int32_t> codes;
  DecoderState talker_scratch;
  CodePredictorState cp_scratch;
};

// One step (Generation::step) of each of n generations of the same talker and
// code predictor; those that make a frame run their code predictor and talker
// step together, every weight read once for all of them. produced[i]: whether
// generation i added a frame. A generation not prefilled yet is prefilled
// alone first (that is its step). Same codes as stepping each alone where the
// kernels sum each row the same way for any row count (Q8/Q4 weights: exactly;
// bf16: the one-row and multi-row kernels differ in the last bits). The frames
// run on `pool` (null: on the calling thread alone, while the other cores decode
// audio); a prompt on the generation's own pool.
void step_together(Generation* const* gens, int64_t n, StepBatch& batch, bool* produced,
                   ThreadPool* pool);

// The loop as an object with explicit steps, so a caller can interleave frames
// with other work (decoding audio, other requests) and stop between frames.
// Owns everything the run changes (sampler, KV caches, code-predictor state);
// the talker, code predictor and prompt are shared and must outlive it.
class Generation {
 public:
  Generation(ThreadPool* pool, const Talker& talker, const CodePredictor& cp, const Prompt& prompt,
             const GenerateOptions& options, GenerateTrace* trace = nullptr);

  // The talker pass over the whole prompt; runs once, before the first step.
  void prefill();
  // One talker token: unless it is EOS or the length limit, the frame's residual
  // codes and the talker step that feeds it back. Returns true if a frame was
  // added (last_frame()); false once the run is over.
  bool step();

  bool finished() const { return finished_; }
  bool prefilled() const { return prefilled_; }
  const int32_t* last_frame() const { return frame_.data(); }
  const Generated& result() const { return out_; }
  Generated take() { return std::move(out_); }

 private:
  friend void step_together(Generation* const*, int64_t, StepBatch&, bool*, ThreadPool*);
  int32_t next_code0(ThreadPool* pool);
  // The frame's code 0, or false when the run ends here (EOS or the limit).
  bool begin_frame(ThreadPool* pool);
  // Records the frame (code 0 + residual codes [15]) and builds the talker's next input.
  void end_frame(const int32_t* residual);

  ThreadPool* pool_;
  const Talker& talker_;
  const CodePredictor& cp_;
  const Prompt& prompt_;
  GenerateOptions opt_;
  GenerateTrace* trace_;
  Sampler sampler_;
  CodePredictor::Pick pick_;  // residual codes through sampler_ with the subtalker params
  DecoderState talker_state_;
  CodePredictorState cp_state_;
  std::vector<float> last_, logits_, code0_embed_, step_, cp_logits_;
  std::vector<int32_t> frame_;
  int64_t next_pos_ = 0, n_ = 0;
  bool prefilled_ = false, finished_ = false;
  Generated out_;
};

// Runs a Generation to the end.
Generated generate(ThreadPool* pool, const Talker& talker, const CodePredictor& cp,
                   const Prompt& prompt, const GenerateOptions& options,
                   GenerateTrace* trace = nullptr);

}  // namespace izwi::tts
