// Synthesis sessions on the tiny golden model: audio blocks while frames are
// generated, pull-style streaming, cancel from another thread, concurrent
// sessions, and no allocation per frame on the generation path.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <latch>
#include <new>
#include <string>
#include <thread>

#include "core/thread_scratch.h"
#include "izwi/izwi.h"
#include "test_util.h"

// Counts every allocation in this test binary (operator new is replaceable).
static std::atomic<int64_t> g_allocations{0};
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace izwi {
namespace {

struct Tiny {
  std::unique_ptr<TtsModel> model = TtsModel::load(test::golden_model());
  Voice xvec = model->clone_voice(Audio{test::load_f32("spk_in_wav"), 24000, 1});
  Voice icl =
      model->clone_voice(Audio{test::load_f32("spk_in_wav"), 24000, 1}, "A reference transcript.");
};

Tiny& tiny() {
  static Tiny t;
  return t;
}

// Options of the golden model on two threads (batched steps, the codec thread)
// with `f` weights and no quantized copy written beside it.
ModelOptions two_threads(WeightFormat f) {
  ModelOptions mo;
  mo.n_threads = 2;
  mo.weights = f;
  mo.weight_cache = false;
  return mo;
}

// Steps the sessions together (SynthesisSession::step_all), each until it is done.
void step_all_until_done(std::vector<SynthesisSession*> active) {
  while (!active.empty()) {
    SynthesisSession::step_all(active);
    std::vector<SynthesisSession*> still;
    for (SynthesisSession* a : active)
      if (!a->done()) still.push_back(a);
    active = still;
  }
}

SynthesisOptions fixed(int max_new_tokens) {
  SynthesisOptions o;
  o.language = "english";
  o.seed = 7;
  o.max_new_tokens = max_new_tokens;
  return o;
}

TEST(Session, AudioBlocksComeWhileFramesAreGenerated) {
  auto& t = tiny();
  SynthesisOptions o = fixed(30);
  o.first_block_frames = 3;
  o.block_frames = 5;
  o.overlap_codec = false;  // (the default) blocks on the generating thread: exactly when due
  int64_t frames = 0;
  std::vector<int64_t> frames_at_block;
  std::vector<float> audio;
  o.on_frame = [&](const FrameProgress& f) {
    frames = f.frame + 1;
    return true;
  };
  o.on_audio = [&](const float* s, int64_t n) {
    frames_at_block.push_back(frames);
    audio.insert(audio.end(), s, s + n);
    return true;
  };
  const SynthesisResult r = t.model->synthesize("Streaming in blocks.", t.xvec, o);
  ASSERT_GE(r.codes.frames, 9);
  ASSERT_GE(frames_at_block.size(), 2u);
  EXPECT_EQ(frames_at_block[0], 3);  // the first block after three frames
  EXPECT_EQ(frames_at_block[1], 8);  // then every five
  EXPECT_EQ(audio, r.samples);
  EXPECT_EQ(static_cast<int64_t>(audio.size()), r.codes.frames * 1920);

  // The same seed without streaming: the same codes, and the official decode
  // of them agrees with the streamed audio to rounding.
  SynthesisOptions plain = fixed(30);
  const SynthesisResult p = t.model->synthesize("Streaming in blocks.", t.xvec, plain);
  EXPECT_EQ(p.codes.values, r.codes.values);
  EXPECT_TRUE(test::within_golden_tolerance(r.samples, p.samples));
}

// Blocks after the first decoded on their own thread while frames go on: the
// same audio, the first block as early, later ones handed out once decoded.
TEST(Session, OverlappedCodecGivesTheSameAudio) {
  auto& t = tiny();
  for (const Voice* v : {&t.xvec, &t.icl}) {
    std::vector<float> plain_audio, side_audio;
    std::vector<int64_t> side_blocks;
    int64_t frames = 0;
    for (const bool overlap : {false, true}) {
      SynthesisOptions o = fixed(40);
      o.first_block_frames = 2;
      o.block_frames = 3;
      o.overlap_codec = overlap;
      o.on_frame = [&](const FrameProgress& f) {
        frames = f.frame + 1;
        return true;
      };
      auto& audio = overlap ? side_audio : plain_audio;
      o.on_audio = [&](const float* s, int64_t n) {
        if (overlap) side_blocks.push_back(frames);
        audio.insert(audio.end(), s, s + n);
        return true;
      };
      const SynthesisResult r = t.model->synthesize("Overlapping the codec.", *v, o);
      ASSERT_GE(r.samples.size(), audio.size());
      // (An ICL result may start with one more sample: the official cut.)
      EXPECT_TRUE(std::equal(audio.begin(), audio.end(), r.samples.end() - audio.size()));
      ASSERT_GE(r.codes.frames, 8);
    }
    ASSERT_EQ(side_audio.size(), plain_audio.size());
    double worst = 0;
    for (size_t i = 0; i < side_audio.size(); ++i)
      worst = std::max(worst, std::fabs(double(side_audio[i]) - plain_audio[i]));
    std::printf("max difference overlapped vs not: %g\n", worst);
    EXPECT_EQ(side_audio, plain_audio);
    ASSERT_GE(side_blocks.size(), 2u);
    EXPECT_EQ(side_blocks[0], 2);
  }
}

// A non-streamed ICL result decodes its frames from the codec state after the
// voice's reference, which the voice keeps: the official decode of reference
// and frames together with the reference's share cut, and the same samples
// again from the kept state.
TEST(Session, IclAudioIsTheOfficialDecodeAfterTheReference) {
  auto& t = tiny();
  const SynthesisResult first = t.model->synthesize("From the kept state.", t.icl, fixed(30));
  const SynthesisResult again = t.model->synthesize("From the kept state.", t.icl, fixed(30));
  EXPECT_EQ(first.samples, again.samples);

  const AudioCodes& ref = t.icl.reference_codes;
  AudioCodes all = ref;
  all.frames += first.codes.frames;
  all.values.insert(all.values.end(), first.codes.values.begin(), first.codes.values.end());
  const std::vector<float> whole = SpeechTokenizer::load(test::golden_model())->decode(all);
  const auto cut =
      static_cast<size_t>(static_cast<double>(ref.frames) / static_cast<double>(all.frames) *
                          static_cast<double>(whole.size()));
  ASSERT_EQ(first.samples.size(), whole.size() - cut);
  EXPECT_TRUE(test::within_golden_tolerance(
      first.samples,
      std::vector<float>(whole.begin() + static_cast<std::ptrdiff_t>(cut), whole.end())));
}

TEST(Session, PullStyleStepsAndTakeAudio) {
  auto& t = tiny();
  SynthesisOptions o = fixed(20);
  o.stream_audio = true;
  o.first_block_frames = 2;
  o.block_frames = 4;
  auto session = t.model->start("Pull the audio out.", t.icl, o);
  EXPECT_FALSE(session->done());
  EXPECT_EQ(session->frames(), 0);
  std::vector<float> pulled;
  int steps = 0;
  while (session->step()) {
    ++steps;
    auto block = session->take_audio();
    EXPECT_EQ(block.size() % 1920, 0u);
    pulled.insert(pulled.end(), block.begin(), block.end());
  }
  auto rest = session->take_audio();
  pulled.insert(pulled.end(), rest.begin(), rest.end());
  EXPECT_TRUE(session->done());
  EXPECT_FALSE(session->step());
  const SynthesisResult r = session->finish();
  EXPECT_EQ(steps, 1 + r.codes.frames);  // the prefill, one per frame; the last token ends it
  ASSERT_LE(r.samples.size() - pulled.size(), 1u);  // ICL: see the official cut
  EXPECT_TRUE(std::equal(pulled.begin(), pulled.end(),
                         r.samples.end() - static_cast<std::ptrdiff_t>(pulled.size())));
  EXPECT_DOUBLE_EQ(session->audio_seconds(), r.codes.frames / 12.5);
}

TEST(Session, CancelFromAnotherThreadStopsAtTheNextFrame) {
  auto& t = tiny();
  SynthesisOptions o = fixed(200);
  o.greedy = false;
  o.stream_audio = true;
  auto session = t.model->start("Cancel me soon, please.", t.xvec, o);
  std::atomic<int64_t> seen{0};
  std::thread runner([&] {
    while (session->step()) seen = session->frames();
  });
  while (seen.load() < 5) std::this_thread::yield();
  session->cancel();
  runner.join();
  const SynthesisResult r = session->finish();
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.stopped_on_eos);
  EXPECT_GE(r.codes.frames, 5);
  EXPECT_LT(r.codes.frames, 199);
  // Audio decoded before the cancel is kept, and only whole frames of it.
  EXPECT_EQ(r.samples.size() % 1920, 0u);

  // Cancelled before it started: nothing runs.
  auto idle = t.model->start("Never spoken.", t.xvec, o);
  idle->cancel();
  EXPECT_FALSE(idle->step());
  EXPECT_EQ(idle->finish().codes.frames, 0);
}

TEST(Session, ConcurrentStreamingSessionsAgreeWithSequentialOnes) {
  auto& t = tiny();
  SynthesisOptions o = fixed(16);
  o.stream_audio = true;
  const char* texts[2] = {"First concurrent voice.", "Second one, a bit longer."};
  const Voice* voices[2] = {&t.xvec, &t.icl};
  std::vector<float> sequential[2], parallel[2];
  for (int i = 0; i < 2; ++i) sequential[i] = t.model->synthesize(texts[i], *voices[i], o).samples;
  std::thread a([&] { parallel[0] = t.model->synthesize(texts[0], *voices[0], o).samples; });
  std::thread b([&] { parallel[1] = t.model->synthesize(texts[1], *voices[1], o).samples; });
  a.join();
  b.join();
  EXPECT_EQ(parallel[0], sequential[0]);
  EXPECT_EQ(parallel[1], sequential[1]);
}

// step_all: sessions stepped together (joining at different steps, leaving
// when done, x-vector and ICL voices, sampled) give each the codes and audio it
// gets alone. Exactly with Q8 / Q4 weights (every row is summed the same way
// whatever the batch); with the exact weights the one-row and multi-row
// kernels round differently, so only the prompts' first frames are compared.
TEST(Session, SessionsSteppedTogetherGiveWhatTheyGiveAlone) {
  for (WeightFormat f : {WeightFormat::kQ8, WeightFormat::kQ4, WeightFormat::kBf16}) {
    SCOPED_TRACE(weight_format_name(f));
    auto model = TtsModel::load(test::golden_model(), two_threads(f));
    const Audio ref{test::load_f32("spk_in_wav"), 24000, 1};
    const Voice xvec = model->clone_voice(ref), icl = model->clone_voice(ref, "A transcript.");
    const char* texts[3] = {"The first of three.", "Second, a little longer than that.", "Third."};
    const Voice* voices[3] = {&xvec, &icl, &xvec};
    SynthesisOptions o[3];
    for (int i = 0; i < 3; ++i) {
      o[i] = fixed(10 + 4 * i);
      o[i].seed = 11 + i;
      o[i].stream_audio = i != 2;  // streamed and whole-clip sessions side by side
    }
    SynthesisResult alone[3], together[3];
    for (int i = 0; i < 3; ++i) alone[i] = model->synthesize(texts[i], *voices[i], o[i]);

    std::unique_ptr<SynthesisSession> s[3];
    std::vector<SynthesisSession*> active;
    for (int step = 0; step < 200; ++step) {
      if (step == 0 || step == 3 || step == 5) {  // joins: its first step is its prompt
        const int i = step == 0 ? 0 : step == 3 ? 1 : 2;
        s[i] = model->start(texts[i], *voices[i], o[i]);
        active.push_back(s[i].get());
      }
      SynthesisSession::step_all(active);
      std::vector<SynthesisSession*> still;
      for (SynthesisSession* a : active)
        if (!a->done()) still.push_back(a);
      active = still;
      if (active.empty() && step > 5) break;
    }
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(s[i]->done());
      together[i] = s[i]->finish();
      ASSERT_GT(together[i].codes.frames, 1);
      if (f == WeightFormat::kBf16) {
        EXPECT_TRUE(std::equal(together[i].codes.values.begin(),
                               together[i].codes.values.begin() + 16,
                               alone[i].codes.values.begin()))
            << i;
        continue;
      }
      EXPECT_EQ(together[i].codes.values, alone[i].codes.values) << i;
      EXPECT_EQ(together[i].samples, alone[i].samples) << i;
    }
  }
}

