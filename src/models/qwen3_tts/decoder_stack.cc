#include "models/qwen3_tts/decoder_stack.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"

namespace izwi::tts {

void StackedLinear::load(WeightSource& w, int in_f,
                         const std::vector<std::pair<std::string, int>>& prefixes) {
  IZWI_ASSERT(!prefixes.empty() && prefixes.size() <= kMaxParts);
  in = in_f;
  out = 0;
  for (const auto& [prefix, rows] : prefixes) {
    parts.push_back(w.get(prefix + ".weight", {rows, in_f}));
    out += rows;
  }
}

void StackedLinear::apply(ThreadPool* pool, const float* x, int64_t rows, float* y) const {
  const Tensor* p[kMaxParts];
  for (size_t i = 0; i < parts.size(); ++i) p[i] = &parts[i];
  ops::linear_stacked(pool, x, rows, in, p, static_cast<int>(parts.size()), y);
}

DecoderStack::DecoderStack(const DecoderStackConfig& c, WeightSource& w, const std::string& prefix,
                           DType kv_cache)
    : cfg_(c), kv_cache_(kv_cache) {
  if (kv_cache != DType::kF32 && kv_cache != DType::kF16)
    fail(ErrorKind::kInvalidArgument, "a KV cache of ", dtype_traits(kv_cache).name,
         "; expected F32 or F16");
  const int H = c.hidden_size, D = c.head_dim;
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = prefix + ".layers." + std::to_string(l) + ".";
    DecoderLayer L;
    L.input_layernorm = to_vector_f32(w.get(p + "input_layernorm.weight", {H}));
    const int q_rows = c.num_attention_heads * D, kv_rows = c.num_key_value_heads * D;
    L.qkv_proj.load(w, H,
                    {{p + "self_attn.q_proj", q_rows},
                     {p + "self_attn.k_proj", kv_rows},
                     {p + "self_attn.v_proj", kv_rows}});
    L.o_proj.load(w, p + "self_attn.o_proj", c.num_attention_heads * D, H, false);
    L.q_norm = to_vector_f32(w.get(p + "self_attn.q_norm.weight", {D}));
    L.k_norm = to_vector_f32(w.get(p + "self_attn.k_norm.weight", {D}));
    L.post_attention_layernorm = to_vector_f32(w.get(p + "post_attention_layernorm.weight", {H}));
    L.gate_up_proj.load(
        w, H,
        {{p + "mlp.gate_proj", c.intermediate_size}, {p + "mlp.up_proj", c.intermediate_size}});
    L.down_proj.load(w, p + "mlp.down_proj", c.intermediate_size, H, false);
    layers_.push_back(std::move(L));
  }
  final_norm_ = to_vector_f32(w.get(prefix + ".norm.weight", {H}));
}

DecoderState DecoderStack::new_state(int64_t capacity) const {
  DecoderState s;
  if (kv_cache_ == DType::kF16) {
    s.k16.resize(layers_.size());
    s.v16.resize(layers_.size());
  } else {
    s.k.resize(layers_.size());
    s.v.resize(layers_.size());
  }
  reserve(s, std::max<int64_t>(capacity, 1));
  return s;
}

void DecoderStack::reserve(DecoderState& s, int64_t needed) const {
  if (needed <= s.capacity) return;
  const int64_t cap = std::max(needed, s.capacity * 2);
  const size_t width = static_cast<size_t>(cfg_.num_key_value_heads) * cfg_.head_dim;
  const size_t size = static_cast<size_t>(cap) * width;
  for (size_t l = 0; l < layers_.size(); ++l) {
    if (kv_cache_ == DType::kF16) {
      s.k16[l].resize(size);
      s.v16[l].resize(size);
    } else {
      s.k[l].resize(size);
      s.v[l].resize(size);
    }
  }
  s.valid.resize(static_cast<size_t>(cap), 1);
  s.capacity = cap;
}

void DecoderStack::forward(ThreadPool* pool, const float* x, int64_t T, const int64_t* positions,
                           const uint8_t* valid, DecoderState& s, float* out,
                           const codec::Trace& trace) const {
  DecoderState* one[] = {&s};
  forward_runs(pool, x, T, positions, valid, one, 1, s, out, trace);
}

