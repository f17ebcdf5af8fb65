// izwi — audio files.
//
// Reading goes through libsndfile (WAV, FLAC, OGG, ...); channels are mixed to
// mono. Writing picks the container from the file extension.
#pragma once

#include <string>
#include <vector>

namespace izwi {

struct Audio {
  std::vector<float> samples;  // mono, nominally in [-1, 1]
  int sample_rate = 0;
  int source_channels = 0;  // channel count of the file before the mono mix
};

enum class SampleFormat { kPcm16, kFloat32 };

// Throws izwi::Error naming the file and what is wrong (not audio, truncated, empty).
Audio read_audio(const std::string& path);

// `.wav` (PCM16 or float32), `.flac` (PCM16; float is written as PCM16).
void write_audio(const std::string& path, const Audio& audio,
                 SampleFormat format = SampleFormat::kPcm16);

}  // namespace izwi
