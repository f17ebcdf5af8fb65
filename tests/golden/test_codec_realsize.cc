// The released speech-tokenizer configs: every one parses, and the real-size
// module graph is built from random weights written to a real safetensors file
// (by the izwi-random-checkpoint tool) and read back through the ordinary loader.
#include <filesystem>

#include "izwi/speech_tokenizer.h"
#include "models/qwen3_tts/codec_config.h"
#include "test_util.h"

namespace izwi {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> released_configs() {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(test::data_path("qwen3-tts"))) {
    const fs::path cfg = entry.path() / "speech_tokenizer" / "config.json";
    if (fs::exists(cfg)) out.push_back(cfg.string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(CodecRealSize, EveryReleasedConfigParses) {
  const auto configs = released_configs();
  ASSERT_EQ(configs.size(), 5u);
  for (const auto& path : configs) {
    SCOPED_TRACE(path);
    const auto c = SpeechTokenizerConfig::load(path);
    EXPECT_EQ(c.decoder.num_quantizers, 16);
    EXPECT_EQ(c.decoder.codebook_size, 2048);
    EXPECT_EQ(c.decoder.latent_dim, 1024);
    EXPECT_EQ(c.encoder.hidden_size, 512);
    EXPECT_EQ(c.encoder.num_hidden_layers, 8);
    EXPECT_EQ(c.decode_upsample_rate, 1920);
  }
}

TEST(CodecRealSize, RandomWeightCheckpointLoadsAndRuns) {
  test::TempDir dir;
  const std::string from = fs::path(released_configs()[0]).parent_path().string();
  const std::string cmd = std::string(IZWI_RANDOM_CHECKPOINT) + " --from '" + from + "' --out '" +
                          dir.path().string() + "' --seed 7";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  EXPECT_GT(fs::file_size(dir.path() / "model.safetensors"), 600u * 1000 * 1000);  // ~680 MB of f32

  auto codec = SpeechTokenizer::load(dir.path().string());
  EXPECT_EQ(codec->codebook_size(), 2048);
  // 3 frames decode to 3 * 1920 finite samples in [-1, 1].
  AudioCodes codes{3, 16, std::vector<int32_t>(48)};
  for (size_t i = 0; i < codes.values.size(); ++i)
    codes.values[i] = static_cast<int32_t>((i * 131) % 2048);
  auto wav = codec->decode(codes);
  ASSERT_EQ(wav.size(), 3u * 1920u);
  for (float v : wav) ASSERT_TRUE(std::isfinite(v) && v >= -1.0f && v <= 1.0f);
  // The bf16 decoder on the same real-size weights stays close to f32 (measured 42.5 dB).
  auto snr_db = [&](const std::vector<float>& ours) {
    double sig = 0, err = 0;
    for (size_t i = 0; i < wav.size(); ++i) {
      sig += static_cast<double>(wav[i]) * wav[i];
      err += (static_cast<double>(ours[i]) - wav[i]) * (static_cast<double>(ours[i]) - wav[i]);
    }
    return 10.0 * std::log10(sig / std::max(err, 1e-30));
  };
  auto fast = SpeechTokenizer::load(dir.path().string(), CodecOptions{0, CodecPrecision::kBf16});
  if (fast->decode_precision() == CodecPrecision::kBf16) {
    const double snr = snr_db(fast->decode(codes));
    std::printf("bf16 decode of real-size random weights: %.1f dB SNR against f32\n", snr);
    EXPECT_GT(snr, 38.0);
  }
  // So does the Winograd one, much closer (its only error is f32 rounding in
  // the transforms; measured 100+ dB).
  auto wino =
      SpeechTokenizer::load(dir.path().string(), CodecOptions{0, CodecPrecision::kWinograd});
  if (wino->decode_precision() == CodecPrecision::kWinograd) {
    const double snr = snr_db(wino->decode(codes));
    std::printf("winograd decode of real-size random weights: %.1f dB SNR against f32\n", snr);
    EXPECT_GT(snr, 80.0);
  }
  // 0.3 s of a tone encodes to ceil(7200 / 1920) = 4 frames of in-range codes.
  std::vector<float> tone(7200);
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = 0.5f * std::sin(0.05f * static_cast<float>(i));
  AudioCodes enc = codec->encode(tone.data(), tone.size(), 24000);
  EXPECT_EQ(enc.frames, 4);
  for (int32_t c : enc.values) ASSERT_TRUE(c >= 0 && c < 2048);
}

}  // namespace
}  // namespace izwi
