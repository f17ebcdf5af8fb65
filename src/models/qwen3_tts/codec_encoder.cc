#include "models/qwen3_tts/codec_encoder.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/thread_pool.h"

namespace izwi::codec {

namespace {

void load_rvq(WeightSource& w, const std::string& prefix, int levels, const CodecEncoderConfig& c,
              RvqGroup& g) {
  const int dim = c.codebook_dim;
  if (c.vq_hidden_dim != c.hidden_size) {
    g.input_proj = w.get(prefix + ".input_proj.weight", {dim, c.hidden_size, 1});
    if (g.input_proj.dtype != DType::kF32) g.input_proj = g.input_proj.to_f32();
  }
  for (int l = 0; l < levels; ++l) {
    const std::string p = prefix + ".layers." + std::to_string(l) + ".codebook.";
    const auto usage = to_vector_f32(w.get(p + "cluster_usage", {c.codebook_size}));
    auto embed = to_vector_f32(w.get(p + "embed_sum", {c.codebook_size, dim}));
    std::vector<double> norms(static_cast<size_t>(c.codebook_size));
    for (int i = 0; i < c.codebook_size; ++i) {
      const float u = std::max(usage[i], 1e-5f);
      double n2 = 0;
      for (int d = 0; d < dim; ++d) {
        float& e = embed[static_cast<size_t>(i) * dim + d];
        e /= u;
        n2 += static_cast<double>(e) * e;
      }
      norms[i] = n2;
    }
    g.codebooks.push_back(std::move(embed));
    g.norms.push_back(std::move(norms));
  }
}

}  // namespace

CodecEncoder::CodecEncoder(const CodecEncoderConfig& config, int samples_per_frame,
                           int num_quantizers, WeightSource& w)
    : cfg_(config), samples_per_frame_(samples_per_frame), n_q_(num_quantizers) {
  if (n_q_ < cfg_.num_semantic_quantizers || n_q_ > cfg_.num_quantizers)
    fail(ErrorKind::kInvalidArgument, "encoder: ", n_q_, " quantizers asked, the model has ",
         cfg_.num_quantizers);
  const std::string p = "encoder.encoder.layers.";
  int idx = 0;
  int scale = 1;
  Conv1d first;
  first.load(w, p + std::to_string(idx++) + ".conv", cfg_.audio_channels, cfg_.num_filters,
             cfg_.kernel_size);
  convs_.push_back(std::move(first));
  for (auto it = cfg_.upsampling_ratios.rbegin(); it != cfg_.upsampling_ratios.rend(); ++it) {
    const int ratio = *it;
    const int dim = scale * cfg_.num_filters;
    std::vector<SeanetResBlock> stage;
    for (int j = 0; j < cfg_.num_residual_layers; ++j) {
      const std::string rb = p + std::to_string(idx++) + ".block.";
      const int dil = static_cast<int>(std::pow(cfg_.dilation_growth_rate, j));
      SeanetResBlock b;
      b.conv1.load(w, rb + "1.conv", dim, dim / cfg_.compress, cfg_.residual_kernel_size, 1, dil);
      b.conv2.load(w, rb + "3.conv", dim / cfg_.compress, dim, 1);
      stage.push_back(std::move(b));
    }
    res_.push_back(std::move(stage));
    ++idx;  // ELU
    Conv1d down;
    down.load(w, p + std::to_string(idx++) + ".conv", dim, dim * 2, ratio * 2, ratio);
    convs_.push_back(std::move(down));
    scale *= 2;
  }
  ++idx;  // ELU
  Conv1d last;
  last.load(w, p + std::to_string(idx) + ".conv", scale * cfg_.num_filters, cfg_.hidden_size,
            cfg_.last_kernel_size);
  convs_.push_back(std::move(last));
  if (cfg_.use_conv_shortcut)
    fail(ErrorKind::kInvalidFormat, "encoder: use_conv_shortcut is not supported");

  const int H = cfg_.hidden_size;
  for (int l = 0; l < cfg_.num_hidden_layers; ++l) {
    const std::string lp = "encoder.encoder_transformer.layers." + std::to_string(l) + ".";
    EncoderTransformerLayer L;
    L.ln1_w = to_vector_f32(w.get(lp + "input_layernorm.weight", {H}));
    L.ln1_b = to_vector_f32(w.get(lp + "input_layernorm.bias", {H}));
    // transformers' Mimi builds a plain causal mask (its sliding_window is not applied).
    L.self_attn.load(w, lp + "self_attn", H, cfg_.num_attention_heads, cfg_.num_key_value_heads,
                     cfg_.head_dim, cfg_.rope_theta, 0);
    L.attn_scale = to_vector_f32(w.get(lp + "self_attn_layer_scale.scale", {H}));
    L.ln2_w = to_vector_f32(w.get(lp + "post_attention_layernorm.weight", {H}));
    L.ln2_b = to_vector_f32(w.get(lp + "post_attention_layernorm.bias", {H}));
    L.fc1.load(w, lp + "mlp.fc1", H, cfg_.intermediate_size, false);
    L.fc2.load(w, lp + "mlp.fc2", cfg_.intermediate_size, H, false);
    L.mlp_scale = to_vector_f32(w.get(lp + "mlp_layer_scale.scale", {H}));
    layers_.push_back(std::move(L));
  }
  if (const int k = cfg_.downsample_kernel(); k > 0) {
    downsample_.load(w, "encoder.downsample.conv", H, H, k, 2, 1, 1, false);
    has_downsample_ = true;
  }
  const int n_sem = cfg_.num_semantic_quantizers;
  load_rvq(w, "encoder.quantizer.semantic_residual_vector_quantizer", n_sem, cfg_, semantic_);
  load_rvq(w, "encoder.quantizer.acoustic_residual_vector_quantizer", n_q_ - n_sem, cfg_,
           acoustic_);
}

void CodecEncoder::quantize(ThreadPool* pool, const Signal& x, const RvqGroup& g, int first_level,
                            int levels, std::vector<int32_t>& codes) const {
  const int64_t T = x.frames;
  const int dim = cfg_.codebook_dim, K = cfg_.codebook_size;
  // residual: [T, dim] (time-major) after the optional 1x1 input projection.
  std::vector<float> residual;
  if (!g.input_proj.empty()) {
    Signal proj(dim, T);
    ops::conv1d(pool, x.data.data(), x.channels, T, g.input_proj.f32(), dim, 1, nullptr, {},
                proj.data.data());
    residual = to_time_first(proj);
  } else {
    residual = to_time_first(x);
  }
  std::vector<float> scores(static_cast<size_t>(T * K));
  for (int l = 0; l < levels; ++l) {
    const std::vector<float>& cb = g.codebooks[l];
    const std::vector<double>& norms = g.norms[l];
    // scores[t, k] = residual[t] . codeword[k]
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(T), K, dim, 1.0f,
                residual.data(), dim, cb.data(), dim, 0.0f, scores.data(), K);
    for (int64_t t = 0; t < T; ++t) {
      float* r = residual.data() + t * dim;
      const float* s = scores.data() + t * K;
      double r2 = 0;
      for (int d = 0; d < dim; ++d) r2 += static_cast<double>(r[d]) * r[d];
      // Approximate squared distances in float; near-ties re-decided exactly in double.
      double best = std::numeric_limits<double>::infinity();
      for (int k = 0; k < K; ++k) best = std::min(best, norms[k] - 2.0 * s[k]);
      const double slack = 1e-4 * (r2 + std::abs(best)) + 1e-6;
      int arg = -1;
      double best_exact = std::numeric_limits<double>::infinity();
      for (int k = 0; k < K; ++k) {
        if (norms[k] - 2.0 * s[k] > best + slack) continue;
        const float* e = cb.data() + static_cast<size_t>(k) * dim;
        double d2 = 0;
        for (int d = 0; d < dim; ++d) {
          const double diff = static_cast<double>(r[d]) - e[d];
          d2 += diff * diff;
        }
        if (d2 < best_exact) {
          best_exact = d2;
          arg = k;
        }
      }
      IZWI_ASSERT(arg >= 0);
      codes[t * n_q_ + first_level + l] = arg;
      const float* e = cb.data() + static_cast<size_t>(arg) * dim;
      for (int d = 0; d < dim; ++d) r[d] -= e[d];
    }
  }
}

