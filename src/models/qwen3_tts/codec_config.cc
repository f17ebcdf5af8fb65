#include "models/qwen3_tts/codec_config.h"

#include <cmath>

#include "core/error.h"
#include "core/json_util.h"

namespace izwi {

int CodecEncoderConfig::hop_length() const {
  int h = 1;
  for (int r : upsampling_ratios) h *= r;
  return h;
}

int CodecEncoderConfig::downsample_kernel() const {
  const double encodec_rate = static_cast<double>(sampling_rate) / hop_length();
  if (std::abs(encodec_rate - frame_rate) < 1e-9) return 0;
  return 2 * static_cast<int>(encodec_rate / frame_rate);
}

int CodecDecoderConfig::total_upsample() const {
  int u = 1;
  for (int r : upsample_rates) u *= r;
  for (int r : upsampling_ratios) u *= r;
  return u;
}

namespace {

std::vector<int> positive_list(const JsonView& v, const std::string& key,
                               std::vector<int> fallback) {
  if (!v.has(key)) return fallback;
  auto list = v.get<std::vector<int>>(key);
  if (list.empty()) fail(ErrorKind::kInvalidFormat, v.where(), ": '", key, "' must not be empty");
  for (int x : list)
    if (x <= 0)
      fail(ErrorKind::kInvalidFormat, v.where(), ": '", key, "' must hold positive integers");
  return list;
}

CodecEncoderConfig parse_encoder(const JsonView& v) {
  CodecEncoderConfig c;
  c.sampling_rate = v.positive_int_or("sampling_rate", c.sampling_rate);
  c.audio_channels = v.positive_int_or("audio_channels", c.audio_channels);
  c.num_filters = v.positive_int_or("num_filters", c.num_filters);
  c.kernel_size = v.positive_int_or("kernel_size", c.kernel_size);
  c.last_kernel_size = v.positive_int_or("last_kernel_size", c.last_kernel_size);
  c.residual_kernel_size = v.positive_int_or("residual_kernel_size", c.residual_kernel_size);
  c.num_residual_layers = v.positive_int_or("num_residual_layers", c.num_residual_layers);
  c.dilation_growth_rate = v.positive_int_or("dilation_growth_rate", c.dilation_growth_rate);
  c.compress = v.positive_int_or("compress", c.compress);
  c.upsampling_ratios = positive_list(v, "upsampling_ratios", c.upsampling_ratios);
  c.use_conv_shortcut = v.get_or<bool>("use_conv_shortcut", c.use_conv_shortcut);
  c.pad_mode = v.get_or<std::string>("pad_mode", c.pad_mode);
  c.hidden_size = v.positive_int_or("hidden_size", c.hidden_size);
  c.num_hidden_layers = v.positive_int_or("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = v.positive_int_or("num_attention_heads", c.num_attention_heads);
  c.num_key_value_heads = v.positive_int_or("num_key_value_heads", c.num_attention_heads);
  c.head_dim = v.positive_int_or("head_dim", c.hidden_size / c.num_attention_heads);
  c.intermediate_size = v.positive_int_or("intermediate_size", c.intermediate_size);
  c.norm_eps = v.get_or<float>("norm_eps", c.norm_eps);
  c.rope_theta = v.get_or<float>("rope_theta", c.rope_theta);
  if (v.has("frame_rate") || v.has("_frame_rate"))
    c.frame_rate = v.get_any<float>({"frame_rate", "_frame_rate"});
  c.num_quantizers = v.positive_int_or("num_quantizers", c.num_quantizers);
  c.num_semantic_quantizers =
      v.positive_int_or("num_semantic_quantizers", c.num_semantic_quantizers);
  c.codebook_size = v.positive_int_or("codebook_size", c.codebook_size);
  c.codebook_dim = v.positive_int_or("codebook_dim", c.codebook_dim);
  c.vq_hidden_dim = v.positive_int_or("vector_quantization_hidden_dimension", c.codebook_dim);
  const std::string act = v.get_or<std::string>("hidden_act", "gelu");
  if (act != "gelu")
    fail(ErrorKind::kInvalidFormat, v.where(), ": hidden_act '", act,
         "' is not supported (expected gelu)");
  if (!v.get_or<bool>("use_causal_conv", true))
    fail(ErrorKind::kInvalidFormat, v.where(),
         ": only causal convolutions (use_causal_conv: true) are supported");
  if (c.pad_mode != "constant" && c.pad_mode != "replicate")
    fail(ErrorKind::kInvalidFormat, v.where(), ": pad_mode '", c.pad_mode, "' is not supported");
  if (c.audio_channels != 1)
    fail(ErrorKind::kInvalidFormat, v.where(), ": only mono encoders are supported");
  if (c.vq_hidden_dim != c.codebook_dim)
    fail(ErrorKind::kInvalidFormat, v.where(), ": codebook_dim (", c.codebook_dim,
         ") must equal vector_quantization_hidden_dimension (", c.vq_hidden_dim, ")");
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    fail(ErrorKind::kInvalidFormat, v.where(),
         ": num_attention_heads must be a multiple of num_key_value_heads");
  return c;
}

CodecDecoderConfig parse_decoder(const JsonView& v) {
  CodecDecoderConfig c;
  c.codebook_size = v.positive_int_or("codebook_size", c.codebook_size);
  c.codebook_dim = v.positive_int_or("codebook_dim", c.codebook_dim);
  c.num_quantizers = v.positive_int_or("num_quantizers", c.num_quantizers);
  c.num_semantic_quantizers =
      v.positive_int_or("num_semantic_quantizers", c.num_semantic_quantizers);
  c.latent_dim = v.positive_int_or("latent_dim", c.latent_dim);
  c.hidden_size = v.positive_int_or("hidden_size", c.hidden_size);
  c.intermediate_size = v.positive_int_or("intermediate_size", c.intermediate_size);
  c.num_hidden_layers = v.positive_int_or("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = v.positive_int_or("num_attention_heads", c.num_attention_heads);
  c.num_key_value_heads = v.positive_int_or("num_key_value_heads", c.num_key_value_heads);
  c.head_dim = v.positive_int_or("head_dim", c.hidden_size / c.num_attention_heads);
  c.sliding_window = v.positive_int_or("sliding_window", c.sliding_window);
  c.rope_theta = v.get_or<float>("rope_theta", c.rope_theta);
  c.rms_norm_eps = v.get_or<float>("rms_norm_eps", c.rms_norm_eps);
  c.decoder_dim = v.positive_int_or("decoder_dim", c.decoder_dim);
  c.upsample_rates = positive_list(v, "upsample_rates", c.upsample_rates);
  c.upsampling_ratios = positive_list(v, "upsampling_ratios", c.upsampling_ratios);
  const std::string act = v.get_or<std::string>("hidden_act", "silu");
  if (act != "silu")
    fail(ErrorKind::kInvalidFormat, v.where(), ": hidden_act '", act,
         "' is not supported (expected silu)");
  if (c.num_semantic_quantizers != 1)
    fail(ErrorKind::kInvalidFormat, v.where(), ": num_semantic_quantizers must be 1, got ",
         c.num_semantic_quantizers);
  if (c.num_quantizers < 2)
    fail(ErrorKind::kInvalidFormat, v.where(), ": num_quantizers must be at least 2");
  if (c.codebook_dim % 2 != 0)
    fail(ErrorKind::kInvalidFormat, v.where(), ": codebook_dim must be even");
  if (c.decoder_dim % (1 << c.upsample_rates.size()) != 0)
    fail(ErrorKind::kInvalidFormat, v.where(), ": decoder_dim ", c.decoder_dim,
         " is not divisible by 2^", c.upsample_rates.size());
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    fail(ErrorKind::kInvalidFormat, v.where(),
         ": num_attention_heads must be a multiple of num_key_value_heads");
  return c;
}

}  // namespace

SpeechTokenizerConfig SpeechTokenizerConfig::load(const std::string& path) {
  const nlohmann::json j = load_json_file(path);
  JsonView root(j, path);
  const std::string type = root.get_or<std::string>("model_type", "");
  if (type != "qwen3_tts_tokenizer_12hz")
    fail(ErrorKind::kInvalidFormat, path, ": model_type is '", type,
         "', expected 'qwen3_tts_tokenizer_12hz' (the 12 Hz speech tokenizer)");
  SpeechTokenizerConfig c;
  c.encoder = parse_encoder(root.child("encoder_config"));
  c.decoder = parse_decoder(root.child("decoder_config"));
  c.encoder_valid_num_quantizers =
      root.positive_int_or("encoder_valid_num_quantizers", c.encoder_valid_num_quantizers);
  c.input_sample_rate = root.positive_int_or("input_sample_rate", c.input_sample_rate);
  c.output_sample_rate = root.positive_int_or("output_sample_rate", c.output_sample_rate);
  c.decode_upsample_rate = root.positive_int_or("decode_upsample_rate", c.decode_upsample_rate);
  c.encode_downsample_rate =
      root.positive_int_or("encode_downsample_rate", c.encode_downsample_rate);

  if (c.decoder.total_upsample() != c.decode_upsample_rate)
    fail(ErrorKind::kInvalidFormat, path, ": decoder upsampling multiplies to ",
         c.decoder.total_upsample(), " samples per frame but decode_upsample_rate is ",
         c.decode_upsample_rate);
  const int enc_hop = c.encoder.hop_length() * (c.encoder.downsample_kernel() ? 2 : 1);
  if (enc_hop != c.encode_downsample_rate)
    fail(ErrorKind::kInvalidFormat, path, ": encoder downsampling multiplies to ", enc_hop,
         " samples per frame but encode_downsample_rate is ", c.encode_downsample_rate);
  if (c.encoder_valid_num_quantizers > c.encoder.num_quantizers ||
      c.encoder_valid_num_quantizers != c.decoder.num_quantizers)
    fail(ErrorKind::kInvalidFormat, path, ": encoder_valid_num_quantizers (",
         c.encoder_valid_num_quantizers, ") must match the decoder's num_quantizers (",
         c.decoder.num_quantizers, ") and not exceed the encoder's (", c.encoder.num_quantizers,
         ")");
  if (c.encoder.codebook_size != c.decoder.codebook_size)
    fail(ErrorKind::kInvalidFormat, path, ": encoder and decoder codebook sizes differ");
  if (c.encoder.sampling_rate != c.input_sample_rate)
    fail(ErrorKind::kInvalidFormat, path, ": encoder sampling_rate differs from input_sample_rate");
  return c;
}

}  // namespace izwi
