#include "models/qwen3_tts/codec_layers.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"

namespace izwi::codec {

void Conv1d::load(WeightSource& w, const std::string& prefix, int in_ch, int out_ch, int k,
                  int stride_, int dilation_, int groups_, bool has_bias) {
  in = in_ch;
  out = out_ch;
  kernel = k;
  stride = stride_;
  dilation = dilation_;
  groups = groups_;
  weight = w.get(prefix + ".weight", {out_ch, in_ch / groups_, k});
  if (weight.dtype != DType::kF32) weight = weight.to_f32();
  if (has_bias) {
    bias = w.get(prefix + ".bias", {out_ch});
    if (bias.dtype != DType::kF32) bias = bias.to_f32();
  }
}

void Conv1d::use_bf16(WeightSource& from) {
  if (groups != 1 || stride != 1 || !ops::bf16_conv_supported(in) || out < ops::kDirectConvMaxOut)
    return;
  weight_bf16 = ops::pack_conv1d_bf16(weight.f32(), out, in, kernel);
  from.release(weight);
  weight = Tensor{};
}

void Conv1d::use_packed(WeightSource& from) {
  if (groups != 1 || stride != 1 || !ops::packed_convolutions_available() || weight.empty() ||
      out < ops::kDirectConvMaxOut)
    return;
  weight_packed = ops::pack_conv1d_f32(weight.f32(), out, in, kernel);
  from.release(weight);
  weight = Tensor{};
}

void Conv1d::use_winograd(WeightSource& from) {
  if (groups != 1 || stride != 1 || weight.empty() || !ops::winograd_conv_supported(out, kernel))
    return;
  weight_winograd = ops::pack_conv1d_winograd(weight.f32(), out, in, kernel);
  from.release(weight);
  weight = Tensor{};
}

namespace {

ops::InputSnake input_snake(const SnakeBeta* act) {
  return act ? ops::InputSnake{act->alpha.data(), act->inv_beta.data()} : ops::InputSnake{};
}

// act(x): x itself without an activation, else `copy` activated.
const Signal* activated(ThreadPool* pool, const Signal& x, const SnakeBeta* act, Signal& copy) {
  if (!act) return &x;
  copy = x;
  act->apply(pool, copy);
  return &copy;
}

// One convolution of act(x) through the bf16 weights when there are some
// (zero padding only; act fused into the packing), else the f32 ones (act on a
// copy first).
void conv(ThreadPool* pool, const Conv1d& c, const Signal& x, const ops::Conv1dParams& p,
          const SnakeBeta* act, float* y) {
  const float* bias = c.bias.empty() ? nullptr : c.bias.f32();
  if (c.bf16_path(p.pad_mode)) {
    ops::conv1d_bf16(pool, x.data.data(), c.in, x.frames, c.weight_bf16, c.out, c.kernel, bias, p,
                     y, input_snake(act));
    return;
  }
  Signal copy;
  const Signal* in = activated(pool, x, act, copy);
  if (!c.weight_winograd.empty()) {
    IZWI_ASSERT(p.pad_mode == ops::PadMode::kZeros);  // the decoder pads only with zeros
    ops::conv1d_winograd(pool, in->data.data(), c.in, x.frames, c.weight_winograd, c.out, bias, p,
                         y);
    return;
  }
  if (!c.weight_packed.empty()) {
    ops::conv1d_packed(pool, in->data.data(), c.in, x.frames, c.weight_packed, c.out, c.kernel,
                       bias, p, y);
    return;
  }
  IZWI_ASSERT(!c.weight.empty());  // a packed convolution has only its packed form
  ops::conv1d(pool, in->data.data(), c.in, x.frames, c.weight.f32(), c.out, c.kernel, bias, p, y);
}

void conv_transpose(ThreadPool* pool, const ConvTranspose1d& c, const Signal& x,
                    const SnakeBeta* act, const float* bias, int64_t trim, float* y) {
  if (!c.weight_bf16.empty()) {
    ops::conv_transpose1d_bf16(pool, x.data.data(), c.in, x.frames, c.weight_bf16, c.out, c.kernel,
                               c.stride, bias, trim, y, input_snake(act));
    return;
  }
  Signal copy;
  const Signal* in = activated(pool, x, act, copy);
  if (!c.weight_winograd.empty()) {
    ops::conv_transpose1d_winograd(pool, in->data.data(), c.in, x.frames, c.weight_winograd, c.out,
                                   c.stride, bias, trim, y);
    return;
  }
  if (!c.weight_packed.empty()) {
    ops::conv_transpose1d_packed(pool, in->data.data(), c.in, x.frames, c.weight_packed, c.out,
                                 c.kernel, c.stride, bias, trim, y);
    return;
  }
  ops::conv_transpose1d(pool, in->data.data(), c.in, x.frames, c.weight.f32(), c.out, c.kernel,
                        c.stride, bias, trim, y);
}

}  // namespace

namespace {

// The parameters of Conv1d::causal for an input of T steps.
ops::Conv1dParams causal_params(const Conv1d& c, int64_t T, ops::PadMode mode) {
  const int64_t span = static_cast<int64_t>(c.kernel - 1) * c.dilation + 1;
  const int64_t pad_left = span - c.stride;
  // Extra right padding: enough for ceil((T - span + pad_left) / stride) + 1 windows.
  const int64_t n_windows =
      static_cast<int64_t>(std::ceil(static_cast<double>(T - span + pad_left) / c.stride + 1.0));
  const int64_t ideal = (n_windows - 1) * c.stride + (span - pad_left);
  ops::Conv1dParams p;
  p.stride = c.stride;
  p.dilation = c.dilation;
  p.groups = c.groups;
  p.pad_left = pad_left;
  p.pad_right = std::max<int64_t>(0, ideal - T);
  p.pad_mode = mode;
  return p;
}

}  // namespace

Signal Conv1d::causal(ThreadPool* pool, const Signal& x, ops::PadMode mode,
                      const SnakeBeta* act) const {
  IZWI_ASSERT(x.channels == in);
  const ops::Conv1dParams p = causal_params(*this, x.frames, mode);
  const int64_t n = ops::conv1d_out_len(x.frames, kernel, p);
  // The bf16 kernels write every output; the f32 ones may accumulate.
  Signal y = bf16_path(mode) ? Signal::uninit(out, n) : Signal(out, n);
  conv(pool, *this, x, p, act, y.data.data());
  return y;
}

void Conv1d::causal_add(ThreadPool* pool, Signal& x, const SnakeBeta* act, Signal& y) const {
  IZWI_ASSERT(x.channels == in && y.channels == out);
  ops::Conv1dParams p = causal_params(*this, x.frames, ops::PadMode::kZeros);
  IZWI_ASSERT(ops::conv1d_out_len(x.frames, kernel, p) == y.frames);
  p.accumulate = true;
  // The bf16 kernels add each output as they store it (act fused into their
  // packing); before, they wrote a new signal that a second pass added to y.
  if (!weight_bf16.empty()) {
    conv(pool, *this, x, p, act, y.data.data());
    return;
  }
  if (act) act->apply(pool, x);  // in place: x is the caller's to overwrite
  conv(pool, *this, x, p, nullptr, y.data.data());
}

namespace {

// history [C, H] <- the last H samples of [history | x] per channel.
void push_history(const Signal& x, int64_t H, std::vector<float>& history) {
  const int64_t T = x.frames;
  for (int64_t c = 0; c < x.channels; ++c) {
    float* h = history.data() + c * H;
    const float* xc = x.data.data() + c * T;
    if (T >= H) {
      std::copy_n(xc + T - H, H, h);
    } else {
      std::copy(h + T, h + H, h);
      std::copy_n(xc, T, h + H - T);
    }
  }
}

// act([history | x]) per channel (history [C, H], x [C, T]): each row copied
// and activated while in cache, the rows split over the pool (one thread
// copying megabytes while the other waited, then a second pass for the
// activation, was what it replaced).
Signal joined(ThreadPool* pool, const std::vector<float>& history, int64_t H, const Signal& x,
              const SnakeBeta* act) {
  const int64_t T = x.frames, L = H + T;
  Signal ext = Signal::uninit(x.channels, L);  // written in full below
  parallel_for(pool, x.channels, 4, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      std::copy_n(history.data() + c * H, H, ext.row(c));
      std::copy_n(x.data.data() + c * T, T, ext.row(c) + H);
      if (act) ops::snake_beta(nullptr, ext.row(c), 1, L, &act->alpha[c], &act->inv_beta[c]);
    }
  });
  return ext;
}

}  // namespace

