// CPU attention: rotary embedding and causal (optionally sliding-window) softmax
// attention for the codec transformers (T up to a few hundred per chunk).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "core/thread_scratch.h"
#include "kernels/cpu/vec.h"
#include "kernels/ops.h"

namespace izwi::ops {

void rope_rotate_half(float* x, int64_t T, int64_t heads, int64_t head_dim, int64_t first_pos,
                      float theta) {
  thread_local ThreadScratch<std::vector<int64_t>>
      pos;  // reused: no allocation per call once grown
  pos.resize(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) pos[t] = first_pos + t;
  rope_rotate_half_at(x, T, heads, head_dim, pos.data(), theta);
}

void rope_rotate_half_at(float* x, int64_t T, int64_t heads, int64_t head_dim,
                         const int64_t* positions, float theta) {
  const int64_t half = head_dim / 2;
  // Frequencies in float32, as the reference computes them; recomputed only
  // when theta or head_dim change. Buffers are per thread: no allocation per call.
  thread_local std::vector<float> inv_freq, cs, sn;
  thread_local float table_theta = 0;
  thread_local int64_t table_dim = 0;
  if (table_theta != theta || table_dim != head_dim) {
    inv_freq.resize(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i)
      inv_freq[i] =
          1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
    cs.resize(static_cast<size_t>(half));
    sn.resize(static_cast<size_t>(half));
    table_theta = theta;
    table_dim = head_dim;
  }
  for (int64_t t = 0; t < T; ++t) {
    const float pos = static_cast<float>(positions[t]);
    for (int64_t i = 0; i < half; ++i) {
      const float a = pos * inv_freq[i];
      cs[i] = std::cos(a);
      sn[i] = std::sin(a);
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + (t * heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cs[i] - b * sn[i];
        v[i + half] = b * cs[i] + a * sn[i];
      }
    }
  }
}

namespace {

void check_heads(int64_t n_heads, int64_t n_kv_heads) {
  if (n_kv_heads <= 0 || n_heads % n_kv_heads != 0)
    fail(ErrorKind::kInvalidArgument, "attention: ", n_heads, " query heads are not a multiple of ",
         n_kv_heads, " KV heads");
}

// Queries from which attention_cached works a head at a time through GEMMs (a
// prompt): scores = Q K^T, a masked softmax per row, out = P V. Equal work per
// head, so the threads stay balanced over the causal triangle.
constexpr int64_t kGemmQueries = 16;

void attention_cached_gemm(ThreadPool* pool, const float* q, const float* k, const float* v,
                           int64_t T, int64_t S, int64_t n_heads, int64_t n_kv_heads,
                           int64_t head_dim, const uint8_t* key_valid, float* out, int64_t window) {
  const int64_t group = n_heads / n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int64_t qs = n_heads * head_dim, ks = n_kv_heads * head_dim;
  parallel_for(pool, n_heads, 1, [&](int64_t h0, int64_t h1) {
    thread_local ThreadScratch<std::vector<float>> scores;  // [T, S], grows only
    scores.resize(static_cast<size_t>(T * S));
    for (int64_t h = h0; h < h1; ++h) {
      const int64_t kh = h / group;
      float* P = scores.data();
      gemm(nullptr, false, true, T, S, head_dim, q + h * head_dim, qs, k + kh * head_dim, ks, P, S);
      for (int64_t t = 0; t < T; ++t) {
        float* row = P + t * S;
        const int64_t last = S - T + t;
        const int64_t first = window > 0 ? std::max<int64_t>(0, last - window + 1) : 0;
        float mx = -std::numeric_limits<float>::infinity();
        for (int64_t j = first; j <= last; ++j)
          if (!key_valid || key_valid[j]) mx = std::max(mx, row[j] * scale);
        float sum = 0;
        for (int64_t j = 0; j < S; ++j) {
          const bool visible = j >= first && j <= last && (!key_valid || key_valid[j]) &&
                               mx != -std::numeric_limits<float>::infinity();
          row[j] = visible ? std::exp(row[j] * scale - mx) : 0.0f;
          sum += row[j];
        }
        const float inv = sum > 0 ? 1.0f / sum : 0.0f;  // no visible key: zeros
        for (int64_t j = first; j <= last; ++j) row[j] *= inv;
      }
      gemm(nullptr, false, false, T, head_dim, S, P, S, v + kh * head_dim, ks, out + h * head_dim,
           qs);
    }
  });
}

// The four row kernels of one cache element type, picked from VecKernels.
template <typename T>
struct RowKernels {
  cpu::DotKeys<T> dot_keys;
  cpu::AxpyValues<T> axpy_values;
  cpu::DotKeys2<T> dot_keys2;
  cpu::AxpyValues2<T> axpy_values2;
};

// One query row's heads h0 .. h0 + heads (1 or 2, of key head kh) against
// the run's keys first .. last: scores into sc (row g at sc + g * lds), the
// softmax there, the weighted values into o.
template <typename T>
void attend(const RowKernels<T>& kk, const float* qi, const T* k, const T* v, int64_t ks,
            const uint8_t* key_valid, int64_t first, int64_t last, int64_t heads, int64_t head_dim,
            float scale, float* sc, int64_t lds, float* o) {
  const int64_t rows = last - first + 1;
  const uint8_t* valid = key_valid ? key_valid + first : nullptr;
  if (heads == 2)
    kk.dot_keys2(qi, head_dim, k + first * ks, ks, rows, head_dim, valid, scale, sc + first, lds);
  else
    kk.dot_keys(qi, k + first * ks, ks, rows, head_dim, valid, scale, sc + first);
  std::fill_n(o, heads * head_dim, 0.0f);
  float inv[2];
  bool seen[2] = {false, false};  // whether head g sees any key
  for (int64_t g = 0; g < heads; ++g) {
    float* s = sc + g * lds;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = first; j <= last; ++j)
      if (!key_valid || key_valid[j]) mx = std::max(mx, s[j]);
    if (mx == -std::numeric_limits<float>::infinity()) continue;  // no visible key: zeros
    seen[g] = true;
    float sum = 0;
    for (int64_t j = first; j <= last; ++j) {
      if (key_valid && !key_valid[j]) continue;
      sum += (s[j] = std::exp(s[j] - mx));
    }
    inv[g] = 1.0f / sum;
  }
  if (heads == 2 && seen[0] && seen[1]) {
    kk.axpy_values2(o, head_dim, v + first * ks, ks, sc + first, lds, inv, rows, head_dim, valid);
    return;
  }
  for (int64_t g = 0; g < heads; ++g)
    if (seen[g])
      kk.axpy_values(o + g * head_dim, v + first * ks, ks, sc + g * lds + first, inv[g], rows,
                     head_dim, valid);
}

// A prompt's run over an f16 cache: its S rows of keys and values widened
// into per-thread buffers (exactly), then the GEMM path as for an f32 cache.
void attention_gemm_f16(ThreadPool* pool, const AttentionRun& run, int64_t T, int64_t n_heads,
                        int64_t n_kv_heads, int64_t head_dim, int64_t window) {
  thread_local ThreadScratch<std::vector<float>> k32, v32;  // grow only
  const int64_t n = run.S * n_kv_heads * head_dim;
  k32.resize(static_cast<size_t>(n));
  v32.resize(static_cast<size_t>(n));
  const DTypeTraits& f16 = dtype_traits(DType::kF16);
  f16.to_f32(run.k, n, k32.data());
  f16.to_f32(run.v, n, v32.data());
  attention_cached_gemm(pool, run.q, k32.data(), v32.data(), T, run.S, n_heads, n_kv_heads,
                        head_dim, run.key_valid, run.out, window);
}

}  // namespace