std::vector<float> CodecEncoder::seanet(ThreadPool* pool, const float* wav, int64_t n) const {
  const ops::PadMode pad =
      cfg_.pad_mode == "replicate" ? ops::PadMode::kReplicate : ops::PadMode::kZeros;
  int64_t hop = 1;  // input samples per SEANet output step
  for (int r : cfg_.upsampling_ratios) hop *= r;
  const int64_t block = hop * block_steps_;
  const int64_t C = cfg_.hidden_size;
  // One history per convolution, in the order the blocks below use them.
  size_t n_convs = convs_.size();
  for (const auto& stage : res_) n_convs += 2 * stage.size();
  std::vector<std::vector<float>> history(n_convs);
  std::vector<float> out;  // [steps, hidden]
  for (int64_t s0 = 0; s0 < n; s0 += block) {
    const int64_t len = std::min(block, n - s0);
    const bool last = s0 + len == n;
    auto hist = history.begin();
    Signal x(1, len);
    std::copy_n(wav + s0, len, x.data.begin());
    x = convs_[0].causal_block(pool, x, *hist++, pad, last);
    for (size_t s = 0; s < res_.size(); ++s) {
      for (const SeanetResBlock& b : res_[s]) {
        Signal h = x;
        ops::elu(pool, h.data.data(), static_cast<int64_t>(h.data.size()));
        h = b.conv1.causal_block(pool, h, *hist++, pad, last);
        ops::elu(pool, h.data.data(), static_cast<int64_t>(h.data.size()));
        h = b.conv2.causal_block(pool, h, *hist++, pad, last);
        float* xd = x.data.data();
        const float* hd = h.data.data();
        parallel_for(pool, static_cast<int64_t>(x.data.size()), 1 << 14,
                     [&](int64_t i0, int64_t i1) {
                       for (int64_t i = i0; i < i1; ++i) xd[i] += hd[i];
                     });
      }
      ops::elu(pool, x.data.data(), static_cast<int64_t>(x.data.size()));
      x = convs_[s + 1].causal_block(pool, x, *hist++, pad, last);
    }
    ops::elu(pool, x.data.data(), static_cast<int64_t>(x.data.size()));
    x = convs_.back().causal_block(pool, x, *hist++, pad, last);
    IZWI_ASSERT(hist == history.end() && x.channels == C);
    const std::vector<float> steps = to_time_first(x);
    out.insert(out.end(), steps.begin(), steps.end());
  }
  return out;
}

