// Joins the audio of a long text's chunks as it streams: the end of one chunk
// fades out, a pause of silence follows (or, for a cut between words, the two
// chunks overlap), and the next chunk fades in. Holds back only the last
// crossfade's worth of samples, so memory stays bounded however long the text.
//
// The join of chunk A (ending with h = min(F, |A|) held samples) and chunk B,
// with F the crossfade length and P the pause, both in samples:
//   P > 0:  A[..|A|-h]  A[tail]*out_h  P zeros  B[0..F)*in_F  B[F..]
//   P = 0:  A[..|A|-h]  A[tail]*out_h + B[0..h)*in_h  B[h..]
// where out_L[k] = cos(pi/2 (k+0.5)/L) and in_L[k] = sin(pi/2 (k+0.5)/L): an
// equal-power crossfade. The first chunk does not fade in, the last not out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace izwi::pipeline {

class ChunkJoiner {
 public:
  // `sink` gets the joined audio; returning false stops (push/next_chunk/finish
  // then return false too).
  using Sink = std::function<bool(const float* samples, size_t count)>;
  ChunkJoiner(int64_t crossfade, Sink sink);

  // The current chunk's next samples.
  bool push(const float* samples, size_t count);
  // The current chunk is over; the next follows after `pause` samples of
  // silence (0: they overlap by the crossfade).
  bool next_chunk(int64_t pause);
  // The last chunk is over: what is held goes out as it is.
  bool finish();

  static float fade_out(int64_t k, int64_t length);
  static float fade_in(int64_t k, int64_t length);

 private:
  bool emit(const float* x, size_t n);
  // A chunk shorter than the overlap leaves the rest of the faded tail: it
  // becomes part of what is held.
  void settle_overlap();

  int64_t crossfade_;
  Sink sink_;
  bool ok_ = true;
  std::vector<float> held_;     // the current chunk's last samples (at most crossfade_)
  std::vector<float> overlap_;  // the previous chunk's faded tail, to add to this one's head
  size_t overlap_pos_ = 0;
  int64_t fade_in_length_ = 0;  // this chunk's head fades in over this many samples
  int64_t fade_in_pos_ = 0;
  std::vector<float> scratch_;
};

}  // namespace izwi::pipeline
