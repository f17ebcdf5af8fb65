// Long texts: sentences, and chunks the model speaks well.
//
// A text of any length is cut into sentences (ICU's sentence BreakIterator
// for the language, paragraphs at blank lines), and the sentences are grouped
// into chunks of at most `max_chars` (a sentence longer than that is cut at
// its clauses, then between words). TtsModel::start speaks a text of several
// chunks one chunk after another with the same voice, joined with a pause that
// follows the punctuation (see JoinOptions in izwi/tts.h).
//
//   for (const auto& c : izwi::chunk_text(book, "english")) std::puts(c.text.c_str());
#pragma once

#include <string>
#include <vector>

namespace izwi {

// What ends a piece of text, from the weakest break to the strongest.
enum class TextBreak {
  kWord,       // between words of a sentence too long for one chunk
  kClause,     // after a comma, semicolon, colon, dash, 、 ， ；...
  kSentence,   // after a sentence
  kParagraph,  // at a blank line (and at the end of the text)
};
const char* text_break_name(TextBreak b);  // "word", "clause", "sentence", "paragraph"

struct TextPiece {
  std::string text;  // trimmed; a paragraph's single line breaks become spaces
  TextBreak end = TextBreak::kSentence;
};

// The sentences of a text. `language`: "auto" or a TtsModel::languages() name
// (it picks ICU's rules and abbreviation list: "Mr. Smith" stays one sentence
// in English). Decimal numbers ("3.14", "3,50") never end a sentence; a break
// before a lower-case letter or a digit is not taken ("z.B. am", "ca. 3 km").
// The last piece ends with kParagraph. Throws kInvalidArgument on invalid UTF-8.
std::vector<TextPiece> split_sentences(const std::string& text,
                                       const std::string& language = "auto");

struct ChunkOptions {
  // Longest chunk in Latin-letter equivalents: a CJK character, a kana or a
  // Hangul syllable counts 3 (each is about a syllable, spoken as long as three
  // letters of a European language). 300 is about 20 s of speech.
  int max_chars = 300;
};

// Sentences grouped into chunks of at most `max_chars` each (a chunk never
// spans a paragraph break). Each chunk's `end` is the break after it.
std::vector<TextPiece> chunk_text(const std::string& text, const std::string& language = "auto",
                                  const ChunkOptions& options = {});

// The length chunk_text measures (see ChunkOptions::max_chars).
int text_length(const std::string& text);

}  // namespace izwi
