#include "models/qwen3_tts/generator.h"

#include <limits>

#include "core/error.h"

namespace izwi::tts {

Generated generate(ThreadPool* pool, const Talker& talker, const CodePredictor& cp,
                   const Prompt& prompt, const GenerateOptions& opt, GenerateTrace* trace) {
  const TalkerConfig& tc = talker.config();
  const int64_t H = talker.hidden(), V = talker.vocab(), G = cp.groups(), CV = cp.vocab();
  if (opt.max_new_tokens <= 0) fail(ErrorKind::kInvalidArgument, "max_new_tokens must be positive");
  Sampler sampler(opt.seed);
  DecoderState talker_state =
      talker.new_state(prompt.length + std::min(opt.max_new_tokens, 256) + 1);
  CodePredictorState cp_state = cp.new_state();

  std::vector<float> hidden(static_cast<size_t>(prompt.length * H)), logits(static_cast<size_t>(V));
  std::vector<int64_t> positions(static_cast<size_t>(prompt.length));
  for (int64_t t = 0; t < prompt.length; ++t) positions[t] = t;
  talker.forward(pool, prompt.embeds.data(), prompt.length, positions.data(), nullptr, talker_state,
                 hidden.data());
  std::vector<float> last(hidden.end() - H, hidden.end());
  int64_t next_pos = prompt.length;

  // Code 0 from the talker logits: repetition penalty over this run's tokens,
  // special ids suppressed (except EOS), EOS forbidden before min_new_tokens.
  Generated out;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  auto next_code0 = [&](int64_t step) {
    talker.logits(pool, last.data(), 1, logits.data());
    if (trace) {
      trace->talker_logits.insert(trace->talker_logits.end(), logits.begin(), logits.end());
      trace->talker_last_hidden.insert(trace->talker_last_hidden.end(), last.begin(), last.end());
    }
    apply_repetition_penalty(logits.data(), V, out.talker_sequence, opt.repetition_penalty);
    for (int64_t i = V - 1024; i < V; ++i)
      if (i != tc.codec_eos_id) logits[i] = kNegInf;
    if (step < opt.min_new_tokens) logits[tc.codec_eos_id] = kNegInf;
    return sampler.pick(logits.data(), V, opt.talker);
  };

  CodePredictor::Pick pick_residual = [&](int, float* l) {
    return sampler.pick(l, CV, opt.subtalker);
  };
  std::vector<float> code0_embed(static_cast<size_t>(H)), step(static_cast<size_t>(H));
  std::vector<float> cp_logits(trace ? static_cast<size_t>((G - 1) * CV) : 0);
  std::vector<int32_t> frame(static_cast<size_t>(G));

  for (int64_t n = 0;; ++n) {
    const int32_t code0 = next_code0(n);
    out.talker_sequence.push_back(code0);
    if (code0 == tc.codec_eos_id) {
      out.stopped_on_eos = true;
      break;
    }
    if (n + 1 >= opt.max_new_tokens) break;  // the last token gets no residual codes

    // Residual codes of this frame.
    frame[0] = code0;
    talker.embed_codec(code0, code0_embed.data());
    cp.predict(pool, last.data(), code0_embed.data(), cp_state, pick_residual, frame.data() + 1,
               trace ? cp_logits.data() : nullptr);
    if (trace) trace->cp_logits.insert(trace->cp_logits.end(), cp_logits.begin(), cp_logits.end());
    out.codes.insert(out.codes.end(), frame.begin(), frame.end());
    out.hidden.insert(out.hidden.end(), last.begin(), last.end());
    ++out.frames;
    if (opt.on_frame && !opt.on_frame(out.frames - 1, frame.data())) {
      out.stopped_by_callback = true;
      break;
    }

    // Next talker input: the sum of the frame's 16 code embeddings plus the next
    // trailing-text embedding (tts_pad once the text is used up).
    step = code0_embed;
    for (int g = 1; g < G; ++g) cp.add_embed(g, frame[g], step.data());
    const float* text =
        n < prompt.trailing_length ? prompt.trailing.data() + n * H : prompt.tts_pad.data();
    for (int64_t i = 0; i < H; ++i) step[i] += text[i];
    if (trace) trace->step_embeds.insert(trace->step_embeds.end(), step.begin(), step.end());
    talker.forward(pool, step.data(), 1, &next_pos, nullptr, talker_state, last.data());
    ++next_pos;
  }
  return out;
}

}  // namespace izwi::tts