// Sessions started together stream audio blocks due at the same steps: the
// first blocks step_all decodes itself, the later ones go to the model's codec
// thread (decoded there while the frames are made, or taken back by the
// stepping thread when it falls behind, and at the end). Each gets the audio
// it gets alone, with the f32 and the bf16 codec.
TEST(Session, AudioBlocksDecodedSideBySideGiveWhatTheyGiveAlone) {
  for (CodecPrecision codec : {CodecPrecision::kF32, CodecPrecision::kBf16}) {
    SCOPED_TRACE(codec_precision_name(codec));
    ModelOptions mo = two_threads(WeightFormat::kQ8);
    mo.codec = codec;
    auto model = TtsModel::load(test::golden_model(), mo);
    const Audio ref{test::load_f32("spk_in_wav"), 24000, 1};
    const Voice xvec = model->clone_voice(ref), icl = model->clone_voice(ref, "A transcript.");
    const Voice* voices[3] = {&xvec, &icl, &xvec};
    SynthesisOptions o[3];
    SynthesisResult alone[3], together[3];
    std::unique_ptr<SynthesisSession> s[3];
    std::vector<SynthesisSession*> active;
    for (int i = 0; i < 3; ++i) {
      o[i] = fixed(12 + 5 * i);  // ends at different steps: the last blocks differ
      o[i].seed = 31 + i;
      o[i].stream_audio = true;
      o[i].first_block_frames = 2;
      o[i].block_frames = 4;
      alone[i] = model->synthesize("Spoken side by side.", *voices[i], o[i]);
      s[i] = model->start("Spoken side by side.", *voices[i], o[i]);
      active.push_back(s[i].get());
    }
    step_all_until_done(active);
    for (int i = 0; i < 3; ++i) {
      together[i] = s[i]->finish();
      ASSERT_GT(together[i].codes.frames, 4) << i;
      EXPECT_EQ(together[i].codes.values, alone[i].codes.values) << i;
      EXPECT_EQ(together[i].samples, alone[i].samples) << i;
    }
    EXPECT_GT(model->batch_stats().codec_thread_blocks, 3);
  }
}

