#include "audio/mel.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "core/error.h"

namespace izwi::audio {

namespace {

// Slaney mel scale: linear below 1 kHz, logarithmic above (librosa, htk=False).
constexpr double kFSp = 200.0 / 3.0;
constexpr double kMinLogHz = 1000.0;
constexpr double kMinLogMel = kMinLogHz / kFSp;

double hz_to_mel(double hz) {
  const double logstep = std::log(6.4) / 27.0;
  return hz >= kMinLogHz ? kMinLogMel + std::log(hz / kMinLogHz) / logstep : hz / kFSp;
}

double mel_to_hz(double mel) {
  const double logstep = std::log(6.4) / 27.0;
  return mel >= kMinLogMel ? kMinLogHz * std::exp(logstep * (mel - kMinLogMel)) : kFSp * mel;
}

// FFTW's planner is not thread-safe; plans are made under this lock, executed without it.
std::mutex& planner_mutex() {
  static std::mutex mu;
  return mu;
}

}  // namespace

std::vector<float> slaney_mel_filterbank(int sample_rate, int n_fft, int n_mels, double fmin,
                                         double fmax) {
  const int n_bins = n_fft / 2 + 1;
  std::vector<double> fft_freqs(n_bins);
  for (int i = 0; i < n_bins; ++i) fft_freqs[i] = static_cast<double>(i) * sample_rate / n_fft;
  std::vector<double> mel_f(n_mels + 2);
  const double mmin = hz_to_mel(fmin), mmax = hz_to_mel(fmax);
  for (int i = 0; i < n_mels + 2; ++i)
    mel_f[i] = mel_to_hz(mmin + (mmax - mmin) * i / (n_mels + 1));
  std::vector<float> w(static_cast<size_t>(n_mels) * n_bins);
  for (int m = 0; m < n_mels; ++m) {
    const double lo = mel_f[m + 1] - mel_f[m], hi = mel_f[m + 2] - mel_f[m + 1];
    const double enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
    for (int k = 0; k < n_bins; ++k) {
      const double lower = (fft_freqs[k] - mel_f[m]) / lo;
      const double upper = (mel_f[m + 2] - fft_freqs[k]) / hi;
      w[static_cast<size_t>(m) * n_bins + k] =
          static_cast<float>(std::max(0.0, std::min(lower, upper)) * enorm);
    }
  }
  return w;
}

struct MelSpectrogram::Plan {
  fftw_plan plan = nullptr;
  ~Plan() {
    if (plan) {
      std::lock_guard<std::mutex> lock(planner_mutex());
      fftw_destroy_plan(plan);
    }
  }
};

namespace {

struct FftwFree {
  void operator()(void* p) const { fftw_free(p); }
};

}  // namespace

MelSpectrogram::MelSpectrogram(const MelConfig& config)
    : cfg_(config), plan_(std::make_unique<Plan>()) {
  if (cfg_.n_fft <= 0 || cfg_.hop <= 0 || cfg_.win <= 0 || cfg_.win > cfg_.n_fft ||
      cfg_.n_mels <= 0)
    fail(ErrorKind::kInvalidArgument, "invalid mel spectrogram settings");
  filters_ = slaney_mel_filterbank(cfg_.sample_rate, cfg_.n_fft, cfg_.n_mels, cfg_.fmin, cfg_.fmax);
  // Periodic Hann window of length `win`, centred in n_fft (as torch.stft does).
  window_.assign(cfg_.n_fft, 0.0);
  const int offset = (cfg_.n_fft - cfg_.win) / 2;
  for (int i = 0; i < cfg_.win; ++i)
    window_[offset + i] = 0.5 - 0.5 * std::cos(2.0 * M_PI * i / cfg_.win);
  std::unique_ptr<double, FftwFree> in(fftw_alloc_real(cfg_.n_fft));
  std::unique_ptr<fftw_complex, FftwFree> out(fftw_alloc_complex(cfg_.n_fft / 2 + 1));
  std::lock_guard<std::mutex> lock(planner_mutex());
  plan_->plan = fftw_plan_dft_r2c_1d(cfg_.n_fft, in.get(), out.get(), FFTW_ESTIMATE);
  if (!plan_->plan) fail(ErrorKind::kInternal, "FFTW could not plan a ", cfg_.n_fft, "-point FFT");
}

MelSpectrogram::~MelSpectrogram() = default;

int64_t MelSpectrogram::frames_for(int64_t n) const {
  const int64_t pad = (cfg_.n_fft - cfg_.hop) / 2;
  const int64_t padded = n + 2 * pad;
  return padded < cfg_.n_fft ? 0 : (padded - cfg_.n_fft) / cfg_.hop + 1;
}

std::vector<float> MelSpectrogram::compute(const float* x, int64_t n) const {
  const int64_t pad = (cfg_.n_fft - cfg_.hop) / 2;
  if (n <= pad)
    fail(ErrorKind::kInvalidArgument, "audio of ", n,
         " samples is too short for a mel spectrogram (needs more than ", pad, ")");
  const int64_t frames = frames_for(n);
  const int n_bins = cfg_.n_fft / 2 + 1;
  std::unique_ptr<double, FftwFree> in(fftw_alloc_real(cfg_.n_fft));
  std::unique_ptr<fftw_complex, FftwFree> out(fftw_alloc_complex(n_bins));
  std::vector<double> mag(n_bins);
  std::vector<float> mel(static_cast<size_t>(frames) * cfg_.n_mels);
  auto sample = [&](int64_t i) {  // reflect-padded input
    int64_t s = i - pad;
    if (s < 0) s = -s;
    if (s >= n) s = 2 * (n - 1) - s;
    return static_cast<double>(x[s]);
  };
  for (int64_t f = 0; f < frames; ++f) {
    for (int i = 0; i < cfg_.n_fft; ++i) in.get()[i] = sample(f * cfg_.hop + i) * window_[i];
    fftw_execute_dft_r2c(plan_->plan, in.get(), out.get());
    for (int k = 0; k < n_bins; ++k) {
      const double re = out.get()[k][0], im = out.get()[k][1];
      mag[k] = std::sqrt(re * re + im * im + 1e-9);
    }
    for (int m = 0; m < cfg_.n_mels; ++m) {
      const float* w = filters_.data() + static_cast<size_t>(m) * n_bins;
      double s = 0;
      for (int k = 0; k < n_bins; ++k) s += w[k] * mag[k];
      mel[f * cfg_.n_mels + m] = static_cast<float>(std::log(std::max(s, 1e-5)));
    }
  }
  return mel;
}

}  // namespace izwi::audio
