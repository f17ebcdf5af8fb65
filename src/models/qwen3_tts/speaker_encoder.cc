#include "models/qwen3_tts/speaker_encoder.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"

namespace izwi::speaker {

using codec::Signal;

namespace {

// "same" reflect padding of a (possibly dilated) conv, stride 1.
Signal same_conv(ThreadPool* pool, const codec::Conv1d& c, const Signal& x) {
  const int64_t total = static_cast<int64_t>(c.dilation) * (c.kernel - 1);
  ops::Conv1dParams p;
  p.dilation = c.dilation;
  p.pad_left = total / 2;
  p.pad_right = total - total / 2;
  p.pad_mode = ops::PadMode::kReflect;
  Signal y(c.out, x.frames);
  ops::conv1d(pool, x.data.data(), c.in, x.frames, c.weight.f32(), c.out, c.kernel,
              c.bias.empty() ? nullptr : c.bias.f32(), p, y.data.data());
  return y;
}

void relu(Signal& s) {
  for (float& v : s.data) v = std::max(v, 0.0f);
}

// Weighted mean and std over time per channel: weights w [C, T] (rows sum to 1).
void weighted_stats(const Signal& x, const std::vector<double>& w, std::vector<float>& mean,
                    std::vector<float>& std_) {
  const int64_t C = x.channels, T = x.frames;
  mean.assign(C, 0.0f);
  std_.assign(C, 0.0f);
  for (int64_t c = 0; c < C; ++c) {
    const float* xr = x.data.data() + c * T;
    const double* wr = w.data() + c * T;
    double m = 0;
    for (int64_t t = 0; t < T; ++t) m += wr[t] * xr[t];
    double v = 0;
    for (int64_t t = 0; t < T; ++t) v += wr[t] * (xr[t] - m) * (xr[t] - m);
    mean[c] = static_cast<float>(m);
    std_[c] = static_cast<float>(std::sqrt(std::max(v, 1e-12)));
  }
}

}  // namespace

void Tdnn::load(WeightSource& w, const std::string& prefix, int in, int out, int k, int dilation) {
  conv.load(w, prefix + ".conv", in, out, k, 1, dilation);
}

Signal Tdnn::apply(ThreadPool* pool, const Signal& x) const {
  Signal y = same_conv(pool, conv, x);
  relu(y);
  return y;
}

SpeakerEncoder::SpeakerEncoder(const SpeakerEncoderConfig& config, WeightSource& w) : cfg_(config) {
  const std::string p = "speaker_encoder.";
  const auto& ch = cfg_.channels;
  block0_.load(w, p + "blocks.0", cfg_.mel_dim, ch[0], cfg_.kernel_sizes[0], cfg_.dilations[0]);
  for (size_t i = 1; i + 1 < ch.size(); ++i) {
    const std::string b = p + "blocks." + std::to_string(i) + ".";
    const int C = ch[i], part = C / cfg_.res2net_scale;
    SeRes2NetBlock blk;
    blk.tdnn1.load(w, b + "tdnn1", ch[i - 1], C, 1, 1);
    for (int s = 0; s + 1 < cfg_.res2net_scale; ++s) {
      Tdnn t;
      t.load(w, b + "res2net_block.blocks." + std::to_string(s), part, part, cfg_.kernel_sizes[i],
             cfg_.dilations[i]);
      blk.res2net.push_back(std::move(t));
    }
    blk.tdnn2.load(w, b + "tdnn2", C, C, 1, 1);
    blk.se_conv1.load(w, b + "se_block.conv1", C, cfg_.se_channels, 1);
    blk.se_conv2.load(w, b + "se_block.conv2", cfg_.se_channels, C, 1);
    blocks_.push_back(std::move(blk));
  }
  const int C = ch.back();
  mfa_.load(w, p + "mfa", C, C, cfg_.kernel_sizes.back(), cfg_.dilations.back());
  asp_tdnn_.load(w, p + "asp.tdnn", 3 * C, cfg_.attention_channels, 1, 1);
  asp_conv_.load(w, p + "asp.conv", cfg_.attention_channels, C, 1);
  fc_.load(w, p + "fc", 2 * C, cfg_.enc_dim, 1);
}

Signal SpeakerEncoder::se_res2net(ThreadPool* pool, const SeRes2NetBlock& b,
                                  const Signal& x) const {
  Signal h = b.tdnn1.apply(pool, x);
  // Res2Net: split channels into `scale` parts; part 0 passes through, part i
  // goes through conv i-1 after adding the previous part's output.
  const int64_t T = h.frames, part = h.channels / cfg_.res2net_scale;
  Signal r(h.channels, T);
  std::copy_n(h.data.begin(), part * T, r.data.begin());
  Signal prev;
  for (int s = 1; s < cfg_.res2net_scale; ++s) {
    Signal in(part, T);
    std::copy_n(h.data.begin() + s * part * T, part * T, in.data.begin());
    if (s > 1)
      for (size_t k = 0; k < in.data.size(); ++k) in.data[k] += prev.data[k];
    prev = b.res2net[s - 1].apply(pool, in);
    std::copy(prev.data.begin(), prev.data.end(), r.data.begin() + s * part * T);
  }
  h = b.tdnn2.apply(pool, r);
  // Squeeze-excitation: channel gates from the time average.
  Signal avg(h.channels, 1);
  for (int64_t c = 0; c < h.channels; ++c) {
    double m = 0;
    for (int64_t t = 0; t < T; ++t) m += h.data[c * T + t];
    avg.data[c] = static_cast<float>(m / T);
  }
  Signal g = same_conv(pool, b.se_conv1, avg);
  relu(g);
  g = same_conv(pool, b.se_conv2, g);
  for (int64_t c = 0; c < h.channels; ++c) {
    const float gate = 1.0f / (1.0f + std::exp(-g.data[c]));
    for (int64_t t = 0; t < T; ++t)
      h.data[c * T + t] = h.data[c * T + t] * gate + x.data[c * T + t];
  }
  return h;
}

std::vector<float> SpeakerEncoder::forward(ThreadPool* pool, const float* mel, int64_t frames,
                                           const codec::Trace& trace) const {
  const int64_t min_frames =
      static_cast<int64_t>(cfg_.dilations[0]) * (cfg_.kernel_sizes[0] - 1) + 1;
  if (frames < min_frames)
    fail(ErrorKind::kInvalidArgument, "speaker encoder: need at least ", min_frames,
         " mel frames, got ", frames);
  auto record = [&](const std::string& stage, const Signal& s) {
    if (trace) trace(stage, {s.channels, s.frames}, s.data.data());
  };
  Signal x = codec::to_channels_first(mel, frames, cfg_.mel_dim);
  x = block0_.apply(pool, x);
  record("block0_out", x);
  std::vector<Signal> outs;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    x = se_res2net(pool, blocks_[i], x);
    record("block" + std::to_string(i + 1) + "_out", x);
    outs.push_back(x);
  }
  // Multi-layer feature aggregation over the SE-Res2Net outputs.
  const int64_t T = frames;
  Signal cat(0, T);
  for (const Signal& o : outs) {
    cat.data.insert(cat.data.end(), o.data.begin(), o.data.end());
    cat.channels += o.channels;
  }
  Signal h = mfa_.apply(pool, cat);
  record("mfa_out", h);