// ModelOptions::codec_thread: auto gives 8/4-bit models a codec thread and bf16
// ones none (measured: bf16 streams were slower with it); on and off override
// that. Two streams stepped together hear the same audio either way.
TEST(Session, CodecThreadUseDecidesWhereLaterBlocksAreDecoded) {
  struct Case {
    WeightFormat weights;
    CodecThreadUse use;
    bool handed_over;
  };
  std::vector<float> heard[2][2];  // q8 with the thread off / on, per stream
  for (const Case& c : {Case{WeightFormat::kQ8, CodecThreadUse::kAuto, true},
                        Case{WeightFormat::kQ8, CodecThreadUse::kOff, false},
                        Case{WeightFormat::kQ8, CodecThreadUse::kOn, true},
                        Case{WeightFormat::kBf16, CodecThreadUse::kAuto, false},
                        Case{WeightFormat::kBf16, CodecThreadUse::kOn, true}}) {
    SCOPED_TRACE(std::string(weight_format_name(c.weights)) + " " + codec_thread_use_name(c.use));
    ModelOptions mo = two_threads(c.weights);
    mo.codec_thread = c.use;
    auto model = TtsModel::load(test::golden_model(), mo);
    const Voice voice = model->clone_voice({test::load_f32("spk_in_wav"), 24000, 1});
    std::unique_ptr<SynthesisSession> s[2];
    std::vector<SynthesisSession*> active;
    for (int i = 0; i < 2; ++i) {
      SynthesisOptions o = fixed(12 + 4 * i);
      o.seed = 5 + i;
      o.stream_audio = true;
      o.first_block_frames = 2;
      o.block_frames = 3;
      s[i] = model->start("Two at once.", voice, o);
      active.push_back(s[i].get());
    }
    step_all_until_done(active);
    EXPECT_EQ(model->batch_stats().codec_thread_blocks > 0, c.handed_over);
    if (c.weights == WeightFormat::kQ8 && c.use != CodecThreadUse::kAuto)
      for (int i = 0; i < 2; ++i) heard[c.use == CodecThreadUse::kOn][i] = s[i]->finish().samples;
  }
  for (int i = 0; i < 2; ++i) {
    ASSERT_GT(heard[0][i].size(), 10u * 1920u) << i;
    EXPECT_EQ(heard[0][i], heard[1][i]) << i;
  }
}

