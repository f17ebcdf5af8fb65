// Codes to audio as they arrive, with the official decode's chunking.
//
// The official code decodes a whole utterance in chunks of 300 frames, each with
// up to 25 earlier frames of left context whose audio is dropped. CodecStreamer
// gives the same audio block by block: within a chunk it continues one
// DecoderStream (each frame decoded once); at a chunk boundary it starts a fresh
// stream and warms it with the 25 context frames, as the official chunk does.
// So streamed audio equals CodecDecoder::decode() on the whole sequence (within
// float rounding), for any block sizes and any length.
#pragma once

#include <cstdint>
#include <vector>

#include "models/qwen3_tts/codec_decoder.h"

namespace izwi::pipeline {

class CodecStreamer {
 public:
  static constexpr int64_t kChunk = 300, kLeftContext = 25;

  explicit CodecStreamer(const codec::CodecDecoder& decoder);

  // Decodes `frames` more frames of codes [frames, groups]; appends their
  // samples to `out` (null: decode for the state only, e.g. a reference prefix).
  void push(ThreadPool* pool, const int32_t* codes, int64_t frames, std::vector<float>* out);

  int64_t frames() const { return total_; }
  const codec::CodecDecoder& decoder() const { return *decoder_; }

 private:
  const codec::CodecDecoder* decoder_;
  codec::DecoderStream stream_;
  int64_t total_ = 0;            // frames pushed
  std::vector<int32_t> recent_;  // the last kLeftContext frames of codes
  std::vector<float> scratch_;   // audio of context frames, dropped
};

}  // namespace izwi::pipeline
