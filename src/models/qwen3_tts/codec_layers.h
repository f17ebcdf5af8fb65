// Building blocks shared by the codec encoder and decoder: convolutions,
// SnakeBeta, linear layers and the attention sub-block. Weights are plain
// structs loaded once; the forward functions keep no state between calls.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/no_zero.h"
#include "core/tensor.h"
#include "kernels/ops.h"
#include "models/qwen3_tts/weights.h"

namespace izwi {
class ThreadPool;
}

namespace izwi::codec {

// Activations over [channels, time], row-major.
struct Signal {
  int64_t channels = 0;
  int64_t frames = 0;
  NoZeroVector<float> data;

  Signal() = default;
  Signal(int64_t c, int64_t t) : channels(c), frames(t), data(static_cast<size_t>(c * t), 0.0f) {}
  // Unset samples, for an output the next kernel writes in full.
  static Signal uninit(int64_t c, int64_t t) {
    Signal s;
    s.channels = c;
    s.frames = t;
    s.data.resize(static_cast<size_t>(c * t));
    return s;
  }
  float* row(int64_t c) { return data.data() + c * frames; }
};

// Optional observer of named intermediate tensors (golden tests, debugging).
using Trace = std::function<void(const std::string& stage, const std::vector<int64_t>& shape,
                                 const float* data)>;

// SnakeBeta: `<prefix>.alpha`, `<prefix>.beta` [channels] (log scale in the checkpoint).
struct SnakeBeta {
  std::vector<float> alpha, inv_beta;  // exp(alpha), 1 / (exp(beta) + 1e-9)
  void load(WeightSource& w, const std::string& prefix, int channels);
  void apply(ThreadPool* pool, Signal& x) const;
};

// Conv1d: `<prefix>.weight` [out, in/groups, k], `<prefix>.bias` [out] (optional).
struct Conv1d {
  Tensor weight, bias;
  int in = 0, out = 0, kernel = 0, stride = 1, dilation = 1, groups = 1;
  ops::Bf16ConvWeights weight_bf16;      // once use_bf16() ran; the zero-padded forms use it
  ops::PackedConvWeights weight_packed;  // once use_packed() ran (the f32 weight is then dropped)
  ops::WinogradConvWeights weight_winograd;  // once use_winograd() ran (likewise)

  void load(WeightSource& w, const std::string& prefix, int in_ch, int out_ch, int k,
            int stride_ = 1, int dilation_ = 1, int groups_ = 1, bool has_bias = true);
  // Packs the weights for the bf16 convolutions where they apply (stride 1,
  // groups 1, in a multiple of 32); other convolutions stay f32. The f32
  // weights of a packed one are dropped and their pages handed back to `from`.
  void use_bf16(WeightSource& from);
  // Repacks the weights once into the f32 GEMM's panels where that applies
  // (stride 1, groups 1, AVX2 or AVX-512); exact, like the plain f32 weights.
  void use_packed(WeightSource& from);
  // Transforms the weights once for Winograd's F(4, K) (ops::conv1d_winograd:
  // stride 1, groups 1, zero padding, AVX2 or AVX-512): K + 3 products per four
  // outputs instead of 4K, f32 but not bit-exact. Others stay as they are.
  void use_winograd(WeightSource& from);
  // Causal convolution as both official implementations define it: left pad of
  // (effective kernel - stride), and right padding so the last partial window
  // is covered; padding with zeros or by replicating the edge sample.
  // `act` (optional) is applied to the input first; x (and `history` below)
  // hold the input before it, so the bf16 path can fuse it into its packing.
  Signal causal(ThreadPool* pool, const Signal& x, ops::PadMode mode = ops::PadMode::kZeros,
                const SnakeBeta* act = nullptr) const;

  // y += causal(act(x)) with zero padding (a residual added in place); x may
  // be overwritten with act(x).
  void causal_add(ThreadPool* pool, Signal& x, const SnakeBeta* act, Signal& y) const;

  // The same causal convolution (stride 1, zero padding) over a stream cut into
  // blocks: `history` [in, (kernel-1)*dilation] holds the last inputs of earlier
  // blocks (all zeros at the start) and is updated. Blocks of any size give the
  // output of one call on the whole signal.
  Signal causal_step(ThreadPool* pool, const Signal& x, std::vector<float>& history,
                     const SnakeBeta* act = nullptr) const;
  int64_t history_length() const { return static_cast<int64_t>(kernel - 1) * dilation; }

