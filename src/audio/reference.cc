// Reference-clip measurements and preparation.
//
// Levels are measured on 20 ms frames every 10 ms. A frame is silent when its
// level is below max(-60 dBFS, loud-frame level - 40 dB), where the loud-frame
// level is the 95th percentile: robust to a few peaks, relative so quiet but
// clean recordings are not mistaken for silence.
#include "izwi/reference.h"

#include <ebur128.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace izwi {

namespace {

constexpr double kFrameSeconds = 0.020;
constexpr double kHopSeconds = 0.010;
constexpr double kMinSpeechSeconds = 1.0;
constexpr double kShortSeconds = 3.0;
constexpr double kTrimMarginSeconds = 0.10;

struct FrameAnalysis {
  int64_t hop = 0, frame = 0;
  std::vector<double> power;  // mean square per frame
  std::vector<bool> voiced;
  int64_t first = -1, last = -1;  // first/last non-silent frame
};

double to_db(double power) {
  return 10.0 * std::log10(power + 1e-20);
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  const size_t k =
      std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

FrameAnalysis analyze_frames(const Audio& a) {
  FrameAnalysis fa;
  fa.frame = std::max<int64_t>(1, static_cast<int64_t>(kFrameSeconds * a.sample_rate));
  fa.hop = std::max<int64_t>(1, static_cast<int64_t>(kHopSeconds * a.sample_rate));
  const int64_t n = static_cast<int64_t>(a.samples.size());
  for (int64_t start = 0; start < n; start += fa.hop) {
    const int64_t end = std::min(n, start + fa.frame);
    double s = 0;
    for (int64_t i = start; i < end; ++i) s += static_cast<double>(a.samples[i]) * a.samples[i];
    fa.power.push_back(s / static_cast<double>(end - start));
  }
  const double loud_db = to_db(percentile(fa.power, 0.95));
  const double threshold_db = std::max(-60.0, loud_db - 40.0);
  fa.voiced.resize(fa.power.size());
  for (size_t i = 0; i < fa.power.size(); ++i) {
    fa.voiced[i] = to_db(fa.power[i]) >= threshold_db;
    if (fa.voiced[i]) {
      if (fa.first < 0) fa.first = static_cast<int64_t>(i);
      fa.last = static_cast<int64_t>(i);
    }
  }
  return fa;
}

double integrated_loudness(const Audio& a) {
  ebur128_state* st = ebur128_init(1, static_cast<unsigned long>(a.sample_rate), EBUR128_MODE_I);
  if (!st) return -std::numeric_limits<double>::infinity();
  ebur128_add_frames_float(st, a.samples.data(), a.samples.size());
  double lufs = -std::numeric_limits<double>::infinity();
  if (ebur128_loudness_global(st, &lufs) != EBUR128_SUCCESS)
    lufs = -std::numeric_limits<double>::infinity();
  ebur128_destroy(&st);
  return lufs;
}

void add(ReferenceReport& r, ReferenceIssue::Severity sev, const std::string& code,
         const std::string& message, const std::string& fix) {
  r.issues.push_back({sev, code, message, fix});
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

bool ReferenceReport::usable() const {
  return std::none_of(issues.begin(), issues.end(), [](const ReferenceIssue& i) {
    return i.severity == ReferenceIssue::Severity::kError;
  });
}

ReferenceReport inspect_reference(const Audio& a) {
  if (a.sample_rate <= 0) fail(ErrorKind::kInvalidArgument, "reference audio has no sample rate");
  ReferenceReport r;
  r.sample_rate = a.sample_rate;
  r.channels = a.source_channels;
  r.duration_s = a.duration();
  if (a.samples.empty()) {
    add(r, ReferenceIssue::Severity::kError, "empty", "the clip contains no audio",
        "record 5-30 seconds of speech");
    return r;
  }
  double peak = 0, sum = 0, sum2 = 0;
  int64_t clipped = 0;
  for (float s : a.samples) {
    const double v = std::abs(static_cast<double>(s));
    peak = std::max(peak, v);
    sum += s;
    sum2 += static_cast<double>(s) * s;
    if (v >= 0.999) ++clipped;
  }
  const double n = static_cast<double>(a.samples.size());
  r.peak_dbfs = 20.0 * std::log10(peak + 1e-20);
  r.rms_dbfs = to_db(sum2 / n);
  r.dc_offset = sum / n;
  r.clipping_ratio = static_cast<double>(clipped) / n;
  r.loudness_lufs = integrated_loudness(a);

  const FrameAnalysis fa = analyze_frames(a);
  const double hop_s = static_cast<double>(fa.hop) / a.sample_rate;
  int64_t voiced = 0, run = 0, longest = 0;
  std::vector<double> speech_p, pause_p;
  for (size_t i = 0; i < fa.voiced.size(); ++i) {
    if (fa.voiced[i]) {
      ++voiced;
      speech_p.push_back(fa.power[i]);
      run = 0;
    } else {
      pause_p.push_back(fa.power[i]);
      if (fa.first >= 0 && static_cast<int64_t>(i) > fa.first && static_cast<int64_t>(i) < fa.last)
        longest = std::max(longest, ++run);
    }
  }
  r.speech_s = std::min(r.duration_s, static_cast<double>(voiced) * hop_s);
  if (fa.first < 0) {
    r.leading_silence_s = r.duration_s;
  } else {
    r.leading_silence_s = static_cast<double>(fa.first) * hop_s;
    r.trailing_silence_s = std::max(
        0.0, r.duration_s - static_cast<double>(fa.last * fa.hop + fa.frame) / a.sample_rate);
  }
  r.longest_pause_s = static_cast<double>(longest) * hop_s;
  // SNR: mean speech-frame power over the background level (the pauses, or the
  // quietest tenth of the clip when there are too few pauses).
  double speech = 0;
  for (double p : speech_p) speech += p;
  speech = speech_p.empty() ? 0.0 : speech / static_cast<double>(speech_p.size());
  const double noise = pause_p.size() * 20 >= fa.power.size() ? percentile(pause_p, 0.5)
                                                              : percentile(fa.power, 0.10);
  r.snr_db = std::min(100.0, to_db(speech) - to_db(noise));

  using S = ReferenceIssue::Severity;
  if (r.speech_s < kMinSpeechSeconds) {
    add(r, S::kError, "too_little_speech",
        fmt("only %.1f s of the clip is speech; at least 1 s is needed", r.speech_s),
        "record 5-30 seconds of clear speech");
    return r;
  }
  const double usable_s = r.duration_s - r.leading_silence_s - r.trailing_silence_s;
  if (usable_s < kShortSeconds)
    add(r, S::kWarning, "short",
        fmt("the clip has only %.1f s of audio between its silences", usable_s),
        "use 5-30 seconds of speech for a closer clone");
  if (r.duration_s > 30.0)
    add(r, S::kWarning, "long",
        fmt("the clip is %.1f s long; only the best 30 s are used", r.duration_s),
        "trim it to the 5-30 seconds you want the voice taken from");
  if (r.clipping_ratio > 1e-3)
    add(r, S::kWarning, "clipping",
        fmt("%.2f%% of the samples are at full scale (clipped)", 100.0 * r.clipping_ratio),
        "re-record with lower input gain or further from the microphone");
  if (r.snr_db < 15.0)
    add(r, S::kWarning, "noisy",
        fmt("the background is loud (estimated signal-to-noise ratio %.0f dB)", r.snr_db),
        "record in a quiet room, away from fans and traffic, or use a cleaner clip");
  if (r.loudness_lufs < -40.0 || r.peak_dbfs < -30.0)
    add(r, S::kWarning, "quiet", fmt("the recording is very quiet (%.0f LUFS)", r.loudness_lufs),
        "move closer to the microphone or raise its gain");
  if (std::abs(r.dc_offset) > 0.05)
    add(r, S::kWarning, "dc_offset",
        fmt("the signal is offset from zero by %.3f (DC offset)", r.dc_offset),
        "the recording device adds a DC bias; re-record or high-pass filter the clip");
  return r;
}

std::vector<std::string> PreparedReference::warnings() const {
  std::vector<std::string> out;
  for (const auto& i : report.issues)
    if (i.severity == ReferenceIssue::Severity::kWarning) out.push_back(i.message + ": " + i.fix);
  return out;
}

PreparedReference prepare_reference(const Audio& source, const ReferenceOptions& opt) {
  PreparedReference p;
  p.report = inspect_reference(source);
  for (const auto& i : p.report.issues)
    if (i.severity == ReferenceIssue::Severity::kError)
      fail(ErrorKind::kInvalidArgument, "unusable reference audio: ", i.message, "; ", i.fix);
  p.audio = resample(source, opt.target_sample_rate);
  if (source.sample_rate != opt.target_sample_rate)
    p.changes.push_back("resampled from " + std::to_string(source.sample_rate) + " Hz to " +
                        std::to_string(opt.target_sample_rate) + " Hz");
  if (source.source_channels > 1)
    p.changes.push_back("mixed " + std::to_string(source.source_channels) + " channels to mono");
  if (!opt.preprocess) return p;

  auto& s = p.audio.samples;
  const double sr = p.audio.sample_rate;
  FrameAnalysis fa = analyze_frames(p.audio);
  if (fa.first < 0) return p;
  // Trim leading/trailing silence beyond a small margin; clean clips pass unchanged.
  const int64_t margin = static_cast<int64_t>(kTrimMarginSeconds * sr);
  const int64_t n = static_cast<int64_t>(s.size());
  const int64_t begin = std::max<int64_t>(0, fa.first * fa.hop - margin);
  const int64_t end = std::min<int64_t>(n, fa.last * fa.hop + fa.frame + margin);
  if (begin > 0 || end < n) {
    if (begin > 0) p.changes.push_back(fmt("trimmed %.2f s of leading silence", begin / sr));
    if (end < n) p.changes.push_back(fmt("trimmed %.2f s of trailing silence", (n - end) / sr));
    s = std::vector<float>(s.begin() + begin, s.begin() + end);
    fa = analyze_frames(p.audio);
  }
  // Cut to the window of max_seconds with the most speech (earliest on ties).
  const int64_t limit = static_cast<int64_t>(opt.max_seconds * sr);
  if (static_cast<int64_t>(s.size()) > limit) {
    const int64_t win = limit / fa.hop;
    int64_t count = 0, best = -1, best_start = 0;
    for (int64_t i = 0; i < static_cast<int64_t>(fa.voiced.size()); ++i) {
      count += fa.voiced[i];
      if (i >= win) count -= fa.voiced[i - win];
      if (i >= win - 1 && count > best) {
        best = count;
        best_start = i - win + 1;
      }
    }
    const int64_t start =
        std::min<int64_t>(best_start * fa.hop, static_cast<int64_t>(s.size()) - limit);
    p.changes.push_back(fmt("cut to the best %.0f s", opt.max_seconds) +
                        fmt(" (from %.2f s", start / sr) +
                        fmt(" to %.2f s)", (start + limit) / sr));
    s = std::vector<float>(s.begin() + start, s.begin() + start + limit);
  }
  return p;
}

std::string ReferenceReport::to_json() const {
  nlohmann::ordered_json j;
  auto num = [](double v) -> nlohmann::json {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  j["usable"] = usable();
  j["sample_rate"] = sample_rate;
  j["channels"] = channels;
  j["duration_s"] = num(duration_s);
  j["speech_s"] = num(speech_s);
  j["leading_silence_s"] = num(leading_silence_s);
  j["trailing_silence_s"] = num(trailing_silence_s);
  j["longest_pause_s"] = num(longest_pause_s);
  j["peak_dbfs"] = num(peak_dbfs);
  j["clipping_ratio"] = num(clipping_ratio);
  j["rms_dbfs"] = num(rms_dbfs);
  j["loudness_lufs"] = num(loudness_lufs);
  j["snr_db"] = num(snr_db);
  j["dc_offset"] = num(dc_offset);
  j["issues"] = nlohmann::json::array();
  for (const auto& i : issues)
    j["issues"].push_back(
        {{"severity", i.severity == ReferenceIssue::Severity::kError ? "error" : "warning"},
         {"code", i.code},
         {"message", i.message},
         {"fix", i.fix}});
  return j.dump(2);
}

std::string ReferenceReport::to_text() const {
  std::ostringstream o;
  o << fmt("duration      %.2f s", duration_s) << fmt(" (%.2f s of speech)\n", speech_s);
  o << "format        " << sample_rate << " Hz, " << channels
    << (channels == 1 ? " channel\n" : " channels\n");
  o << fmt("silence       %.2f s leading, ", leading_silence_s)
    << fmt("%.2f s trailing, ", trailing_silence_s)
    << fmt("longest pause %.2f s\n", longest_pause_s);
  o << fmt("level         peak %.1f dBFS, ", peak_dbfs) << fmt("RMS %.1f dBFS, ", rms_dbfs)
    << (std::isfinite(loudness_lufs) ? fmt("loudness %.1f LUFS\n", loudness_lufs)
                                     : std::string("loudness -inf LUFS\n"));
  o << fmt("clipping      %.3f%% of samples\n", 100.0 * clipping_ratio);
  o << fmt("noise         SNR about %.0f dB\n", snr_db);
  o << fmt("DC offset     %.4f\n", dc_offset);
  if (issues.empty()) o << "verdict       good reference clip\n";
  for (const auto& i : issues)
    o << (i.severity == ReferenceIssue::Severity::kError ? "error         " : "warning       ")
      << i.message << "\n              fix: " << i.fix << "\n";
  return o.str();
}

}  // namespace izwi
