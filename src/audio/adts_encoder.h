// AAC in ADTS, the stream OpenAI's response_format "aac" returns: FFmpeg's own
// AAC-LC encoder and its ADTS muxer, writing into memory. An ID3v2 tag in front
// carries the tags (as MP3 does; audio/id3_tag.h); players and FFmpeg skip it.
//
// ADTS has no field for the encoder's delay, so a decoder returns the clip
// after 1024 samples of silence (the encoder's priming frame) and rounded up
// to whole 1024-sample frames; as any AAC stream without an MP4 around it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "izwi/audio.h"

namespace izwi::audio {

class AdtsEncoder {
 public:
  // Throws Error (kInvalidArgument) for a rate AAC has no code for.
  AdtsEncoder(int sample_rate, const AudioTags& tags);
  ~AdtsEncoder();
  AdtsEncoder(const AdtsEncoder&) = delete;
  AdtsEncoder& operator=(const AdtsEncoder&) = delete;

  // The bytes ready so far (the tag and the frames encoded from `samples`).
  std::string write(const float* samples, size_t n);
  // The rest: the last partial frame and the encoder's tail.
  std::string finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace izwi::audio
