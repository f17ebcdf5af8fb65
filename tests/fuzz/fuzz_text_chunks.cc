// Long-text segmentation (ICU) of any text, in each language's rules; every
// chunk within the limit unless one word is longer.
#include "fuzz_util.h"
#include "izwi/text_chunks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* kLanguages[] = {"auto",    "english", "chinese",   "japanese",
                                     "korean",  "german",  "french",    "russian",
                                     "spanish", "italian", "portuguese"};
  const char* language = kLanguages[data[0] % 11];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  izwi::fuzz::expect_clean([&] {
    for (const izwi::TextPiece& c : izwi::chunk_text(text, language, {40}))
      if (c.text.empty()) __builtin_trap();
  });
  return 0;
}
