// izwi — the speech tokenizer (codec): 24 kHz audio <-> discrete codes.
//
// Every Qwen3-TTS checkpoint carries it in `speech_tokenizer/`. One frame of
// codes (16 codebooks) stands for 1920 samples (80 ms) of 24 kHz audio.
//
//   auto codec = izwi::SpeechTokenizer::load("models/Qwen3-TTS-12Hz-0.6B-Base");
//   izwi::AudioCodes codes = codec->encode(samples.data(), samples.size(), 24000);
//   std::vector<float> audio = codec->decode(codes);
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "izwi/error.h"

namespace izwi {

// Arithmetic of the decoder's convolutions and linears (most of its time).
enum class CodecPrecision {
  kF32,       // exact: what the golden tests check
  kBf16,      // bf16 weights and inputs, f32 sums, on AMX tiles or AVX512-BF16: about
              // 2-3x faster. Other CPUs with AVX2 or AVX-512 run kWinograd instead,
              // the rest f32 (see decode_precision()).
  kWinograd,  // f32, the kernel-7 convolutions by Winograd's F(6, 7): about 1.5x
              // faster, within 1e-4 of f32 (AVX2 or AVX-512; else f32).
};
const char* codec_precision_name(CodecPrecision precision);  // "f32", "bf16", "winograd"
// Parses a name as above; throws kInvalidArgument naming the choices.
CodecPrecision parse_codec_precision(const std::string& name);

struct CodecOptions {
  int n_threads = 0;  // worker threads; 0 = one per hardware thread
  CodecPrecision precision = CodecPrecision::kF32;
};

// Codes of `frames` frames, row-major [frames, num_codebooks].
struct AudioCodes {
  int64_t frames = 0;
  int num_codebooks = 0;
  std::vector<int32_t> values;

  int32_t at(int64_t frame, int codebook) const { return values[frame * num_codebooks + codebook]; }
};

class SpeechTokenizer {
 public:
  // `path`: a checkpoint directory holding `speech_tokenizer/`, or the
  // speech_tokenizer directory itself (config.json + model.safetensors).
  static std::unique_ptr<SpeechTokenizer> load(const std::string& path,
                                               const CodecOptions& options = {});
  ~SpeechTokenizer();

  int sample_rate() const;                  // 24000
  int samples_per_frame() const;            // 1920
  int num_codebooks() const;                // 16
  int codebook_size() const;                // 2048
  CodecPrecision decode_precision() const;  // what decode() runs in

  // Mono samples at `sample_rate` Hz (must equal sample_rate(); resampling is
  // the caller's job). Returns ceil(n / samples_per_frame()) frames.
  AudioCodes encode(const float* samples, size_t n, int sample_rate) const;

  // Waveform of codes.frames * samples_per_frame() samples in [-1, 1]. Throws
  // izwi::Error if a code is outside [0, codebook_size()) or the shape is wrong.
  std::vector<float> decode(const AudioCodes& codes) const;

  struct Impl;

 private:
  explicit SpeechTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace izwi
