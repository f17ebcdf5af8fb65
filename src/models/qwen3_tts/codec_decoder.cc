#include "models/qwen3_tts/codec_decoder.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"

namespace izwi::codec {

namespace {

std::vector<float> load_vec(WeightSource& w, const std::string& name, int n) {
  return to_vector_f32(w.get(name, {n}));
}

void scale_add(float* residual, const float* update, const std::vector<float>& scale, int64_t T,
               int64_t C) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) residual[t * C + c] += scale[c] * update[t * C + c];
}

}  // namespace

CodecDecoder::CodecDecoder(const CodecDecoderConfig& config, WeightSource& w) : cfg_(config) {
  const int half = cfg_.codebook_dim / 2;
  // Split RVQ: level 0 in rvq_first, levels 1.. in rvq_rest.
  for (int q = 0; q < cfg_.num_quantizers; ++q) {
    const std::string base = q == 0
                                 ? "decoder.quantizer.rvq_first.vq.layers.0"
                                 : "decoder.quantizer.rvq_rest.vq.layers." + std::to_string(q - 1);
    const auto usage =
        to_vector_f32(w.get(base + "._codebook.cluster_usage", {cfg_.codebook_size}));
    auto embed =
        to_vector_f32(w.get(base + "._codebook.embedding_sum", {cfg_.codebook_size, half}));
    for (int i = 0; i < cfg_.codebook_size; ++i) {
      const float u = std::max(usage[i], 1e-5f);
      for (int d = 0; d < half; ++d) embed[static_cast<size_t>(i) * half + d] /= u;
    }
    codebooks_.push_back(std::move(embed));
  }
  rvq_first_out.load(w, "decoder.quantizer.rvq_first.output_proj", half, cfg_.codebook_dim, 1, 1, 1,
                     1, false);
  rvq_rest_out.load(w, "decoder.quantizer.rvq_rest.output_proj", half, cfg_.codebook_dim, 1, 1, 1,
                    1, false);
  pre_conv.load(w, "decoder.pre_conv.conv", cfg_.codebook_dim, cfg_.latent_dim, 3);

  const std::string tp = "decoder.pre_transformer.";
  input_proj.load(w, tp + "input_proj", cfg_.latent_dim, cfg_.hidden_size, true);
  output_proj.load(w, tp + "output_proj", cfg_.hidden_size, cfg_.latent_dim, true);
  for (int l = 0; l < cfg_.num_hidden_layers; ++l) {
    const std::string p = tp + "layers." + std::to_string(l) + ".";
    DecoderTransformerLayer L;
    L.input_layernorm = load_vec(w, p + "input_layernorm.weight", cfg_.hidden_size);
    L.self_attn.load(w, p + "self_attn", cfg_.hidden_size, cfg_.num_attention_heads,
                     cfg_.num_key_value_heads, cfg_.head_dim, cfg_.rope_theta, cfg_.sliding_window);
    L.self_attn_layer_scale = load_vec(w, p + "self_attn_layer_scale.scale", cfg_.hidden_size);
    L.post_attention_layernorm =
        load_vec(w, p + "post_attention_layernorm.weight", cfg_.hidden_size);
    L.gate_proj.load(w, p + "mlp.gate_proj", cfg_.hidden_size, cfg_.intermediate_size, false);
    L.up_proj.load(w, p + "mlp.up_proj", cfg_.hidden_size, cfg_.intermediate_size, false);
    L.down_proj.load(w, p + "mlp.down_proj", cfg_.intermediate_size, cfg_.hidden_size, false);
    L.mlp_layer_scale = load_vec(w, p + "mlp_layer_scale.scale", cfg_.hidden_size);
    layers_.push_back(std::move(L));
  }
  final_norm_ = load_vec(w, tp + "norm.weight", cfg_.hidden_size);

  const int latent = cfg_.latent_dim;
  for (size_t i = 0; i < cfg_.upsampling_ratios.size(); ++i) {
    const std::string p = "decoder.upsample." + std::to_string(i) + ".";
    const int f = cfg_.upsampling_ratios[i];
    ConvTranspose1d up;
    up.load(w, p + "0.conv", latent, latent, f, f);
    ConvNeXtBlock cn;
    cn.dwconv.load(w, p + "1.dwconv.conv", latent, latent, 7, 1, 1, latent);
    cn.norm_w = load_vec(w, p + "1.norm.weight", latent);
    cn.norm_b = load_vec(w, p + "1.norm.bias", latent);
    cn.pwconv1.load(w, p + "1.pwconv1", latent, 4 * latent, true);
    cn.pwconv2.load(w, p + "1.pwconv2", 4 * latent, latent, true);
    cn.gamma = load_vec(w, p + "1.gamma", latent);
    upsample_.emplace_back(std::move(up), std::move(cn));
  }

  first_conv_.load(w, "decoder.decoder.0.conv", latent, cfg_.decoder_dim, 7);
  for (size_t i = 0; i < cfg_.upsample_rates.size(); ++i) {
    const std::string p = "decoder.decoder." + std::to_string(i + 1) + ".block.";
    const int in_dim = cfg_.decoder_dim >> i, out_dim = cfg_.decoder_dim >> (i + 1);
    const int rate = cfg_.upsample_rates[i];
    DecoderBlock b;
    b.snake.load(w, p + "0", in_dim);
    b.upsample.load(w, p + "1.conv", in_dim, out_dim, 2 * rate, rate);
    const int dilations[3] = {1, 3, 9};
    for (int u = 0; u < 3; ++u) {
      const std::string up = p + std::to_string(u + 2) + ".";
      ResidualUnit ru;
      ru.act1.load(w, up + "act1", out_dim);
      ru.conv1.load(w, up + "conv1.conv", out_dim, out_dim, 7, 1, dilations[u]);
      ru.act2.load(w, up + "act2", out_dim);
      ru.conv2.load(w, up + "conv2.conv", out_dim, out_dim, 1);
      b.units.push_back(std::move(ru));
    }
    blocks_.push_back(std::move(b));
  }
  const int out_dim = cfg_.decoder_dim >> cfg_.upsample_rates.size();
  const std::string last = std::to_string(cfg_.upsample_rates.size() + 1);
  final_snake_.load(w, "decoder.decoder." + last, out_dim);
  final_conv_.load(w, "decoder.decoder." + std::to_string(cfg_.upsample_rates.size() + 2) + ".conv",
                   out_dim, 1, 7);
}