  // Attentive statistics pooling: global mean/std as context, attention over time.
  const int64_t C = h.channels;
  std::vector<double> uniform(static_cast<size_t>(C * T), 1.0 / static_cast<double>(T));
  std::vector<float> mean, stdv;
  weighted_stats(h, uniform, mean, stdv);
  Signal ctx(3 * C, T);
  std::copy(h.data.begin(), h.data.end(), ctx.data.begin());
  for (int64_t c = 0; c < C; ++c) {
    std::fill_n(ctx.data.begin() + (C + c) * T, T, mean[c]);
    std::fill_n(ctx.data.begin() + (2 * C + c) * T, T, stdv[c]);
  }
  Signal att = asp_tdnn_.apply(pool, ctx);
  for (float& v : att.data) v = std::tanh(v);
  att = same_conv(pool, asp_conv_, att);
  std::vector<double> weights(static_cast<size_t>(C * T));
  for (int64_t c = 0; c < C; ++c) {
    const float* a = att.data.data() + c * T;
    const float mx = *std::max_element(a, a + T);
    double sum = 0;
    for (int64_t t = 0; t < T; ++t)
      sum += (weights[c * T + t] = std::exp(static_cast<double>(a[t] - mx)));
    for (int64_t t = 0; t < T; ++t) weights[c * T + t] /= sum;
  }
  weighted_stats(h, weights, mean, stdv);
  Signal pooled(2 * C, 1);
  std::copy(mean.begin(), mean.end(), pooled.data.begin());
  std::copy(stdv.begin(), stdv.end(), pooled.data.begin() + C);
  record("asp_out", pooled);
  Signal emb = same_conv(pool, fc_, pooled);
  return {emb.data.begin(), emb.data.end()};
}

}  // namespace izwi::speaker
