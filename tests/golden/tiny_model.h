// The tiny golden model's parts, loaded once per test binary.
#pragma once

#include "core/thread_pool.h"
#include "models/qwen3_tts/code_predictor.h"
#include "models/qwen3_tts/codec_decoder.h"
#include "models/qwen3_tts/talker.h"
#include "test_util.h"

namespace izwi::test {

struct TinyModel {
  ModelConfig config = ModelConfig::load(golden_model() + "/config.json");
  CheckpointWeights weights{Checkpoint::open(golden_model())};
  tts::Talker talker{config, weights};
  tts::CodePredictor cp{config.code_predictor, config.talker.stack.hidden_size, weights};
  SpeechTokenizerConfig codec_config =
      SpeechTokenizerConfig::load(golden_model() + "/speech_tokenizer/config.json");
  CheckpointWeights codec_weights{Checkpoint::open(golden_model() + "/speech_tokenizer")};
  codec::CodecDecoder decoder{codec_config.decoder, codec_weights};
  ThreadPool pool{2};
};

inline TinyModel& tiny() {
  static TinyModel m;
  return m;
}

}  // namespace izwi::test
