// Batch files (izwi/batch.h): the first byte picks text, JSONL, SRT or VTT.
#include "fuzz_util.h"
#include "izwi/batch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto format = static_cast<izwi::BatchFormat>(data[0] % 4);
  const std::string content(reinterpret_cast<const char*>(data + 1), size - 1);
  izwi::fuzz::expect_clean([&] {
    for (const izwi::BatchItem& it : izwi::parse_batch(content, format)) {
      if (it.name.find('/') != std::string::npos || it.name.empty()) __builtin_trap();
    }
  });
  return 0;
}
