// Any text through the tokenizer (the tiny model's vocabulary and merges):
// invalid UTF-8 is refused, everything else tokenizes and decodes.
#include <memory>

#include "fuzz_util.h"
#include "izwi/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<izwi::TextTokenizer> tok =
      izwi::TextTokenizer::load(IZWI_TEST_DATA "/golden/model");
  const std::string text(reinterpret_cast<const char*>(data), size);
  izwi::fuzz::expect_clean([&] {
    const auto ids = tok->encode(text);
    (void)tok->decode(ids);
  });
  return 0;
}
