#include "models/qwen3_tts/talker.h"

#include "core/error.h"

namespace izwi::tts {

Talker::Talker(const ModelConfig& config, WeightSource& w, DType kv_cache)
    : cfg_(config.talker), stack_(config.talker.stack, w, "talker.model", kv_cache) {
  const int H = cfg_.stack.hidden_size, TH = cfg_.text_hidden_size;
  codec_embedding_ = w.get("talker.model.codec_embedding.weight", {cfg_.vocab_size, H});
  text_embedding_ = w.get("talker.model.text_embedding.weight", {cfg_.text_vocab_size, TH});
  text_fc1_.load(w, "talker.text_projection.linear_fc1", TH, TH, true);
  text_fc2_.load(w, "talker.text_projection.linear_fc2", TH, H, true);
  codec_head_.load(w, "talker.codec_head", H, cfg_.vocab_size, false);
}

void Talker::embed_text(ThreadPool* pool, const int32_t* ids, int64_t n, float* out) const {
  const int64_t TH = cfg_.text_hidden_size;
  std::vector<float> e(static_cast<size_t>(n * TH)), mid(static_cast<size_t>(n * TH));
  for (int64_t i = 0; i < n; ++i) embedding_row(text_embedding_, ids[i], e.data() + i * TH);
  text_fc1_.apply(pool, e.data(), n, mid.data());
  ops::silu(mid.data(), n * TH);
  text_fc2_.apply(pool, mid.data(), n, out);
}

}  // namespace izwi::tts
