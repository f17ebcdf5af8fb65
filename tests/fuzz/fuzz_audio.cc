// Audio files from memory (uploads, imported voices): WAV, FLAC, Ogg, MP3...
#include "fuzz_util.h"
#include "izwi/audio.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  izwi::fuzz::expect_clean([&] {
    const izwi::Audio a = izwi::read_audio_memory(data, size, "fuzz");
    (void)a.duration();
  });
  return 0;
}
