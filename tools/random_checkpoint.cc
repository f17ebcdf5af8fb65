// izwi-random-checkpoint: writes a random-weight speech tokenizer with the real
// tensor names and shapes of any speech_tokenizer/config.json, for speed
// measurements and real-size loading tests (no real weights can be downloaded
// here). The files are read back by the ordinary loader.
//
//   izwi-random-checkpoint --config
//   shared/qwen3-tts/Qwen3-TTS-12Hz-0.6B-Base/speech_tokenizer/config.json \
//       --out /tmp/st-0.6b
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "core/safetensors_writer.h"
#include "models/qwen3_tts/codec_config.h"
#include "models/qwen3_tts/codec_decoder.h"
#include "models/qwen3_tts/codec_encoder.h"
#include "models/qwen3_tts/weights.h"

int main(int argc, char** argv) {
  CLI::App app{"Write a random-weight Qwen3-TTS speech tokenizer checkpoint from a config.json"};
  std::string config, out;
  uint64_t seed = 1234;
  app.add_option("--config", config, "speech_tokenizer/config.json to follow")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--out", out, "Output directory (config.json + model.safetensors)")->required();
  app.add_option("--seed", seed, "Random seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    namespace fs = std::filesystem;
    const auto cfg = izwi::SpeechTokenizerConfig::load(config);
    izwi::RandomWeights weights(seed, izwi::DType::kF32);
    izwi::codec::CodecEncoder enc(cfg.encoder, cfg.encode_downsample_rate,
                                  cfg.encoder_valid_num_quantizers, weights);
    izwi::codec::CodecDecoder dec(cfg.decoder, weights);
    fs::create_directories(out);
    fs::copy_file(config, fs::path(out) / "config.json", fs::copy_options::overwrite_existing);
    izwi::write_safetensors((fs::path(out) / "model.safetensors").string(), weights.tensors());
    size_t bytes = 0;
    for (auto& [name, t] : weights.tensors()) bytes += t.nbytes();
    std::fprintf(stderr, "wrote %zu tensors (%.1f MB) to %s\n", weights.tensors().size(),
                 bytes / 1e6, out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "izwi-random-checkpoint: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