void attention_cached(ThreadPool* pool, const float* q, const float* k, const float* v, int64_t T,
                      int64_t S, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                      const uint8_t* key_valid, float* out, int64_t window) {
  const AttentionRun run{q, k, v, S, key_valid, out};
  attention_cached_runs(pool, &run, 1, T, n_heads, n_kv_heads, head_dim, window);
}

void attention_cached_runs(ThreadPool* pool, const AttentionRun* runs, int64_t count, int64_t T,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t window) {
  check_heads(n_heads, n_kv_heads);
  int64_t max_s = 0;
  for (int64_t r = 0; r < count; ++r) {
    if (T > runs[r].S)
      fail(ErrorKind::kInvalidArgument, "attention: ", T, " queries but only ", runs[r].S,
           " cached keys");
    if (runs[r].kv != DType::kF32 && runs[r].kv != DType::kF16)
      fail(ErrorKind::kInvalidArgument, "attention: a KV cache of ", dtype_traits(runs[r].kv).name,
           "; expected F32 or F16");
    max_s = std::max(max_s, runs[r].S);
  }
  if (T >= kGemmQueries) {  // prompts: each run through the GEMMs
    for (int64_t r = 0; r < count; ++r) {
      const AttentionRun& run = runs[r];
      if (run.kv == DType::kF16)
        attention_gemm_f16(pool, run, T, n_heads, n_kv_heads, head_dim, window);
      else
        attention_cached_gemm(pool, run.q, static_cast<const float*>(run.k),
                              static_cast<const float*>(run.v), T, run.S, n_heads, n_kv_heads,
                              head_dim, run.key_valid, run.out, window);
    }
    return;
  }
  const auto& vk = cpu::vec_kernels();
  const RowKernels<float> f32{vk.dot_keys, vk.axpy_values, vk.dot_keys2, vk.axpy_values2};
  const RowKernels<uint16_t> f16{vk.dot_keys_f16, vk.axpy_values_f16, vk.dot_keys2_f16,
                                 vk.axpy_values2_f16};
  const int64_t group = n_heads / n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int64_t qs = n_heads * head_dim, ks = n_kv_heads * head_dim;
  // One loop over every run's (query, key head, pair of its query heads): a
  // frame's rows of several streams are a few microseconds of work each, less
  // than a loop's start. The two query heads of a pair read each key and value
  // row once (each head read them on its own before, the second from L2):
  // the talker's 28 layers at 100 cached positions 0.42 -> 0.36 ms, at 750
  // 6.4 -> 5.9 ms. Each head is still computed as it is alone, bit for bit.
  const int64_t pairs = (group + 1) / 2;
  parallel_for(pool, count * T * n_kv_heads * pairs, 1, [&](int64_t w0, int64_t w1) {
    // Per thread, reused; sized for a long utterance at once so a growing KV
    // cache does not reallocate it every few frames. Row g holds head g's scores.
    thread_local ThreadScratch<std::vector<float>> score;
    if (score.size() < static_cast<size_t>(2 * max_s))
      score.resize(static_cast<size_t>(std::max<int64_t>(max_s * 2, 8192) * 2));
    const int64_t lds = static_cast<int64_t>(score.size()) / 2;  // >= max_s
    for (int64_t w = w0; w < w1; ++w) {
      const AttentionRun& run = runs[w / (T * n_kv_heads * pairs)];
      const int64_t rest = w % (T * n_kv_heads * pairs);
      const int64_t t = rest / (n_kv_heads * pairs), kh = rest / pairs % n_kv_heads;
      const int64_t h0 = kh * group + rest % pairs * 2;
      const int64_t heads = std::min<int64_t>(2, kh * group + group - h0);  // 2, or 1 left
      const int64_t last = run.S - T + t;
      const int64_t first = window > 0 ? std::max<int64_t>(0, last - window + 1) : 0;
      const float* qi = run.q + t * qs + h0 * head_dim;
      float* o = run.out + t * qs + h0 * head_dim;
      if (run.kv == DType::kF16)
        attend(f16, qi, static_cast<const uint16_t*>(run.k) + kh * head_dim,
               static_cast<const uint16_t*>(run.v) + kh * head_dim, ks, run.key_valid, first, last,
               heads, head_dim, scale, score.data(), lds, o);
      else
        attend(f32, qi, static_cast<const float*>(run.k) + kh * head_dim,
               static_cast<const float*>(run.v) + kh * head_dim, ks, run.key_valid, first, last,
               heads, head_dim, scale, score.data(), lds, o);
    }
  });
}

