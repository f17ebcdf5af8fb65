#include "models/qwen3_tts/code_predictor.h"

#include <algorithm>

#include "core/error.h"
#include "core/thread_pool.h"

namespace izwi::tts {

CodePredictor::CodePredictor(const CodePredictorConfig& c, int talker_hidden, WeightSource& w)
    : cfg_(c), talker_hidden_(talker_hidden), stack_(c.stack, w, "talker.code_predictor.model") {
  const int H = c.stack.hidden_size;
  for (int j = 0; j + 1 < c.num_code_groups; ++j) {
    embeddings_.push_back(
        w.get("talker.code_predictor.model.codec_embedding." + std::to_string(j) + ".weight",
              {c.vocab_size, talker_hidden}));
    codec::Linear head;
    head.load(w, "talker.code_predictor.lm_head." + std::to_string(j), H, c.vocab_size, false);
    heads_.push_back(std::move(head));
  }
  if (H != talker_hidden) {
    projection_.load(w, "talker.code_predictor.small_to_mtp_projection", talker_hidden, H, true);
    has_projection_ = true;
  }
}

void CodePredictor::embed(int group, int32_t code, float* out) const {
  if (group < 1 || group >= cfg_.num_code_groups)
    fail(ErrorKind::kInvalidArgument, "code group ", group, " is out of range [1, ",
         cfg_.num_code_groups, ")");
  embedding_row(embeddings_[group - 1], code, out);
}

void CodePredictor::add_embed(int group, int32_t code, float* out) const {
  if (group < 1 || group >= cfg_.num_code_groups)
    fail(ErrorKind::kInvalidArgument, "code group ", group, " is out of range [1, ",
         cfg_.num_code_groups, ")");
  add_embedding_row(embeddings_[group - 1], code, out);
}

void CodePredictor::project(ThreadPool* pool, const float* x, int64_t rows, float* out) const {
  if (has_projection_)
    projection_.apply(pool, x, rows, out);
  else
    std::copy_n(x, rows * talker_hidden_, out);
}

CodePredictorState CodePredictor::new_state() const {
  CodePredictorState s;
  s.decoder = stack_.new_state(cfg_.num_code_groups + 1);
  s.in.resize(static_cast<size_t>(2 * talker_hidden_));
  s.x.resize(static_cast<size_t>(2 * cfg_.stack.hidden_size));
  s.hidden.resize(static_cast<size_t>(2 * cfg_.stack.hidden_size));
  s.last.resize(static_cast<size_t>(cfg_.stack.hidden_size));
  s.logits.resize(static_cast<size_t>(cfg_.vocab_size));
  s.decoders.resize(1);
  s.positions.resize(2);
  return s;
}

void CodePredictor::predict(ThreadPool* pool, const float* talker_hidden, const float* code0_embed,
                            CodePredictorState& st, const Pick& pick, int32_t* codes,
                            float* logits_out) const {
  CodePredictorState* states[] = {&st};
  const Pick* picks[] = {&pick};
  float* logits[] = {logits_out};
  predict_batch(pool, 1, talker_hidden, code0_embed, states, picks, codes, logits, st);
}

void CodePredictor::predict_batch(ThreadPool* pool, int64_t B, const float* talker_hidden,
                                  const float* code0_embeds, CodePredictorState* const* states,
                                  const Pick* const* picks, int32_t* codes,
                                  float* const* logits_out, CodePredictorState& scratch) const {
  const int64_t TH = talker_hidden_, H = cfg_.stack.hidden_size, V = cfg_.vocab_size;
  const int64_t G1 = cfg_.num_code_groups - 1;
  // The batch's buffers (the request's own when B == 1): no allocation per frame
  // once they have grown to the largest batch.
  auto sized = [](std::vector<float>& v, int64_t n) {
    if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
    return v.data();
  };
  float* in = sized(scratch.in, 2 * B * TH);
  float* x = sized(scratch.x, 2 * B * H);
  float* hidden = sized(scratch.hidden, 2 * B * H);
  float* last = sized(scratch.last, B * H);
  float* logits = sized(scratch.logits, B * V);
  if (static_cast<int64_t>(scratch.decoders.size()) < B) scratch.decoders.resize(B);
  if (static_cast<int64_t>(scratch.positions.size()) < 2 * B) scratch.positions.resize(2 * B);
  DecoderState** decoders = scratch.decoders.data();
  int64_t* pos = scratch.positions.data();

  // Step 0: two rows per frame, [talker hidden, emb(code 0)], as B runs of two.
  for (int64_t b = 0; b < B; ++b) {
    decoders[b] = &states[b]->decoder;
    decoders[b]->clear();
    std::copy_n(talker_hidden + b * TH, TH, in + 2 * b * TH);
    std::copy_n(code0_embeds + b * TH, TH, in + (2 * b + 1) * TH);
    pos[2 * b] = 0;
    pos[2 * b + 1] = 1;
  }
  project(pool, in, 2 * B, x);
  stack_.forward_runs(pool, x, 2 * B, pos, nullptr, decoders, B, scratch.decoder, hidden);
  for (int64_t b = 0; b < B; ++b) std::copy_n(hidden + (2 * b + 1) * H, H, last + b * H);
  for (int64_t j = 0; j < G1; ++j) {
    heads_[j].apply(pool, last, B, logits);
    // Each stream samples with its own sampler, so a batch's picks run side by
    // side: one after another they kept the other cores waiting for ~2 % of a
    // four-stream step. (One stream's pick runs inline: a one-item loop starts
    // no workers.)
    parallel_for(pool, B, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        float* l = logits + b * V;
        if (logits_out && logits_out[b]) std::copy_n(l, V, logits_out[b] + j * V);
        codes[b * G1 + j] = (*picks[b])(static_cast<int>(j + 1), l);
      }
    });
    if (j + 1 == G1) break;  // the last code needs no further step
    for (int64_t b = 0; b < B; ++b) {
      embedding_row(embeddings_[j], codes[b * G1 + j], in + b * TH);
      pos[b] = decoders[b]->length;
    }
    project(pool, in, B, x);
    stack_.forward_batch(pool, x, B, pos, decoders, scratch.decoder, last);
  }
}

void CodePredictor::teacher_forced(ThreadPool* pool, const float* talker_hidden,
                                   const float* code0_embed, const int32_t* codes,
                                   float* logits) const {
  const int64_t G = cfg_.num_code_groups, TH = talker_hidden_, H = cfg_.stack.hidden_size,
                V = cfg_.vocab_size;
  std::vector<float> in(static_cast<size_t>(G * TH)), x(static_cast<size_t>(G * H)),
      hidden(static_cast<size_t>(G * H));
  std::copy_n(talker_hidden, TH, in.begin());
  std::copy_n(code0_embed, TH, in.begin() + TH);
  for (int64_t j = 1; j + 1 < G; ++j)
    embedding_row(embeddings_[j - 1], codes[j], in.data() + (j + 1) * TH);
  project(pool, in.data(), G, x.data());
  std::vector<int64_t> pos(static_cast<size_t>(G));
  for (int64_t i = 0; i < G; ++i) pos[i] = i;
  DecoderState state = stack_.new_state(G);
  stack_.forward(pool, x.data(), G, pos.data(), nullptr, state, hidden.data());
  for (int64_t j = 0; j + 1 < G; ++j)
    heads_[j].apply(pool, hidden.data() + (j + 1) * H, 1, logits + j * V);
}

}  // namespace izwi::tts
