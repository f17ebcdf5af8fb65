#include "models/qwen3_tts/model_config.h"

#include <filesystem>

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

DecoderStackConfig parse_stack(const JsonView& v, DecoderStackConfig c) {
  c.hidden_size = v.positive_int("hidden_size");
  c.intermediate_size = v.positive_int("intermediate_size");
  c.num_hidden_layers = v.positive_int("num_hidden_layers");
  c.num_attention_heads = v.positive_int("num_attention_heads");
  c.num_key_value_heads = v.positive_int_or("num_key_value_heads", c.num_attention_heads);
  c.head_dim = v.positive_int_or("head_dim", c.hidden_size / c.num_attention_heads);
  c.rms_norm_eps = v.get_or<float>("rms_norm_eps", c.rms_norm_eps);
  c.rope_theta = v.get_or<float>("rope_theta", c.rope_theta);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    fail(ErrorKind::kInvalidFormat, v.where(), ": num_attention_heads (", c.num_attention_heads,
         ") must be a multiple of num_key_value_heads (", c.num_key_value_heads, ")");
  if (c.head_dim % 2 != 0)
    fail(ErrorKind::kInvalidFormat, v.where(), ": head_dim must be even for rotary embeddings");
  const std::string act = v.get_or<std::string>("hidden_act", "silu");
  if (act != "silu")
    fail(ErrorKind::kInvalidFormat, v.where(), ": hidden_act '", act,
         "' is not supported (expected silu)");
  if (v.get_or<bool>("use_sliding_window", false))
    fail(ErrorKind::kInvalidFormat, v.where(),
         ": sliding-window attention in the talker is not supported");
  return c;
}

TalkerConfig parse_talker(const JsonView& v) {
  TalkerConfig c;
  c.stack = parse_stack(v, c.stack);
  c.vocab_size = v.positive_int("vocab_size");
  c.text_vocab_size = v.positive_int("text_vocab_size");
  c.text_hidden_size = v.positive_int("text_hidden_size");
  c.num_code_groups = v.positive_int_or("num_code_groups", c.num_code_groups);
  c.max_position_embeddings =
      v.positive_int_or("max_position_embeddings", c.max_position_embeddings);
  c.codec_pad_id = v.get<int>("codec_pad_id");
  c.codec_bos_id = v.get<int>("codec_bos_id");
  c.codec_eos_id = v.get<int>("codec_eos_token_id");
  c.codec_think_id = v.get<int>("codec_think_id");
  c.codec_nothink_id = v.get<int>("codec_nothink_id");
  c.codec_think_bos_id = v.get<int>("codec_think_bos_id");
  c.codec_think_eos_id = v.get<int>("codec_think_eos_id");
  c.codec_language_id = v.get_or<std::map<std::string, int>>("codec_language_id", {});
  c.spk_id = v.get_or<std::map<std::string, int>>("spk_id", {});
  if (v.has("spk_is_dialect")) {
    const JsonView d = v.child("spk_is_dialect");
    for (const auto& [name, id] : c.spk_id) {
      (void)id;
      // false, or the dialect's codec_language_id key
      c.spk_is_dialect[name] =
          d.has(name) && d.get<nlohmann::json>(name).is_string() ? d.get<std::string>(name) : "";
    }
  }
  for (const int id : {c.codec_pad_id, c.codec_bos_id, c.codec_eos_id, c.codec_think_id,
                       c.codec_nothink_id, c.codec_think_bos_id, c.codec_think_eos_id})
    if (id < 0 || id >= c.vocab_size)
      fail(ErrorKind::kInvalidFormat, v.where(), ": special codec id ", id,
           " is outside the vocabulary of ", c.vocab_size);
  for (const auto& m : {c.codec_language_id, c.spk_id})
    for (const auto& [name, id] : m)
      if (id < 0 || id >= c.vocab_size)
        fail(ErrorKind::kInvalidFormat, v.where(), ": codec id ", id, " of '", name,
             "' is outside the vocabulary");
  for (const auto& [name, dialect] : c.spk_is_dialect)
    if (!dialect.empty() && !c.codec_language_id.count(dialect))
      fail(ErrorKind::kInvalidFormat, v.where(), ": speaker '", name, "' uses dialect '", dialect,
           "' that codec_language_id does not define");
  if (c.vocab_size <= 1024)
    fail(ErrorKind::kInvalidFormat, v.where(), ": vocab_size must exceed the 1024 special ids");
  return c;
}

CodePredictorConfig parse_code_predictor(const JsonView& v) {
  CodePredictorConfig c;
  c.stack = parse_stack(v, c.stack);
  c.vocab_size = v.positive_int("vocab_size");
  c.num_code_groups = v.positive_int_or("num_code_groups", c.num_code_groups);
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
  const JsonView talker = root.child("talker_config");
  c.talker = parse_talker(talker);
  c.code_predictor = parse_code_predictor(talker.child("code_predictor_config"));
  c.tts_bos_token_id = root.get<int>("tts_bos_token_id");
  c.tts_eos_token_id = root.get<int>("tts_eos_token_id");
  c.tts_pad_token_id = root.get<int>("tts_pad_token_id");
  c.im_start_token_id = root.get<int>("im_start_token_id");
  c.im_end_token_id = root.get<int>("im_end_token_id");
  c.assistant_token_id = root.get<int>("assistant_token_id");
  for (const int id : {c.tts_bos_token_id, c.tts_eos_token_id, c.tts_pad_token_id,
                       c.im_start_token_id, c.im_end_token_id, c.assistant_token_id})
    if (id < 0 || id >= c.talker.text_vocab_size)
      fail(ErrorKind::kInvalidFormat, path, ": text token id ", id, " is outside text_vocab_size ",
           c.talker.text_vocab_size);
  if (c.code_predictor.num_code_groups != c.talker.num_code_groups)
    fail(ErrorKind::kInvalidFormat, path,
         ": talker and code predictor disagree on num_code_groups");
  if (c.speaker_encoder && c.speaker_encoder->enc_dim != c.talker.stack.hidden_size)
    fail(ErrorKind::kInvalidFormat, path, ": the x-vector size (", c.speaker_encoder->enc_dim,
         ") must equal the talker hidden size (", c.talker.stack.hidden_size, ")");
  return c;
}

}  // namespace izwi

namespace izwi {

GenerationConfig GenerationConfig::load(const std::string& path) {
  GenerationConfig g;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return g;
  const nlohmann::json j = load_json_file(path);
  JsonView v(j, path);
  g.do_sample = v.get_or<bool>("do_sample", g.do_sample);
  g.temperature = v.get_or<float>("temperature", g.temperature);
  g.top_k = v.get_or<int>("top_k", g.top_k);
  g.top_p = v.get_or<float>("top_p", g.top_p);
  g.repetition_penalty = v.get_or<float>("repetition_penalty", g.repetition_penalty);
  g.subtalker_dosample = v.get_or<bool>("subtalker_dosample", g.subtalker_dosample);
  g.subtalker_temperature = v.get_or<float>("subtalker_temperature", g.subtalker_temperature);
  g.subtalker_top_k = v.get_or<int>("subtalker_top_k", g.subtalker_top_k);
  g.subtalker_top_p = v.get_or<float>("subtalker_top_p", g.subtalker_top_p);
  g.max_new_tokens = v.positive_int_or("max_new_tokens", g.max_new_tokens);
  return g;
}

}  // namespace izwi
