// A Qwen3 decoder stack, shared by the talker and the code predictor:
// per layer RMSNorm -> attention (q/k/v projections, per-head q/k RMSNorm,
// rotary embedding, GQA over a KV cache) -> residual -> RMSNorm -> SwiGLU MLP
// -> residual; a final RMSNorm. No biases.
//
// The weights are shared and immutable; everything a request changes lives in
// its DecoderState (KV cache and scratch), so one model serves many requests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/no_zero.h"
#include "models/qwen3_tts/codec_layers.h"
#include "models/qwen3_tts/model_config.h"

namespace izwi::tts {

// Bias-free linears of one input applied as one (ops::linear_stacked): a
// decoding step reads all their weights in one parallel region over the pool
// (one barrier instead of one per linear, longer runs per thread), with no
// stacked copy of the weights. y row: [x W_0^T | x W_1^T | ...].
struct StackedLinear {
  static constexpr int kMaxParts = 3;
  std::vector<Tensor> parts;  // each [rows_i, in]
  int in = 0, out = 0;
  void load(WeightSource& w, int in_f, const std::vector<std::pair<std::string, int>>& prefixes);
  void apply(ThreadPool* pool, const float* x, int64_t rows, float* y) const;
};

// <prefix>.layers.*
struct DecoderLayer {
  std::vector<float> input_layernorm;  // [hidden]
  StackedLinear qkv_proj;  // .self_attn.{q,k,v}_proj: [heads*hd, hidden], [kv*hd, hidden] x2
  codec::Linear o_proj;    // .self_attn.o_proj [hidden, heads*hd]
  std::vector<float> q_norm, k_norm;            // .self_attn.{q,k}_norm [head_dim]
  std::vector<float> post_attention_layernorm;  // [hidden]
  StackedLinear gate_up_proj;                   // .mlp.{gate,up}_proj: [inter, hidden] x2
  codec::Linear down_proj;                      // .mlp.down_proj [hidden, inter]
};

// Per-request state: the KV cache (grows by doubling) and scratch buffers.
struct DecoderState {
  int64_t length = 0;  // cached positions
  int64_t capacity = 0;
  // Per layer [capacity, kv_heads * head_dim]: k, v for an f32 cache, k16, v16
  // (f16 bits) for a half-precision one (DecoderStack's kv_cache); the other
  // pair stays empty. Positions past `length` are never read, so they are left
  // unwritten: zeroing a talker's cache (~80 MB for a 100-token prompt and 256
  // frames) cost every session a pass over it, and a fresh process the page
  // faults of rows it may never reach.
  std::vector<NoZeroVector<float>> k, v;
  std::vector<NoZeroVector<uint16_t>> k16, v16;
  std::vector<uint8_t> valid;  // per position: attendable (left padding is not)
  // Scratch, reused across steps; `stacked` holds a stacked projection's output.
  std::vector<float> h, normed, q, kn, vn, ctx, gate, stacked, tmp;
  std::vector<ops::AttentionRun> runs;  // one per run (stream) of a batched step

  void clear() { length = 0; }
};

class DecoderStack {
 public:
  // kv_cache: the element type of the states' KV caches, DType::kF32 (exact)
  // or DType::kF16 (half the bytes each step reads; see "Weight formats" in
  // docs/ARCHITECTURE.md for where izwi uses it).
  DecoderStack(const DecoderStackConfig& config, WeightSource& weights, const std::string& prefix,
               DType kv_cache = DType::kF32);

  const DecoderStackConfig& config() const { return cfg_; }
  DType kv_cache() const { return kv_cache_; }
  DecoderState new_state(int64_t capacity) const;

  // x: [T, hidden] input embeddings at `positions` [T]; `valid` [T] marks padded
  // rows (null: all valid). Appends T positions to the cache and writes the
  // final-normed hidden states to out: [T, hidden]. Trace stages: "hidden<l>"
  // (input of layer l) and "final_norm".
  void forward(ThreadPool* pool, const float* x, int64_t T, const int64_t* positions,
               const uint8_t* valid, DecoderState& state, float* out,
               const codec::Trace& trace = nullptr) const;

  // One decoding step of B independent sequences: row b of x [B, hidden] at
  // positions[b] is appended to *states[b]; out [B, hidden]. The linears read
  // each weight once for all B rows; `scratch` holds the step's buffers.
  void forward_batch(ThreadPool* pool, const float* x, int64_t B, const int64_t* positions,
                     DecoderState* const* states, DecoderState& scratch, float* out) const {
    forward_runs(pool, x, B, positions, nullptr, states, B, scratch, out);
  }

  // The general form: x [T, hidden] is `runs` consecutive runs of T / runs rows,
  // run r appended to *states[r] (one sequence of T rows, or T sequences of one
  // row, or B sequences of two). The linears see all T rows at once, so each
  // weight is read once; attention is per run. `valid` as in forward.
  void forward_runs(ThreadPool* pool, const float* x, int64_t T, const int64_t* positions,
                    const uint8_t* valid, DecoderState* const* states, int64_t runs,
                    DecoderState& scratch, float* out, const codec::Trace& trace = nullptr) const;

 private:
  void reserve(DecoderState& state, int64_t needed) const;

  DecoderStackConfig cfg_;
  DType kv_cache_;
  std::vector<DecoderLayer> layers_;
  std::vector<float> final_norm_;  // <prefix>.norm.weight
};

// Row `row` of an embedding table [rows, dim] (any float dtype) as f32; bounds-checked.
void embedding_row(const Tensor& table, int64_t row, float* out);
// out += row
void add_embedding_row(const Tensor& table, int64_t row, float* out);

}  // namespace izwi::tts
