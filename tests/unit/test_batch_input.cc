// Batch files (izwi/batch.h): what each kind of line becomes, and bad lines
// as items with an error rather than a failed file.
#include <gtest/gtest.h>

#include "izwi/batch.h"
#include "izwi/error.h"

namespace izwi {
namespace {

TEST(BatchInput, PlainTextIsOneTextPerLineNamedByLine) {
  const auto items = parse_batch(
      "\xEF\xBB\xBF"
      "First.\r\n\r\n  Second one.  \nThird\xff\n",
      BatchFormat::kText);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].text, "First.");
  EXPECT_EQ(items[0].name, "0001");
  EXPECT_EQ(items[1].text, "Second one.");
  EXPECT_EQ(items[1].line, 3);
  EXPECT_EQ(items[1].name, "0003");
  EXPECT_TRUE(items[1].error.empty());
  EXPECT_NE(items[2].error.find("not valid UTF-8"), std::string::npos);
}

TEST(BatchInput, JsonlFieldsAndBadLines) {
  const auto items = parse_batch(
      R"({"text": "Hi.", "voice": "alice", "language": "english", "seed": 7, "output": "intro.wav"})"
      "\n"
      R"({"text": "No name."})"
      "\n"
      "{not json\n"
      R"({"text": "x", "output": "../escape"})"
      "\n"
      R"({"text": "x", "seed": -1})"
      "\n"
      R"({"text": ""})"
      "\n"
      R"({"text": "x", "colour": "red"})"
      "\n"
      R"({"text": "x", "voice": "a", "speaker": "b.wav"})"
      "\n"
      R"(["text"])"
      "\n"
      R"({"txt": "Hi", "voice": "alice"})"
      "\n"
      R"({"text": "Hi", "voice": "alice", "text": "Bye"})",
      BatchFormat::kJsonl);
  ASSERT_EQ(items.size(), 11u);
  EXPECT_EQ(items[0].name, "intro");
  EXPECT_EQ(items[0].voice, "alice");
  EXPECT_EQ(items[0].language, "english");
  EXPECT_EQ(items[0].seed, 7u);
  EXPECT_TRUE(items[0].error.empty());
  EXPECT_EQ(items[1].name, "0002");
  EXPECT_FALSE(items[1].seed.has_value());
  EXPECT_NE(items[2].error.find("not valid JSON"), std::string::npos);
  EXPECT_NE(items[3].error.find("plain file name"), std::string::npos);
  EXPECT_NE(items[4].error.find("'seed'"), std::string::npos);
  EXPECT_NE(items[5].error.find("'text' is missing"), std::string::npos);
  EXPECT_NE(items[6].error.find("unknown field 'colour'"), std::string::npos);
  EXPECT_NE(items[7].error.find("not both"), std::string::npos);
  EXPECT_NE(items[8].error.find("JSON object"), std::string::npos);
  // A misspelt field is named (with the one it resembles) before the text it
  // left missing.
  EXPECT_NE(items[9].error.find("unknown field 'txt' (did you mean 'text'?)"), std::string::npos)
      << items[9].error;
  // A field given twice: either could be the one meant.
  EXPECT_NE(items[10].error.find("'text' appears twice"), std::string::npos) << items[10].error;
}

TEST(BatchInput, SrtCuesWithTimesAndNoMarkup) {
  const auto items = parse_batch(
      "1\n00:00:01,000 --> 00:00:02,500\n<i>Hello</i> {\\an8}there.\nSecond line.\n\n"
      "2\n01:02:03,040 --> 01:02:04,000\nLater.\n\n"
      "3\n00:00:05,000 -> 00:00:06,000\nBad arrow.\n\n"
      "4\n00:00:07,000 --> 00:00:06,000\nEnds first.\n\n"
      "5\n00:00:08,000 --> 00:00:09,000\n\n",
      BatchFormat::kSrt);
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[0].text, "Hello there. Second line.");
  EXPECT_EQ(items[0].name, "cue-0001");
  EXPECT_DOUBLE_EQ(*items[0].start, 1.0);
  EXPECT_DOUBLE_EQ(*items[0].end, 2.5);
  EXPECT_DOUBLE_EQ(*items[1].start, 3723.04);
  EXPECT_NE(items[2].error.find("no timing line"), std::string::npos);
  EXPECT_NE(items[3].error.find("malformed timing"), std::string::npos);
  EXPECT_NE(items[4].error.find("no text"), std::string::npos);
}

TEST(BatchInput, VttHeaderNotesIdsAndSettings) {
  const auto items = parse_batch(
      "WEBVTT - a title\nKind: captions\n\nNOTE a comment\nover lines\n\n"
      "00:01.000 --> 00:02.000 align:start\n<v Roger>First cue.\n\n"
      "intro\n00:00:03.500 --> 00:00:04.000\nSecond cue.\n",
      BatchFormat::kVtt);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].text, "First cue.");
  EXPECT_DOUBLE_EQ(*items[0].start, 1.0);
  EXPECT_DOUBLE_EQ(*items[0].end, 2.0);
  EXPECT_EQ(items[1].text, "Second cue.");
  EXPECT_DOUBLE_EQ(*items[1].start, 3.5);
  EXPECT_THROW(parse_batch("1\n00:00:01.000 --> 00:00:02.000\nx\n", BatchFormat::kVtt), Error);
}

TEST(BatchInput, FormatFromTheFileName) {
  EXPECT_EQ(batch_format_from_path("a/b.TXT"), BatchFormat::kText);
  EXPECT_EQ(batch_format_from_path("b.jsonl"), BatchFormat::kJsonl);
  EXPECT_EQ(batch_format_from_path("b.srt"), BatchFormat::kSrt);
  EXPECT_EQ(batch_format_from_path("b.vtt"), BatchFormat::kVtt);
  EXPECT_THROW(batch_format_from_path("b.docx"), Error);
  EXPECT_THROW(read_batch("/nonexistent/b.txt"), Error);
}

TEST(BatchInput, TimelinePlacesClipsAtTheirStarts) {
  const auto track = mix_timeline({{1, 1}, {2, 2, 2}, {4}}, {0.0, 0.5, 0.25}, 4);
  // clip 0 at sample 0, clip 1 at sample 2, clip 2 at sample 1 (mixed in).
  EXPECT_EQ(track, (std::vector<float>{1, 5, 2, 2, 2}));
}

}  // namespace
}  // namespace izwi
