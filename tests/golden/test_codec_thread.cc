// The codec thread of batched steps (pipeline/codec_thread.h) on the tiny
// golden decoder: several streams' blocks, queued together and decoded there
// or taken back by the caller, give each stream what decoding its blocks in
// order on one thread gives; a cancelled owner's waiting blocks are dropped
// while the others still run.
#include <algorithm>
#include <memory>
#include <vector>

#include "pipeline/codec_thread.h"
#include "pipeline/loading.h"
#include "test_util.h"

namespace izwi {
namespace {

using Job = pipeline::CodecThread::Job;

struct Golden {
  pipeline::Codec codec = pipeline::load_codec(test::golden_model() + "/speech_tokenizer");
  int64_t frames = 0;
  std::vector<int32_t> codes;
  Golden() {
    std::vector<int64_t> shape;
    const auto v = test::load_i64("dec_long330_codes", &shape);
    frames = std::min<int64_t>(shape[0], 40);
    codes.assign(v.begin(), v.begin() + frames * 16);
  }
};

Golden& golden() {
  static Golden g;
  return g;
}

// Stream i's blocks: sizes that differ between streams, so that their jobs
// interleave in the queue at different frames.
std::vector<int64_t> blocks_of(int stream, int64_t frames) {
  std::vector<int64_t> sizes;
  for (int64_t f = 0, n = 1 + stream; f < frames; f += n, n = std::min<int64_t>(2 * n, 12))
    sizes.push_back(std::min(n, frames - f));
  return sizes;
}

std::shared_ptr<Job> job_for(const void* owner, codec::ChunkedStream& stream, int64_t from,
                             int64_t frames) {
  auto job = std::make_shared<Job>();
  job->owner = owner;
  job->stream = &stream;
  const auto& g = golden();
  job->codes.assign(g.codes.begin() + from * 16, g.codes.begin() + (from + frames) * 16);
  job->frames = frames;
  return job;
}

TEST(CodecThread, StreamsBlocksQueuedTogetherDecodeAsEachStreamAloneDoes) {
  const Golden& g = golden();
  const codec::CodecDecoder& decoder = *g.codec.decoder;
  constexpr int kStreams = 3;
  // Alone: each stream's blocks pushed in order on this thread.
  std::vector<float> alone[kStreams];
  for (int i = 0; i < kStreams; ++i) {
    codec::ChunkedStream s(decoder);
    int64_t f = 0;
    for (int64_t n : blocks_of(i, g.frames)) {
      s.push(nullptr, g.codes.data() + f * 16, n, &alone[i]);
      f += n;
    }
  }
  // Together, as step_frames hands them out: one block of each stream per
  // round, the caller taking some back (take_behind) and finishing each
  // stream's blocks in order.
  for (int64_t behind : {int64_t{0}, int64_t{6}, int64_t{1000}}) {
    SCOPED_TRACE(behind);
    pipeline::CodecThread thread;
    std::vector<std::unique_ptr<codec::ChunkedStream>> streams;
    std::vector<std::vector<std::shared_ptr<Job>>> jobs(kStreams);
    std::vector<size_t> next(kStreams, 0);
    std::vector<int64_t> at(kStreams, 0);
    for (int i = 0; i < kStreams; ++i)
      streams.push_back(std::make_unique<codec::ChunkedStream>(decoder));
    for (bool more = true; more;) {
      more = false;
      for (int i = 0; i < kStreams; ++i) {
        const std::vector<int64_t> sizes = blocks_of(i, g.frames);
        if (next[i] == sizes.size()) continue;
        more = true;
        const int64_t n = sizes[next[i]++];
        jobs[i].push_back(job_for(&streams[i], *streams[i], at[i], n));
        at[i] += n;
        thread.submit(jobs[i].back());
      }
      thread.take_behind(behind);
    }
    for (int i = 0; i < kStreams; ++i) {
      std::vector<float> together;
      for (const auto& job : jobs[i]) {
        thread.finish(*job);
        EXPECT_TRUE(thread.done(*job));
        ASSERT_FALSE(job->error);
        together.insert(together.end(), job->audio.begin(), job->audio.end());
      }
      EXPECT_EQ(together, alone[i]) << i;
    }
    EXPECT_FALSE(thread.busy());
  }
}

TEST(CodecThread, ACancelledOwnersWaitingBlocksAreDroppedAndOthersStillRun) {
  const Golden& g = golden();
  pipeline::CodecThread thread;
  codec::ChunkedStream a(*g.codec.decoder), b(*g.codec.decoder);
  std::vector<std::shared_ptr<Job>> of_a;
  for (int64_t f = 0; f + 4 <= g.frames; f += 4) {
    of_a.push_back(job_for(&a, a, f, 4));
    thread.submit(of_a.back());
  }
  thread.cancel(&a);
  // Whatever had started is done; the rest never ran.
  size_t done = 0;
  for (const auto& job : of_a) {
    if (job->state == Job::State::kDone)
      ++done;
    else
      EXPECT_TRUE(job->audio.empty());
  }
  EXPECT_LT(done, of_a.size());
  const auto of_b = job_for(&b, b, 0, 8);
  thread.submit(of_b);
  thread.finish(*of_b);
  EXPECT_FALSE(of_b->error);
  EXPECT_FALSE(of_b->audio.empty());
  EXPECT_FALSE(thread.busy());
}

}  // namespace
}  // namespace izwi
