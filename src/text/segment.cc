// Sentences and chunks of long texts (izwi/text_chunks.h), on ICU's
// BreakIterator: the sentence rules of UAX #29 with the locale's abbreviation
// list, and its line-break rules for cutting between words.
#include <unicode/brkiter.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <memory>
#include <set>
#include <string_view>

#include "core/error.h"
#include "izwi/text_chunks.h"
#include "text/unicode.h"

namespace izwi {

namespace {

using icu::UnicodeString;

// ICU locale for a model language name; "@ss=standard" turns on ICU's
// abbreviation list where it helps (its German list ends "10 Uhr. Gut!" as one
// sentence, so German relies on the rules below instead).
std::string icu_locale(const std::string& language) {
  static const std::pair<const char*, const char*> kLocales[] = {
      {"english", "en@ss=standard"},
      {"chinese", "zh"},
      {"japanese", "ja"},
      {"korean", "ko"},
      {"german", "de"},
      {"french", "fr@ss=standard"},
      {"spanish", "es@ss=standard"},
      {"italian", "it@ss=standard"},
      {"portuguese", "pt@ss=standard"},
      {"russian", "ru@ss=standard"},
  };
  for (const auto& [name, locale] : kLocales)
    if (language == name) return locale;
  return "en@ss=standard";  // "auto": the root rules with the English list
}

// Words that end with a full stop without ending the sentence, lower case,
// without the stop. ICU's lists miss some of them (a title at the start of a
// text: "Dr. Smith"), and it has none for German.
const std::set<std::string>& abbreviations(const std::string& language) {
  static const std::set<std::string> kEnglish = {"mr", "mrs", "ms", "dr", "prof", "st",
                                                 "mt", "jr",  "sr", "vs", "fig"};
  static const std::set<std::string> kGerman = {"dr",  "prof", "hr",  "fr",  "nr",  "ca", "bzw",
                                                "vgl", "z.b",  "d.h", "u.a", "str", "s"};
  static const std::set<std::string> kFrench = {"m", "mme", "mlle", "dr", "st"};
  static const std::set<std::string> kSpanish = {"sr", "sra", "srta", "dr", "dra"};
  static const std::set<std::string> kItalian = {"sig", "dott", "prof", "sig.ra"};
  static const std::set<std::string> kPortuguese = {"sr", "sra", "dr", "dra"};
  static const std::set<std::string> kNone;
  if (language == "english" || language == "auto") return kEnglish;
  if (language == "german") return kGerman;
  if (language == "french") return kFrench;
  if (language == "spanish") return kSpanish;
  if (language == "italian") return kItalian;
  if (language == "portuguese") return kPortuguese;
  return kNone;
}

std::string utf8(const UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
}

// Sets a BreakIterator over `text`; ICU errors (missing data) are izwi errors.
std::unique_ptr<icu::BreakIterator> make_iterator(bool sentences, const std::string& language,
                                                  const UnicodeString& text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Locale locale(icu_locale(language).c_str());
  std::unique_ptr<icu::BreakIterator> it(
      sentences ? icu::BreakIterator::createSentenceInstance(locale, status)
                : icu::BreakIterator::createLineInstance(locale, status));
  if (U_FAILURE(status) || !it)
    fail(ErrorKind::kInternal, "ICU cannot make a ", sentences ? "sentence" : "line",
         " break iterator: ", u_errorName(status));
  it->setText(text);
  return it;
}

// The word before a trailing full stop, lower case ("Dr. " -> "dr"), and
// whether the text ends "<digits>." (a German ordinal: "am 3. Oktober").
struct Ending {
  std::string word;
  bool ordinal = false;
};
Ending ending(const UnicodeString& piece) {
  UnicodeString s(piece);
  s.trim();
  Ending e;
  if (s.length() < 2 || s.charAt(s.length() - 1) != u'.') return e;
  int32_t start = s.length() - 1;
  while (start > 0 && !u_isspace(s.char32At(start - 1)) && s.charAt(start - 1) != u'(') --start;
  UnicodeString word = s.tempSubStringBetween(start, s.length() - 1);
  bool digits = word.length() > 0;
  for (int32_t i = 0; i < word.length(); ++i) digits = digits && u_isdigit(word.charAt(i));
  e.ordinal = digits;
  e.word = utf8(word.toLower());
  return e;
}

// Whether a sentence break ICU found between `before` and `after` is not one.
bool false_break(const std::string& language, const UnicodeString& before,
                 const UnicodeString& after) {
  UnicodeString next(after);
  next.trim();
  if (next.isEmpty()) return false;
  const UChar32 c = next.char32At(0);
  if (u_islower(c) || u_isdigit(c)) return true;  // "z.B. am", "ca. 3 km"
  // A quotation that goes on: 「こんにちは。」と彼は言った。 / “走吧！”他说。
  UnicodeString prev(before);
  prev.trim();
  const UChar32 last = prev.isEmpty() ? 0 : prev.char32At(prev.length() - 1);
  const bool closing = last == 0x300D || last == 0x300F || last == 0x201D || last == u'"';
  if (closing && u_isalpha(c) && !u_isupper(c) && !u_istitle(c)) return true;
  const Ending e = ending(before);
  if (e.word.empty()) return false;
  if (abbreviations(language).count(e.word)) return true;
  // An initial ("J. R. R. Tolkien"): one upper-case letter.
  UnicodeString w = UnicodeString::fromUTF8(e.word);
  if (w.countChar32() == 1 && u_isalpha(w.char32At(0))) return true;
  return language == "german" && e.ordinal;
}

// Sentences of one paragraph (line breaks already made spaces).
void split_paragraph(const std::string& language, const UnicodeString& para,
                     std::vector<TextPiece>& out) {
  auto it = make_iterator(true, language, para);
  std::vector<UnicodeString> sentences;
  int32_t start = it->first();
  for (int32_t end = it->next(); end != icu::BreakIterator::DONE; end = it->next()) {
    // An opening quote or bracket right before the break opens the next
    // sentence (ICU counts “ as closing too: 吧！“走吧！”).
    if (end < para.length()) {
      while (end > start) {
        const UChar32 c = para.char32At(para.moveIndex32(end, -1));
        const auto type = u_charType(c);
        if (type != U_START_PUNCTUATION && type != U_INITIAL_PUNCTUATION) break;
        end = para.moveIndex32(end, -1);
      }
    }
    if (end == start) continue;
    UnicodeString s = para.tempSubStringBetween(start, end);
    if (!sentences.empty() && false_break(language, sentences.back(), s))
      sentences.back() += s;
    else
      sentences.push_back(s);
    start = end;
  }
  for (const auto& s : sentences) {
    std::string t = trim(utf8(s));
    if (!t.empty()) out.push_back({std::move(t), TextBreak::kSentence});
  }
}

bool is_cjk(UChar32 c) {
  return (c >= 0x2E80 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFF00 && c <= 0xFF60) || c >= 0x20000;
}

// Joins two pieces of one chunk: a space, except after CJK text.
void append_piece(std::string& chunk, const std::string& piece) {
  if (!chunk.empty()) {
    const UnicodeString last = UnicodeString::fromUTF8(chunk);
    if (!is_cjk(last.char32At(last.length() - 1))) chunk += ' ';
  }
  chunk += piece;
}

// Cuts a piece after its clause punctuation (the punctuation stays on the left).
std::vector<TextPiece> split_clauses(const TextPiece& piece) {
  const UnicodeString s = UnicodeString::fromUTF8(piece.text);
  std::vector<TextPiece> out;
  int32_t start = 0;
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) {
    const UChar32 c = s.char32At(i);
    const int32_t next = s.moveIndex32(i, 1);
    const bool spaced = c == u',' || c == u';' || c == u':' || c == 0x2013 || c == 0x2014;
    const bool cjk = c == 0x3001 || c == 0xFF0C || c == 0xFF1B || c == 0xFF1A;
    const bool at_space = next < s.length() && u_isspace(s.char32At(next));
    if ((spaced && at_space) || (cjk && next < s.length())) {
      std::string t = trim(utf8(s.tempSubStringBetween(start, next)));
      if (!t.empty()) out.push_back({std::move(t), TextBreak::kClause});
      start = next;
    }
  }
  std::string t = trim(utf8(s.tempSubStringBetween(start)));
  if (!t.empty()) out.push_back({std::move(t), piece.end});
  if (!out.empty()) out.back().end = piece.end;
  return out;
}

// Cuts a piece between words (ICU line breaks) into parts of at most `max`.
std::vector<TextPiece> split_words(const TextPiece& piece, const std::string& language, int max) {
  const UnicodeString s = UnicodeString::fromUTF8(piece.text);
  auto it = make_iterator(false, language, s);
  std::vector<TextPiece> out;
  std::string part;
  int32_t start = it->first();
  for (int32_t end = it->next(); end != icu::BreakIterator::DONE; end = it->next()) {
    const std::string word = utf8(s.tempSubStringBetween(start, end));
    if (!part.empty() && text_length(trim(part + word)) > max) {
      out.push_back({trim(part), TextBreak::kWord});
      part.clear();
    }
    part += word;
    start = end;
  }
  if (!trim(part).empty()) out.push_back({trim(part), piece.end});
  if (!out.empty()) out.back().end = piece.end;
  return out;
}

}  // namespace

