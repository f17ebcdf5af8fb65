// From generated codes to the waveform the official generate returns.
#pragma once

#include <cstdint>
#include <vector>

#include "models/qwen3_tts/codec_decoder.h"

namespace izwi::pipeline {

// The official cut for `ref_frames` of reference before `frames` generated ones
// at `hop` samples per frame: int(ref_frames / total_frames * samples), in double.
int64_t official_cut(int64_t ref_frames, int64_t frames, int64_t hop);

// The reference frames in whole official chunks (ChunkedStream::kChunk) that end
// before its last frame: their audio is all cut, and the chunk after them
// restarts from its own left context, so they need not be decoded.
int64_t reference_chunks_before(int64_t ref_frames);

// Decodes `codes` [frames, groups]; in ICL cloning the reference codes are
// decoded in front of them (as the official code does) and the reference part
// is cut (official_cut).
std::vector<float> decode_output(ThreadPool* pool, const codec::CodecDecoder& decoder,
                                 const int32_t* ref_codes, int64_t ref_frames, const int32_t* codes,
                                 int64_t frames);

}  // namespace izwi::pipeline
