// End to end through the izwi binary: `izwi codec encode|decode` on files
// reproduce the golden results, and bad input fails with a message and a
// non-zero exit status (never a crash).
#include <cstdio>
#include <fstream>

#include "cli_run.h"
#include "izwi/audio.h"
#include "izwi/provenance.h"
#include "test_util.h"

namespace izwi {
namespace {

using test::run_izwi;
const auto run = run_izwi;

const std::string kModel = "--model '" + test::golden_model() + "'";

TEST(CliCodec, EncodeReproducesGoldenCodesFromNpyAndWav) {
  test::TempDir dir;
  auto r = run("codec encode '" + test::golden_vec("enc_ref_in_wav") + "' " + kModel + " -o " +
               dir.file("c.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  NpyArray codes = read_npy(dir.file("c.npy"));
  EXPECT_EQ(codes.shape, (std::vector<int64_t>{17, 16}));
  EXPECT_EQ(codes.as_i64(), test::load_i64("enc_ref_codes"));

  // The same samples as a 32-bit float WAV file give the same codes.
  Audio a{test::load_f32("enc_exact15_in_wav"), 24000, 1};
  write_audio(dir.file("in.wav"), a, SampleFormat::kFloat32);
  r = run("codec encode " + dir.file("in.wav") + " " + kModel + " -o " + dir.file("c2.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_npy(dir.file("c2.npy")).as_i64(), test::load_i64("enc_exact15_codes"));
}

TEST(CliCodec, DecodeReproducesGoldenWaveformAsNpyAndWav) {
  test::TempDir dir;
  auto r = run("codec decode '" + test::golden_vec("dec_long330_codes") + "' " + kModel + " -o " +
               dir.file("w.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("RTF"), std::string::npos);
  EXPECT_TRUE(test::within_golden_tolerance(read_npy(dir.file("w.npy")).as_f32(),
                                            test::load_f32("dec_long330_wav")));

  r = run("codec decode '" + test::golden_vec("dec_ref_codes") + "' " + kModel +
          " --sample-format f32 -o " + dir.file("w.wav"));
  ASSERT_EQ(r.status, 0) << r.output;
  Audio a = read_audio(dir.file("w.wav"));
  EXPECT_EQ(a.sample_rate, 24000);
  EXPECT_TRUE(test::within_golden_tolerance(a.samples, test::load_f32("dec_ref_wav")));
  // Decoded codes are synthetic speech: the file says so, and from what.
  const auto made = parse_provenance(read_audio_tags(dir.file("w.wav")));
  ASSERT_TRUE(made.has_value());
  EXPECT_NE(made->voice.find("dec_ref_codes"), std::string::npos) << made->voice;

  r = run("codec decode '" + test::golden_vec("dec_ref_codes") + "' " + kModel + " -o " +
          dir.file("p.wav"));
  ASSERT_EQ(r.status, 0) << r.output;
  Audio p = read_audio(dir.file("p.wav"));  // PCM16: within one quantisation step
  ASSERT_EQ(p.samples.size(), 17u * 1920u);
  auto ref = test::load_f32("dec_ref_wav");
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(p.samples[i], ref[i], 1.0 / 32768 + 1e-4);
}

TEST(CliCodec, BadInputFailsCleanly) {
  test::TempDir dir;
  const std::string codes = "'" + test::golden_vec("dec_ref_codes") + "'";
  struct Case {
    std::string args, expect;
  };
  std::ofstream(dir.file("text.wav")) << "this is not audio";
  std::ofstream(dir.file("empty.npy")) << "";
  std::vector<int64_t> big(32, 4000);
  write_npy(dir.file("big.npy"), {2, 16}, big.data());
  std::vector<int64_t> eight(16, 1);
  write_npy(dir.file("eight.npy"), {2, 8}, eight.data());
  std::vector<float> floats(32, 1.0f);
  write_npy(dir.file("floats.npy"), {2, 16}, floats.data());
  const Case cases[] = {
      {"codec decode " + dir.file("big.npy") + " " + kModel + " -o " + dir.file("o.wav"),
       "out of range [0, 256)"},
      {"codec decode " + dir.file("eight.npy") + " " + kModel + " -o " + dir.file("o.wav"),
       "[frames, 16]"},
      {"codec decode " + dir.file("floats.npy") + " " + kModel + " -o " + dir.file("o.wav"),
       "must be integers"},
      {"codec decode " + dir.file("empty.npy") + " " + kModel + " -o " + dir.file("o.wav"),
       "not a .npy file"},
      {"codec decode " + codes + " " + kModel + " -o " + dir.file("o.mp4"),
       "unknown audio format '.mp4'"},
      {"codec decode " + codes + " --model /nonexistent -o " + dir.file("o.wav"), "does not exist"},
      {"codec encode " + dir.file("text.wav") + " " + kModel + " -o " + dir.file("c.npy"),
       "cannot read"},
      {"codec encode /nonexistent.wav " + kModel + " -o " + dir.file("c.npy"), "does not exist"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    auto r = run(c.args);
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_LT(r.status, 128) << "crashed: " << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("o.wav")));  // nothing half-written
}

// Audio at another rate is resampled (libsoxr, as for reference clips): the
// codes are those of the same clip resampled first, and the command says so.
TEST(CliCodec, EncodeResamplesOtherRates) {
  test::TempDir dir;
  const Audio at24{test::load_f32("enc_exact15_in_wav"), 24000, 1};
  const Audio at44 = resample(at24, 44100);
  write_audio(dir.file("44k.wav"), at44, SampleFormat::kFloat32);
  write_audio(dir.file("back.wav"), resample(at44, 24000), SampleFormat::kFloat32);
  auto r = run("codec encode " + dir.file("44k.wav") + " " + kModel + " -o " + dir.file("a.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("from 44100 Hz to the codec's 24000 Hz"), std::string::npos) << r.output;
  r = run("codec encode " + dir.file("back.wav") + " " + kModel + " -o " + dir.file("b.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  const NpyArray a = read_npy(dir.file("a.npy")), b = read_npy(dir.file("b.npy"));
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.as_i64(), b.as_i64());
}

TEST(CliCodec, HelpDescribesCommands) {
  auto r = run("codec decode --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("--sample-format"), std::string::npos);
  r = run("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("izwi 0.1.0"), std::string::npos);
}

// A missing or mistyped command names the command, the word and the commands
// there are (CLI11 alone said "A subcommand is required" to both).
TEST(CliCodec, AMistypedCommandIsNamedWithTheCommandsThereAre) {
  auto r = run("voices bogus");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("'bogus' is not a command of `izwi voices`"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("add, list, show, rm"), std::string::npos) << r.output;
  r = run("codec");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("`izwi codec` needs a command: encode, decode"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("Run `izwi codec --help`"), std::string::npos) << r.output;
  r = run("tokenise 'hello'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("'tokenise' is not a command of `izwi`"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tokenize"), std::string::npos) << r.output;
  // Other requirements keep CLI11's message (a missing positional).
  r = run("voices add");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("name is required"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace izwi