void to_f16(const float* x, int64_t n, uint16_t* out) {
  cpu::vec_kernels().to_f16(x, n, out);
}

void attention_cached_ref(const float* q, const float* k, const float* v, int64_t T, int64_t S,
                          int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                          const uint8_t* key_valid, float* out, int64_t window) {
  check_heads(n_heads, n_kv_heads);
  const int64_t group = n_heads / n_kv_heads;
  const int64_t qs = n_heads * head_dim, ks = n_kv_heads * head_dim;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < n_heads; ++h) {
      const int64_t kh = h / group, last = S - T + t;
      std::vector<double> score;
      std::vector<int64_t> idx;
      double mx = -1e300;
      for (int64_t j = 0; j <= last; ++j) {
        if (window > 0 && j <= last - window) continue;
        if (key_valid && !key_valid[j]) continue;
        double s = 0;
        for (int64_t d = 0; d < head_dim; ++d)
          s += static_cast<double>(q[t * qs + h * head_dim + d]) * k[j * ks + kh * head_dim + d];
        score.push_back(s / std::sqrt(static_cast<double>(head_dim)));
        idx.push_back(j);
        mx = std::max(mx, score.back());
      }
      double sum = 0;
      for (double& s : score) sum += (s = std::exp(s - mx));
      for (int64_t d = 0; d < head_dim; ++d) {
        double o = 0;
        for (size_t n = 0; n < idx.size(); ++n)
          o += score[n] / sum * v[idx[n] * ks + kh * head_dim + d];
        out[t * qs + h * head_dim + d] = idx.empty() ? 0.0f : static_cast<float>(o);
      }
    }
}

