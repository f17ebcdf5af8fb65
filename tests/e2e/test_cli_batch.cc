// izwi tts --input FILE --out-dir DIR through the binary on the tiny model:
// one bad line does not stop the rest and is reported; a second run skips the
// finished files; JSONL items equal the same text spoken alone; subtitles get
// a report and a timeline track built from the cue files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "izwi/izwi.h"
#include "test_util.h"

namespace izwi {
namespace {

namespace fs = std::filesystem;

class CliBatch : public ::testing::Test {
 protected:
  void SetUp() override {
    write_audio(d_.file("ref.wav"), Audio{test::load_f32("spk_in_wav"), 24000, 1},
                SampleFormat::kFloat32);
  }
  std::string base(const std::string& seed = "9") {
    return "tts -m " + test::golden_model() + " -s " + d_.file("ref.wav") +
           " --language english --max-new-tokens 10 --codec f32 --seed " + seed + " ";
  }
  void write(const std::string& name, const std::string& content) {
    std::ofstream(d_.file(name), std::ios::binary) << content;
  }
  test::TempDir d_;
};

TEST_F(CliBatch, TextLinesResumeAfterAFailure) {
  write("lines.txt", "The first line.\n\nThe second line.\n\xff broken\nThe last line.\n");
  const std::string cmd =
      base() + "--input " + d_.file("lines.txt") + " --out-dir " + d_.file("out");
  auto r = test::run_izwi(cmd);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("line 4: failed: text is not valid UTF-8"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("4 texts: 3 spoken, 0 already there, 1 failed"), std::string::npos);
  for (const char* f : {"0001.wav", "0003.wav", "0005.wav"})
    EXPECT_TRUE(fs::exists(d_.file("out/" + std::string(f)))) << f;
  EXPECT_FALSE(fs::exists(d_.file("out/0004.wav")));
  const auto before = fs::last_write_time(d_.file("out/0001.wav"));
  const Audio first = read_audio(d_.file("out/0001.wav"));
  EXPECT_GT(first.samples.size(), 0u);
  // Every file says it is synthetic speech.
  EXPECT_EQ(read_audio_tags(d_.file("out/0003.wav")).title, "Synthetic speech");

  // The bad line fixed: the second run speaks only it.
  write("lines.txt", "The first line.\n\nThe second line.\nA mended line.\nThe last line.\n");
  r = test::run_izwi(cmd);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("4 texts: 1 spoken, 3 already there, 0 failed"), std::string::npos)
      << r.output;
  EXPECT_TRUE(fs::exists(d_.file("out/0004.wav")));
  EXPECT_EQ(fs::last_write_time(d_.file("out/0001.wav")), before);

  // --overwrite speaks them all again; the same seeds give the same audio.
  r = test::run_izwi(cmd + " --overwrite");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("4 texts: 4 spoken"), std::string::npos) << r.output;
  EXPECT_EQ(read_audio(d_.file("out/0001.wav")).samples, first.samples);
}

