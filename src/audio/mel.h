// Log-mel spectrogram identical to the official Qwen3-TTS `mel_spectrogram`
// (speaker-encoder input): reflect padding of (n_fft - hop) / 2 on both sides,
// STFT without centring (periodic Hann window), magnitude sqrt(re^2 + im^2 + 1e-9),
// librosa's Slaney mel filterbank, then log(max(x, 1e-5)).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace izwi::audio {

struct MelConfig {
  int sample_rate = 24000;
  int n_fft = 1024;
  int hop = 256;
  int win = 1024;
  int n_mels = 128;
  double fmin = 0.0;
  double fmax = 12000.0;
};

// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm="slaney"),
// as float32: [n_mels, n_fft / 2 + 1].
std::vector<float> slaney_mel_filterbank(int sample_rate, int n_fft, int n_mels, double fmin,
                                         double fmax);

class MelSpectrogram {
 public:
  explicit MelSpectrogram(const MelConfig& config = {});
  ~MelSpectrogram();
  MelSpectrogram(const MelSpectrogram&) = delete;
  MelSpectrogram& operator=(const MelSpectrogram&) = delete;

  // Frames for n samples: (n + 2 * pad - n_fft) / hop + 1.
  int64_t frames_for(int64_t n) const;
  // Returns [frames, n_mels] (time-major), thread-safe.
  std::vector<float> compute(const float* samples, int64_t n) const;

 private:
  struct Plan;
  MelConfig cfg_;
  std::vector<float> filters_;  // [n_mels, n_fft/2 + 1]
  std::vector<double> window_;  // [n_fft] (win centred, zero-padded)
  std::unique_ptr<Plan> plan_;
};

}  // namespace izwi::audio