const char* text_break_name(TextBreak b) {
  switch (b) {
    case TextBreak::kWord:
      return "word";
    case TextBreak::kClause:
      return "clause";
    case TextBreak::kSentence:
      return "sentence";
    case TextBreak::kParagraph:
      return "paragraph";
  }
  return "?";
}

int text_length(const std::string& text) {
  const UnicodeString s = UnicodeString::fromUTF8(text);
  int n = 0;
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) n += is_cjk(s.char32At(i)) ? 3 : 1;
  return n;
}

std::vector<TextPiece> split_sentences(const std::string& text, const std::string& language) {
  text::check_utf8(text);
  // Paragraphs end at blank lines; a single line break inside one is a space
  // (hard-wrapped prose keeps its sentences whole).
  std::vector<TextPiece> out;
  std::string para;
  auto flush = [&] {
    if (trim(para).empty()) {
      para.clear();
      return;
    }
    split_paragraph(language, UnicodeString::fromUTF8(para), out);
    if (!out.empty()) out.back().end = TextBreak::kParagraph;
    para.clear();
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t nl = std::min(text.find('\n', pos), text.size());
    const std::string line = trim(std::string_view(text).substr(pos, nl - pos));
    if (line.empty()) {
      flush();
    } else {
      if (!para.empty()) para += ' ';
      para += line;
    }
    pos = nl + 1;
  }
  flush();
  return out;
}

