// libsndfile helpers shared by the file reader/writer and the streaming encoder.
#pragma once

#include <sndfile.h>

#include <memory>

#include "izwi/audio.h"

namespace izwi::audio {

struct SndCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndHandle = std::unique_ptr<SNDFILE, SndCloser>;

// The SF_INFO for writing mono `format` at `sample_rate`; throws if libsndfile
// cannot write that combination (e.g. Opus at 22.05 kHz).
SF_INFO write_info(AudioFormat format, SampleFormat sample_format, int sample_rate);

// Sets the non-empty tags on a file opened for writing, before its first samples.
void set_tags(SNDFILE* f, const AudioTags& tags);

}  // namespace izwi::audio
