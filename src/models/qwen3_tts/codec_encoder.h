// Codec encoder of the 12 Hz speech tokenizer (Mimi): 24 kHz audio -> codes.
//
//   SEANet: conv k=7, then per ratio (4, 5, 6, 8): residual block, ELU, strided
//           conv doubling the channels; ELU, conv k=3 to hidden   [hidden, T25]
//           (all causal: run over 1 s blocks with carried histories, so a
//           30 s reference never holds 30 s of 64-channel 24 kHz activations)
//   transformer: causal, LayerNorm, GELU MLP, layer scales         [T25, hidden]
//   downsample: conv k=4 stride 2, replicate padding               [hidden, T12]
//   split RVQ encode: level 0 semantic, levels 1.. acoustic, each level the
//           nearest codeword (Euclidean) of the running residual  [frames, n_q]
// Frames are trimmed to ceil(samples / 1920).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "models/qwen3_tts/codec_config.h"
#include "models/qwen3_tts/codec_layers.h"

namespace izwi::codec {

// encoder.encoder.layers.{i}: a residual block (block.1: k=3 dim->dim/2, block.3: k=1 back)
struct SeanetResBlock {
  Conv1d conv1, conv2;
};

// encoder.encoder_transformer.layers.*
struct EncoderTransformerLayer {
  std::vector<float> ln1_w, ln1_b;  // .input_layernorm
  SelfAttention self_attn;          // full causal
  std::vector<float> attn_scale;    // .self_attn_layer_scale.scale
  std::vector<float> ln2_w, ln2_b;  // .post_attention_layernorm
  Linear fc1, fc2;                  // .mlp.fc1 [inter, hidden], .mlp.fc2 [hidden, inter]
  std::vector<float> mlp_scale;     // .mlp_layer_scale.scale
};

// One residual VQ group (semantic or acoustic).
struct RvqGroup {
  Tensor input_proj;  // .input_proj.weight [dim, hidden, 1] (absent when dim == hidden)
  std::vector<std::vector<float>> codebooks;  // embed_sum / clamp(cluster_usage), [size * dim]
  std::vector<std::vector<double>> norms;     // squared codeword norms
};

class CodecEncoder {
 public:
  CodecEncoder(const CodecEncoderConfig& config, int samples_per_frame, int num_quantizers,
               WeightSource& weights);

  const CodecEncoderConfig& config() const { return cfg_; }
  int num_quantizers() const { return n_q_; }

  // wav: 24 kHz mono samples; returns codes [frames, n_q] row-major with
  // frames = ceil(n / samples_per_frame).
  std::vector<int32_t> encode(ThreadPool* pool, const float* wav, int64_t n,
                              const Trace& trace = nullptr) const;

  // The SEANet's block, in output steps (25 = 1 s of 24 kHz audio): memory
  // against per-call overhead only. Every block size gives the same sums in
  // the same order with izwi's GEMM; BLAS (CPUs without AVX2) may round apart.
  void set_block_steps(int steps) { block_steps_ = std::max(1, steps); }

 private:
  // The SEANet over wav in blocks: [T25, hidden], time-major.
  std::vector<float> seanet(ThreadPool* pool, const float* wav, int64_t n) const;
  void quantize(ThreadPool* pool, const Signal& x, const RvqGroup& g, int first_level, int levels,
                std::vector<int32_t>& codes) const;

  CodecEncoderConfig cfg_;
  int samples_per_frame_;
  int n_q_;
  int block_steps_ = 25;
  std::vector<Conv1d> convs_;  // layers.0, the strided convs, the last conv (in order)
  std::vector<std::vector<SeanetResBlock>> res_;  // per ratio stage
  std::vector<EncoderTransformerLayer> layers_;
  Conv1d downsample_;  // encoder.downsample.conv (no bias)
  bool has_downsample_ = false;
  RvqGroup semantic_, acoustic_;
};

}  // namespace izwi::codec
