// The codec decoder's state after a saved voice's reference codes, kept beside
// the speech tokenizer, so a new process (a CLI run, a restarted server) does
// not decode the reference again before its first audio: 2-3 s here for a
// 10-30 s reference.
//
// <speech tokenizer>/.izwi-cache/codec-prefix/<codes hash>-<arithmetic>.safetensors
// holds a codec::ChunkedStreamState (about 5 MB: mostly the transformer's
// sliding-window keys and values) and the reference audio's last samples,
// tagged with the layout version, the arithmetic it was computed in (f32, or
// the bf16 kernel), the tokenizer files' identity and the codes themselves,
// all compared on read. A file that does not match or does not load is
// ignored (and replaced); one that cannot be written (a read-only model
// directory) only means the next process decodes the reference again. Of more
// than kMaxFiles, those read least recently are removed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "izwi/tts.h"
#include "models/qwen3_tts/codec_decoder.h"
#include "pipeline/loading.h"

namespace izwi::pipeline {

constexpr size_t kMaxCodecPrefixFiles = 32;
// The reference audio's last samples kept with the state: the official ICL cut
// can land up to one sample before the frame boundary (SynthesisSession::finish).
constexpr size_t kCodecPrefixTail = 8;

struct CodecPrefix {
  codec::ChunkedStream state;
  std::vector<float> tail;  // the reference audio's last kCodecPrefixTail samples
};

std::string codec_prefix_path(const Codec& codec, const AudioCodes& codes);

std::optional<CodecPrefix> read_codec_prefix(const Codec& codec, const AudioCodes& codes);

// False (and nothing left behind) if it cannot be written.
bool write_codec_prefix(const Codec& codec, const AudioCodes& codes, const CodecPrefix& prefix);

}  // namespace izwi::pipeline
