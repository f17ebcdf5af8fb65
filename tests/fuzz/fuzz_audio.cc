// Audio files from memory (uploads, imported voices, a job's stored audio):
// WAV, FLAC, Ogg, MP3, AAC... decoded, and their tags read.
#include "fuzz_util.h"
#include "izwi/audio.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  izwi::fuzz::expect_clean([&] {
    const izwi::Audio a = izwi::read_audio_memory(data, size, "fuzz");
    (void)a.duration();
  });
  izwi::fuzz::expect_clean([&] { (void)izwi::read_audio_tags_memory(data, size, "fuzz"); });
  return 0;
}
