// The Qwen2 pre-tokenizer: splits text into pieces with the Qwen2 pattern
//   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}
//   | ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
// compiled with PCRE2 (UTF + Unicode properties, JIT). `\s` is spelled out as
// the Unicode White_Space set, which is what the reference `regex` module uses.
#pragma once

#include <string_view>
#include <vector>

struct pcre2_real_code_8;

namespace izwi::text {

class PreTokenizer {
 public:
  PreTokenizer();
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Pieces of `text` (valid UTF-8), as views into it, in order. Thread-safe.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  pcre2_real_code_8* code_ = nullptr;
};

}  // namespace izwi::text
