#include "models/qwen3_tts/code_predictor.h"

#include <algorithm>

#include "core/error.h"

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
  s.logits.resize(static_cast<size_t>(cfg_.vocab_size));
  return s;
}

void CodePredictor::predict(ThreadPool* pool, const float* talker_hidden, const float* code0_embed,
                            CodePredictorState& st, const Pick& pick, int32_t* codes,
                            float* logits_out) const {
  const int64_t TH = talker_hidden_, H = cfg_.stack.hidden_size, V = cfg_.vocab_size;
  // Buffers of the request's state: no allocation per frame.
  DecoderState& state = st.decoder;
  state.clear();
  std::vector<float>& in = st.in;
  std::vector<float>& x = st.x;
  std::vector<float>& hidden = st.hidden;
  std::vector<float>& logits = st.logits;
  std::copy_n(talker_hidden, TH, in.begin());
  std::copy_n(code0_embed, TH, in.begin() + TH);
  project(pool, in.data(), 2, x.data());
  int64_t pos[2] = {0, 1};
  stack_.forward(pool, x.data(), 2, pos, nullptr, state, hidden.data());
  const float* last = hidden.data() + H;
  for (int j = 0; j + 1 < cfg_.num_code_groups; ++j) {
    heads_[j].apply(pool, last, 1, logits.data());
    if (logits_out) std::copy(logits.begin(), logits.end(), logits_out + j * V);
    codes[j] = pick(j + 1, logits.data());
    if (j + 2 == cfg_.num_code_groups) break;  // the last code needs no further step
    embedding_row(embeddings_[j], codes[j], in.data());
    project(pool, in.data(), 1, x.data());
    const int64_t p = state.length;
    stack_.forward(pool, x.data(), 1, &p, nullptr, state, hidden.data());
    last = hidden.data();
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