void attention_causal(ThreadPool* pool, const float* q, const float* k, const float* v, int64_t T,
                      int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t window,
                      float* out) {
  check_heads(n_heads, n_kv_heads);
  const auto& vk = cpu::vec_kernels();
  const int64_t group = n_heads / n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int64_t qs = n_heads * head_dim, ks = n_kv_heads * head_dim;
  parallel_for(pool, n_heads * T, 16, [&](int64_t w0, int64_t w1) {
    std::vector<float> score(static_cast<size_t>(T));
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t h = w / T, i = w % T, kh = h / group;
      const int64_t j0 = window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
      const float* qi = q + i * qs + h * head_dim;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = j0; j <= i; ++j) {
        score[j] = vk.dot_f32(qi, k + j * ks + kh * head_dim, head_dim) * scale;
        mx = std::max(mx, score[j]);
      }
      float sum = 0;
      for (int64_t j = j0; j <= i; ++j) {
        score[j] = std::exp(score[j] - mx);
        sum += score[j];
      }
      float* o = out + i * qs + h * head_dim;
      std::fill_n(o, head_dim, 0.0f);
      for (int64_t j = j0; j <= i; ++j)
        vk.axpy(o, v + j * ks + kh * head_dim, score[j] / sum, head_dim);
    }
  });
}

void attention_causal_ref(const float* q, const float* k, const float* v, int64_t T,
                          int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t window,
                          float* out) {
  check_heads(n_heads, n_kv_heads);
  const int64_t group = n_heads / n_kv_heads;
  const int64_t qs = n_heads * head_dim, ks = n_kv_heads * head_dim;
  std::vector<double> score(static_cast<size_t>(T));
  for (int64_t h = 0; h < n_heads; ++h) {
    const int64_t kh = h / group;
    for (int64_t i = 0; i < T; ++i) {
      const int64_t j0 = window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
      double mx = -1e300, sum = 0;
      for (int64_t j = j0; j <= i; ++j) {
        double s = 0;
        for (int64_t d = 0; d < head_dim; ++d)
          s += static_cast<double>(q[i * qs + h * head_dim + d]) * k[j * ks + kh * head_dim + d];
        score[j] = s / std::sqrt(static_cast<double>(head_dim));
        mx = std::max(mx, score[j]);
      }
      for (int64_t j = j0; j <= i; ++j) sum += (score[j] = std::exp(score[j] - mx));
      for (int64_t d = 0; d < head_dim; ++d) {
        double o = 0;
        for (int64_t j = j0; j <= i; ++j) o += score[j] / sum * v[j * ks + kh * head_dim + d];
        out[i * qs + h * head_dim + d] = static_cast<float>(o);
      }
    }
  }
}

}  // namespace izwi::ops
