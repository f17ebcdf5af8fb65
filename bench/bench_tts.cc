// Text-to-speech speed at real size: clone a voice and speak 5 s with random
// weights of the released 0.6B and 1.7B Base configs (bf16). Reports the
// real-time factor, the time to the first frame and the peak resident memory.
// Checkpoints are written once to the temp directory (2.5 GB and 4.6 GB).
//
//   build/release/bench/bench_tts [--benchmark_filter=0.6B]
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "izwi/izwi.h"
#include "models/qwen3_tts/random_checkpoint.h"

namespace {

namespace fs = std::filesystem;

std::string checkpoint(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("izwi-bench-" + name);
  if (!fs::exists(dir / "speech_tokenizer" / "model.safetensors")) {
    const std::string src = std::string(IZWI_SOURCE_DIR) + "/tests/data/qwen3-tts/";
    izwi::write_random_checkpoint(src + name, dir.string(), 1, src + "text-tokenizer");
  }
  return dir.string();
}

void run(benchmark::State& state, const std::string& name) {
  auto model = izwi::TtsModel::load(checkpoint(name));
  izwi::Audio ref;
  ref.sample_rate = 24000;
  for (int i = 0; i < 24000 * 5; ++i)
    ref.samples.push_back(0.3f * std::sin(0.05f * i) * (0.6f + 0.4f * std::sin(0.0008f * i)));
  const izwi::Voice voice =
      model->clone_voice(ref, "A short reference transcript for the benchmark.");
  izwi::SynthesisOptions o;
  o.language = "english";
  o.seed = 1;
  o.max_seconds = 5.0;
  double first = 0, audio = 0, wall = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    bool seen = false;
    o.on_frame = [&](const izwi::FrameProgress&) {
      if (!seen)
        first = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      seen = true;
      return true;
    };
    const auto r = model->synthesize(
        "Hello, this is my cloned voice, speaking for about five seconds.", voice, o);
    wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    audio = r.seconds();
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  state.counters["audio_s"] = audio;
  state.counters["RTF"] = wall / audio;
  state.counters["first_frame_s"] = first;
  state.counters["peak_rss_GB"] = static_cast<double>(ru.ru_maxrss) / (1024.0 * 1024.0);
}

void BM_Speak5s_0_6B(benchmark::State& s) {
  run(s, "Qwen3-TTS-12Hz-0.6B-Base");
}
void BM_Speak5s_1_7B(benchmark::State& s) {
  run(s, "Qwen3-TTS-12Hz-1.7B-Base");
}
BENCHMARK(BM_Speak5s_0_6B)
    ->Name("Speak5s/0.6B")
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_Speak5s_1_7B)
    ->Name("Speak5s/1.7B")
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
