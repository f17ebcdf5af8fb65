// Speech-tokenizer speed on a real-size checkpoint: decode 10 s of codes and
// encode 10 s of audio. With IZWI_BENCH_MODEL unset, a random-weight checkpoint
// is written from the released config (as izwi-random-checkpoint does) and read
// back through the ordinary loader.
//
//   build/release/bench/bench_codec [--benchmark_repetitions=3]
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/thread_pool.h"
#include "izwi/speech_tokenizer.h"
#include "models/qwen3_tts/random_checkpoint.h"
#include "pipeline/loading.h"

namespace {

namespace fs = std::filesystem;

std::string model_dir() {
  if (const char* env = std::getenv("IZWI_BENCH_MODEL")) return env;
  const fs::path dir = fs::temp_directory_path() / "izwi-bench-speech-tokenizer";
  if (!fs::exists(dir / "model.safetensors"))
    izwi::write_random_checkpoint(
        std::string(IZWI_SOURCE_DIR) +
            "/tests/data/qwen3-tts/Qwen3-TTS-12Hz-0.6B-Base/speech_tokenizer",
        dir.string(), 1);
  return dir.string();
}

izwi::SpeechTokenizer& codec(izwi::CodecPrecision precision = izwi::CodecPrecision::kF32) {
  static auto f32 = izwi::SpeechTokenizer::load(model_dir());
  static auto bf16 =
      izwi::SpeechTokenizer::load(model_dir(), izwi::CodecOptions{0, izwi::CodecPrecision::kBf16});
  return precision == izwi::CodecPrecision::kBf16 ? *bf16 : *f32;
}

void report_rss(benchmark::State& state) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  state.counters["peak_rss_MB"] = static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// Real-time factor: wall seconds of work per second of audio (< 1 is faster than real time).
// Benchmarks run with UseRealTime(), so iterations/time rate is wall-clock based.
void set_rtf(benchmark::State& state, double audio_seconds) {
  state.counters["RTF"] = benchmark::Counter(
      audio_seconds, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Arg 0: f32 convolutions; 1: the fast mode, bf16 (AMX or AVX512-BF16), else
// Winograd f32 convolutions (AVX2 / AVX-512), else f32: see the label.
void BM_Decode10s(benchmark::State& state) {
  auto& c = codec(state.range(0) ? izwi::CodecPrecision::kBf16 : izwi::CodecPrecision::kF32);
  state.SetLabel(izwi::codec_precision_name(c.decode_precision()));
  izwi::AudioCodes codes{125, 16, std::vector<int32_t>(125 * 16)};  // 125 frames = 10 s
  for (size_t i = 0; i < codes.values.size(); ++i)
    codes.values[i] = static_cast<int32_t>((i * 7919) % 2048);
  for (auto _ : state) benchmark::DoNotOptimize(c.decode(codes));
  set_rtf(state, 10.0);
  report_rss(state);
}

// Arg 0 as above, or 2: Winograd f32 even where bf16 products exist. 10 s decoded as a synthesis
// session streams it, in blocks of arg 1 frames on one decoder stream (each frame decoded once): 12
// is the default block; 1 and 4 show what small blocks cost per frame, 48 what one block for four
// streams would (measured here: no cheaper than 4 or 12, the larger signals leave the caches). Arg
// 2: threads, 0 for all cores; 1 is how batched streams decode their blocks (one per core, side by
// side).
void BM_DecodeStreamed10s(benchmark::State& state) {
  static const auto f32 = izwi::pipeline::load_codec(model_dir(), izwi::CodecPrecision::kF32);
  static const auto bf16 = izwi::pipeline::load_codec(model_dir(), izwi::CodecPrecision::kBf16);
  static const auto winograd =
      izwi::pipeline::load_codec(model_dir(), izwi::CodecPrecision::kWinograd);
  const auto& decoder = *(state.range(0) == 2 ? winograd : state.range(0) ? bf16 : f32).decoder;
  state.SetLabel(decoder.bf16() ? "bf16" : decoder.winograd() ? "winograd" : "f32");
  constexpr int64_t kFrames = 125, kGroups = 16;
  const int64_t block = state.range(1);
  std::vector<int32_t> codes(kFrames * kGroups);
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<int32_t>((i * 7919) % 2048);
  izwi::ThreadPool pool(static_cast<int>(state.range(2)));
  std::vector<float> audio;
  for (auto _ : state) {
    audio.clear();
    izwi::codec::ChunkedStream stream(decoder);
    for (int64_t f = 0; f < kFrames; f += block)
      stream.push(&pool, codes.data() + f * kGroups, std::min(block, kFrames - f), &audio);
    benchmark::DoNotOptimize(audio.data());
  }
  set_rtf(state, 10.0);
  report_rss(state);
}

void BM_Encode10s(benchmark::State& state) {
  auto& c = codec();
  std::vector<float> wav(240000);
  for (size_t i = 0; i < wav.size(); ++i)
    wav[i] =
        0.3f * std::sin(0.03f * i) + 0.1f * std::sin(0.171f * i + 0.5f * std::sin(0.0007f * i));
  for (auto _ : state) benchmark::DoNotOptimize(c.encode(wav.data(), wav.size(), 24000));
  set_rtf(state, 10.0);
  report_rss(state);
}

BENCHMARK(BM_Decode10s)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2)
    ->UseRealTime();
BENCHMARK(BM_DecodeStreamed10s)
    ->Args({0, 12, 0})
    ->Args({1, 1, 0})
    ->Args({1, 4, 0})
    ->Args({1, 12, 0})
    ->Args({1, 48, 0})
    ->Args({1, 1, 1})
    ->Args({1, 2, 1})
    ->Args({1, 4, 1})
    ->Args({1, 12, 1})
    ->Args({2, 12, 0})
    ->Args({2, 12, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK(BM_Encode10s)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();

}  // namespace
