#include "models/qwen3_tts/model_config.h"

#include "core/error.h"
#include "core/json_util.h"

namespace izwi {

namespace {

std::vector<int> int_list(const JsonView& v, const std::string& key, std::vector<int> fallback) {
  if (!v.has(key)) return fallback;
  auto list = v.get<std::vector<int>>(key);
  for (int x : list)
    if (x <= 0)
      fail(ErrorKind::kInvalidFormat, v.where(), ": '", key, "' must hold positive integers");
  return list;
}

SpeakerEncoderConfig parse_speaker_encoder(const JsonView& v) {
  SpeakerEncoderConfig c;
  c.mel_dim = v.positive_int_or("mel_dim", c.mel_dim);
  c.enc_dim = v.positive_int_or("enc_dim", c.enc_dim);
  c.channels = int_list(v, "enc_channels", c.channels);
  c.kernel_sizes = int_list(v, "enc_kernel_sizes", c.kernel_sizes);
  c.dilations = int_list(v, "enc_dilations", c.dilations);
  c.attention_channels = v.positive_int_or("enc_attention_channels", c.attention_channels);
  c.res2net_scale = v.positive_int_or("enc_res2net_scale", c.res2net_scale);
  c.se_channels = v.positive_int_or("enc_se_channels", c.se_channels);
  c.sample_rate = v.positive_int_or("sample_rate", c.sample_rate);
  if (c.channels.size() < 3 || c.channels.size() != c.kernel_sizes.size() ||
      c.channels.size() != c.dilations.size())
    fail(ErrorKind::kInvalidFormat, v.where(),
         ": enc_channels, enc_kernel_sizes and enc_dilations must have the same length (at least "
         "3)");
  for (size_t i = 1; i + 1 < c.channels.size(); ++i)
    if (c.channels[i] % c.res2net_scale != 0 || c.channels[i] != c.channels[i - 1])
      fail(ErrorKind::kInvalidFormat, v.where(), ": SE-Res2Net block ", i, " needs ",
           c.channels[i - 1], " channels divisible by enc_res2net_scale ", c.res2net_scale,
           ", got ", c.channels[i]);
  int aggregated = 0;
  for (size_t i = 1; i + 1 < c.channels.size(); ++i) aggregated += c.channels[i];
  if (aggregated != c.channels.back())
    fail(ErrorKind::kInvalidFormat, v.where(), ": the last enc_channels entry (", c.channels.back(),
         ") must equal the sum of the SE-Res2Net block channels (", aggregated, ")");
  return c;
}

}  // namespace

ModelConfig ModelConfig::load(const std::string& path) {
  const nlohmann::json j = load_json_file(path);
  JsonView root(j, path);
  const std::string type = root.get_or<std::string>("model_type", "");
  if (type != "qwen3_tts")
    fail(ErrorKind::kInvalidFormat, path, ": model_type is '", type,
         "', expected 'qwen3_tts' (a Qwen3-TTS checkpoint)");
  ModelConfig c;
  c.tts_model_type = root.get<std::string>("tts_model_type");
  c.tts_model_size = root.get_or<std::string>("tts_model_size", "");
  if (c.tts_model_type != "base" && c.tts_model_type != "custom_voice" &&
      c.tts_model_type != "voice_design")
    fail(ErrorKind::kInvalidFormat, path, ": unknown tts_model_type '", c.tts_model_type, "'");
  if (c.tts_model_type == "base") {
    if (!root.has("speaker_encoder_config"))
      fail(ErrorKind::kInvalidFormat, path, ": a Base checkpoint needs 'speaker_encoder_config'");
    c.speaker_encoder = parse_speaker_encoder(root.child("speaker_encoder_config"));
  }
  return c;
}

}  // namespace izwi
