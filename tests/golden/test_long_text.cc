// Long texts on the tiny golden model: a text of several chunks is the chunks
// spoken alone (same voice, derived seeds), joined sample-accurately with the
// documented crossfades and pauses; streamed and whole runs agree; a stop
// ends the whole text.
#include <cmath>
#include <numbers>

#include "izwi/izwi.h"
#include "test_util.h"

namespace izwi {
namespace {

struct Tiny {
  std::unique_ptr<TtsModel> model = TtsModel::load(test::golden_model());
  Voice voice = model->clone_voice(Audio{test::load_f32("spk_in_wav"), 24000, 1});
};

Tiny& tiny() {
  static Tiny t;
  return t;
}

// Paragraphs, sentences, a clause and a sentence too long for one chunk (cut
// between words), so every kind of join occurs with chunks of 40.
const char* kText =
    "The first sentence is here. A second one follows it.\n\n"
    "A new paragraph starts, and then it goes on with a clause; another clause.\n"
    "Thisisaverylongwordthatfillsmostofachunk and then some more words after it. End.";

SynthesisOptions options() {
  SynthesisOptions o;
  o.language = "english";
  o.seed = 11;
  o.max_new_tokens = 14;  // per chunk: short takes, a fast test
  o.chunking.max_chars = 40;
  return o;
}

// The join of pipeline/chunk_joiner.h, written out from its formula.
std::vector<float> join(const std::vector<std::vector<float>>& parts,
                        const std::vector<double>& pauses, int64_t fade) {
  auto out_curve = [](int64_t k, int64_t n) {
    return static_cast<float>(std::cos(std::numbers::pi / 2 * (k + 0.5) / static_cast<double>(n)));
  };
  auto in_curve = [](int64_t k, int64_t n) {
    return static_cast<float>(std::sin(std::numbers::pi / 2 * (k + 0.5) / static_cast<double>(n)));
  };
  std::vector<float> out;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::vector<float> b = parts[i];
    if (i > 0) {
      const auto pause = std::llround(pauses[i - 1] * 24000);
      const int64_t h = std::min<int64_t>(fade, static_cast<int64_t>(parts[i - 1].size()));
      float* tail = out.data() + out.size() - h;
      for (int64_t k = 0; k < h; ++k) tail[k] *= out_curve(k, h);
      if (pause > 0) {
        out.insert(out.end(), static_cast<size_t>(pause), 0.0f);
        for (int64_t k = 0; k < std::min<int64_t>(fade, static_cast<int64_t>(b.size())); ++k)
          b[k] *= in_curve(k, fade);
      } else {
        for (int64_t k = 0; k < h; ++k) b[k] = b[k] * in_curve(k, h) + tail[k];
        out.resize(out.size() - static_cast<size_t>(h));
      }
    }
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

TEST(LongText, ChunksAreSpokenAloneAndJoinedSampleAccurately) {
  auto& t = tiny();
  const SynthesisOptions o = options();
  const std::vector<TextPiece> chunks = chunk_text(kText, "english", o.chunking);
  ASSERT_GE(chunks.size(), 5u);
  bool word_join = false, paragraph_join = false;
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    word_join = word_join || chunks[i].end == TextBreak::kWord;
    paragraph_join = paragraph_join || chunks[i].end == TextBreak::kParagraph;
  }
  EXPECT_TRUE(word_join && paragraph_join);

  // Streamed, as a player gets it.
  SynthesisOptions streamed = o;
  std::vector<float> heard;
  std::vector<int> chunk_of_frame;
  streamed.on_audio = [&](const float* x, int64_t n) {
    heard.insert(heard.end(), x, x + n);
    return true;
  };
  streamed.on_frame = [&](const FrameProgress& p) {
    EXPECT_EQ(p.frame, static_cast<int64_t>(chunk_of_frame.size()));
    EXPECT_EQ(p.chunks, static_cast<int>(chunks.size()));
    chunk_of_frame.push_back(p.chunk);
    return true;
  };
  const SynthesisResult r = t.model->synthesize(kText, t.voice, streamed);
  EXPECT_EQ(heard, r.samples);
  ASSERT_EQ(r.chunks.size(), chunks.size());
  EXPECT_EQ(r.seed, 11u);

  // Each chunk alone, with its seed: the same codes, and its stream joined by
  // the formula is the long text's audio, sample for sample.
  std::vector<std::vector<float>> parts;
  std::vector<double> pauses;
  std::vector<int32_t> codes;
  for (size_t i = 0; i < chunks.size(); ++i) {
    SynthesisOptions one = o;
    one.chunking.max_chars = 0;
    one.seed = chunk_seed(11, i);
    std::vector<float> audio;
    one.on_audio = [&](const float* x, int64_t n) {
      audio.insert(audio.end(), x, x + n);
      return true;
    };
    const SynthesisResult c = t.model->synthesize(chunks[i].text, t.voice, one);
    EXPECT_EQ(r.chunks[i].text, chunks[i].text);
    EXPECT_EQ(r.chunks[i].seed, chunk_seed(11, i));
    EXPECT_EQ(r.chunks[i].frames, c.codes.frames);
    codes.insert(codes.end(), c.codes.values.begin(), c.codes.values.end());
    parts.push_back(audio);
    pauses.push_back(o.joins.pause(chunks[i].end));
  }
  EXPECT_EQ(r.codes.values, codes);
  const std::vector<float> expected = join(parts, pauses, 240);
  ASSERT_EQ(r.samples.size(), expected.size());  // no gap, no overlap beyond the documented
  // The same float operations in the same order: equal to the last bit.
  size_t differ = 0;
  float peak = 0;
  for (size_t k = 0; k < expected.size(); ++k) {
    differ += r.samples[k] != expected[k];
    peak = std::max(peak, std::fabs(expected[k]));
  }
  EXPECT_EQ(differ, 0u);
  EXPECT_GT(peak, 1e-3f);  // (the joins act on sound, not on silence)

  // Where each chunk starts in the output, and frames counted over all chunks.
  int64_t at = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(r.chunks[i].start_sample, at) << i;
    at += static_cast<int64_t>(parts[i].size());
    const auto pause = std::llround(pauses[i] * 24000);
    at += pause > 0 ? pause : -std::min<int64_t>(240, static_cast<int64_t>(parts[i].size()));
  }
  EXPECT_EQ(static_cast<int64_t>(chunk_of_frame.size()), r.codes.frames);
  EXPECT_EQ(chunk_of_frame.front(), 0);
  EXPECT_EQ(chunk_of_frame.back(), static_cast<int>(chunks.size()) - 1);
}

TEST(LongText, WholeAndPulledRunsGiveTheStreamedAudio) {
  auto& t = tiny();
  SynthesisOptions streamed = options();
  streamed.on_audio = [](const float*, int64_t) { return true; };
  const SynthesisResult a = t.model->synthesize(kText, t.voice, streamed);
  const SynthesisResult whole = t.model->synthesize(kText, t.voice, options());
  EXPECT_EQ(whole.samples, a.samples);

  SynthesisOptions pulled = options();
  pulled.stream_audio = true;
  auto s = t.model->start(kText, t.voice, pulled);
  std::vector<float> got;
  while (s->step()) {
    const auto more = s->take_audio();
    got.insert(got.end(), more.begin(), more.end());
  }
  const auto rest = s->take_audio();
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, a.samples);
}

