// izwi — speaker embedding (x-vector) from reference audio.
//
// Base checkpoints carry an ECAPA-TDNN speaker encoder; its x-vector (the
// talker's hidden size: 1024 for 0.6B, 2048 for 1.7B) conditions the voice.
//
//   auto enc = izwi::SpeakerEncoder::load("Qwen3-TTS-12Hz-0.6B-Base");
//   izwi::PreparedReference ref = izwi::prepare_reference(izwi::read_audio("ref.wav"));
//   std::vector<float> xvec = enc->embed(ref.audio.samples.data(), ref.audio.samples.size(),
//   24000);
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "izwi/error.h"

namespace izwi {

struct SpeakerEncoderOptions {
  int n_threads = 0;  // 0 = one per hardware thread
};

class SpeakerEncoder {
 public:
  // `model_dir`: a Base checkpoint directory (config.json + model.safetensors).
  static std::unique_ptr<SpeakerEncoder> load(const std::string& model_dir,
                                              const SpeakerEncoderOptions& options = {});
  ~SpeakerEncoder();

  int sample_rate() const;     // 24000
  int embedding_size() const;  // x-vector length

  // Mono samples at sample_rate(): the official extract_speaker_embedding.
  std::vector<float> embed(const float* samples, size_t n, int sample_rate) const;

  struct Impl;

 private:
  explicit SpeakerEncoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace izwi
