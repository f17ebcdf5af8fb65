// The code predictor: for each frame, the 15 residual codes (codebooks 1..15)
// from the talker's hidden state and code 0. A small Qwen3 decoder run
// autoregressively over [talker_hidden, emb(code0), emb_1(code1), ...], each
// input first passed through small_to_mtp_projection (identity when the widths
// match); lm_head[j] predicts code j+1. Its KV cache lives one frame.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "models/qwen3_tts/decoder_stack.h"

namespace izwi::tts {

// Per-request state: the decoder's KV cache (one frame long) and input buffers.
struct CodePredictorState {
  DecoderState decoder;
  std::vector<float> in, x, hidden, last, logits;
  // Used when this state is a batch's scratch (predict_batch).
  std::vector<DecoderState*> decoders;
  std::vector<int64_t> positions;
};

class CodePredictor {
 public:
  CodePredictor(const CodePredictorConfig& config, int talker_hidden, WeightSource& weights);

  int groups() const { return cfg_.num_code_groups; }  // 16: code 0 + 15 residual codes
  int vocab() const { return cfg_.vocab_size; }
  CodePredictorState new_state() const;

  // codec_embedding[group - 1](code) for group 1..15: out [talker_hidden]; add_embed adds it.
  void embed(int group, int32_t code, float* out) const;
  void add_embed(int group, int32_t code, float* out) const;

  // Picks one code from `logits` [vocab] for residual group j (1..15); may modify logits.
  using Pick = std::function<int32_t(int group, float* logits)>;

  // codes[0 .. 14] = codes 1..15 of the frame. logits_out, if given, receives the
  // raw logits [15, vocab].
  void predict(ThreadPool* pool, const float* talker_hidden, const float* code0_embed,
               CodePredictorState& state, const Pick& pick, int32_t* codes,
               float* logits_out = nullptr) const;

  // The same for B frames of independent requests at once, each weight read
  // once per pass for all of them: frame b has talker_hidden + b * talker_hidden,
  // code0_embeds + b * talker_hidden, *states[b], *picks[b], codes + b * 15 and,
  // if logits_out[b] (or logits_out) is non-null, its raw logits [15, vocab].
  // `scratch` holds the batch's buffers (grown as needed, never shrunk).
  void predict_batch(ThreadPool* pool, int64_t B, const float* talker_hidden,
                     const float* code0_embeds, CodePredictorState* const* states,
                     const Pick* const* picks, int32_t* codes, float* const* logits_out,
                     CodePredictorState& scratch) const;

  // One causal pass over [hidden, emb(code0), emb_1(code1) .. emb_14(code14)] for
  // given codes [16] (training-style): logits [15, vocab].
  void teacher_forced(ThreadPool* pool, const float* talker_hidden, const float* code0_embed,
                      const int32_t* codes, float* logits) const;

 private:
  void project(ThreadPool* pool, const float* x, int64_t rows, float* out) const;

  CodePredictorConfig cfg_;
  int talker_hidden_;
  DecoderStack stack_;                // talker.code_predictor.model
  std::vector<Tensor> embeddings_;    // .model.codec_embedding.{0..14} [vocab, talker_hidden]
  std::vector<codec::Linear> heads_;  // .lm_head.{0..14} [vocab, hidden]
  codec::Linear projection_;          // .small_to_mtp_projection (+bias), if widths differ
  bool has_projection_ = false;
};

}  // namespace izwi::tts