std::vector<TextPiece> chunk_text(const std::string& text, const std::string& language,
                                  const ChunkOptions& options) {
  if (options.max_chars < 10)
    fail(ErrorKind::kInvalidArgument, "chunks must allow at least 10 characters, got ",
         options.max_chars);
  const int max = options.max_chars;
  // Pieces no longer than a chunk: long sentences cut at clauses, then words.
  std::vector<TextPiece> pieces;
  for (const TextPiece& sentence : split_sentences(text, language)) {
    if (text_length(sentence.text) <= max) {
      pieces.push_back(sentence);
      continue;
    }
    for (const TextPiece& clause : split_clauses(sentence)) {
      if (text_length(clause.text) <= max) {
        pieces.push_back(clause);
        continue;
      }
      for (TextPiece& part : split_words(clause, language, max)) pieces.push_back(std::move(part));
    }
  }
  std::vector<TextPiece> chunks;
  TextPiece chunk{{}, TextBreak::kSentence};
  for (const TextPiece& p : pieces) {
    std::string joined = chunk.text;
    append_piece(joined, p.text);
    if (!chunk.text.empty() && text_length(joined) > max) {
      chunks.push_back(std::move(chunk));
      chunk = TextPiece{p.text, p.end};
    } else {
      chunk = TextPiece{std::move(joined), p.end};
    }
    if (p.end == TextBreak::kParagraph) {
      chunks.push_back(std::move(chunk));
      chunk = TextPiece{};
    }
  }
  if (!chunk.text.empty()) chunks.push_back(std::move(chunk));
  return chunks;
}

}  // namespace izwi
