// `izwi tokenize` end to end: ids as JSON, --decode, stdin, errors.
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "test_util.h"

namespace izwi {
namespace {

using test::run_izwi;

const std::string kTok = " --model " + test::data_path("qwen3-tts/text-tokenizer");

TEST(CliTokenize, PrintsTheOfficialIdsAndDecodesThem) {
  auto r = run_izwi("tokenize 'Hello, this is my cloned voice.'" + kTok);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output),
            nlohmann::json::parse("[9707, 11, 419, 374, 847, 54119, 7743, 13]"));
  r = run_izwi("tokenize --decode '[9707, 11, 419, 374, 847, 54119, 7743, 13]'" + kTok);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "Hello, this is my cloned voice.\n");
  r = run_izwi("tokenize --decode '151644 77091 198'" + kTok);
  EXPECT_EQ(r.output, "<|im_start|>assistant\n\n");
}

TEST(CliTokenize, ReadsStdinAndAcceptsAFullCheckpoint) {
  test::TempDir d;
  std::ofstream(d.file("in.txt")) << "The quick brown fox";
  auto r = run_izwi("tokenize - --model " + test::golden_model() + " < " + d.file("in.txt"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(nlohmann::json::parse(r.output).is_array());
}

TEST(CliTokenize, ErrorsAreClear) {
  test::TempDir d;
  std::ofstream(d.file("bad.txt"), std::ios::binary) << "caf\xff";
  auto r = run_izwi("tokenize - " + kTok + " < " + d.file("bad.txt"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("at byte offset 3"), std::string::npos) << r.output;
  r = run_izwi("tokenize --decode 'x y'" + kTok);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("'x' is not a token id"), std::string::npos) << r.output;
  r = run_izwi("tokenize hello --model " + d.path().string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no text tokenizer"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace izwi