TEST(Session, CodecThreadUseNamesParse) {
  for (CodecThreadUse u : {CodecThreadUse::kAuto, CodecThreadUse::kOn, CodecThreadUse::kOff})
    EXPECT_EQ(parse_codec_thread_use(codec_thread_use_name(u)), u);
  try {
    parse_codec_thread_use("sometimes");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("auto, on or off"), std::string::npos) << e.what();
  }
}

// Sessions that end early while their blocks wait on the codec thread: one
// stops from its audio callback, one is cancelled, one is destroyed between
// steps. Each stops where it should, and the one left gets what it gets alone.
TEST(Session, SessionsEndingWithBlocksOnTheCodecThreadLeaveTheOthersAlone) {
  auto model = TtsModel::load(test::golden_model(), two_threads(WeightFormat::kQ8));
  const Voice voice = model->clone_voice(Audio{test::load_f32("spk_in_wav"), 24000, 1});
  constexpr int kSessions = 4;
  SynthesisOptions o[kSessions];
  SynthesisResult alone[kSessions];
  for (int i = 0; i < kSessions; ++i) {
    o[i] = fixed(30);
    o[i].seed = 60 + i;
    o[i].stream_audio = true;
    o[i].first_block_frames = 1;
    o[i].block_frames = 4;
    alone[i] = model->synthesize("Ending early on purpose.", voice, o[i]);
  }
  std::vector<float> heard;  // session 0's audio, until its callback says stop
  int calls = 0;
  SynthesisOptions stopping = o[0];
  stopping.on_audio = [&](const float* x, int64_t n) {
    heard.insert(heard.end(), x, x + n);
    return ++calls < 4;
  };
  std::unique_ptr<SynthesisSession> s[kSessions];
  std::vector<SynthesisSession*> active;
  for (int i = 0; i < kSessions; ++i) {
    s[i] = model->start("Ending early on purpose.", voice, i == 0 ? stopping : o[i]);
    active.push_back(s[i].get());
  }
  for (int step = 0; !active.empty(); ++step) {
    ASSERT_LT(step, 100);
    if (step == 10) s[1]->cancel();
    if (step == 12) {
      active.erase(std::find(active.begin(), active.end(), s[2].get()));
      s[2].reset();  // mid-run: its blocks may be waiting or decoding
    }
    SynthesisSession::step_all(active);
    std::vector<SynthesisSession*> still;
    for (SynthesisSession* a : active)
      if (!a->done()) still.push_back(a);
    active = still;
  }
  EXPECT_EQ(calls, 4);
  ASSERT_FALSE(heard.empty());
  ASSERT_LT(heard.size(), alone[0].samples.size());
  EXPECT_TRUE(std::equal(heard.begin(), heard.end(), alone[0].samples.begin()));
  EXPECT_TRUE(s[0]->finish().cancelled);
  const SynthesisResult cancelled = s[1]->finish();
  EXPECT_TRUE(cancelled.cancelled);
  EXPECT_LT(cancelled.codes.frames, alone[1].codes.frames);
  const SynthesisResult last = s[3]->finish();
  EXPECT_EQ(last.codes.values, alone[3].codes.values);
  EXPECT_EQ(last.samples, alone[3].samples);
  EXPECT_GT(model->batch_stats().codec_thread_blocks, 0);
}