TEST(LongText, AStreamNeedNotKeepTheAudio) {
  auto& t = tiny();
  SynthesisOptions o = options();
  o.keep_audio = false;
  size_t heard = 0;
  o.on_audio = [&](const float*, int64_t n) {
    heard += static_cast<size_t>(n);
    return true;
  };
  const SynthesisResult r = t.model->synthesize(kText, t.voice, o);
  EXPECT_TRUE(r.samples.empty());
  EXPECT_GT(heard, static_cast<size_t>(r.codes.frames) * 1920 / 2);
}

// The memory estimate a server admits requests by: a kept clip costs at least
// its f32 samples, a stream that does not keep its audio does not pay for it,
// and a long text pays for one chunk's cache, not the whole text's.
TEST(LongText, TheMemoryEstimateCountsTheClipOnlyWhenItIsKept) {
  auto& t = tiny();
  SynthesisOptions o;
  o.max_seconds = 10;
  const size_t ten = t.model->memory_estimate("A short sentence.", t.voice, o);
  o.max_seconds = 60;
  const size_t sixty = t.model->memory_estimate("A short sentence.", t.voice, o);
  EXPECT_GE(sixty - ten, size_t{50} * 24000 * sizeof(float));

  // A ten-minute long text, whole and streamed.
  std::string text;
  for (int i = 0; i < 300; ++i) text += "This is one of many sentences in a long text. ";
  SynthesisOptions whole;
  whole.max_seconds = 600;
  whole.chunking.max_chars = 200;
  const size_t kept = t.model->memory_estimate(text, t.voice, whole);
  EXPECT_GE(kept, size_t{600} * 24000 * sizeof(float));
  SynthesisOptions streamed = whole;
  streamed.stream_audio = true;
  streamed.keep_audio = false;
  const size_t stream = t.model->memory_estimate(text, t.voice, streamed);
  ASSERT_LT(stream, kept);
  EXPECT_GE(kept - stream, size_t{600} * 24000 * sizeof(float));  // the clip it does not keep
  // The same text as one request (no chunks) needs the cache of all of it.
  SynthesisOptions one = streamed;
  one.chunking.max_chars = 0;
  EXPECT_GT(t.model->memory_estimate(text, t.voice, one), stream);

  // 8/4-bit weights keep the talker's cache in f16: the same request needs
  // less, by half the cache (here most of a whole text's estimate).
  ModelOptions q8;
  q8.weights = WeightFormat::kQ8;
  const auto quantized = TtsModel::load(test::golden_model(), q8);
  const size_t one_q8 = quantized->memory_estimate(text, t.voice, one);
  const size_t one_bf16 = t.model->memory_estimate(text, t.voice, one);
  EXPECT_LT(one_q8, one_bf16 - (one_bf16 - stream) / 4);
  EXPECT_GT(one_q8, one_bf16 / 2);

  // A clip decoded whole at the end is decoded in the codec's 12-frame pieces
  // (ChunkedStream::kMaxBlock), so it costs what the same clip kept while
  // streamed in 12-frame blocks does.
  SynthesisOptions kept_stream = o;
  kept_stream.stream_audio = true;
  kept_stream.keep_audio = true;
  kept_stream.first_block_frames = kept_stream.block_frames = 12;
  EXPECT_EQ(t.model->memory_estimate("A short sentence.", t.voice, o),
            t.model->memory_estimate("A short sentence.", t.voice, kept_stream));

  // And a real run of the 60 s case holds its clip within the estimate.
  o.max_new_tokens = 40;
  const SynthesisResult r = t.model->synthesize("A short sentence.", t.voice, o);
  EXPECT_LE(r.samples.size() * sizeof(float),
            t.model->memory_estimate("A short sentence.", t.voice, o));
}

