// AAC-LC through FFmpeg's own encoder, writing into memory, in one of two
// containers:
// - ADTS, the stream OpenAI's response_format "aac" returns. An ID3v2 tag in
//   front carries the tags (as MP3 does; audio/id3_tag.h); players and FFmpeg
//   skip it. ADTS has no field for the encoder's delay, so a decoder returns
//   the clip after 1024 samples of silence (the encoder's priming frame) and
//   rounded up to whole 1024-sample frames, as any AAC stream without an MP4
//   around it. Bytes come out as frames are encoded: it streams.
// - M4A (MP4, FFmpeg's "ipod" muxer: what phones and music players make). Its
//   edit list records the delay and the length, so decoders return exactly the
//   clip; iTunes-style tags (©nam, ©ART, ©cmt, ©too, ©day) carry the tags. Its
//   index follows the audio and the muxer goes back to fill in sizes, so the
//   whole file comes out of finish(): it does not stream.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "izwi/audio.h"

namespace izwi::audio {

enum class AacContainer { kAdts, kM4a };

class AacEncoder {
 public:
  // Throws Error (kInvalidArgument) for a rate AAC has no code for.
  AacEncoder(int sample_rate, const AudioTags& tags, AacContainer container);
  ~AacEncoder();
  AacEncoder(const AacEncoder&) = delete;
  AacEncoder& operator=(const AacEncoder&) = delete;

  // The bytes ready so far: for ADTS the tag and the frames encoded from
  // `samples`; for M4A nothing (all of it comes from finish()).
  std::string write(const float* samples, size_t n);
  // The rest: the last partial frame and the encoder's tail (M4A: the file).
  std::string finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace izwi::audio
