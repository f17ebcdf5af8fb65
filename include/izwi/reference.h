// izwi — reference-audio checks and preparation.
//
// A voice is cloned from 5-30 s of clear, single-speaker speech. inspect_reference
// measures a clip and says, in plain language, what is wrong with it and how to
// fix it; prepare_reference turns it into what the model takes: 24 kHz mono,
// leading/trailing silence trimmed, and at most 30 s (the best window).
#pragma once

#include <string>
#include <vector>

#include "izwi/audio.h"

namespace izwi {

struct ReferenceIssue {
  enum class Severity { kWarning, kError };
  Severity severity = Severity::kWarning;
  std::string code;     // stable identifier: "too_short", "clipping", "noisy", ...
  std::string message;  // what was measured
  std::string fix;      // what to do about it
};

struct ReferenceReport {
  int sample_rate = 0;  // of the source
  int channels = 0;     // of the source
  double duration_s = 0;
  double speech_s = 0;  // non-silent audio
  double leading_silence_s = 0;
  double trailing_silence_s = 0;
  double longest_pause_s = 0;  // longest silence between speech
  double peak_dbfs = 0;
  double clipping_ratio = 0;  // fraction of samples at full scale
  double rms_dbfs = 0;
  double loudness_lufs = 0;  // EBU R128 integrated loudness (-inf for silence)
  double snr_db = 0;         // speech power over background power (estimate)
  double dc_offset = 0;
  std::vector<ReferenceIssue> issues;

  bool usable() const;  // no error-level issue
  std::string to_json() const;
  std::string to_text() const;  // a human-readable summary, one fact per line
};

// Measures `audio` (any rate; mono as read by read_audio) without changing it.
ReferenceReport inspect_reference(const Audio& audio);

struct ReferenceOptions {
  // false: no trimming or cutting; the clip is only mixed to mono and resampled
  // to the model's rate (which the model needs).
  bool preprocess = true;
  double max_seconds = 30.0;
  int target_sample_rate = 24000;
};

struct PreparedReference {
  Audio audio;                                // mono, target_sample_rate
  ReferenceReport report;                     // of the source clip
  std::vector<std::string> changes;           // what was done to it, in words
  std::vector<std::string> warnings() const;  // "message: fix" of each warning
};

// Throws izwi::Error (kInvalidArgument) with the problem and its fix if the
// clip cannot be used (e.g. under 1 s of speech).
PreparedReference prepare_reference(const Audio& audio, const ReferenceOptions& options = {});

}  // namespace izwi
