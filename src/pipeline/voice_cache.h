// Voice::cache: state derived from a voice once and shared by its requests.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "izwi/tts.h"
#include "models/qwen3_tts/codec_decoder.h"

namespace izwi {

struct VoiceCache {
  // The codec decoder's streaming state after a cloned voice's reference codes
  // (ICL): every streamed request would otherwise decode the reference first.
  // Keyed by decoder and codes, so a copy of the voice with other codes, or a
  // voice used with another model, never gets a stale state.
  struct CodecPrefix {
    const codec::CodecDecoder* decoder = nullptr;
    std::vector<int32_t> codes;
    std::shared_ptr<const codec::ChunkedStream> state;
    std::vector<float> tail;  // the reference audio's last samples (see SynthesisSession::finish)
    bool from_file = false;   // read from pipeline/codec_prefix_cache.h's file, not decoded
  };
  std::mutex mu;
  std::vector<CodecPrefix> prefixes;
  // A saved voice's (VoiceStore::load): its states are also kept in files
  // beside the model for later processes (pipeline/codec_prefix_cache.h).
  // Others are not: every uploaded clip would leave a file.
  bool keep_on_disk = false;
};

}  // namespace izwi
