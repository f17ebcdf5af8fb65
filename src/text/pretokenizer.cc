#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/pretokenizer.h"

#include <pcre2.h>

#include <memory>
#include <string>

#include "core/error.h"

namespace izwi::text {

namespace {

// Unicode White_Space, as a character-class body.
constexpr const char* kSpace =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{"
    "202F}\\x{205F}\\x{3000}";

std::string qwen2_pattern() {
  const std::string s = std::string("[") + kSpace + "]";
  const std::string not_s = std::string("[^") + kSpace + "]";
  return std::string("(?i:'s|'t|'re|'ve|'m|'ll|'d)") + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+" +
         "|\\p{N}" + "| ?[^" + kSpace + "\\p{L}\\p{N}]+[\\r\\n]*" + "|" + s + "*[\\r\\n]+" + "|" +
         s + "+(?!" + not_s + ")" + "|" + s + "+";
}

struct MatchDataFree {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

}  // namespace

PreTokenizer::PreTokenizer() {
  const std::string pattern = qwen2_pattern();
  int err = 0;
  PCRE2_SIZE offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(),
                        PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
  if (!code_) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    fail(ErrorKind::kInternal, "pre-tokenizer pattern failed to compile at ", offset, ": ",
         reinterpret_cast<char*>(msg));
  }
  pcre2_jit_compile(code_,
                    PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
}

PreTokenizer::~PreTokenizer() {
  pcre2_code_free(code_);
}

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  std::unique_ptr<pcre2_match_data, MatchDataFree> md(
      pcre2_match_data_create_from_pattern(code_, nullptr));
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  PCRE2_SIZE start = 0;
  while (start < text.size()) {
    // The text was validated by the caller: skip PCRE2's own UTF check.
    const int rc =
        pcre2_match(code_, subject, text.size(), start, PCRE2_NO_UTF_CHECK, md.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) fail(ErrorKind::kInternal, "pre-tokenizer match failed (", rc, ")");
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    if (ov[1] <= ov[0]) break;  // the pattern never matches empty; guard anyway
    pieces.emplace_back(text.data() + ov[0], ov[1] - ov[0]);
    start = ov[1];
  }
  return pieces;
}

}  // namespace izwi::text
