// The talker: a Qwen3 decoder over summed text/codec embeddings that predicts
// code 0 of each 80 ms frame (codec_head -> [vocab] logits).
#pragma once

#include <cstdint>
#include <vector>

#include "models/qwen3_tts/decoder_stack.h"

namespace izwi::tts {

// The KV cache a talker with linears of `weights` keeps: f32 with exact
// weights (bf16, f32), f16 with 8/4-bit ones, which are inexact already: half
// the bytes each step reads from the cache ("Weight formats" in
// docs/ARCHITECTURE.md).
inline DType kv_cache_for(DType weights) {
  return weights == DType::kQ8 || weights == DType::kQ4 ? DType::kF16 : DType::kF32;
}

class Talker {
 public:
  // kv_cache: the KV cache's element type (DecoderStack), kF32 or kF16.
  Talker(const ModelConfig& config, WeightSource& weights, DType kv_cache = DType::kF32);

  const TalkerConfig& config() const { return cfg_; }
  int hidden() const { return cfg_.stack.hidden_size; }
  int vocab() const { return cfg_.vocab_size; }
  DecoderState new_state(int64_t capacity) const { return stack_.new_state(capacity); }
  DType kv_cache() const { return stack_.kv_cache(); }  // its states' cache elements

  // text_projection(text_embedding(ids)): out [n, hidden]
  void embed_text(ThreadPool* pool, const int32_t* ids, int64_t n, float* out) const;
  // codec_embedding(id): out [hidden]; add_codec adds it to out.
  void embed_codec(int32_t id, float* out) const { embedding_row(codec_embedding_, id, out); }
  void add_codec(int32_t id, float* out) const { add_embedding_row(codec_embedding_, id, out); }

  // Runs x [T, hidden] at `positions`; writes final-normed hidden states [T, hidden].
  void forward(ThreadPool* pool, const float* x, int64_t T, const int64_t* positions,
               const uint8_t* valid, DecoderState& state, float* hidden,
               const codec::Trace& trace = nullptr) const {
    stack_.forward(pool, x, T, positions, valid, state, hidden, trace);
  }
  // One step of B sequences: row b of x [B, hidden] at positions[b] into *states[b].
  void forward_batch(ThreadPool* pool, const float* x, int64_t B, const int64_t* positions,
                     DecoderState* const* states, DecoderState& scratch, float* hidden) const {
    stack_.forward_batch(pool, x, B, positions, states, scratch, hidden);
  }
  // codec_head: logits [rows, vocab] of hidden [rows, hidden].
  void logits(ThreadPool* pool, const float* hidden, int64_t rows, float* out) const {
    codec_head_.apply(pool, hidden, rows, out);
  }

 private:
  TalkerConfig cfg_;
  DecoderStack stack_;      // talker.model
  Tensor codec_embedding_;  // talker.model.codec_embedding.weight [vocab, hidden]
  Tensor text_embedding_;   // talker.model.text_embedding.weight [text_vocab, text_hidden]
  codec::Linear text_fc1_;  // talker.text_projection.linear_fc1 [text_hidden, text_hidden] (+bias)
  codec::Linear text_fc2_;  // talker.text_projection.linear_fc2 [hidden, text_hidden] (+bias)
  codec::Linear codec_head_;  // talker.codec_head [vocab, hidden]
};

}  // namespace izwi::tts