void DecoderStack::forward_runs(ThreadPool* pool, const float* x, int64_t T,
                                const int64_t* positions, const uint8_t* valid,
                                DecoderState* const* states, int64_t segments, DecoderState& s,
                                float* out, const codec::Trace& trace) const {
  const int64_t H = cfg_.hidden_size, D = cfg_.head_dim, I = cfg_.intermediate_size;
  const int64_t nq = cfg_.num_attention_heads, nkv = cfg_.num_key_value_heads;
  IZWI_ASSERT(segments >= 1 && T % segments == 0);
  const int64_t R = T / segments;  // rows per run
  for (int64_t r = 0; r < segments; ++r) {
    DecoderState& st = *states[r];
    // A state from this stack's new_state holds the cache type it keeps.
    IZWI_ASSERT((kv_cache_ == DType::kF16 ? st.k16.size() : st.k.size()) == layers_.size());
    reserve(st, st.length + R);
    for (int64_t t = 0; t < R; ++t) st.valid[st.length + t] = valid ? valid[r * R + t] : 1;
  }
  auto sized = [](std::vector<float>& v, int64_t n) {
    if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
    return v.data();
  };
  float* h = sized(s.h, T * H);
  float* normed = sized(s.normed, T * H);
  float* q = sized(s.q, T * nq * D);
  float* kn = sized(s.kn, T * nkv * D);
  float* vn = sized(s.vn, T * nkv * D);
  float* ctx = sized(s.ctx, T * nq * D);
  const int64_t qkv = (nq + 2 * nkv) * D;
  float* gate = sized(s.gate, T * I);
  float* stacked = sized(s.stacked, T * std::max(qkv, 2 * I));
  float* tmp = sized(s.tmp, T * H);
  std::copy_n(x, T * H, h);

  // The row-wise work between the linears (norms, the q/k/v split, RoPE,
  // residuals, SwiGLU) is split over the pool for a prompt's rows: on one core
  // it left the other idle for ~10 % of a 100-token prefill. Each row is
  // computed as before, so the results are the same; a frame's rows run inline.
  constexpr int64_t kParallelRows = 16;
  const auto by_rows = [&](auto&& fn) {
    if (T >= kParallelRows)
      parallel_for(pool, T, 1, fn);
    else
      fn(int64_t{0}, T);
  };
  const float eps = cfg_.rms_norm_eps;
  if (static_cast<int64_t>(s.runs.size()) < segments) s.runs.resize(static_cast<size_t>(segments));
  ops::AttentionRun* runs = s.runs.data();

  for (size_t l = 0; l < layers_.size(); ++l) {
    const DecoderLayer& L = layers_[l];
    if (trace) trace("hidden" + std::to_string(l), {T, H}, h);
    by_rows([&](int64_t t0, int64_t t1) {
      ops::rms_norm(h + t0 * H, t1 - t0, H, L.input_layernorm.data(), eps, normed + t0 * H);
    });
    L.qkv_proj.apply(pool, normed, T, stacked);  // row t: [q | k | v]
    by_rows([&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const float* row = stacked + t * qkv;
        std::copy_n(row, nq * D, q + t * nq * D);
        std::copy_n(row + nq * D, nkv * D, kn + t * nkv * D);
        std::copy_n(row + (nq + nkv) * D, nkv * D, vn + t * nkv * D);
      }
      float* qr = q + t0 * nq * D;
      float* kr = kn + t0 * nkv * D;
      ops::rms_norm(qr, (t1 - t0) * nq, D, L.q_norm.data(), eps, qr);
      ops::rms_norm(kr, (t1 - t0) * nkv, D, L.k_norm.data(), eps, kr);
      ops::rope_rotate_half_at(qr, t1 - t0, nq, D, positions + t0, cfg_.rope_theta);
      ops::rope_rotate_half_at(kr, t1 - t0, nkv, D, positions + t0, cfg_.rope_theta);
    });
    for (int64_t r = 0; r < segments; ++r) {
      DecoderState& st = *states[r];
      const int64_t kv = R * nkv * D, qs = R * nq * D, at = st.length * nkv * D;
      if (kv_cache_ == DType::kF16) {
        ops::to_f16(kn + r * kv, kv, st.k16[l].data() + at);
        ops::to_f16(vn + r * kv, kv, st.v16[l].data() + at);
        runs[r] = {q + r * qs,      st.k16[l].data(), st.v16[l].data(), st.length + R,
                   st.valid.data(), ctx + r * qs,     DType::kF16};
      } else {
        std::copy_n(kn + r * kv, kv, st.k[l].data() + at);
        std::copy_n(vn + r * kv, kv, st.v[l].data() + at);
        runs[r] = {q + r * qs,    st.k[l].data(),  st.v[l].data(),
                   st.length + R, st.valid.data(), ctx + r * qs};
      }
    }
    // The runs (streams) together: one loop, not one per stream.
    ops::attention_cached_runs(pool, runs, segments, R, nq, nkv, D);
    L.o_proj.apply(pool, ctx, T, tmp);
    by_rows([&](int64_t t0, int64_t t1) {
      for (int64_t i = t0 * H; i < t1 * H; ++i) h[i] += tmp[i];
      ops::rms_norm(h + t0 * H, t1 - t0, H, L.post_attention_layernorm.data(), eps,
                    normed + t0 * H);
    });
    L.gate_up_proj.apply(pool, normed, T, stacked);  // row t: [gate | up]
    by_rows([&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {  // SwiGLU: silu(gate) * up
        float* g = stacked + t * 2 * I;
        ops::silu(g, I);
        for (int64_t i = 0; i < I; ++i) gate[t * I + i] = g[i] * g[I + i];
      }
    });
    L.down_proj.apply(pool, gate, T, tmp);
    by_rows([&](int64_t t0, int64_t t1) {
      for (int64_t i = t0 * H; i < t1 * H; ++i) h[i] += tmp[i];
    });
  }
  ops::rms_norm(h, T, H, final_norm_.data(), cfg_.rms_norm_eps, out);
  if (trace) trace("final_norm", {T, H}, out);
  for (int64_t r = 0; r < segments; ++r) states[r]->length += R;
}

namespace {

void check_row(const Tensor& table, int64_t row) {
  IZWI_ASSERT(table.shape.size() == 2);
  if (row < 0 || row >= table.shape[0])
    fail(ErrorKind::kInvalidArgument, "embedding id ", row, " is out of range [0, ", table.shape[0],
         ")");
}

}  // namespace

void embedding_row(const Tensor& table, int64_t row, float* out) {
  check_row(table, row);
  const int64_t dim = table.shape[1];
  table.to_f32(row * dim, dim, out);
}

void add_embedding_row(const Tensor& table, int64_t row, float* out) {
  check_row(table, row);
  // Widened a block at a time on the stack: nothing is allocated per frame.
  const int64_t dim = table.shape[1];
  float buf[256];
  for (int64_t i = 0; i < dim; i += 256) {
    const int64_t n = std::min<int64_t>(256, dim - i);
    table.to_f32(row * dim + i, n, buf);
    for (int64_t j = 0; j < n; ++j) out[i + j] += buf[j];
  }
}

}  // namespace izwi::tts
