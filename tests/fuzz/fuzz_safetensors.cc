// .safetensors files: the JSON header, dtypes, shapes and offsets, then every tensor.
#include "core/safetensors.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = izwi::fuzz::temp_file(data, size, ".safetensors");
  izwi::fuzz::expect_clean([&] {
    izwi::SafetensorsFile f(path);
    for (const std::string& name : f.names()) (void)f.get(name);
    (void)f.metadata();
  });
  return 0;
}