Signal Conv1d::causal_step(ThreadPool* pool, const Signal& x, std::vector<float>& history,
                           const SnakeBeta* act) const {
  IZWI_ASSERT(x.channels == in && stride == 1);
  const int64_t H = history_length(), T = x.frames;
  IZWI_ASSERT(static_cast<int64_t>(history.size()) == in * H);
  if (bf16_path(ops::PadMode::kZeros)) {
    // The history is read in place of the left padding (no [history | x]
    // copy), then its last H samples become the new history.
    ops::Conv1dParams p;
    p.dilation = dilation;
    p.pad_left = H;
    Signal y = Signal::uninit(out, T);
    ops::conv1d_bf16(pool, x.data.data(), in, T, weight_bf16, out, kernel,
                     bias.empty() ? nullptr : bias.f32(), p, y.data.data(), input_snake(act),
                     {history.data(), H});
    push_history(x, H, history);
    return y;
  }
  if (groups == 1 && !act && !weight.empty() && out < ops::kDirectConvMaxOut) {
    // Few output channels (the decoder's last convolution): the direct form
    // reads the history in place, as the bf16 path does, with no joined copy.
    Signal y = Signal::uninit(out, T);  // conv1d_direct writes every output
    ops::conv1d_direct(pool, x.data.data(), in, T, weight.f32(), out, kernel, dilation,
                       bias.empty() ? nullptr : bias.f32(), {history.data(), H}, y.data.data());
    push_history(x, H, history);
    return y;
  }
  // [history | x] per channel, convolved without padding: T outputs (the f32
  // kernels take the activation on their input, so it is applied in the join).
  const Signal ext = joined(pool, history, H, x, act);
  push_history(x, H, history);
  ops::Conv1dParams p;
  p.dilation = dilation;
  p.groups = groups;
  // Winograd writes every output; the other f32 kernels may accumulate.
  Signal y = weight_winograd.empty() ? Signal(out, T) : Signal::uninit(out, T);
  conv(pool, *this, ext, p, nullptr, y.data.data());
  return y;
}

