// `izwi voice inspect` and `izwi speaker embed` end to end through the binary.
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "izwi/audio.h"
#include "test_util.h"

namespace izwi {
namespace {

using test::run_izwi;

TEST(CliVoice, InspectReportsAGoodClipAndAnUnusableOne) {
  test::TempDir d;
  Audio ref{test::load_f32("spk_in_wav"), 24000, 1};
  write_audio(d.file("ref.wav"), ref, SampleFormat::kFloat32);
  auto r = run_izwi("voice inspect " + d.file("ref.wav"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("duration      1.30 s"), std::string::npos) << r.output;
  r = run_izwi("voice inspect --json " + d.file("ref.wav"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["sample_rate"], 24000);
  EXPECT_TRUE(j["usable"].get<bool>());
  // 1.3 s is short: a warning, not an error.
  EXPECT_EQ(j["issues"][0]["code"], "short");

  write_audio(d.file("silence.wav"), Audio{std::vector<float>(48000, 0.0f), 24000, 1});
  r = run_izwi("voice inspect " + d.file("silence.wav"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("record 5-30 seconds of clear speech"), std::string::npos) << r.output;
}

TEST(CliSpeaker, EmbedReproducesTheGoldenXVector) {
  test::TempDir d;
  Audio ref{test::load_f32("spk_in_wav"), 24000, 1};
  write_audio(d.file("ref.wav"), ref, SampleFormat::kFloat32);
  for (const char* flags : {"", "--no-preprocess"}) {
    SCOPED_TRACE(flags);
    auto r = run_izwi("speaker embed " + d.file("ref.wav") + " -m " + test::golden_model() +
                      " -o " + d.file("x.npy") + " " + flags);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(test::within_golden_tolerance(read_npy(d.file("x.npy")).as_f32(),
                                              test::load_f32("spk_embedding")));
  }
}

TEST(CliSpeaker, EmbedResamplesAndMixesOtherFormats) {
  test::TempDir d;
  // 2 s of the reference at 48 kHz stereo, as a user's recording might be.
  Audio ref{test::load_f32("spk_in_wav"), 24000, 1};
  Audio hi = resample(ref, 48000);
  write_audio(d.file("ref48.flac"), hi);
  auto r = run_izwi("speaker embed " + d.file("ref48.flac") + " -m " + test::golden_model() +
                    " -o " + d.file("x.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resampled from 48000 Hz to 24000 Hz"), std::string::npos) << r.output;
  const auto x = read_npy(d.file("x.npy")).as_f32();
  EXPECT_EQ(x.size(), 64u);
  // Close to the 24 kHz original's embedding (resampling round trip only).
  const auto gold = test::load_f32("spk_embedding");
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    dot += x[i] * gold[i];
    na += x[i] * x[i];
    nb += gold[i] * gold[i];
  }
  EXPECT_GT(dot / std::sqrt(na * nb), 0.99);
}

TEST(CliSpeaker, ErrorsSayWhatToDo) {
  test::TempDir d;
  std::filesystem::create_directories(d.file("cv"));
  std::filesystem::copy_file(
      test::data_path("qwen3-tts/Qwen3-TTS-12Hz-0.6B-CustomVoice/config.json"),
      d.file("cv/config.json"));
  write_audio(d.file("ref.wav"), Audio{test::load_f32("spk_in_wav"), 24000, 1});
  auto r = run_izwi("speaker embed " + d.file("ref.wav") + " -m " + d.file("cv") + " -o " +
                    d.file("x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("needs a Base checkpoint"), std::string::npos) << r.output;
  std::ofstream(d.file("notes.txt")) << "hello";
  r = run_izwi("speaker embed " + d.file("notes.txt") + " -m " + test::golden_model() + " -o " +
               d.file("x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("cannot read"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(d.file("x.npy")));
}

}  // namespace
}  // namespace izwi