Signal CodecDecoder::dequantize(const int32_t* codes, int64_t frames) const {
  const int half = cfg_.codebook_dim / 2;
  const int nq = cfg_.num_quantizers;
  // Sum the codewords of each group in [half, T], then project each group.
  Signal first(half, frames), rest(half, frames);
  for (int64_t t = 0; t < frames; ++t) {
    for (int q = 0; q < nq; ++q) {
      const float* e = codebooks_[q].data() + static_cast<size_t>(codes[t * nq + q]) * half;
      Signal& dst = q == 0 ? first : rest;
      for (int d = 0; d < half; ++d) dst.data[d * frames + t] += e[d];
    }
  }
  Signal a = rvq_first_out.causal(nullptr, first);
  Signal b = rvq_rest_out.causal(nullptr, rest);
  for (size_t i = 0; i < a.data.size(); ++i) a.data[i] += b.data[i];
  return a;
}

template <typename Fn>
void CodecDecoder::for_each_convolution(Fn&& fn) {
  fn(pre_conv);
  for (auto& [up, cn] : upsample_) fn(up);
  fn(first_conv_);
  for (DecoderBlock& b : blocks_) {
    fn(b.upsample);
    for (ResidualUnit& u : b.units) {
      fn(u.conv1);
      fn(u.conv2);
    }
  }
}