Signal Conv1d::causal_block(ThreadPool* pool, const Signal& x, std::vector<float>& history,
                            ops::PadMode mode, bool last) const {
  IZWI_ASSERT(x.channels == in);
  const int64_t span = static_cast<int64_t>(kernel - 1) * dilation + 1;
  const int64_t H = span - stride, T = x.frames;
  if (!last && T % stride != 0)
    fail(ErrorKind::kInvalidArgument, "conv1d stream: a block before the last must be a multiple ",
         "of the stride (", stride, ") long, got ", T, " steps");
  if (T == 0) return Signal(out, 0);
  if (history.empty()) {  // the stream starts: the left padding of `causal`
    history.assign(static_cast<size_t>(in * H), 0.0f);
    if (mode == ops::PadMode::kReplicate)
      for (int64_t c = 0; c < in; ++c)
        std::fill_n(history.data() + c * H, H, x.data[static_cast<size_t>(c * T)]);
  }
  IZWI_ASSERT(static_cast<int64_t>(history.size()) == in * H);
  const Signal ext = joined(pool, history, H, x, nullptr);
  push_history(x, H, history);
  ops::Conv1dParams p;
  p.stride = stride;
  p.dilation = dilation;
  p.groups = groups;
  p.pad_right = last ? (stride - T % stride) % stride : 0;
  p.pad_mode = mode;
  const int64_t n = ops::conv1d_out_len(ext.frames, kernel, p);
  Signal y = bf16_path(mode) ? Signal::uninit(out, n) : Signal(out, n);
  conv(pool, *this, ext, p, nullptr, y.data.data());
  return y;
}

