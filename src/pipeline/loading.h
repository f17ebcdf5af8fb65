// Loading model parts from a checkpoint directory, shared by the public classes
// (SpeechTokenizer, SpeakerEncoder, TtsModel).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "audio/mel.h"
#include "izwi/speech_tokenizer.h"
#include "models/qwen3_tts/codec_decoder.h"
#include "models/qwen3_tts/codec_encoder.h"
#include "models/qwen3_tts/model_config.h"
#include "models/qwen3_tts/speaker_encoder.h"

namespace izwi::pipeline {

// `path`: a checkpoint directory with speech_tokenizer/, or that directory itself.
std::string find_speech_tokenizer_dir(const std::string& path);

struct Codec {
  std::string dir;     // the speech tokenizer's directory
  std::string source;  // its files' identity (checkpoint_identity)
  SpeechTokenizerConfig config;
  std::unique_ptr<codec::CodecEncoder> encoder;
  std::unique_ptr<codec::CodecDecoder> decoder;
};
// bf16: the decoder's convolutions and linears in bf16 where the CPU has AMX-BF16
// or AVX512-BF16, else as winograd. winograd: its convolutions by Winograd's
// F(4, K) where our GEMM runs. Otherwise (and f32) f32, packed once for our GEMM
// where it runs.
Codec load_codec(const std::string& path, CodecPrecision precision = CodecPrecision::kF32);
// The arithmetic its decoder runs (what was asked, or what the CPU allowed of it).
CodecPrecision decode_precision(const Codec& codec);

// Codes [frames, n_q] of 24 kHz samples, with the API-boundary checks.
std::vector<int32_t> encode_audio(ThreadPool* pool, const Codec& codec, const float* samples,
                                  size_t n, int sample_rate);

struct Speaker {
  SpeakerEncoderConfig config;
  std::unique_ptr<audio::MelSpectrogram> mel;
  std::unique_ptr<speaker::SpeakerEncoder> encoder;
};
// Throws a clear error for checkpoints without a speaker encoder (CustomVoice, VoiceDesign).
void require_speaker_encoder(const std::string& model_dir, const ModelConfig& config);
Speaker load_speaker(const std::string& model_dir, const ModelConfig& config,
                     WeightSource& weights);
std::vector<float> embed_speaker(ThreadPool* pool, const Speaker& speaker, const float* samples,
                                 size_t n, int sample_rate);

}  // namespace izwi::pipeline