TEST(LongText, StoppingInAChunkEndsTheText) {
  auto& t = tiny();
  SynthesisOptions o = options();
  o.on_frame = [](const FrameProgress& p) { return p.chunk < 1; };
  const SynthesisResult r = t.model->synthesize(kText, t.voice, o);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.chunks.size(), 2u);

  // max_seconds counts the whole text.
  SynthesisOptions capped = options();
  capped.max_seconds = 2.0;
  const SynthesisResult c = t.model->synthesize(kText, t.voice, capped);
  EXPECT_FALSE(c.cancelled);
  EXPECT_FALSE(c.stopped_on_eos);
  EXPECT_LE(c.codes.frames, 26);
  EXPECT_LT(c.chunks.size(), chunk_text(kText, "english", capped.chunking).size());
}

TEST(LongText, CancelFromAnotherThreadEndsTheText) {
  auto& t = tiny();
  auto s = t.model->start(kText, t.voice, options());
  while (s->step() && s->frames() < 20) {
  }
  s->cancel();
  const SynthesisResult r = s->finish();
  EXPECT_TRUE(r.cancelled);
  EXPECT_LT(r.chunks.size(), chunk_text(kText, "english", options().chunking).size());
}

TEST(LongText, ChunkSeedsAreDerivedAndStable) {
  EXPECT_EQ(chunk_seed(42, 0), 42u);
  EXPECT_NE(chunk_seed(42, 1), 42u);
  EXPECT_NE(chunk_seed(42, 1), chunk_seed(42, 2));
  EXPECT_NE(chunk_seed(42, 1), chunk_seed(43, 1));
  EXPECT_LT(chunk_seed(42, 7), uint64_t{1} << 53);
}

TEST(LongText, ShortTextsAreOneChunkAsBefore) {
  auto& t = tiny();
  SynthesisOptions o = options();
  const SynthesisResult a = t.model->synthesize("Short text.", t.voice, o);
  o.chunking.max_chars = 0;
  const SynthesisResult b = t.model->synthesize("Short text.", t.voice, o);
  EXPECT_EQ(a.samples, b.samples);
  ASSERT_EQ(a.chunks.size(), 1u);
  EXPECT_EQ(a.chunks[0].text, "Short text.");
}

}  // namespace
}  // namespace izwi