void ConvTranspose1d::load(WeightSource& w, const std::string& prefix, int in_ch, int out_ch, int k,
                           int stride_, bool has_bias) {
  in = in_ch;
  out = out_ch;
  kernel = k;
  stride = stride_;
  weight = w.get(prefix + ".weight", {in_ch, out_ch, k});
  if (weight.dtype != DType::kF32) weight = weight.to_f32();
  if (has_bias) {
    bias = w.get(prefix + ".bias", {out_ch});
    if (bias.dtype != DType::kF32) bias = bias.to_f32();
  }
}

void ConvTranspose1d::use_bf16(WeightSource& from) {
  if (!ops::bf16_conv_supported(in)) return;
  weight_bf16 = ops::pack_conv_transpose1d_bf16(weight.f32(), in, out, kernel);
  from.release(weight);
  weight = Tensor{};
}

void ConvTranspose1d::use_packed(WeightSource& from) {
  if (!ops::packed_convolutions_available() || weight.empty()) return;
  weight_packed = ops::pack_conv_transpose1d_f32(weight.f32(), in, out, kernel);
  from.release(weight);
  weight = Tensor{};
}

void ConvTranspose1d::use_winograd(WeightSource& from) {
  // The transformed weights are (J + 5) / J times the stored ones (F(6, J):
  // 3.5x for the decoder's J = 2). The first upsampler (1536 -> 768, 75 MB in
  // f32) would hold 188 MB more for no measured gain: a 12-frame block gives it
  // only 8 tiles, too few columns for the GEMM to gain on. The others add 36 MB.
  constexpr int64_t kMaxWeights = int64_t{4} << 20;
  if (weight.empty() || int64_t{in} * out * kernel > kMaxWeights ||
      !ops::winograd_conv_transpose_supported(out, kernel, stride)) {
    use_packed(from);
    return;
  }
  weight_winograd = ops::pack_conv_transpose1d_winograd(weight.f32(), in, out, kernel, stride);
  from.release(weight);
  weight = Tensor{};
}

Signal ConvTranspose1d::causal(ThreadPool* pool, const Signal& x) const {
  IZWI_ASSERT(x.channels == in);
  const int64_t trim = kernel - stride;
  Signal y(out, (x.frames - 1) * stride + kernel - trim);
  conv_transpose(pool, *this, x, nullptr, bias.empty() ? nullptr : bias.f32(), trim, y.data.data());
  return y;
}

Signal ConvTranspose1d::causal_step(ThreadPool* pool, const Signal& x, std::vector<float>& tail,
                                    const SnakeBeta* act) const {
  IZWI_ASSERT(x.channels == in && kernel >= stride && kernel - stride <= stride);
  const int64_t R = tail_length(), T = x.frames, full = (T - 1) * stride + kernel;
  IZWI_ASSERT(static_cast<int64_t>(tail.size()) == out * R);
  // The bf16 and Winograd kernels write every output; the other f32 ones may accumulate.
  Signal y_full = weight_bf16.empty() && weight_winograd.empty() ? Signal(out, full)
                                                                 : Signal::uninit(out, full);
  conv_transpose(pool, *this, x, act, nullptr, 0, y_full.data.data());
  Signal y = Signal::uninit(out, T * stride);  // written in full below
  parallel_for(pool, out, 8, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const float* src = y_full.row(c);
      float* dst = y.row(c);
      float* tc = tail.data() + c * R;
      const float b = bias.empty() ? 0.0f : bias.f32()[c];
      for (int64_t i = 0; i < T * stride; ++i) dst[i] = src[i] + (i < R ? tc[i] : 0.0f) + b;
      std::copy_n(src + T * stride, R, tc);
    }
  });
  return y;
}

