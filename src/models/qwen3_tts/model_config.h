// Hyperparameters of a Qwen3-TTS checkpoint (the top-level config.json).
#pragma once

#include <map>
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

// A Qwen3 decoder stack (RMSNorm, per-head q/k RMSNorm, GQA, SwiGLU, no biases).
struct DecoderStackConfig {
  int hidden_size = 1024;
  int intermediate_size = 3072;
  int num_hidden_layers = 28;
  int num_attention_heads = 16;
  int num_key_value_heads = 8;
  int head_dim = 128;
  float rms_norm_eps = 1e-6f;
  float rope_theta = 1e6f;
};

// `talker_config`.
struct TalkerConfig {
  DecoderStackConfig stack;
  int vocab_size = 3072;  // codec vocabulary: codebook + 1024 special ids
  int text_vocab_size = 151936;
  int text_hidden_size = 2048;
  int num_code_groups = 16;
  int max_position_embeddings = 32768;
  int codec_pad_id = 2148, codec_bos_id = 2149, codec_eos_id = 2150;
  int codec_think_id = 2154, codec_nothink_id = 2155, codec_think_bos_id = 2156,
      codec_think_eos_id = 2157;
  std::map<std::string, int> codec_language_id;       // "english" -> id (dialects too)
  std::map<std::string, int> spk_id;                  // CustomVoice preset speakers
  std::map<std::string, std::string> spk_is_dialect;  // speaker -> dialect ("" when not)
};

// `talker_config.code_predictor_config`.
struct CodePredictorConfig {
  DecoderStackConfig stack;
  int vocab_size = 2048;  // one codebook
  int num_code_groups = 16;
};

struct ModelConfig {
  std::string tts_model_type;  // "base", "custom_voice" or "voice_design"
  std::string tts_model_size;  // e.g. "0b6"
  // Present on Base checkpoints only (they clone from reference audio).
  std::optional<SpeakerEncoderConfig> speaker_encoder;
  TalkerConfig talker;
  CodePredictorConfig code_predictor;
  int tts_bos_token_id = 151672, tts_eos_token_id = 151673, tts_pad_token_id = 151671;
  int im_start_token_id = 151644, im_end_token_id = 151645, assistant_token_id = 77091;

  static ModelConfig load(const std::string& path);
};

// generation_config.json: sampling defaults (the official defaults when absent).
struct GenerationConfig {
  bool do_sample = true;
  float temperature = 0.9f;
  int top_k = 50;
  float top_p = 1.0f;
  float repetition_penalty = 1.05f;
  bool subtalker_dosample = true;
  float subtalker_temperature = 0.9f;
  int subtalker_top_k = 50;
  float subtalker_top_p = 1.0f;
  int max_new_tokens = 8192;

  static GenerationConfig load(const std::string& path);  // a missing file gives the defaults
};

}  // namespace izwi
