#include "pipeline/chunk_joiner.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace izwi::pipeline {

ChunkJoiner::ChunkJoiner(int64_t crossfade, Sink sink)
    : crossfade_(std::max<int64_t>(crossfade, 0)), sink_(std::move(sink)) {}

float ChunkJoiner::fade_out(int64_t k, int64_t length) {
  return static_cast<float>(std::cos(std::numbers::pi / 2 * (static_cast<double>(k) + 0.5) /
                                     static_cast<double>(length)));
}

float ChunkJoiner::fade_in(int64_t k, int64_t length) {
  return static_cast<float>(std::sin(std::numbers::pi / 2 * (static_cast<double>(k) + 0.5) /
                                     static_cast<double>(length)));
}

bool ChunkJoiner::emit(const float* x, size_t n) {
  if (ok_ && n > 0) ok_ = sink_(x, n);
  return ok_;
}

bool ChunkJoiner::push(const float* samples, size_t count) {
  if (!ok_) return false;
  // This chunk's head: mixed with the previous tail, or faded in after a pause.
  scratch_.assign(held_.begin(), held_.end());
  const size_t head = scratch_.size();
  scratch_.insert(scratch_.end(), samples, samples + count);
  const auto overlap = static_cast<int64_t>(overlap_.size());
  for (size_t i = head; i < scratch_.size(); ++i) {
    if (overlap_pos_ < overlap_.size()) {
      const auto k = static_cast<int64_t>(overlap_pos_);
      scratch_[i] = scratch_[i] * fade_in(k, overlap) + overlap_[overlap_pos_++];
    } else if (fade_in_pos_ < fade_in_length_) {
      scratch_[i] *= fade_in(fade_in_pos_++, fade_in_length_);
    } else {
      break;
    }
  }
  if (overlap_pos_ == overlap_.size()) {
    overlap_.clear();
    overlap_pos_ = 0;
  }
  // Out goes all but the last crossfade's worth, which may still fade out.
  const size_t keep = std::min(scratch_.size(), static_cast<size_t>(crossfade_));
  const size_t out = scratch_.size() - keep;
  held_.assign(scratch_.begin() + static_cast<std::ptrdiff_t>(out), scratch_.end());
  return emit(scratch_.data(), out);
}

void ChunkJoiner::settle_overlap() {
  held_.insert(held_.end(), overlap_.begin() + static_cast<std::ptrdiff_t>(overlap_pos_),
               overlap_.end());
  overlap_.clear();
  overlap_pos_ = 0;
}

bool ChunkJoiner::next_chunk(int64_t pause) {
  settle_overlap();
  const auto h = static_cast<int64_t>(held_.size());
  for (int64_t k = 0; k < h; ++k) held_[k] *= fade_out(k, h);
  fade_in_pos_ = 0;
  fade_in_length_ = 0;
  if (pause > 0) {
    emit(held_.data(), held_.size());
    held_.clear();
    const std::vector<float> silence(static_cast<size_t>(pause), 0.0f);
    emit(silence.data(), silence.size());
    fade_in_length_ = crossfade_;
  } else {
    overlap_.swap(held_);
    held_.clear();
  }
  return ok_;
}

bool ChunkJoiner::finish() {
  settle_overlap();
  emit(held_.data(), held_.size());
  held_.clear();
  return ok_;
}

}  // namespace izwi::pipeline