// step_batched: one thread per session, as a server runs them; whichever
// thread leads a batch steps the others' sessions too. Each gets what it gets
// alone, and sessions that start later join the running ones.
TEST(Session, SessionsOnTheirOwnThreadsAreBatchedAndGetWhatTheyGetAlone) {
  auto model = TtsModel::load(test::golden_model(), two_threads(WeightFormat::kQ8));
  const Voice voice = model->clone_voice(Audio{test::load_f32("spk_in_wav"), 24000, 1});
  constexpr int kSessions = 4;
  SynthesisOptions o[kSessions];
  std::string texts[kSessions];
  SynthesisResult alone[kSessions], batched[kSessions];
  for (int i = 0; i < kSessions; ++i) {
    // Long enough that a thread kept off a core for a few ms (two cores, a
    // spinning pool worker) still finds the other session running.
    o[i] = fixed(40 + 3 * i);
    o[i].seed = 100 + i;
    o[i].stream_audio = i % 2 == 0;
    texts[i] = "Session number " + std::to_string(i) + " speaks.";
    alone[i] = model->synthesize(texts[i], voice, o[i]);
  }
  std::atomic<int> frames_seen{0};
  std::vector<std::thread> threads;
  // The first two start stepping together (on two cores, one thread could
  // otherwise finish a short session before the other has built its prompt).
  std::latch first_two(2);
  for (int i = 0; i < kSessions; ++i)
    threads.emplace_back([&, i] {
      if (i >= 2) std::this_thread::sleep_for(std::chrono::milliseconds(20 * i));  // join later
      SynthesisOptions oi = o[i];
      oi.on_frame = [&](const FrameProgress&) {
        ++frames_seen;
        return true;
      };
      auto s = model->start(texts[i], voice, oi);
      if (i < 2) first_two.arrive_and_wait();
      while (s->step_batched()) {
      }
      batched[i] = s->finish();
    });
  for (auto& t : threads) t.join();
  int64_t frames = 0;
  for (int i = 0; i < kSessions; ++i) {
    EXPECT_EQ(batched[i].codes.values, alone[i].codes.values) << i;
    EXPECT_EQ(batched[i].samples, alone[i].samples) << i;
    frames += batched[i].codes.frames;
  }
  EXPECT_EQ(frames_seen.load(), frames);
  // The threads' steps were made together (the stats count only step_all's).
  const TtsModel::BatchStats stats = model->batch_stats();
  EXPECT_EQ(stats.frames, frames);
  EXPECT_GE(stats.largest, 2);
  EXPECT_LT(stats.steps, frames);
}

