// A checkpoint's config.json and generation_config.json.
#include "fuzz_util.h"
#include "models/qwen3_tts/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = izwi::fuzz::temp_file(data, size, ".json");
  izwi::fuzz::expect_clean([&] { (void)izwi::ModelConfig::load(path); });
  izwi::fuzz::expect_clean([&] { (void)izwi::GenerationConfig::load(path); });
  return 0;
}
