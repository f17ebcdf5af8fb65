// Public SpeakerEncoder: log-mel front end + ECAPA-TDNN.
#include "izwi/speaker_encoder.h"

#include <cmath>
#include <filesystem>

#include "audio/mel.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "models/qwen3_tts/model_config.h"
#include "models/qwen3_tts/speaker_encoder.h"
#include "models/qwen3_tts/weights.h"

namespace izwi {

struct SpeakerEncoder::Impl {
  SpeakerEncoderConfig config;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<audio::MelSpectrogram> mel;
  std::unique_ptr<speaker::SpeakerEncoder> encoder;
};

SpeakerEncoder::SpeakerEncoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SpeakerEncoder::~SpeakerEncoder() = default;

std::unique_ptr<SpeakerEncoder> SpeakerEncoder::load(const std::string& model_dir,
                                                     const SpeakerEncoderOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec))
    fail(ErrorKind::kNotFound, "model directory '", model_dir, "' does not exist");
  const ModelConfig mc = ModelConfig::load((fs::path(model_dir) / "config.json").string());
  if (!mc.speaker_encoder)
    fail(ErrorKind::kInvalidArgument, "'", model_dir, "' is a ", mc.tts_model_type,
         " checkpoint without a speaker encoder; cloning from reference audio needs a Base "
         "checkpoint "
         "(e.g. Qwen3-TTS-12Hz-0.6B-Base)");
  auto impl = std::make_unique<Impl>();
  impl->config = *mc.speaker_encoder;
  if (impl->config.sample_rate != 24000 || impl->config.mel_dim != 128)
    fail(ErrorKind::kInvalidFormat,
         "speaker encoder: expected 24000 Hz and 128 mels, the config says ",
         impl->config.sample_rate, " Hz and ", impl->config.mel_dim, " mels");
  CheckpointWeights weights(Checkpoint::open(model_dir, "model"));
  impl->pool = std::make_unique<ThreadPool>(options.n_threads);
  impl->mel = std::make_unique<audio::MelSpectrogram>(audio::MelConfig{});
  impl->encoder = std::make_unique<speaker::SpeakerEncoder>(impl->config, weights);
  return std::unique_ptr<SpeakerEncoder>(new SpeakerEncoder(std::move(impl)));
}

int SpeakerEncoder::sample_rate() const {
  return impl_->config.sample_rate;
}
int SpeakerEncoder::embedding_size() const {
  return impl_->config.enc_dim;
}

std::vector<float> SpeakerEncoder::embed(const float* samples, size_t n, int sr) const {
  if (sr != sample_rate())
    fail(ErrorKind::kInvalidArgument, "the speaker encoder expects ", sample_rate(),
         " Hz audio, got ", sr, " Hz; resample it first (prepare_reference does)");
  if (n < static_cast<size_t>(sample_rate() / 10))
    fail(ErrorKind::kInvalidArgument, "reference audio of ", n,
         " samples is too short for a speaker embedding");
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(samples[i]))
      fail(ErrorKind::kInvalidArgument, "audio sample ", i, " is not a finite number");
  const auto mel = impl_->mel->compute(samples, static_cast<int64_t>(n));
  return impl_->encoder->forward(impl_->pool.get(), mel.data(),
                                 impl_->mel->frames_for(static_cast<int64_t>(n)));
}

}  // namespace izwi
