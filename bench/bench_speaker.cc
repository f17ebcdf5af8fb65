// Speaker embedding speed: the x-vector of a 10 s clip with the real-size
// speaker encoder (random bf16 weights of the released 0.6B Base config).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "izwi/speaker_encoder.h"
#include "models/qwen3_tts/random_checkpoint.h"

namespace {

namespace fs = std::filesystem;

izwi::SpeakerEncoder& encoder() {
  static auto enc = [] {
    std::string dir;
    if (const char* env = std::getenv("IZWI_BENCH_MODEL")) {
      dir = env;
    } else {
      const fs::path tmp = fs::temp_directory_path() / "izwi-bench-speaker";
      if (!fs::exists(tmp / "model.safetensors")) {
        fs::create_directories(tmp / "from");
        fs::copy_file(std::string(IZWI_SOURCE_DIR) +
                          "/tests/data/qwen3-tts/Qwen3-TTS-12Hz-0.6B-Base/config.json",
                      tmp / "from" / "config.json", fs::copy_options::overwrite_existing);
        izwi::write_random_checkpoint((tmp / "from").string(), tmp.string(), 1);
      }
      dir = tmp.string();
    }
    return izwi::SpeakerEncoder::load(dir);
  }();
  return *enc;
}

void BM_SpeakerEmbed10s(benchmark::State& state) {
  auto& enc = encoder();
  std::vector<float> wav(240000);
  for (size_t i = 0; i < wav.size(); ++i)
    wav[i] = 0.3f * std::sin(0.05f * i) * (0.6f + 0.4f * std::sin(0.001f * i));
  for (auto _ : state) benchmark::DoNotOptimize(enc.embed(wav.data(), wav.size(), 24000));
  state.counters["RTF"] = benchmark::Counter(
      10.0, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SpeakerEmbed10s)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

}  // namespace