template <typename Fn>
void CodecDecoder::for_each_linear(Fn&& fn) {
  fn(input_proj);
  fn(output_proj);
  for (DecoderTransformerLayer& L : layers_)
    for (Linear* l : {&L.self_attn.q_proj, &L.self_attn.k_proj, &L.self_attn.v_proj,
                      &L.self_attn.o_proj, &L.gate_proj, &L.up_proj, &L.down_proj})
      fn(*l);
  for (auto& [up, cn] : upsample_) {
    fn(cn.pwconv1);
    fn(cn.pwconv2);
  }
}

void CodecDecoder::use_bf16(WeightSource& from) {
  for_each_convolution([&](auto& conv) { conv.use_bf16(from); });
  for_each_linear([&](Linear& l) { l.use_bf16(from); });
  bf16_ = true;
  use_packed(from);  // the convolutions bf16 does not take, and the linears
}

void CodecDecoder::use_winograd(WeightSource& from) {
  for_each_convolution([&](auto& conv) { conv.use_winograd(from); });
  winograd_ = true;
  use_packed(from);  // the convolutions Winograd does not take, and the linears
}

void CodecDecoder::use_packed(WeightSource& from) {
  for_each_convolution([&](auto& conv) { conv.use_packed(from); });
  for_each_linear([&](Linear& l) { l.use_packed(from); });
}

void CodecDecoder::transformer(ThreadPool* pool, std::vector<float>& x, int64_t T,
                               DecoderStream& st) const {
  const int64_t H = cfg_.hidden_size, I = cfg_.intermediate_size;
  const int64_t nq = cfg_.num_attention_heads, nkv = cfg_.num_key_value_heads, D = cfg_.head_dim;
  const int64_t KW = nkv * D, window = cfg_.sliding_window;
  std::vector<float> h(static_cast<size_t>(T * H));
  input_proj.apply(pool, x.data(), T, h.data());
  std::vector<float> normed(h.size()), attn(h.size()), gate(static_cast<size_t>(T * I)),
      up(gate.size()), q(static_cast<size_t>(T * nq * D)), ctx(q.size());
  for (size_t l = 0; l < layers_.size(); ++l) {
    const DecoderTransformerLayer& L = layers_[l];
    const SelfAttention& A = L.self_attn;
    ops::rms_norm(h.data(), T, H, L.input_layernorm.data(), cfg_.rms_norm_eps, normed.data());
    // Keys and values of this block go behind the cached ones; positions continue.
    std::vector<float>& kc = st.k[l];
    std::vector<float>& vc = st.v[l];
    const int64_t cached = static_cast<int64_t>(kc.size()) / KW;
    kc.resize(static_cast<size_t>((cached + T) * KW));
    vc.resize(kc.size());
    A.q_proj.apply(pool, normed.data(), T, q.data());
    A.k_proj.apply(pool, normed.data(), T, kc.data() + cached * KW);
    A.v_proj.apply(pool, normed.data(), T, vc.data() + cached * KW);
    ops::rope_rotate_half(q.data(), T, nq, D, st.frames, A.rope_theta);
    ops::rope_rotate_half(kc.data() + cached * KW, T, nkv, D, st.frames, A.rope_theta);
    ops::attention_cached(pool, q.data(), kc.data(), vc.data(), T, cached + T, nq, nkv, D, nullptr,
                          ctx.data(), window);
    A.o_proj.apply(pool, ctx.data(), T, attn.data());
    // Keep only what later queries can see: the last window - 1 positions.
    const int64_t keep = window > 0 ? std::min(cached + T, window - 1) : cached + T;
    kc.erase(kc.begin(), kc.end() - keep * KW);
    vc.erase(vc.begin(), vc.end() - keep * KW);
    scale_add(h.data(), attn.data(), L.self_attn_layer_scale, T, H);
    ops::rms_norm(h.data(), T, H, L.post_attention_layernorm.data(), cfg_.rms_norm_eps,
                  normed.data());
    L.gate_proj.apply(pool, normed.data(), T, gate.data());
    L.up_proj.apply(pool, normed.data(), T, up.data());
    ops::silu(gate.data(), T * I);
    for (size_t i = 0; i < gate.size(); ++i) gate[i] *= up[i];
    L.down_proj.apply(pool, gate.data(), T, attn.data());
    scale_add(h.data(), attn.data(), L.mlp_layer_scale, T, H);
  }
  ops::rms_norm(h.data(), T, H, final_norm_.data(), cfg_.rms_norm_eps, normed.data());
  x.assign(static_cast<size_t>(T * cfg_.latent_dim), 0.0f);
  output_proj.apply(pool, normed.data(), T, x.data());
}

