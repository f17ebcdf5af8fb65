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
int32_t Generation::next_code0(ThreadPool* pool) {
  const TalkerConfig& tc = talker_.config();
  const int64_t V = talker_.vocab();
  talker_.logits(pool, last_.data(), 1, logits_.data());
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

bool Generation::begin_frame(ThreadPool* pool) {
  const auto t0 = std::chrono::steady_clock::now();
  const int32_t code0 = next_code0(pool);
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
  frame_[0] = code0;
  talker_.embed_codec(code0, code0_embed_.data());
  return true;
}

void Generation::end_frame(const int32_t* residual) {
  const int64_t H = talker_.hidden(), G = cp_.groups(), n = n_ - 1;
  std::copy_n(residual, G - 1, frame_.begin() + 1);
  if (trace_)
    trace_->cp_logits.insert(trace_->cp_logits.end(), cp_logits_.begin(), cp_logits_.end());
  out_.codes.insert(out_.codes.end(), frame_.begin(), frame_.end());
  if (trace_) trace_->frame_hidden.insert(trace_->frame_hidden.end(), last_.begin(), last_.end());
  ++out_.frames;
  // Next talker input: the sum of the frame's 16 code embeddings plus the next
  // trailing-text embedding (tts_pad once the text is used up).
  step_ = code0_embed_;
  for (int g = 1; g < G; ++g) cp_.add_embed(g, frame_[g], step_.data());
  const float* text =
      n < prompt_.trailing_length ? prompt_.trailing.data() + n * H : prompt_.tts_pad.data();
  for (int64_t i = 0; i < H; ++i) step_[i] += text[i];
  if (trace_) trace_->step_embeds.insert(trace_->step_embeds.end(), step_.begin(), step_.end());
}

bool Generation::step() {
  if (finished_) return false;
  if (!prefilled_) prefill();
  if (!begin_frame(pool_)) return false;
  auto t0 = std::chrono::steady_clock::now();
  int32_t residual[64];
  IZWI_ASSERT(cp_.groups() - 1 <= 64);
  cp_.predict(pool_, last_.data(), code0_embed_.data(), cp_state_, pick_, residual,
              trace_ ? cp_logits_.data() : nullptr);
  out_.timings.code_predictor += since(t0);
  t0 = std::chrono::steady_clock::now();
  end_frame(residual);
  talker_.forward(pool_, step_.data(), 1, &next_pos_, nullptr, talker_state_, last_.data());
  ++next_pos_;
  out_.timings.talker += since(t0);
  return true;
}

void step_together(Generation* const* gens, int64_t n, StepBatch& b, bool* produced,
                   ThreadPool* pool) {
  b.going.clear();
  for (int64_t i = 0; i < n; ++i) {
    Generation& g = *gens[i];
    produced[i] = false;
    if (g.finished_) continue;
    if (!g.prefilled_)
      g.prefill();  // a joining request: its prompt alone is this step
    else if (g.begin_frame(pool))
      produced[i] = true;
    if (produced[i]) b.going.push_back(&g);
  }
  const int64_t B = static_cast<int64_t>(b.going.size());
  if (B == 0) return;
  const Generation& first = *b.going[0];
  const Talker& talker = first.talker_;
  const CodePredictor& cp = first.cp_;
  const int64_t H = talker.hidden(), G1 = cp.groups() - 1;
  auto sized = [](auto& v, int64_t n_) {
    if (static_cast<int64_t>(v.size()) < n_) v.resize(static_cast<size_t>(n_));
    return v.data();
  };
  float* hidden = sized(b.hidden, B * H);
  float* code0 = sized(b.code0_embeds, B * H);
  float* inputs = sized(b.inputs, B * H);
  float* out = sized(b.out, B * H);
  int64_t* pos = sized(b.positions, B);
  DecoderState** ts = sized(b.talker_states, B);
  CodePredictorState** cs = sized(b.cp_states, B);
  const CodePredictor::Pick** picks = sized(b.picks, B);
  float** logits = sized(b.cp_logits, B);
  int32_t* codes = sized(b.codes, B * G1);
  for (int64_t i = 0; i < B; ++i) {
    Generation& g = *b.going[i];
    IZWI_ASSERT(&g.talker_ == &talker && &g.cp_ == &cp);
    std::copy_n(g.last_.data(), H, hidden + i * H);
    std::copy_n(g.code0_embed_.data(), H, code0 + i * H);
    cs[i] = &g.cp_state_;
    picks[i] = &g.pick_;
    logits[i] = g.trace_ ? g.cp_logits_.data() : nullptr;
  }
  auto t0 = std::chrono::steady_clock::now();
  cp.predict_batch(pool, B, hidden, code0, cs, picks, codes, logits, b.cp_scratch);
  const double cp_s = since(t0);
  t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < B; ++i) {
    Generation& g = *b.going[i];
    g.end_frame(codes + i * G1);
    std::copy_n(g.step_.data(), H, inputs + i * H);
    pos[i] = g.next_pos_;
    ts[i] = &g.talker_state_;
  }
  talker.forward_batch(pool, inputs, B, pos, ts, b.talker_scratch, out);
  const double talker_s = since(t0);
  for (int64_t i = 0; i < B; ++i) {
    Generation& g = *b.going[i];
    std::copy_n(out + i * H, H, g.last_.data());
    ++g.next_pos_;
    g.out_.timings.code_predictor += cp_s;
    g.out_.timings.talker += talker_s;
  }
}

Generated generate(ThreadPool* pool, const Talker& talker, const CodePredictor& cp,
                   const Prompt& prompt, const GenerateOptions& opt, GenerateTrace* trace) {
  Generation g(pool, talker, cp, prompt, opt, trace);
  g.prefill();
  while (!g.finished()) g.step();
  return g.take();
}

}  // namespace izwi::tts
