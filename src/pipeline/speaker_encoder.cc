// Public SpeakerEncoder: log-mel front end + ECAPA-TDNN on their own.
#include "izwi/speaker_encoder.h"

#include <filesystem>

#include "core/error.h"
#include "core/thread_pool.h"
#include "pipeline/loading.h"

namespace izwi {

struct SpeakerEncoder::Impl {
  pipeline::Speaker speaker;
  std::unique_ptr<ThreadPool> pool;
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
  pipeline::require_speaker_encoder(model_dir, mc);  // refuse before touching the weights
  auto impl = std::make_unique<Impl>();
  CheckpointWeights weights(Checkpoint::open(model_dir, "model"));
  impl->speaker = pipeline::load_speaker(model_dir, mc, weights);
  impl->pool = std::make_unique<ThreadPool>(options.n_threads);
  return std::unique_ptr<SpeakerEncoder>(new SpeakerEncoder(std::move(impl)));
}

int SpeakerEncoder::sample_rate() const {
  return impl_->speaker.config.sample_rate;
}
int SpeakerEncoder::embedding_size() const {
  return impl_->speaker.config.enc_dim;
}

std::vector<float> SpeakerEncoder::embed(const float* samples, size_t n, int sr) const {
  return pipeline::embed_speaker(impl_->pool.get(), impl_->speaker, samples, n, sr);
}

}  // namespace izwi
