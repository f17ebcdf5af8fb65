// Real size: a random-weight checkpoint of the released 0.6B Base config (bf16
// talker, code predictor and speaker encoder, f32 speech tokenizer; 2.5 GB) is
// written by izwi-random-checkpoint and read back by the ordinary loader, then
// used to clone a voice and speak.
#include <cmath>
#include <filesystem>

#include "izwi/izwi.h"
#include "test_util.h"

namespace izwi {
namespace {

TEST(TtsRealSize, RandomCheckpointOfTheReleasedConfigLoadsClonesAndSpeaks) {
  test::TempDir d;
  const std::string cmd = std::string(IZWI_RANDOM_CHECKPOINT) + " --from " +
                          test::data_path("qwen3-tts/Qwen3-TTS-12Hz-0.6B-Base") + " --tokenizer " +
                          test::data_path("qwen3-tts/text-tokenizer") + " --out " + d.file("ck") +
                          " --seed 3";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  EXPECT_GT(std::filesystem::file_size(d.file("ck/model.safetensors")),
            1700u * 1000 * 1000);  // ~1.83 GB bf16

  auto model = TtsModel::load(d.file("ck"));
  EXPECT_EQ(model->model_type(), "base");
  EXPECT_TRUE(model->can_clone());
  EXPECT_EQ(model->languages().size(), 11u);  // auto + 10 languages
  Audio ref;
  ref.sample_rate = 16000;  // a typical recording rate: resampled on the way in
  for (int i = 0; i < 16000 * 3; ++i)
    ref.samples.push_back(0.3f * std::sin(0.05f * i) * (0.6f + 0.4f * std::sin(0.0008f * i)));
  const Voice voice = model->clone_voice(ref, "A reference transcript.");
  EXPECT_EQ(voice.xvector.size(), 1024u);
  EXPECT_EQ(voice.reference_codes.frames, 38);  // ceil(72000 / 1920)
  SynthesisOptions o;
  o.language = "english";
  o.seed = 1;
  o.max_seconds = 0.4;  // 5 frames
  const SynthesisResult r = model->synthesize("Hello from a real-size model.", voice, o);
  EXPECT_GT(r.codes.frames, 0);
  EXPECT_EQ(r.text_ids.front(), 151644);  // <|im_start|> of the real vocabulary
  for (float s : r.samples) ASSERT_TRUE(std::isfinite(s) && std::abs(s) <= 1.0f);
  for (int32_t c : r.codes.values) ASSERT_TRUE(c >= 0 && c < 2048);
}

}  // namespace
}  // namespace izwi
