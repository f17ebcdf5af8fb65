#include "models/qwen3_tts/generator.h"

#include <chrono>
#include <limits>

#include "core/error.h"

namespace izwi::tts {

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

Generation::Generation(ThreadPool* pool, const Talker& talker, const CodePredictor& cp,
                       const Prompt& prompt, const GenerateOptions& opt, GenerateTrace* trace)
    : pool_(pool),
      talker_(talker),
      cp_(cp),
      prompt_(prompt),
      opt_(opt),
      trace_(trace),
      sampler_(opt.seed) {
  if (opt.max_new_tokens <= 0) fail(ErrorKind::kInvalidArgument, "max_new_tokens must be positive");
  const int64_t H = talker.hidden();
  pick_ = [this, CV = cp.vocab()](int, float* l) { return sampler_.pick(l, CV, opt_.subtalker); };
  talker_state_ = talker.new_state(prompt.length + std::min(opt.max_new_tokens, 256) + 1);
  cp_state_ = cp.new_state();
  last_.resize(static_cast<size_t>(H));
  logits_.resize(static_cast<size_t>(talker.vocab()));
  code0_embed_.resize(static_cast<size_t>(H));
  step_.resize(static_cast<size_t>(H));
  if (trace) cp_logits_.resize(static_cast<size_t>((cp.groups() - 1) * cp.vocab()));
  frame_.resize(static_cast<size_t>(cp.groups()));
  // One token per step plus EOS: reserve so the loop itself never reallocates.
  const auto steps = static_cast<size_t>(std::min(opt.max_new_tokens, 4096));
  out_.talker_sequence.reserve(steps);
  out_.codes.reserve(steps * frame_.size());
}

void Generation::prefill() {
  if (prefilled_) return;
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t H = talker_.hidden(), T = prompt_.length;
  std::vector<float> hidden(static_cast<size_t>(T * H));
  std::vector<int64_t> positions(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) positions[t] = t;
  talker_.forward(pool_, prompt_.embeds.data(), T, positions.data(), nullptr, talker_state_,
                  hidden.data());
  std::copy(hidden.end() - H, hidden.end(), last_.begin());
  next_pos_ = T;
  prefilled_ = true;
  out_.timings.prefill += since(t0);
}

// Code 0 from the talker logits: repetition penalty over this run's tokens,
// special ids suppressed (except EOS), EOS forbidden before min_new_tokens.
int32_t Generation::next_code0() {
  const TalkerConfig& tc = talker_.config();
  const int64_t V = talker_.vocab();
  talker_.logits(pool_, last_.data(), 1, logits_.data());
  if (trace_) {
    trace_->talker_logits.insert(trace_->talker_logits.end(), logits_.begin(), logits_.end());
    trace_->talker_last_hidden.insert(trace_->talker_last_hidden.end(), last_.begin(), last_.end());
  }
  apply_repetition_penalty(logits_.data(), V, out_.talker_sequence, opt_.repetition_penalty);
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (int64_t i = V - 1024; i < V; ++i)
    if (i != tc.codec_eos_id) logits_[i] = kNegInf;
  if (n_ < opt_.min_new_tokens) logits_[tc.codec_eos_id] = kNegInf;
  return sampler_.pick(logits_.data(), V, opt_.talker);
}

bool Generation::step() {
  if (finished_) return false;
  if (!prefilled_) prefill();
  const int64_t H = talker_.hidden(), G = cp_.groups();
  auto t0 = std::chrono::steady_clock::now();
  const int32_t code0 = next_code0();
  out_.talker_sequence.push_back(code0);
  const int64_t n = n_++;
  out_.timings.talker += since(t0);
  if (code0 == talker_.config().codec_eos_id) {
    out_.stopped_on_eos = true;
    finished_ = true;
    return false;
  }
  if (n + 1 >= opt_.max_new_tokens) {  // the last token gets no residual codes
    finished_ = true;
    return false;
  }

  // Residual codes of this frame.
  t0 = std::chrono::steady_clock::now();
  frame_[0] = code0;
  talker_.embed_codec(code0, code0_embed_.data());
  cp_.predict(pool_, last_.data(), code0_embed_.data(), cp_state_, pick_, frame_.data() + 1,
              trace_ ? cp_logits_.data() : nullptr);
  out_.timings.code_predictor += since(t0);
  if (trace_)
    trace_->cp_logits.insert(trace_->cp_logits.end(), cp_logits_.begin(), cp_logits_.end());
  out_.codes.insert(out_.codes.end(), frame_.begin(), frame_.end());
  if (trace_) trace_->frame_hidden.insert(trace_->frame_hidden.end(), last_.begin(), last_.end());
  ++out_.frames;

  t0 = std::chrono::steady_clock::now();
  // Next talker input: the sum of the frame's 16 code embeddings plus the next
  // trailing-text embedding (tts_pad once the text is used up).
  step_ = code0_embed_;
  for (int g = 1; g < G; ++g) cp_.add_embed(g, frame_[g], step_.data());
  const float* text =
      n < prompt_.trailing_length ? prompt_.trailing.data() + n * H : prompt_.tts_pad.data();
  for (int64_t i = 0; i < H; ++i) step_[i] += text[i];
  if (trace_) trace_->step_embeds.insert(trace_->step_embeds.end(), step_.begin(), step_.end());
  talker_.forward(pool_, step_.data(), 1, &next_pos_, nullptr, talker_state_, last_.data());
  ++next_pos_;
  out_.timings.talker += since(t0);
  return true;
}

Generated generate(ThreadPool* pool, const Talker& talker, const CodePredictor& cp,
                   const Prompt& prompt, const GenerateOptions& opt, GenerateTrace* trace) {
  Generation g(pool, talker, cp, prompt, opt, trace);
  g.prefill();
  while (!g.finished()) g.step();
  return g.take();
}

}  // namespace izwi::tts