TEST(Session, NoAllocationPerFrameOnTheGenerationPath) {
  auto& t = tiny();
  for (const Voice* v : {&t.xvec, &t.icl}) {
    SynthesisOptions o = fixed(40);
    o.greedy = false;
    std::vector<int64_t> count_at(64, -1);
    o.on_frame = [&](const FrameProgress& f) {
      if (f.frame < 64) count_at[f.frame] = g_allocations.load();
      return true;
    };
    // A first run, not counted: a pool thread's scratch grows the first time
    // it takes part in each kind of loop, and which loops a worker joins
    // depends on timing (the caller runs the ranges no worker has taken yet).
    t.model->synthesize("Count the allocations, frame by frame.", *v, o);
    const SynthesisResult r = t.model->synthesize("Count the allocations, frame by frame.", *v, o);
    ASSERT_GE(r.codes.frames, 36);
    // From the third frame on (buffers have grown to their size), none: at
    // most a worker's first part in a kind of loop it had always been too late
    // for (seen once in 30 runs beside a busy process), never one per frame,
    // which over these 33+ frames would be dozens.
    EXPECT_LE(count_at[r.codes.frames - 1] - count_at[2], 2)
        << "allocations between frame 2 and frame " << r.codes.frames - 1;
  }
}

// The kernels' buffers a request grew on the caller's thread are given back
// when its session ends, and when a voice is cloned: a server runs requests on
// whichever of its connection threads took them, and each would otherwise
// keep the largest buffers any request made it grow (0.6B: 16 requests took a
// server from 1.18 to 1.89 GB; 1.23 GB with this).
TEST(Session, TheCallersKernelBuffersAreGivenBackWhenItEnds) {
  auto& t = tiny();
  std::thread([&] {
    auto session = t.model->start("Give the buffers back.", t.icl, fixed(8));
    while (session->step()) {
    }
    EXPECT_GT(thread_scratch_bytes(), 0u) << "the session's kernels ran on this thread";
    session.reset();
    EXPECT_EQ(thread_scratch_bytes(), 0u);
    const Audio ref{test::load_f32("spk_in_wav"), 24000, 1};
    (void)t.model->clone_voice(ref, "A transcript.");
    EXPECT_EQ(thread_scratch_bytes(), 0u);
  }).join();
}

TEST(Session, BadBlockSizesAreRejected) {
  auto& t = tiny();
  SynthesisOptions o = fixed(5);
  o.block_frames = 0;
  EXPECT_THROW(t.model->start("hi", t.xvec, o), Error);
}

}  // namespace
}  // namespace izwi
