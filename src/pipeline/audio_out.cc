#include "pipeline/audio_out.h"

#include "core/error.h"

namespace izwi::pipeline {

int64_t official_cut(int64_t ref_frames, int64_t frames, int64_t hop) {
  const int64_t total = ref_frames + frames;
  return static_cast<int64_t>(static_cast<double>(ref_frames) / static_cast<double>(total) *
                              static_cast<double>(total * hop));
}

int64_t reference_chunks_before(int64_t ref_frames) {
  constexpr int64_t kChunk = codec::ChunkedStream::kChunk;
  return ref_frames > 0 ? (ref_frames - 1) / kChunk * kChunk : 0;
}

std::vector<float> decode_output(ThreadPool* pool, const codec::CodecDecoder& decoder,
                                 const int32_t* ref_codes, int64_t ref_frames, const int32_t* codes,
                                 int64_t frames) {
  const int64_t G = decoder.config().num_quantizers;
  if (frames <= 0) return {};
  if (!ref_codes || ref_frames <= 0) return decoder.decode(pool, codes, frames);
  std::vector<int32_t> all(ref_codes, ref_codes + ref_frames * G);
  all.insert(all.end(), codes, codes + frames * G);
  // The official decode of reference + generated codes, from which the
  // reference's share is cut. Chunks that end inside the reference are only
  // pushed for their codes (ChunkedStream::push skips their decode).
  const int64_t skip = reference_chunks_before(ref_frames);
  codec::ChunkedStream stream(decoder);
  stream.push(pool, all.data(), skip, nullptr);
  std::vector<float> wav;
  stream.push(pool, all.data() + skip * G, ref_frames + frames - skip, &wav);
  const int64_t hop = static_cast<int64_t>(wav.size()) / (ref_frames + frames - skip);
  const int64_t cut = official_cut(ref_frames, frames, hop) - skip * hop;
  IZWI_ASSERT(cut >= 0);
  return std::vector<float>(wav.begin() + cut, wav.end());
}

}  // namespace izwi::pipeline
