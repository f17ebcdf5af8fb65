// Hyperparameters of the 12 Hz speech tokenizer ("Qwen3-TTS-Tokenizer-12Hz"),
// read from speech_tokenizer/config.json. Defaults are those of the official
// config classes, for keys the released files leave out.
#pragma once

#include <string>
#include <vector>

namespace izwi {

// Mimi-style encoder (`encoder_config`).
struct CodecEncoderConfig {
  int sampling_rate = 24000;
  int audio_channels = 1;
  // SEANet convolutional encoder
  int num_filters = 64;
  int kernel_size = 7;
  int last_kernel_size = 3;
  int residual_kernel_size = 3;
  int num_residual_layers = 1;
  int dilation_growth_rate = 2;
  int compress = 2;
  std::vector<int> upsampling_ratios{8, 6, 5, 4};  // applied reversed when encoding
  bool use_conv_shortcut = false;
  std::string pad_mode = "constant";
  // transformer
  int hidden_size = 512;
  int num_hidden_layers = 8;
  int num_attention_heads = 8;
  int num_key_value_heads = 8;
  int head_dim = 64;
  int intermediate_size = 2048;
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  float layer_scale_initial_scale = 0.01f;
  // frame rates: the SEANet output rate, then a stride-2 downsample to frame_rate
  float frame_rate = 12.5f;
  // quantizer
  int num_quantizers = 32;
  int num_semantic_quantizers = 1;
  int codebook_size = 2048;
  int codebook_dim = 256;
  int vq_hidden_dim = 256;  // vector_quantization_hidden_dimension

  int hop_length() const;         // samples per SEANet step (product of ratios)
  int downsample_kernel() const;  // 0 when no downsample layer exists
};

// Qwen3-TTS decoder (`decoder_config`).
struct CodecDecoderConfig {
  int codebook_size = 2048;
  int codebook_dim = 512;
  int num_quantizers = 16;
  int num_semantic_quantizers = 1;
  int latent_dim = 1024;
  int hidden_size = 1024;
  int intermediate_size = 3072;
  int num_hidden_layers = 8;
  int num_attention_heads = 16;
  int num_key_value_heads = 16;
  int head_dim = 64;
  int sliding_window = 72;
  float rope_theta = 10000.0f;
  float rms_norm_eps = 1e-5f;
  int decoder_dim = 1536;
  std::vector<int> upsample_rates{8, 5, 4, 3};
  std::vector<int> upsampling_ratios{2, 2};

  int total_upsample() const;  // samples per code frame
};

struct SpeechTokenizerConfig {
  CodecEncoderConfig encoder;
  CodecDecoderConfig decoder;
  int encoder_valid_num_quantizers = 16;
  int input_sample_rate = 24000;
  int output_sample_rate = 24000;
  int decode_upsample_rate = 1920;
  int encode_downsample_rate = 1920;

  // Parses and cross-checks a speech_tokenizer/config.json.
  static SpeechTokenizerConfig load(const std::string& path);
};

}  // namespace izwi