std::vector<int32_t> CodecEncoder::encode(ThreadPool* pool, const float* wav, int64_t n,
                                          const Trace& trace) const {
  if (n <= 0) fail(ErrorKind::kInvalidArgument, "cannot encode empty audio (0 samples)");
  std::vector<float> h = seanet(pool, wav, n);  // [T, hidden]
  const int64_t T = static_cast<int64_t>(h.size()) / cfg_.hidden_size;
  if (trace) {
    const Signal conv_out = to_channels_first(h.data(), T, cfg_.hidden_size);
    trace("conv_out", {conv_out.channels, conv_out.frames}, conv_out.data.data());
  }

  const int64_t H = cfg_.hidden_size, I = cfg_.intermediate_size;
  std::vector<float> normed(h.size()), attn(h.size()), mid(static_cast<size_t>(T * I));
  for (const auto& L : layers_) {
    ops::layer_norm(h.data(), T, H, L.ln1_w.data(), L.ln1_b.data(), cfg_.norm_eps, normed.data());
    L.self_attn.apply(pool, normed.data(), T, attn.data());
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < H; ++c) h[t * H + c] += L.attn_scale[c] * attn[t * H + c];
    ops::layer_norm(h.data(), T, H, L.ln2_w.data(), L.ln2_b.data(), cfg_.norm_eps, normed.data());
    L.fc1.apply(pool, normed.data(), T, mid.data());
    ops::gelu_erf(mid.data(), T * I);
    L.fc2.apply(pool, mid.data(), T, attn.data());
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < H; ++c) h[t * H + c] += L.mlp_scale[c] * attn[t * H + c];
  }
  if (trace) trace("transformer_out", {T, H}, h.data());
  Signal x = to_channels_first(h.data(), T, H);
  if (has_downsample_) x = downsample_.causal(pool, x, ops::PadMode::kReplicate);
  if (trace) trace("downsample_out", {x.channels, x.frames}, x.data.data());

  std::vector<int32_t> codes(static_cast<size_t>(x.frames * n_q_));
  const int n_sem = cfg_.num_semantic_quantizers;
  quantize(pool, x, semantic_, 0, n_sem, codes);
  if (n_q_ > n_sem) quantize(pool, x, acoustic_, n_sem, n_q_ - n_sem, codes);

  const int64_t frames = (n + samples_per_frame_ - 1) / samples_per_frame_;
  IZWI_ASSERT(frames <= x.frames);
  codes.resize(static_cast<size_t>(frames * n_q_));
  return codes;
}

}  // namespace izwi::codec
