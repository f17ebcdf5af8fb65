// The per-frame linears' speed for each weight format and row count, as weight
// GB/s next to a plain read loop over the same bytes: how close each kernel
// comes to the memory's speed, and what stepping 2, 4 or 8 streams together
// (rows) costs against one.
//
// The weights are the code predictor's MLP shapes (1024 -> 3072 -> 1024, as in
// the 0.6B model) 28 times: 264 M weights, 528 MB in bf16 (149 MB in Q4), far
// past any L3, so every call reads its matrix from memory as a frame does.
// The *_InCache runs take two of those layers (10.6 MB in Q4, 12 MB in Q8),
// which stay in L3 between calls: what the kernels do where the memory is not
// the limit, as for the code predictor's layers stepped for several streams.
//
//   build/release/bench/bench_kernels [--benchmark_filter=Q4]
//   IZWI_BENCH_THREADS=1 build/release/bench/bench_kernels   # one core, as batched frames run
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "core/quant.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/ops.h"
#include "models/qwen3_tts/sampler.h"

namespace {

using izwi::DType;
using izwi::Tensor;

constexpr int64_t kHidden = 1024, kInter = 3072;
constexpr int kLayers = 28;  // x (gate + up: 6.3 M, down: 3.1 M weights)

// The pool: every core, or IZWI_BENCH_THREADS of them.
izwi::ThreadPool& pool() {
  static izwi::ThreadPool p([] {
    const char* n = std::getenv("IZWI_BENCH_THREADS");
    return n ? std::max(1, std::atoi(n)) : 0;
  }());
  return p;
}

Tensor random_bf16(int64_t n, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::shared_ptr<uint16_t[]> buf(new uint16_t[static_cast<size_t>(n * k)]);
  for (int64_t i = 0; i < n * k; ++i) buf[i] = izwi::f32_to_bf16(dist(rng));
  Tensor t;
  t.dtype = DType::kBF16;
  t.shape = {n, k};
  t.data = buf.get();
  t.owner = std::shared_ptr<const void>(buf, buf.get());
  return t;
}

struct Layer {
  Tensor up, down;  // [kInter, kHidden] (gate and up stacked: 2x), [kHidden, kInter]
};

// One set of layers per format, made once.
constexpr int kLayersInCache = 2;

const std::vector<Layer>& layers(DType dtype, int count) {
  static std::map<std::pair<DType, int>, std::vector<Layer>> sets;
  std::vector<Layer>& set = sets[{dtype, count}];
  if (set.empty())
    for (int l = 0; l < count; ++l) {
      Layer layer{random_bf16(2 * kInter, kHidden, 2 * l + 1),
                  random_bf16(kHidden, kInter, 2 * l + 2)};
      if (dtype != DType::kBF16) {
        layer.up = izwi::quantize(layer.up, dtype, &pool());
        layer.down = izwi::quantize(layer.down, dtype, &pool());
      }
      set.push_back(std::move(layer));
    }
  return set;
}

// Arg: rows (streams stepped together). Each iteration runs every layer's two
// linears once, as a frame's pass does.
void linears(benchmark::State& state, DType dtype, int count = kLayers) {
  const int64_t M = state.range(0);
  const auto& ls = layers(dtype, count);
  std::vector<float> x(static_cast<size_t>(M * kInter), 0.01f),
      h(static_cast<size_t>(M * 2 * kInter));
  size_t bytes = 0;
  for (const Layer& l : ls) bytes += l.up.nbytes() + l.down.nbytes();
  for (auto _ : state)
    for (const Layer& l : ls) {
      izwi::ops::linear(&pool(), x.data(), M, kHidden, l.up, nullptr, h.data());
      izwi::ops::linear(&pool(), h.data(), M, kInter, l.down, nullptr, x.data());
      benchmark::DoNotOptimize(x.data());
    }
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
  state.counters["rows"] = static_cast<double>(M);
  // Multiply-adds per second: what a prompt's rows (compute-bound) are measured by.
  int64_t weights = 0;
  for (const Layer& l : ls) weights += l.up.numel() + l.down.numel();
  state.counters["GMAC/s"] = benchmark::Counter(
      static_cast<double>(weights * M) * 1e-9 * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

void BM_Linear_BF16(benchmark::State& s) {
  linears(s, DType::kBF16);
}
void BM_Linear_Q8(benchmark::State& s) {
  linears(s, DType::kQ8);
}
void BM_Linear_Q4(benchmark::State& s) {
  linears(s, DType::kQ4);
}
void BM_Linear_Q8_InCache(benchmark::State& s) {
  linears(s, DType::kQ8, kLayersInCache);
}
void BM_Linear_Q4_InCache(benchmark::State& s) {
  linears(s, DType::kQ4, kLayersInCache);
}

// The ceiling: summing 256 MB of memory on the pool's threads (as izwi bench's
// read loop).
void BM_ReadLoop(benchmark::State& state) {
  const size_t n = size_t{256} << 20;
  std::unique_ptr<uint64_t[]> buf(new uint64_t[n / 8]);
  std::memset(buf.get(), 1, n);
  for (auto _ : state) {
    pool().parallel_for(static_cast<int64_t>(n / 8), 1 << 16, [&](int64_t b, int64_t e) {
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int64_t i = b; i + 3 < e; i += 4) {
        s0 += buf[i];
        s1 += buf[i + 1];
        s2 += buf[i + 2];
        s3 += buf[i + 3];
      }
      benchmark::DoNotOptimize(s0 + s1 + s2 + s3);
    });
  }
  state.SetBytesProcessed(static_cast<int64_t>(n) * state.iterations());
}

// Rows 1, 2, 3, 4, 8: one stream, and 2-8 stepped together; 100: a prompt (these
// shapes are also the 0.6B talker's MLP, so this is its 100-token prefill's MLPs).
// One-token attention of the talker (16 query heads, 8 KV heads of 128) over a
// cache of state.range(0) positions (a frame every 80 ms: 750 is a minute of
// speech), for each of its 28 layers: what a long utterance adds per frame.
// state.range(1): the cache in f32 (0) or f16 (1, as with 8/4-bit weights).
void BM_AttentionCached(benchmark::State& state) {
  const int64_t S = state.range(0), H = 16, KV = 8, D = 128;
  const bool half = state.range(1) != 0;
  std::vector<float> q(static_cast<size_t>(H * D), 0.1f), out(static_cast<size_t>(H * D));
  std::vector<std::vector<float>> k, v;
  std::vector<std::vector<uint16_t>> k16, v16;
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int l = 0; l < kLayers; ++l) {
    k.emplace_back(static_cast<size_t>(S * KV * D));
    v.emplace_back(static_cast<size_t>(S * KV * D));
    for (float& x : k.back()) x = dist(rng);
    for (float& x : v.back()) x = dist(rng);
    k16.emplace_back(k.back().size());
    v16.emplace_back(v.back().size());
    izwi::ops::to_f16(k.back().data(), S * KV * D, k16.back().data());
    izwi::ops::to_f16(v.back().data(), S * KV * D, v16.back().data());
  }
  for (auto _ : state)
    for (int l = 0; l < kLayers; ++l) {
      const izwi::ops::AttentionRun run =
          half
              ? izwi::ops::AttentionRun{q.data(), k16[l].data(), v16[l].data(),    S,
                                        nullptr,  out.data(),    izwi::DType::kF16}
              : izwi::ops::AttentionRun{q.data(), k[l].data(), v[l].data(), S, nullptr, out.data()};
      izwi::ops::attention_cached_runs(&pool(), &run, 1, 1, H, KV, D);
      benchmark::DoNotOptimize(out.data());
    }
  state.SetBytesProcessed(static_cast<int64_t>(2 * S * KV * D * (half ? 2 : 4) * kLayers) *
                          state.iterations());
}

// The codec decoder's residual-unit convolutions on one thread, in its bf16
// mode (the time-major copy of the input included): args channels, time rows
// (a 12-frame block: 768 x 384, 384 x 1920, 192 x 7680, 96 x 23040) and kernel
// (7, or 1 for the unit's second convolution). GMAC/s against vdpbf16ps' peak
// (32 multiply-adds per instruction) is how near the tile loop comes to
// compute; a kernel-1 convolution has 7x fewer products per copied sample.
void BM_ConvBf16(benchmark::State& state) {
  if (!izwi::ops::bf16_convolutions_available()) {
    state.SkipWithError("no AMX-BF16 or AVX512-BF16 here");
    return;
  }
  const int64_t C = state.range(0), T = state.range(1);
  const int K = static_cast<int>(state.range(2));
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> w(static_cast<size_t>(C * C * K)), x(static_cast<size_t>(C * T)),
      y(static_cast<size_t>(C * T));
  for (float& v : w) v = dist(rng);
  for (float& v : x) v = dist(rng);
  const auto packed = izwi::ops::pack_conv1d_bf16(w.data(), C, C, K);
  izwi::ops::Conv1dParams p;
  p.pad_left = K - 1;
  for (auto _ : state) {
    izwi::ops::conv1d_bf16(nullptr, x.data(), C, T, packed, C, K, nullptr, p, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GMAC/s"] = benchmark::Counter(
      static_cast<double>(C * C * K * T) * 1e-9 * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

// One draw from a code group's logits with the official defaults (T 0.9,
// top-k 50): a frame of one stream draws 16 times (the talker's 3072 codes
// once, the code predictor's 2048 fifteen times), on the stepping thread.
void BM_SamplerPick(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<float> logits(static_cast<size_t>(n)), work(logits.size());
  for (float& v : logits) v = dist(rng);
  izwi::tts::Sampler sampler(1);
  const izwi::tts::SamplingParams params;
  for (auto _ : state) {
    work = logits;
    benchmark::DoNotOptimize(sampler.pick(work.data(), n, params));
  }
}

void rows(benchmark::internal::Benchmark* b) {
  for (int r : {1, 2, 3, 4, 8, 100}) b->Arg(r);
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_ReadLoop)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SamplerPick)->Arg(2048)->Arg(3072)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AttentionCached)
    ->Args({100, 0})
    ->Args({750, 0})
    ->Args({100, 1})
    ->Args({750, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConvBf16)
    ->Args({768, 384, 7})
    ->Args({384, 1920, 7})
    ->Args({192, 7680, 7})
    ->Args({96, 23040, 7})
    ->Args({768, 384, 1})
    ->Args({384, 1920, 1})
    ->Args({192, 7680, 1})
    ->Args({96, 23040, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Linear_BF16)->Apply(rows);
BENCHMARK(BM_Linear_Q8)->Apply(rows);
BENCHMARK(BM_Linear_Q4)->Apply(rows);
BENCHMARK(BM_Linear_Q8_InCache)->Apply(rows);
BENCHMARK(BM_Linear_Q4_InCache)->Apply(rows);

}  // namespace