DecoderStream CodecDecoder::new_stream() const {
  auto zeros = [](int64_t channels, int64_t length) {
    return std::vector<float>(static_cast<size_t>(channels * length), 0.0f);
  };
  DecoderStream s;
  s.pre_conv = zeros(pre_conv.in, pre_conv.history_length());
  s.k.resize(layers_.size());
  s.v.resize(layers_.size());
  for (const auto& [up, cn] : upsample_)
    s.upsample_dw.push_back(zeros(cn.dwconv.in, cn.dwconv.history_length()));
  s.first_conv = zeros(first_conv_.in, first_conv_.history_length());
  for (const DecoderBlock& b : blocks_) {
    DecoderStream::Block sb;
    sb.upsample_tail = zeros(b.upsample.out, b.upsample.tail_length());
    for (const ResidualUnit& ru : b.units)
      sb.conv1.push_back(zeros(ru.conv1.in, ru.conv1.history_length()));
    s.blocks.push_back(std::move(sb));
  }
  s.final_conv = zeros(final_conv_.in, final_conv_.history_length());
  return s;
}

std::vector<float> CodecDecoder::forward(ThreadPool* pool, const int32_t* codes, int64_t frames,
                                         const Trace& trace) const {
  DecoderStream s = new_stream();
  std::vector<float> wav;
  decode_stream(pool, codes, frames, s, wav, trace);
  return wav;
}

void CodecDecoder::decode_stream(ThreadPool* pool, const int32_t* codes, int64_t frames,
                                 DecoderStream& st, std::vector<float>& out,
                                 const Trace& trace) const {
  if (frames <= 0) return;
  auto record = [&](const std::string& stage, const Signal& s) {
    if (trace) trace(stage, {s.channels, s.frames}, s.data.data());
  };
  Signal q = dequantize(codes, frames);
  record("quantizer_out", q);
  Signal x = pre_conv.causal_step(pool, q, st.pre_conv);
  record("pre_conv_out", x);

  std::vector<float> tf = to_time_first(x);
  transformer(pool, tf, frames, st);
  if (trace) trace("pre_transformer_out", {frames, cfg_.latent_dim}, tf.data());
  x = to_channels_first(tf.data(), frames, cfg_.latent_dim);
  st.frames += frames;

  for (size_t i = 0; i < upsample_.size(); ++i) {
    const auto& [up, cn] = upsample_[i];
    IZWI_ASSERT(up.tail_length() == 0);  // kernel == stride: no overlap, nothing to carry
    x = up.causal(pool, x);
    // ConvNeXt: depthwise conv, then per-time-step LayerNorm + MLP, scaled residual.
    Signal dw = cn.dwconv.causal_step(pool, x, st.upsample_dw[i]);
    const int64_t T = dw.frames, C = dw.channels;
    std::vector<float> tfirst = to_time_first(dw);
    ops::layer_norm(tfirst.data(), T, C, cn.norm_w.data(), cn.norm_b.data(), 1e-6f, tfirst.data());
    std::vector<float> hidden(static_cast<size_t>(T * 4 * C));
    cn.pwconv1.apply(pool, tfirst.data(), T, hidden.data());
    ops::gelu_erf(hidden.data(), T * 4 * C);
    cn.pwconv2.apply(pool, hidden.data(), T, tfirst.data());
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < T; ++t) x.data[c * T + t] += cn.gamma[c] * tfirst[t * C + c];
    record("upsample" + std::to_string(i) + "_out", x);
  }

  x = first_conv_.causal_step(pool, x, st.first_conv);
  record("decoder0_out", x);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const DecoderBlock& b = blocks_[i];
    DecoderStream::Block& sb = st.blocks[i];
    // Each SnakeBeta goes into the convolution after it (fused into the bf16 packing).
    x = b.upsample.causal_step(pool, x, sb.upsample_tail, &b.snake);
    for (size_t u = 0; u < b.units.size(); ++u) {
      const ResidualUnit& ru = b.units[u];
      Signal h = ru.conv1.causal_step(pool, x, sb.conv1[u], &ru.act1);
      ru.conv2.causal_add(pool, h, &ru.act2, x);
    }
    record("decoder" + std::to_string(i + 1) + "_out", x);
  }
  final_snake_.apply(pool, x);
  record("decoder" + std::to_string(blocks_.size() + 1) + "_out", x);
  x = final_conv_.causal_step(pool, x, st.final_conv);
  record("decoder" + std::to_string(blocks_.size() + 2) + "_out", x);
  out.reserve(out.size() + x.data.size());
  for (float v : x.data) out.push_back(std::clamp(v, -1.0f, 1.0f));
}

