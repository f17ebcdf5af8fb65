// izwi-random-checkpoint: writes a random-weight checkpoint with the real
// tensor names, shapes and dtypes of a released config, for speed measurements
// and real-size loading tests.
//
//   izwi-random-checkpoint --from tests/data/qwen3-tts/Qwen3-TTS-12Hz-0.6B-Base --out /tmp/q06b
#include "models/qwen3_tts/random_checkpoint.h"

#include <CLI/CLI.hpp>
#include <cstdio>

int main(int argc, char** argv) {
  CLI::App app{
      "Write a random-weight Qwen3-TTS checkpoint (or speech tokenizer) from its config.json"};
  std::string from, out;
  uint64_t seed = 1234;
  app.add_option("--from", from,
                 "Directory with the config.json to follow (a checkpoint or speech_tokenizer/)")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--out", out, "Output directory")->required();
  app.add_option("--seed", seed, "Random seed")->capture_default_str();
  std::string tokenizer;
  app.add_option("--tokenizer", tokenizer,
                 "Folder with vocab.json + merges.txt to include (e.g. "
                 "tests/data/qwen3-tts/text-tokenizer)")
      ->check(CLI::ExistingDirectory);
  CLI11_PARSE(app, argc, argv);
  try {
    const auto r = izwi::write_random_checkpoint(from, out, seed, tokenizer);
    std::fprintf(stderr, "wrote %zu tensors (%.1f MB) to %s\n", r.tensors,
                 static_cast<double>(r.bytes) / 1e6, out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "izwi-random-checkpoint: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
