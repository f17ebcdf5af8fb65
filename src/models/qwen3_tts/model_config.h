// Hyperparameters of a Qwen3-TTS checkpoint (the top-level config.json).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace izwi {

// `speaker_encoder_config` (ECAPA-TDNN). The released files give only enc_dim
// and sample_rate; the rest are the official config class defaults.
struct SpeakerEncoderConfig {
  int mel_dim = 128;
  int enc_dim = 1024;  // x-vector size = talker hidden size
  std::vector<int> channels{512, 512, 512, 512, 1536};
  std::vector<int> kernel_sizes{5, 3, 3, 3, 1};
  std::vector<int> dilations{1, 2, 3, 4, 1};
  int attention_channels = 128;
  int res2net_scale = 8;
  int se_channels = 128;
  int sample_rate = 24000;
};

struct ModelConfig {
  std::string tts_model_type;  // "base", "custom_voice" or "voice_design"
  std::string tts_model_size;  // e.g. "0b6"
  // Present on Base checkpoints only (they clone from reference audio).
  std::optional<SpeakerEncoderConfig> speaker_encoder;

  static ModelConfig load(const std::string& path);
};

}  // namespace izwi
