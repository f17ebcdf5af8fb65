#include "models/qwen3_tts/random_checkpoint.h"

#include <filesystem>

#include "core/error.h"
#include "core/json_util.h"
#include "core/safetensors_writer.h"
#include "models/qwen3_tts/code_predictor.h"
#include "models/qwen3_tts/codec_config.h"
#include "models/qwen3_tts/codec_decoder.h"
#include "models/qwen3_tts/codec_encoder.h"
#include "models/qwen3_tts/model_config.h"
#include "models/qwen3_tts/speaker_encoder.h"
#include "models/qwen3_tts/talker.h"
#include "models/qwen3_tts/weights.h"

namespace izwi {

namespace fs = std::filesystem;

namespace {

void copy_json_files(const fs::path& from, const fs::path& out) {
  fs::create_directories(out);
  for (const auto& e : fs::directory_iterator(from))
    if (e.is_regular_file() && (e.path().extension() == ".json" || e.path().extension() == ".txt"))
      fs::copy_file(e.path(), out / e.path().filename(), fs::copy_options::overwrite_existing);
}

RandomCheckpointReport finish(const RandomWeights& w, const fs::path& file) {
  write_safetensors(file.string(), w.tensors());
  RandomCheckpointReport r;
  for (const auto& [name, t] : w.tensors()) {
    ++r.tensors;
    r.bytes += t.nbytes();
  }
  return r;
}

RandomCheckpointReport write_speech_tokenizer(const fs::path& from, const fs::path& out,
                                              uint64_t seed) {
  const auto cfg = SpeechTokenizerConfig::load((from / "config.json").string());
  RandomWeights w(seed, DType::kF32);  // the released speech tokenizer is float32
  codec::CodecEncoder enc(cfg.encoder, cfg.encode_downsample_rate, cfg.encoder_valid_num_quantizers,
                          w);
  codec::CodecDecoder dec(cfg.decoder, w);
  copy_json_files(from, out);
  return finish(w, out / "model.safetensors");
}

}  // namespace

RandomCheckpointReport write_random_checkpoint(const std::string& from_dir,
                                               const std::string& out_dir, uint64_t seed,
                                               const std::string& tokenizer_dir) {
  const fs::path from(from_dir), out(out_dir);
  const nlohmann::json j = load_json_file((from / "config.json").string());
  const std::string type = j.value("model_type", "");
  if (type == "qwen3_tts_tokenizer_12hz") return write_speech_tokenizer(from, out, seed);
  if (type != "qwen3_tts")
    fail(ErrorKind::kInvalidArgument, "'", (from / "config.json").string(), "' has model_type '",
         type, "'; expected a Qwen3-TTS checkpoint or speech tokenizer config");
  const ModelConfig mc = ModelConfig::load((from / "config.json").string());
  RandomWeights w(seed, DType::kBF16);  // released talker/speaker weights are bf16
  if (mc.speaker_encoder) speaker::SpeakerEncoder enc(*mc.speaker_encoder, w);
  tts::Talker talker(mc, w);
  tts::CodePredictor cp(mc.code_predictor, mc.talker.stack.hidden_size, w);
  copy_json_files(from, out);
  if (!tokenizer_dir.empty())
    for (const char* f : {"vocab.json", "merges.txt"}) {
      if (!fs::exists(fs::path(tokenizer_dir) / f))
        fail(ErrorKind::kNotFound, "'", tokenizer_dir, "' has no ", f);
      fs::copy_file(fs::path(tokenizer_dir) / f, out / f, fs::copy_options::overwrite_existing);
    }
  RandomCheckpointReport r = finish(w, out / "model.safetensors");
  if (fs::exists(from / "speech_tokenizer" / "config.json")) {
    const auto st =
        write_speech_tokenizer(from / "speech_tokenizer", out / "speech_tokenizer", seed + 1);
    r.tensors += st.tensors;
    r.bytes += st.bytes;
  }
  return r;
}

}  // namespace izwi
