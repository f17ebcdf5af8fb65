// Sample-rate conversion with libsoxr (high quality: -100 dB stop band).
#include <soxr.h>

#include "core/error.h"
#include "izwi/audio.h"

namespace izwi {

Audio resample(const Audio& audio, int target_rate) {
  if (target_rate <= 0 || audio.sample_rate <= 0)
    fail(ErrorKind::kInvalidArgument, "cannot resample from ", audio.sample_rate, " Hz to ",
         target_rate, " Hz");
  if (audio.sample_rate == target_rate) return audio;
  Audio out;
  out.sample_rate = target_rate;
  out.source_channels = audio.source_channels;
  const double ratio = static_cast<double>(target_rate) / audio.sample_rate;
  out.samples.resize(static_cast<size_t>(static_cast<double>(audio.samples.size()) * ratio + 0.5));
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  size_t done = 0;
  const soxr_error_t err =
      soxr_oneshot(audio.sample_rate, target_rate, 1, audio.samples.data(), audio.samples.size(),
                   nullptr, out.samples.data(), out.samples.size(), &done, &io, &q, nullptr);
  if (err) fail(ErrorKind::kInternal, "resampling failed: ", err);
  out.samples.resize(done);
  return out;
}

}  // namespace izwi