TEST_F(CliBatch, JsonlItemsAreTheTextsSpokenAlone) {
  write("jobs.jsonl", R"({"text": "Hello from the batch.", "seed": 123, "output": "hello.flac"})"
                      "\n"
                      R"({"text": "Another one.", "language": "klingon"})"
                      "\n"
                      R"({"text": "Escape.", "output": "../../escape"})"
                      "\n"
                      R"({"text": "Plain.", "seed": 5})"
                      "\n");
  auto r = test::run_izwi(base() + "--format flac --input " + d_.file("jobs.jsonl") +
                          " --out-dir " + d_.file("out"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("line 2: failed: unknown language 'klingon'"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("line 3: failed: 'output' must be a plain file name"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(d_.file("escape.flac")));
  ASSERT_TRUE(fs::exists(d_.file("out/hello.flac")));
  ASSERT_TRUE(fs::exists(d_.file("out/0004.flac")));

  // The same text, seed and voice through a single `izwi tts`.
  r = test::run_izwi(base("123") + "\"Hello from the batch.\" -o " + d_.file("alone.flac"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_audio(d_.file("out/hello.flac")).samples,
            read_audio(d_.file("alone.flac")).samples);
}

// A JSONL file whose every line names its speaker needs no voice on the
// command line; a line that names none is pointed at before anything is spoken.
TEST_F(CliBatch, JsonlLinesMayBringEveryVoice) {
  const std::string ref = d_.file("ref.wav");
  write("own.jsonl", R"({"text": "First.", "speaker": ")" + ref +
                         R"("})"
                         "\n" +
                         R"({"text": "Second.", "speaker": ")" + ref +
                         R"(", "seed": 4})"
                         "\n");
  const std::string no_voice = "tts -m " + test::golden_model() +
                               " --language english --max-new-tokens 6 --codec f32 --seed 2 ";
  auto r =
      test::run_izwi(no_voice + "--input " + d_.file("own.jsonl") + " --out-dir " + d_.file("own"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("2 texts: 2 spoken"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(d_.file("own/0002.wav")));
  write("mixed.jsonl", R"({"text": "First.", "speaker": ")" + ref +
                           R"("})"
                           "\n" +
                           R"({"text": "Second."})"
                           "\n");
  r = test::run_izwi(no_voice + "--input " + d_.file("mixed.jsonl") + " --out-dir " +
                     d_.file("mixed"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("say whose voice to use for the batch"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("line 2 names none"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d_.file("mixed/0001.wav")));
}

TEST_F(CliBatch, SubtitlesGetAReportAndATimeline) {
  write("subs.srt",
        "1\n00:00:00,500 --> 00:00:03,000\nFirst cue.\n\n"
        "2\n00:00:04,000 --> 00:00:04,200\n<i>A cue far too short for these words.</i>\n");
  const auto r = test::run_izwi(base() + "--input " + d_.file("subs.srt") + " --out-dir " +
                                d_.file("out") + " --timeline " + d_.file("track.wav"));
  ASSERT_EQ(r.status, 0) << r.output;
  const Audio a = read_audio(d_.file("out/cue-0001.wav"));
  const Audio b = read_audio(d_.file("out/cue-0002.wav"));
  const auto report = nlohmann::json::parse(std::ifstream(d_.file("out/report.json")))["cues"];
  ASSERT_EQ(report.size(), 2u);
  EXPECT_NEAR(report[0]["spoken_seconds"].get<double>(), a.duration(), 1e-6);
  EXPECT_EQ(report[0]["fits"].get<bool>(), a.duration() <= 2.5);
  EXPECT_DOUBLE_EQ(report[1]["slot_seconds"].get<double>(), 0.2);
  EXPECT_FALSE(report[1]["fits"].get<bool>());
  EXPECT_EQ(report[1]["text"], "A cue far too short for these words.");
  EXPECT_NE(r.output.find("cue-0002 (line 5)"), std::string::npos) << r.output;

  // The track: each cue's samples at its start time (they do not overlap here).
  const Audio track = read_audio(d_.file("track.wav"));
  ASSERT_EQ(track.samples.size(), 4 * 24000 + b.samples.size());
  for (size_t k = 0; k < a.samples.size(); k += 97)
    EXPECT_NEAR(track.samples[12000 + k], a.samples[k], 1.0 / 32768) << k;
  for (size_t k = 0; k < b.samples.size(); k += 97)
    EXPECT_NEAR(track.samples[96000 + k], b.samples[k], 1.0 / 32768) << k;
  EXPECT_EQ(track.samples[6000], 0.0f);  // before the first cue: silence
}

TEST_F(CliBatch, WrongCombinationsSayWhatToDo) {
  write("a.txt", "x\n");
  auto r = test::run_izwi(base() + "--input " + d_.file("a.txt"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--input needs --out-dir"), std::string::npos) << r.output;
  r = test::run_izwi(base() + "\"Hi\" -o x.wav --out-dir " + d_.file("o"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("go with --input"), std::string::npos) << r.output;
  write("a.docx", "x\n");
  r = test::run_izwi(base() + "--input " + d_.file("a.docx") + " --out-dir " + d_.file("o"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("use .txt"), std::string::npos) << r.output;
  r = test::run_izwi(base() + "--input " + d_.file("a.txt") + " --out-dir " + d_.file("o") +
                     " --timeline t.wav");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("needs an .srt or .vtt"), std::string::npos) << r.output;
  r = test::run_izwi(base() + "-o x.wav");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("give the text to speak"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace izwi
