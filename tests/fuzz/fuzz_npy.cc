// .npy arrays (codes and vectors given on the command line).
#include "fuzz_util.h"
#include "izwi/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  izwi::fuzz::expect_clean([&] {
    const izwi::NpyArray a = izwi::parse_npy(data, size, "fuzz");
    if (a.type == izwi::NpyArray::Type::kF32 || a.type == izwi::NpyArray::Type::kF64)
      (void)a.as_f32();
    else
      (void)a.as_i64();
  });
  return 0;
}