std::vector<float> CodecDecoder::decode(ThreadPool* pool, const int32_t* codes,
                                        int64_t frames) const {
  std::vector<float> wav;
  wav.reserve(static_cast<size_t>(std::max<int64_t>(frames, 0) * cfg_.total_upsample()));
  ChunkedStream(*this).push(pool, codes, frames, &wav);
  return wav;
}

void CodecDecoder::check_stream(const DecoderStream& st) const {
  const DecoderStream fresh = new_stream();
  auto check = [](const std::vector<float>& v, size_t expected, const std::string& part) {
    if (v.size() != expected)
      fail(ErrorKind::kInvalidArgument, "codec stream state: ", part, " has ", v.size(),
           " values, expected ", expected);
    for (float x : v)
      if (!std::isfinite(x))
        fail(ErrorKind::kInvalidArgument, "codec stream state: ", part, " has a value ", x);
  };
  if (st.frames < 0)
    fail(ErrorKind::kInvalidArgument, "codec stream state: ", st.frames, " frames");
  check(st.pre_conv, fresh.pre_conv.size(), "pre_conv");
  const int64_t KW = static_cast<int64_t>(cfg_.num_key_value_heads) * cfg_.head_dim;
  const int64_t rows =
      cfg_.sliding_window > 0 ? std::min<int64_t>(st.frames, cfg_.sliding_window - 1) : st.frames;
  if (st.k.size() != layers_.size() || st.v.size() != layers_.size())
    fail(ErrorKind::kInvalidArgument, "codec stream state: keys/values of ", st.k.size(), "/",
         st.v.size(), " layers, expected ", layers_.size());
  for (size_t l = 0; l < layers_.size(); ++l) {
    check(st.k[l], static_cast<size_t>(rows * KW), "layer " + std::to_string(l) + " keys");
    check(st.v[l], static_cast<size_t>(rows * KW), "layer " + std::to_string(l) + " values");
  }
  if (st.upsample_dw.size() != fresh.upsample_dw.size() || st.blocks.size() != fresh.blocks.size())
    fail(ErrorKind::kInvalidArgument, "codec stream state: ", st.upsample_dw.size(),
         " upsample stages and ", st.blocks.size(), " blocks, expected ", fresh.upsample_dw.size(),
         " and ", fresh.blocks.size());
  for (size_t i = 0; i < st.upsample_dw.size(); ++i)
    check(st.upsample_dw[i], fresh.upsample_dw[i].size(), "upsample " + std::to_string(i));
  check(st.first_conv, fresh.first_conv.size(), "first_conv");
  for (size_t i = 0; i < st.blocks.size(); ++i) {
    const std::string b = "block " + std::to_string(i);
    check(st.blocks[i].upsample_tail, fresh.blocks[i].upsample_tail.size(), b + " upsample");
    if (st.blocks[i].conv1.size() != fresh.blocks[i].conv1.size())
      fail(ErrorKind::kInvalidArgument, "codec stream state: ", b, " has ",
           st.blocks[i].conv1.size(), " residual units, expected ", fresh.blocks[i].conv1.size());
    for (size_t u = 0; u < st.blocks[i].conv1.size(); ++u)
      check(st.blocks[i].conv1[u], fresh.blocks[i].conv1[u].size(),
            b + " unit " + std::to_string(u));
  }
  check(st.final_conv, fresh.final_conv.size(), "final_conv");
}

