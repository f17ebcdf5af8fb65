// izwi — the text tokenizer (Qwen2 byte-level BPE).
//
// Gives the same ids as the official slow `Qwen2Tokenizer` with
// add_special_tokens=False: NFC normalisation, added/special tokens matched
// first and never split, the Qwen2 pre-tokenizer, byte-level BPE. No BOS/EOS is
// added; the chat template belongs to the model, not the tokenizer.
//
//   auto tok = izwi::TextTokenizer::load("Qwen3-TTS-12Hz-0.6B-Base");
//   std::vector<int32_t> ids = tok->encode("Hello, world!");
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "izwi/error.h"

namespace izwi {

class TextTokenizer {
 public:
  // `dir` holds vocab.json + merges.txt (+ tokenizer_config.json for added
  // tokens), or tokenizer.json: a full checkpoint or a tokenizer-only folder.
  static std::unique_ptr<TextTokenizer> load(const std::string& dir);
  ~TextTokenizer();

  // Throws izwi::Error for invalid UTF-8, naming the byte offset. Thread-safe.
  std::vector<int32_t> encode(std::string_view text) const;
  // Invalid UTF-8 produced by the ids becomes U+FFFD; unknown ids throw.
  std::string decode(const std::vector<int32_t>& ids) const;

  // The id of a token (vocabulary or added), e.g. "<|im_start|>".
  std::optional<int32_t> token_id(std::string_view token) const;
  int32_t vocab_size() const;  // largest id + 1

  struct Impl;

 private:
  explicit TextTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace izwi
