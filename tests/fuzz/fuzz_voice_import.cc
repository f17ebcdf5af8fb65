// An exported voice file imported into a store (izwi voices import, POST /v1/voices/import).
#include "fuzz_util.h"
#include "izwi/voices.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = izwi::fuzz::temp_dir("voices");
  static izwi::VoiceStore store(dir);
  const std::string_view file(reinterpret_cast<const char*>(data), size);
  izwi::fuzz::expect_clean([&] {
    const std::string name = store.import_voice(file, "the fuzzed file", "", true);
    (void)store.get(name);
    store.remove(name);
  });
  return 0;
}
