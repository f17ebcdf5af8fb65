// Speaker encoder against the official golden vectors: log-mel features, every
// ECAPA-TDNN stage and the x-vector.
#include <cmath>
#include <map>

#include "audio/mel.h"
#include "core/thread_pool.h"
#include "izwi/speaker_encoder.h"
#include "models/qwen3_tts/model_config.h"
#include "models/qwen3_tts/speaker_encoder.h"
#include "test_util.h"

namespace izwi {
namespace {

using test::load_f32;
using test::within_golden_tolerance;

TEST(SpeakerGolden, MelFeaturesMatch) {
  auto wav = load_f32("spk_in_wav");
  audio::MelSpectrogram mel;
  std::vector<int64_t> shape;
  auto ref = load_f32("spk_mel", &shape);
  ASSERT_EQ(mel.frames_for(static_cast<int64_t>(wav.size())),
            shape[0]);  // 121 frames for 31200 samples
  EXPECT_TRUE(
      within_golden_tolerance(mel.compute(wav.data(), static_cast<int64_t>(wav.size())), ref));
}

TEST(SpeakerGolden, SlaneyFilterbankHasLibrosaShapeAndNormalisation) {
  const auto w = audio::slaney_mel_filterbank(24000, 1024, 128, 0, 12000);
  ASSERT_EQ(w.size(), 128u * 513u);
  // Slaney normalisation: each triangle's area is 1 in Hz (sum of weights * bin width).
  for (int m : {0, 40, 127}) {
    double area = 0;
    for (int k = 0; k < 513; ++k) area += w[static_cast<size_t>(m) * 513 + k] * (24000.0 / 1024);
    EXPECT_NEAR(area, 1.0, 0.08) << "mel " << m;
  }
}

TEST(SpeakerGolden, EncoderMatchesEveryStage) {
  const std::string dir = test::golden_model();
  const ModelConfig mc = ModelConfig::load(dir + "/config.json");
  ASSERT_TRUE(mc.speaker_encoder);
  CheckpointWeights w(Checkpoint::open(dir));
  speaker::SpeakerEncoder enc(*mc.speaker_encoder, w);
  std::vector<int64_t> mel_shape;
  auto mel = load_f32("spk_mel", &mel_shape);
  ThreadPool pool(2);
  std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>> rec;
  auto x =
      enc.forward(&pool, mel.data(), mel_shape[0],
                  [&](const std::string& name, const std::vector<int64_t>& shape, const float* d) {
                    int64_t n = 1;
                    for (auto s : shape) n *= s;
                    rec[name] = {shape, std::vector<float>(d, d + n)};
                  });
  for (const char* stage :
       {"block0_out", "block1_out", "block2_out", "block3_out", "mfa_out", "asp_out"}) {
    SCOPED_TRACE(stage);
    auto ref = load_f32(std::string("spk_") + stage);
    ASSERT_TRUE(rec.count(stage));
    EXPECT_TRUE(within_golden_tolerance(rec[stage].second, ref));
  }
  EXPECT_TRUE(within_golden_tolerance(x, load_f32("spk_embedding")));
}

TEST(SpeakerGolden, PublicApiEmbedsTheReferenceClip) {
  auto enc = SpeakerEncoder::load(test::golden_model());
  EXPECT_EQ(enc->embedding_size(), 64);
  auto wav = load_f32("spk_in_wav");
  EXPECT_TRUE(within_golden_tolerance(enc->embed(wav.data(), wav.size(), 24000),
                                      load_f32("spk_embedding")));
  EXPECT_THROW(enc->embed(wav.data(), wav.size(), 16000), Error);
  EXPECT_THROW(enc->embed(wav.data(), 100, 24000), Error);
}

TEST(SpeakerGolden, CustomVoiceCheckpointSaysItCannotClone) {
  test::TempDir dir;
  std::filesystem::copy_file(
      test::data_path("qwen3-tts/Qwen3-TTS-12Hz-0.6B-CustomVoice/config.json"),
      dir.file("config.json"));
  try {
    SpeakerEncoder::load(dir.path().string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs a Base checkpoint"), std::string::npos) << e.what();
  }
}

TEST(SpeakerGolden, ReleasedBaseConfigsGiveTalkerSizedXVectors) {
  EXPECT_EQ(ModelConfig::load(test::data_path("qwen3-tts/Qwen3-TTS-12Hz-0.6B-Base/config.json"))
                .speaker_encoder->enc_dim,
            1024);
  const auto big =
      ModelConfig::load(test::data_path("qwen3-tts/Qwen3-TTS-12Hz-1.7B-Base/config.json"));
  EXPECT_EQ(big.speaker_encoder->enc_dim, 2048);
  EXPECT_EQ(big.speaker_encoder->channels, (std::vector<int>{512, 512, 512, 512, 1536}));
}

}  // namespace
}  // namespace izwi

namespace izwi {
namespace {

TEST(SpeakerRealSize, RandomBf16CheckpointOfTheReleasedConfigLoadsAndEmbeds) {
  test::TempDir d;
  std::filesystem::create_directories(d.file("from"));
  std::filesystem::copy_file(test::data_path("qwen3-tts/Qwen3-TTS-12Hz-1.7B-Base/config.json"),
                             d.file("from/config.json"));
  const std::string cmd =
      std::string(IZWI_RANDOM_CHECKPOINT) + " --from " + d.file("from") + " --out " + d.file("ck");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  EXPECT_EQ(Checkpoint::open(d.file("ck")).get("speaker_encoder.fc.weight").dtype, DType::kBF16);
  auto enc = SpeakerEncoder::load(d.file("ck"));
  ASSERT_EQ(enc->embedding_size(), 2048);
  std::vector<float> wav(24000 * 3);
  for (size_t i = 0; i < wav.size(); ++i) wav[i] = 0.3f * std::sin(0.07f * static_cast<float>(i));
  const auto x = enc->embed(wav.data(), wav.size(), 24000);
  ASSERT_EQ(x.size(), 2048u);
  for (float v : x) ASSERT_TRUE(std::isfinite(v));
}

}  // namespace
}  // namespace izwi