void SnakeBeta::load(WeightSource& w, const std::string& prefix, int channels) {
  alpha = to_vector_f32(w.get(prefix + ".alpha", {channels}));
  const std::vector<float> beta = to_vector_f32(w.get(prefix + ".beta", {channels}));
  inv_beta.resize(beta.size());
  for (size_t c = 0; c < beta.size(); ++c) {
    alpha[c] = std::exp(alpha[c]);
    inv_beta[c] = 1.0f / (std::exp(beta[c]) + 1e-9f);
  }
}

void SnakeBeta::apply(ThreadPool* pool, Signal& x) const {
  IZWI_ASSERT(x.channels == static_cast<int64_t>(alpha.size()));
  ops::snake_beta(pool, x.data.data(), x.channels, x.frames, alpha.data(), inv_beta.data());
}

void Linear::load(WeightSource& w, const std::string& prefix, int in_f, int out_f, bool has_bias) {
  in = in_f;
  out = out_f;
  weight = w.get(prefix + ".weight", {out_f, in_f});
  if (has_bias) bias = to_vector_f32(w.get(prefix + ".bias", {out_f}));
}

void Linear::use_packed(WeightSource& from) {
  if (weight.empty() || weight.dtype != DType::kF32 || !ops::packed_convolutions_available())
    return;
  weight_packed = ops::pack_conv1d_f32(weight.f32(), out, in, 1);
  from.release(weight);
  weight = Tensor{};
}

void Linear::use_bf16(WeightSource& from) {
  if (weight.empty() || weight.dtype != DType::kF32 || !ops::bf16_conv_supported(in)) return;
  weight_bf16 = ops::pack_conv1d_bf16(weight.f32(), out, in, 1);
  from.release(weight);
  weight = Tensor{};
}

void Linear::apply(ThreadPool* pool, const float* x, int64_t rows, float* y) const {
  const float* b = bias.empty() ? nullptr : bias.data();
  if (!weight_bf16.empty())
    ops::linear_bf16(pool, x, rows, weight_bf16, b, y);
  else if (!weight_packed.empty())
    ops::linear_packed(pool, x, rows, weight_packed, b, y);
  else
    ops::linear(pool, x, rows, in, weight, b, y);
}

void SelfAttention::load(WeightSource& w, const std::string& prefix, int hidden, int heads,
                         int kv_heads, int hdim, float theta, int sliding_window) {
  n_heads = heads;
  n_kv_heads = kv_heads;
  head_dim = hdim;
  rope_theta = theta;
  window = sliding_window;
  q_proj.load(w, prefix + ".q_proj", hidden, heads * hdim, false);
  k_proj.load(w, prefix + ".k_proj", hidden, kv_heads * hdim, false);
  v_proj.load(w, prefix + ".v_proj", hidden, kv_heads * hdim, false);
  o_proj.load(w, prefix + ".o_proj", heads * hdim, hidden, false);
}

void SelfAttention::apply(ThreadPool* pool, const float* x, int64_t T, float* out) const {
  std::vector<float> q(static_cast<size_t>(T * n_heads * head_dim));
  std::vector<float> k(static_cast<size_t>(T * n_kv_heads * head_dim));
  std::vector<float> v(k.size()), ctx(q.size());
  q_proj.apply(pool, x, T, q.data());
  k_proj.apply(pool, x, T, k.data());
  v_proj.apply(pool, x, T, v.data());
  ops::rope_rotate_half(q.data(), T, n_heads, head_dim, 0, rope_theta);
  ops::rope_rotate_half(k.data(), T, n_kv_heads, head_dim, 0, rope_theta);
  ops::attention_causal(pool, q.data(), k.data(), v.data(), T, n_heads, n_kv_heads, head_dim,
                        window, ctx.data());
  o_proj.apply(pool, ctx.data(), T, out);
}

Signal to_channels_first(const float* x, int64_t T, int64_t C) {
  Signal s(C, T);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) s.data[c * T + t] = x[t * C + c];
  return s;
}

std::vector<float> to_time_first(const Signal& s) {
  std::vector<float> out(s.data.size());
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t t = 0; t < s.frames; ++t) out[t * s.channels + c] = s.data[c * s.frames + t];
  return out;
}

}  // namespace izwi::codec
