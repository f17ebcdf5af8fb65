#include "pipeline/loading.h"

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/safetensors.h"
#include "kernels/ops.h"
#include "pipeline/weight_cache.h"

namespace izwi::pipeline {

namespace fs = std::filesystem;

std::string find_speech_tokenizer_dir(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ErrorKind::kNotFound, "model path '", path, "' does not exist");
  if (!fs::is_directory(path, ec))
    fail(ErrorKind::kInvalidArgument, "model path '", path,
         "' is not a directory; pass a checkpoint directory");
  const fs::path sub = fs::path(path) / "speech_tokenizer";
  if (fs::exists(sub / "config.json")) return sub.string();
  if (fs::exists(fs::path(path) / "config.json"))
    return path;  // the speech tokenizer directory itself
  fail(ErrorKind::kNotFound, "'", path,
       "' has neither speech_tokenizer/config.json nor config.json: ",
       "is it a Qwen3-TTS checkpoint directory?");
}

Codec load_codec(const std::string& path, CodecPrecision precision) {
  const std::string dir = find_speech_tokenizer_dir(path);
  Codec c;
  c.dir = dir;
  c.config = SpeechTokenizerConfig::load((fs::path(dir) / "config.json").string());
  Checkpoint checkpoint = Checkpoint::open(dir, "model");
  c.source = checkpoint_identity(checkpoint);
  CheckpointWeights weights(std::move(checkpoint));
  c.encoder =
      std::make_unique<codec::CodecEncoder>(c.config.encoder, c.config.encode_downsample_rate,
                                            c.config.encoder_valid_num_quantizers, weights);
  c.decoder = std::make_unique<codec::CodecDecoder>(c.config.decoder, weights);
  // bf16 where the CPU has its products, else Winograd (which bf16 asks for
  // too: the fast mode), else exact.
  const bool fast = precision != CodecPrecision::kF32;
  if (precision == CodecPrecision::kBf16 && ops::bf16_convolutions_available())
    c.decoder->use_bf16(weights);
  else if (fast && ops::packed_convolutions_available())
    c.decoder->use_winograd(weights);
  else
    c.decoder->use_packed(weights);
  return c;
}

CodecPrecision decode_precision(const Codec& codec) {
  if (codec.decoder->bf16()) return CodecPrecision::kBf16;
  return codec.decoder->winograd() ? CodecPrecision::kWinograd : CodecPrecision::kF32;
}

std::vector<int32_t> encode_audio(ThreadPool* pool, const Codec& codec, const float* samples,
                                  size_t n, int sr) {
  if (sr != codec.config.input_sample_rate)
    fail(ErrorKind::kInvalidArgument, "the speech tokenizer expects ",
         codec.config.input_sample_rate, " Hz audio, got ", sr, " Hz; resample it first");
  if (n == 0 || samples == nullptr)
    fail(ErrorKind::kInvalidArgument, "cannot encode empty audio (0 samples)");
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(samples[i]))
      fail(ErrorKind::kInvalidArgument, "audio sample ", i, " is not a finite number");
  return codec.encoder->encode(pool, samples, static_cast<int64_t>(n));
}

void require_speaker_encoder(const std::string& model_dir, const ModelConfig& mc) {
  if (!mc.speaker_encoder)
    fail(ErrorKind::kInvalidArgument, "'", model_dir, "' is a ", mc.tts_model_type,
         " checkpoint without a speaker encoder; cloning from reference audio needs a Base "
         "checkpoint "
         "(e.g. Qwen3-TTS-12Hz-0.6B-Base)");
}

Speaker load_speaker(const std::string& model_dir, const ModelConfig& mc, WeightSource& weights) {
  require_speaker_encoder(model_dir, mc);
  Speaker s;
  s.config = *mc.speaker_encoder;
  if (s.config.sample_rate != 24000 || s.config.mel_dim != 128)
    fail(ErrorKind::kInvalidFormat,
         "speaker encoder: expected 24000 Hz and 128 mels, the config says ", s.config.sample_rate,
         " Hz and ", s.config.mel_dim, " mels");
  s.mel = std::make_unique<audio::MelSpectrogram>(audio::MelConfig{});
  s.encoder = std::make_unique<speaker::SpeakerEncoder>(s.config, weights);
  return s;
}

std::vector<float> embed_speaker(ThreadPool* pool, const Speaker& s, const float* samples, size_t n,
                                 int sr) {
  if (sr != s.config.sample_rate)
    fail(ErrorKind::kInvalidArgument, "the speaker encoder expects ", s.config.sample_rate,
         " Hz audio, got ", sr, " Hz; resample it first (prepare_reference does)");
  if (n < static_cast<size_t>(s.config.sample_rate / 10))
    fail(ErrorKind::kInvalidArgument, "reference audio of ", n,
         " samples is too short for a speaker embedding");
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(samples[i]))
      fail(ErrorKind::kInvalidArgument, "audio sample ", i, " is not a finite number");
  const auto mel = s.mel->compute(samples, static_cast<int64_t>(n));
  return s.encoder->forward(pool, mel.data(), s.mel->frames_for(static_cast<int64_t>(n)));
}

}  // namespace izwi::pipeline
