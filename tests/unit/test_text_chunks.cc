// Sentences and chunks of long texts (izwi/text_chunks.h). The expected lists
// are how a reader of each language cuts these texts; README "Long texts"
// documents the rules they follow.
#include <gtest/gtest.h>

#include "izwi/error.h"
#include "izwi/text_chunks.h"

namespace izwi {
namespace {

std::vector<std::string> texts(const std::vector<TextPiece>& pieces) {
  std::vector<std::string> out;
  for (const auto& p : pieces) out.push_back(p.text);
  return out;
}

TEST(Sentences, English) {
  const auto s = split_sentences(
      "Dr. Smith paid $3.50 for it, i.e. a bargain. He said \"Go home!\" and left.\n"
      "Mr. Jones, e.g., did not: he stayed\nuntil 3 p.m. on Friday. J. R. R. Tolkien wrote it. "
      "Really? Yes!\n\nA new paragraph.",
      "english");
  EXPECT_EQ(texts(s), (std::vector<std::string>{
                          "Dr. Smith paid $3.50 for it, i.e. a bargain.",
                          "He said \"Go home!\" and left.",
                          "Mr. Jones, e.g., did not: he stayed until 3 p.m. on Friday.",
                          "J. R. R. Tolkien wrote it.",
                          "Really?",
                          "Yes!",
                          "A new paragraph.",
                      }));
  ASSERT_EQ(s.size(), 7u);
  EXPECT_EQ(s[4].end, TextBreak::kSentence);
  EXPECT_EQ(s[5].end, TextBreak::kParagraph);  // the blank line
  EXPECT_EQ(s[6].end, TextBreak::kParagraph);  // the end of the text
}

TEST(Sentences, Chinese) {
  const auto s = split_sentences(
      "今天天气很好，气温是23.5度。我们去公园吧！“走吧！”他说。你觉得呢？\n\n好的。", "chinese");
  EXPECT_EQ(texts(s), (std::vector<std::string>{"今天天气很好，气温是23.5度。", "我们去公园吧！",
                                                "“走吧！”他说。", "你觉得呢？", "好的。"}));
  EXPECT_EQ(s[3].end, TextBreak::kParagraph);
}

TEST(Sentences, Japanese) {
  const auto s = split_sentences(
      "「こんにちは。」と彼は言った。今日は晴れです！気温は12.5度です。本当？", "japanese");
  EXPECT_EQ(texts(s),
            (std::vector<std::string>{"「こんにちは。」と彼は言った。", "今日は晴れです！",
                                      "気温は12.5度です。", "本当？"}));
}

TEST(Sentences, German) {
  const auto s = split_sentences(
      "Das kostet ca. 3,50 Euro, z.B. am 3. Oktober. Herr Dr. Müller kommt um 10 Uhr. Gut! "
      "Vgl. dazu S. 12.",
      "german");
  EXPECT_EQ(texts(s), (std::vector<std::string>{
                          "Das kostet ca. 3,50 Euro, z.B. am 3. Oktober.",
                          "Herr Dr. Müller kommt um 10 Uhr.",
                          "Gut!",
                          "Vgl. dazu S. 12.",
                      }));
}

TEST(Sentences, OtherLanguagesEndAtTheirPunctuation) {
  EXPECT_EQ(
      texts(split_sentences("M. Dupont est arrivé. Il fait beau ! N'est-ce pas ?", "french")),
      (std::vector<std::string>{"M. Dupont est arrivé.", "Il fait beau !", "N'est-ce pas ?"}));
  EXPECT_EQ(texts(split_sentences("¿Qué hora es? Son las 3.30. ¡Vamos!", "spanish")),
            (std::vector<std::string>{"¿Qué hora es?", "Son las 3.30.", "¡Vamos!"}));
  EXPECT_EQ(texts(split_sentences("Привет. Как дела? Хорошо!", "russian")),
            (std::vector<std::string>{"Привет.", "Как дела?", "Хорошо!"}));
  EXPECT_EQ(texts(split_sentences("안녕하세요. 오늘 날씨가 좋네요! 그렇죠?", "korean")),
            (std::vector<std::string>{"안녕하세요.", "오늘 날씨가 좋네요!", "그렇죠?"}));
}

TEST(Sentences, EmptyAndBlankTextsHaveNone) {
  EXPECT_TRUE(split_sentences("").empty());
  EXPECT_TRUE(split_sentences(" \n\n \t\n").empty());
}

TEST(Sentences, InvalidUtf8IsRefused) {
  EXPECT_THROW(split_sentences("ab\xff"), Error);
}

TEST(Chunks, GroupSentencesUpToTheLimitAndEndAtParagraphs) {
  const std::string text = "One two three. Four five six. Seven eight nine.\n\nTen eleven. Twelve.";
  const auto c = chunk_text(text, "english", {30});
  EXPECT_EQ(texts(c), (std::vector<std::string>{"One two three. Four five six.",
                                                "Seven eight nine.", "Ten eleven. Twelve."}));
  EXPECT_EQ(c[0].end, TextBreak::kSentence);
  EXPECT_EQ(c[1].end, TextBreak::kParagraph);
  EXPECT_EQ(c[2].end, TextBreak::kParagraph);
}

TEST(Chunks, LongSentencesAreCutAtClausesThenWords) {
  // Clauses: "The first part runs on," (23) | "the second part ... and on," (52, cut
  // between words into 30 + 21) | "the end." (8); then grouped up to 30 again.
  const auto c = chunk_text(
      "The first part runs on, the second part runs on and on and on and on and on, the end.",
      "english", {30});
  EXPECT_EQ(texts(c),
            (std::vector<std::string>{"The first part runs on,", "the second part runs on and on",
                                      "and on and on and on, the end."}));
  EXPECT_EQ(c[0].end, TextBreak::kClause);
  EXPECT_EQ(c[1].end, TextBreak::kWord);
  EXPECT_EQ(c[2].end, TextBreak::kParagraph);
  for (const auto& p : c) EXPECT_LE(text_length(p.text), 30) << p.text;
}

TEST(Chunks, CjkCountsThreePerCharacterAndJoinsWithoutSpaces) {
  EXPECT_EQ(text_length("好的。"), 9);
  EXPECT_EQ(text_length("ok"), 2);
  const auto c = chunk_text("我们走吧。你好。今天天气很好，我们去公园散步吧。", "chinese", {30});
  EXPECT_EQ(texts(c),
            (std::vector<std::string>{"我们走吧。你好。", "今天天气很好，", "我们去公园散步吧。"}));
}

TEST(Chunks, EveryWordIsKeptInOrder) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "word" + std::to_string(i) + (i % 9 == 8 ? ". " : " ");
  std::string joined;
  for (const auto& c : chunk_text(text, "english", {120})) {
    EXPECT_LE(text_length(c.text), 120);
    joined += (joined.empty() ? "" : " ") + c.text;
  }
  EXPECT_EQ(joined + " ", text);
}

TEST(Chunks, TooSmallALimitIsRefused) {
  EXPECT_THROW(chunk_text("Hello.", "english", {5}), Error);
}

}  // namespace
}  // namespace izwi