ChunkedStream::ChunkedStream(const CodecDecoder& decoder)
    : decoder_(&decoder), stream_(decoder.new_stream()) {}

ChunkedStream::ChunkedStream(const CodecDecoder& decoder, ChunkedStreamState state)
    : decoder_(&decoder),
      stream_(std::move(state.stream)),
      total_(state.total),
      started_at_(state.started_at),
      recent_(std::move(state.recent)) {
  const int64_t G = decoder.config().num_quantizers;
  if (total_ < 0 || started_at_ < 0 || started_at_ > total_ || started_at_ % kChunk != 0)
    fail(ErrorKind::kInvalidArgument, "codec stream state: ", total_,
         " frames pushed and a chunk started at ", started_at_);
  const int64_t context = std::min(kLeftContext, total_);
  if (static_cast<int64_t>(recent_.size()) != context * G)
    fail(ErrorKind::kInvalidArgument, "codec stream state: ", recent_.size(),
         " recent codes, expected ", context * G);
  for (int32_t c : recent_)
    if (c < 0 || c >= decoder.config().codebook_size)
      fail(ErrorKind::kInvalidArgument, "codec stream state: code ", c, " outside [0, ",
           decoder.config().codebook_size, ")");
  decoder.check_stream(stream_);
}

// Frames on the stream in blocks of at most kMaxBlock: the audio is the same
// as one call's (every layer carries its state), the signals stay small.
void ChunkedStream::decode(ThreadPool* pool, const int32_t* codes, int64_t frames,
                           std::vector<float>& out) {
  const int64_t G = decoder_->config().num_quantizers;
  for (int64_t f = 0; f < frames; f += kMaxBlock)
    decoder_->decode_stream(pool, codes + f * G, std::min(kMaxBlock, frames - f), stream_, out);
}

void ChunkedStream::push(ThreadPool* pool, const int32_t* codes, int64_t frames,
                         std::vector<float>* out) {
  const int64_t G = decoder_->config().num_quantizers;
  while (frames > 0) {
    const int64_t n = std::min(frames, kChunk - total_ % kChunk);
    // State only, up to the chunk's end: the next frame's fresh stream
    // replaces whatever this would leave, so neither it nor a warm-up runs.
    const bool skip = !out && (total_ + n) % kChunk == 0;
    if (!skip && total_ > 0 && total_ % kChunk == 0 && started_at_ != total_) {
      // A new official chunk: fresh state, warmed with the context frames.
      stream_ = decoder_->new_stream();
      started_at_ = total_;
      scratch_.clear();
      decode(pool, recent_.data(), static_cast<int64_t>(recent_.size()) / G, scratch_);
    }
    if (out) {
      decode(pool, codes, n, *out);
    } else if (!skip) {
      scratch_.clear();
      decode(pool, codes, n, scratch_);
    }
    recent_.insert(recent_.end(), codes, codes + n * G);
    const int64_t keep = std::min<int64_t>(kLeftContext, static_cast<int64_t>(recent_.size()) / G);
    recent_.erase(recent_.begin(), recent_.end() - keep * G);
    total_ += n;
    codes += n * G;
    frames -= n;
  }
}

}  // namespace izwi::codec