  // `causal` over a stream cut into blocks, for any stride and either padding
  // (the encoder's SEANet): `history` [in, span - stride] carries the inputs
  // earlier blocks left, and is empty at the start (it then begins as the left
  // padding of `causal`). Blocks before the last are a multiple of the stride
  // long; the last is padded on the right as `causal` pads the whole signal, so
  // the outputs of the blocks, joined, are those of one `causal` call.
  Signal causal_block(ThreadPool* pool, const Signal& x, std::vector<float>& history,
                      ops::PadMode mode, bool last) const;
  // Whether a convolution with this padding runs on the bf16 weights.
  bool bf16_path(ops::PadMode mode) const {
    return !weight_bf16.empty() && mode == ops::PadMode::kZeros;
  }
};

// ConvTranspose1d: `<prefix>.weight` [in, out, k], `<prefix>.bias` [out]; the
// causal form trims (kernel - stride) samples on the right.
struct ConvTranspose1d {
  Tensor weight, bias;
  int in = 0, out = 0, kernel = 0, stride = 1;
  ops::Bf16ConvWeights weight_bf16;          // once use_bf16() ran (the f32 weight is then dropped)
  ops::PackedConvWeights weight_packed;      // once use_packed() ran (likewise)
  ops::WinogradConvWeights weight_winograd;  // once use_winograd() ran (likewise)

  void load(WeightSource& w, const std::string& prefix, int in_ch, int out_ch, int k, int stride_,
            bool has_bias = true);
  void use_bf16(WeightSource& from);
  void use_packed(WeightSource& from);
  // A kernel of two or more whole strides (the decoder's upsamplers) as its
  // output phases' convolutions by Winograd's F(4, kernel / stride) (ops::
  // conv_transpose1d_winograd), up to 4M weights; others packed as use_packed does.
  void use_winograd(WeightSource& from);
  Signal causal(ThreadPool* pool, const Signal& x) const;

  // Streamed form: returns x.frames * stride samples; `tail` [out, kernel - stride]
  // carries the overlap that later inputs add to (bias excluded), zeros at the start.
  Signal causal_step(ThreadPool* pool, const Signal& x, std::vector<float>& tail,
                     const SnakeBeta* act = nullptr) const;
  int64_t tail_length() const { return kernel - stride; }
};

// Linear: `<prefix>.weight` [out, in], `<prefix>.bias` [out] (optional).
struct Linear {
  Tensor weight;
  std::vector<float> bias;
  int in = 0, out = 0;
  ops::PackedConvWeights weight_packed;  // once use_packed() ran (the f32 weight is then dropped)
  ops::Bf16ConvWeights weight_bf16;      // once use_bf16() ran (likewise)
  void load(WeightSource& w, const std::string& prefix, int in_f, int out_f, bool has_bias);
  // f32 weights with `in` a multiple of 32 only (the codec's): bf16 weights and
  // bf16-rounded inputs from now on (ops::linear_bf16), as Conv1d::use_bf16.
  void use_bf16(WeightSource& from);
  // f32 weights only (the codec's): repacks them once into the GEMM kernel's
  // panels (ops::linear_packed; exact), where the CPU has that GEMM. Else, and
  // for other dtypes, nothing changes. The f32 weight's pages go back to `from`.
  void use_packed(WeightSource& from);
  // y: [rows, out] = x: [rows, in] W^T + b
  void apply(ThreadPool* pool, const float* x, int64_t rows, float* y) const;
};

// Self-attention sub-block without biases: q/k/v/o projections, rotary
// embedding ("rotate half"), causal softmax attention with optional window.
struct SelfAttention {
  Linear q_proj, k_proj, v_proj, o_proj;
  int n_heads = 0, n_kv_heads = 0, head_dim = 0;
  float rope_theta = 10000.0f;
  int window = 0;  // 0: full causal

  void load(WeightSource& w, const std::string& prefix, int hidden, int heads, int kv_heads,
            int hdim, float theta, int sliding_window);
  // x: [T, hidden] -> out: [T, hidden]
  void apply(ThreadPool* pool, const float* x, int64_t T, float* out) const;
};

// Copies `x` ([T, C], time-major) into a [C, T] signal, and back.
Signal to_channels_first(const float* x, int64_t T, int64_t C);
std::vector<float> to_time_first(const Signal& s);

}  // namespace izwi::codec
