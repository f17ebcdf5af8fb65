// The hub's answer to "which files does this repository have": no path it
// lists may leave the model folder.
#include "fuzz_util.h"
#include "store/hub_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  izwi::fuzz::expect_clean([&] {
    for (const auto& f : izwi::store::parse_file_list(body, "org/repo"))
      if (f.path.empty() || f.path[0] == '/' || f.path.find("..") != std::string::npos)
        __builtin_trap();
  });
  return 0;
}
