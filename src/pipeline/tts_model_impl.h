// What a loaded TtsModel holds: configuration, shared immutable weights, the
// thread pool. Shared by tts_model.cc (loading, voices, request checks) and
// session.cc (running requests).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "core/thread_pool.h"
#include "izwi/tts.h"
#include "models/qwen3_tts/code_predictor.h"
#include "models/qwen3_tts/generator.h"
#include "models/qwen3_tts/model_config.h"
#include "models/qwen3_tts/talker.h"
#include "pipeline/codec_thread.h"
#include "pipeline/loading.h"

namespace izwi {

struct TtsModel::Impl {
  std::string dir;
  ModelConfig config;
  GenerationConfig generation;
  std::unique_ptr<ThreadPool> pool;
  // Buffers of SynthesisSession::step_all, one batch at a time.
  mutable std::mutex batch_mu;
  std::unique_ptr<tts::StepBatch> batch = std::make_unique<tts::StepBatch>();
  mutable TtsModel::BatchStats batch_stats;  // under batch_mu
  // step_batched: the sessions asking for a step and whether a batch is running.
  struct Batcher {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<SynthesisSession*> waiting;
    std::set<SynthesisSession*> active;  // stepping with step_batched, not done yet
    bool running = false;
  };
  std::unique_ptr<Batcher> batcher = std::make_unique<Batcher>();
  std::unique_ptr<TextTokenizer> tokenizer;
  std::unique_ptr<tts::Talker> talker;
  std::unique_ptr<tts::CodePredictor> code_predictor;
  std::optional<pipeline::Speaker> speaker;
  pipeline::Codec codec;
  WeightFormat weight_format = WeightFormat::kBf16;
  TtsModel::WeightBytes weight_bytes;  // of the tensors as loaded (after any quantization)
  // Decodes batched sessions' audio blocks while the frames are made (two or
  // more threads only; session.cc). Last, so it stops before anything it reads goes.
  std::unique_ptr<pipeline::CodecThread> codec_thread;
};

}  // namespace izwi
