#include "pipeline/codec_stream.h"

#include <algorithm>

namespace izwi::pipeline {

CodecStreamer::CodecStreamer(const codec::CodecDecoder& decoder)
    : decoder_(&decoder), stream_(decoder.new_stream()) {}

void CodecStreamer::push(ThreadPool* pool, const int32_t* codes, int64_t frames,
                         std::vector<float>* out) {
  const int64_t G = decoder_->config().num_quantizers;
  while (frames > 0) {
    if (total_ > 0 && total_ % kChunk == 0 && stream_.frames > 0) {
      // A new official chunk: fresh state, warmed with the context frames.
      stream_ = decoder_->new_stream();
      scratch_.clear();
      decoder_->decode_stream(pool, recent_.data(), static_cast<int64_t>(recent_.size()) / G,
                              stream_, scratch_);
    }
    const int64_t n = std::min(frames, kChunk - total_ % kChunk);
    if (out) {
      decoder_->decode_stream(pool, codes, n, stream_, *out);
    } else {
      scratch_.clear();
      decoder_->decode_stream(pool, codes, n, stream_, scratch_);
    }
    recent_.insert(recent_.end(), codes, codes + n * G);
    const int64_t keep = std::min<int64_t>(kLeftContext, static_cast<int64_t>(recent_.size()) / G);
    recent_.erase(recent_.begin(), recent_.end() - keep * G);
    total_ += n;
    codes += n * G;
    frames -= n;
  }
}

}  // namespace izwi::pipeline
