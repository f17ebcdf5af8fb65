// The codec decoder's state after an ICL reference, taken out of a stream and
// kept in a file beside the model (pipeline/codec_prefix_cache.h): a state put
// back continues bit for bit, states that cannot be one are refused, files that
// do not match are ignored, the directory keeps the most recently used, and a
// saved voice's next "process" (a second load of the model) reads the state
// instead of decoding the reference again, with the same audio.
#include <filesystem>
#include <fstream>

#include "izwi/izwi.h"
#include "pipeline/codec_prefix_cache.h"
#include "pipeline/loading.h"
#include "pipeline/voice_cache.h"
#include "test_util.h"
#include "tiny_model.h"

namespace izwi {
namespace {

namespace fs = std::filesystem;

std::vector<int32_t> long_codes(int64_t* frames) {
  std::vector<int64_t> shape;
  const auto v = test::load_i64("dec_long330_codes", &shape);
  *frames = shape[0];
  return std::vector<int32_t>(v.begin(), v.end());
}

// The tiny speech tokenizer copied where its cache may be written and its
// files touched, loaded; the golden 330 frames of codes.
struct TokenizerCopy {
  test::TempDir tmp;
  std::string dir = (tmp.path() / "speech_tokenizer").string();
  pipeline::Codec codec;
  int64_t frames = 0;
  std::vector<int32_t> codes = long_codes(&frames);
  TokenizerCopy() {
    fs::copy(test::golden_model() + "/speech_tokenizer", dir, fs::copy_options::recursive);
    fs::remove_all(dir + "/.izwi-cache");  // what other tests' runs kept
    codec = pipeline::load_codec(dir);
  }
  // The state after the first `ref` frames, with `tail`.
  pipeline::CodecPrefix prefix(int64_t ref,
                               std::vector<float> tail = std::vector<float>(8, 0.5f)) const {
    pipeline::CodecPrefix p{codec::ChunkedStream(*codec.decoder), std::move(tail)};
    p.state.push(&test::tiny().pool, codes.data(), ref, nullptr);
    return p;
  }
};

AudioCodes first_frames(const std::vector<int32_t>& codes, int64_t frames) {
  AudioCodes c;
  c.frames = frames;
  c.num_codebooks = 16;
  c.values.assign(codes.begin(), codes.begin() + frames * 16);
  return c;
}

// What a stream gives for the frames after the reference.
std::vector<float> continue_with(codec::ChunkedStream s, const std::vector<int32_t>& codes,
                                 int64_t from, int64_t frames) {
  std::vector<float> out;
  s.push(&test::tiny().pool, codes.data() + from * 16, frames - from, &out);
  return out;
}

TEST(CodecPrefixState, TakenOutAndPutBackItContinuesBitForBit) {
  auto& t = test::tiny();
  int64_t frames;
  const auto codes = long_codes(&frames);  // 330
  for (int64_t ref : {int64_t{7}, int64_t{300}, int64_t{310}}) {
    SCOPED_TRACE(ref);
    codec::ChunkedStream s(t.decoder);
    s.push(&t.pool, codes.data(), ref, nullptr);
    const codec::ChunkedStream back(t.decoder, s.state());
    EXPECT_EQ(back.frames(), ref);
    const auto a = continue_with(s, codes, ref, frames);
    EXPECT_EQ(continue_with(back, codes, ref, frames), a);
    EXPECT_EQ(a.size(), static_cast<size_t>((frames - ref) * 1920));
  }
}

TEST(CodecPrefixState, StatesThatCannotBeOneAreRefused) {
  auto& t = test::tiny();
  int64_t frames;
  const auto codes = long_codes(&frames);
  codec::ChunkedStream s(t.decoder);
  s.push(&t.pool, codes.data(), 40, nullptr);
  const codec::ChunkedStreamState good = s.state();
  auto refused = [&](const char* part, auto&& spoil) {
    SCOPED_TRACE(part);
    codec::ChunkedStreamState bad = good;
    spoil(bad);
    try {
      codec::ChunkedStream x(t.decoder, std::move(bad));
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  refused("pre_conv", [](auto& b) { b.stream.pre_conv.pop_back(); });
  refused("layer 1 keys", [](auto& b) { b.stream.k[1].resize(b.stream.k[1].size() + 64); });
  refused("layer 0 keys", [](auto& b) { b.stream.frames = 2; });  // 2 rows, not the window's 7
  refused("block 2 unit 1", [](auto& b) { b.stream.blocks[2].conv1[1][3] = NAN; });
  refused("final_conv", [](auto& b) { b.stream.final_conv.clear(); });
  refused("recent codes", [](auto& b) { b.recent.resize(16); });
  refused("code 2048", [](auto& b) { b.recent[5] = 2048; });
  refused("chunk started at 7", [](auto& b) { b.started_at = 7; });
  refused("keys/values of 3", [](auto& b) { b.stream.k.resize(3); });
}

TEST(CodecPrefixCache, AFileReadBackContinuesAsTheStateItKept) {
  TokenizerCopy copy;
  const pipeline::Codec& c = copy.codec;
  const auto& codes = copy.codes;
  const int64_t frames = copy.frames;
  const AudioCodes ref = first_frames(codes, 310);
  EXPECT_FALSE(pipeline::read_codec_prefix(c, ref));  // none yet

  const pipeline::CodecPrefix kept =
      copy.prefix(310, {0.25f, -0.5f, 0.125f, 0.0f, 1.0f, -1.0f, 0.75f, -0.25f});
  ASSERT_TRUE(pipeline::write_codec_prefix(c, ref, kept));
  const std::string path = pipeline::codec_prefix_path(c, ref);
  EXPECT_TRUE(fs::is_regular_file(path));
  EXPECT_EQ(fs::path(path).parent_path().parent_path().filename(), ".izwi-cache");

  auto read = pipeline::read_codec_prefix(c, ref);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->tail, kept.tail);
  EXPECT_EQ(read->state.frames(), 310);
  EXPECT_EQ(continue_with(read->state, codes, 310, frames),
            continue_with(kept.state, codes, 310, frames));

  // Another process with another loaded decoder reads it too.
  pipeline::Codec again = pipeline::load_codec(copy.dir);
  EXPECT_TRUE(pipeline::read_codec_prefix(again, ref));
}

TEST(CodecPrefixCache, FilesThatDoNotMatchAreIgnoredAndReplaced) {
  TokenizerCopy copy;
  const pipeline::Codec& c = copy.codec;
  const AudioCodes ref = first_frames(copy.codes, 20);
  const pipeline::CodecPrefix kept = copy.prefix(20);
  ASSERT_TRUE(pipeline::write_codec_prefix(c, ref, kept));
  const std::string path = pipeline::codec_prefix_path(c, ref);

  // Other codes in the same file name (a hash collision): compared in full.
  AudioCodes other = ref;
  other.values[17] = (other.values[17] + 1) % 2048;
  fs::copy_file(path, pipeline::codec_prefix_path(c, other));
  EXPECT_FALSE(pipeline::read_codec_prefix(c, other));

  // A tail of another length than the cut needs (a file not written by us).
  pipeline::CodecPrefix short_tail = copy.prefix(20, {0.5f});
  ASSERT_TRUE(pipeline::write_codec_prefix(c, ref, short_tail));
  EXPECT_FALSE(pipeline::read_codec_prefix(c, ref));
  ASSERT_TRUE(pipeline::write_codec_prefix(c, ref, kept));
  EXPECT_TRUE(pipeline::read_codec_prefix(c, ref));

  // A truncated file: ignored, and a new write replaces it.
  fs::resize_file(path, fs::file_size(path) / 2);
  EXPECT_FALSE(pipeline::read_codec_prefix(c, ref));
  ASSERT_TRUE(pipeline::write_codec_prefix(c, ref, kept));
  EXPECT_TRUE(pipeline::read_codec_prefix(c, ref));

  // The tokenizer's weights changed on disk (re-downloaded): a new load ignores it.
  const std::string weights = copy.dir + "/model.safetensors";
  fs::last_write_time(weights, fs::last_write_time(weights) + std::chrono::seconds(5));
  pipeline::Codec changed = pipeline::load_codec(copy.dir);
  EXPECT_NE(changed.source, c.source);
  EXPECT_FALSE(pipeline::read_codec_prefix(changed, ref));

  // A cache that cannot be written (here: .izwi-cache is a file) is no error.
  pipeline::Codec blocked = pipeline::load_codec(copy.dir);
  fs::remove_all(copy.dir + "/.izwi-cache");
  { std::ofstream(copy.dir + "/.izwi-cache") << "not a directory"; }
  EXPECT_FALSE(pipeline::write_codec_prefix(blocked, ref, kept));
  EXPECT_FALSE(pipeline::read_codec_prefix(blocked, ref));
}

TEST(CodecPrefixCache, KeepsTheFilesUsedMostRecently) {
  TokenizerCopy copy;
  const pipeline::Codec& c = copy.codec;
  const pipeline::CodecPrefix kept = copy.prefix(5);
  // The same state under different codes: only the file names matter here.
  auto codes_n = [&](size_t n) {
    AudioCodes a = first_frames(copy.codes, 5);
    a.values[0] = static_cast<int32_t>(n);
    return a;
  };
  const auto t0 = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (size_t n = 0; n < pipeline::kMaxCodecPrefixFiles; ++n) {
    ASSERT_TRUE(pipeline::write_codec_prefix(c, codes_n(n), kept));
    fs::last_write_time(pipeline::codec_prefix_path(c, codes_n(n)),
                        t0 + std::chrono::seconds(static_cast<int>(n)));
  }
  // A hit marks the oldest file used; two more files then push out the two
  // oldest after it.
  const std::string hit = pipeline::codec_prefix_path(c, codes_n(0));
  ASSERT_TRUE(pipeline::read_codec_prefix(c, codes_n(0)));
  for (size_t n : {size_t{100}, size_t{101}})
    ASSERT_TRUE(pipeline::write_codec_prefix(c, codes_n(n), kept));
  size_t count = 0;
  for (const auto& e : fs::directory_iterator(fs::path(hit).parent_path())) {
    (void)e;
    ++count;
  }
  EXPECT_EQ(count, pipeline::kMaxCodecPrefixFiles);
  EXPECT_TRUE(fs::exists(hit));
  EXPECT_FALSE(fs::exists(pipeline::codec_prefix_path(c, codes_n(1))));
  EXPECT_FALSE(fs::exists(pipeline::codec_prefix_path(c, codes_n(2))));
  EXPECT_TRUE(fs::exists(pipeline::codec_prefix_path(c, codes_n(3))));
  EXPECT_TRUE(fs::exists(pipeline::codec_prefix_path(c, codes_n(101))));
}

// A saved voice keeps its reference's state for the next process: a second
// load of the model (new decoder, new voice cache) reads it instead of
// decoding the reference, and speaks the same samples, streamed or not.
TEST(CodecPrefixCache, ASavedVoicesNextLoadReadsItsStateAndSpeaksTheSame) {
  test::TempDir tmp;
  const fs::path model_dir = tmp.path() / "model";
  fs::copy(test::golden_model(), model_dir, fs::copy_options::recursive);
  fs::remove_all(model_dir / ".izwi-cache");  // what other tests' runs kept
  fs::remove_all(model_dir / "speech_tokenizer" / ".izwi-cache");
  VoiceStore store((tmp.path() / "data").string());
  const Audio clip{test::load_f32("spk_in_wav"), 24000, 1};
  SynthesisOptions o;
  o.language = "english";
  o.seed = 7;
  o.max_new_tokens = 20;
  const fs::path kept = model_dir / "speech_tokenizer" / ".izwi-cache" / "codec-prefix";

  std::vector<float> streamed, whole;
  {
    auto model = TtsModel::load(model_dir.string());
    store.add("kept", *model, clip, "A reference transcript.", "test");
    const Voice v = store.load("kept", *model);
    model->prepare_voice(v);  // before any request, as `izwi voices add` does
    ASSERT_EQ(v.cache->prefixes.size(), 1u);
    EXPECT_FALSE(v.cache->prefixes[0].from_file);
    o.stream_audio = true;
    streamed = model->synthesize("Spoken after the reference.", v, o).samples;
    EXPECT_EQ(v.cache->prefixes.size(), 1u);
    // A voice cloned on the spot (not saved) leaves no file.
    const Voice unsaved = model->clone_voice(clip, "Another transcript, not saved.");
    (void)model->synthesize("Spoken after the reference.", unsaved, o);
  }
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(kept)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);

  auto model = TtsModel::load(model_dir.string());
  const Voice v = store.load("kept", *model);
  o.stream_audio = true;
  EXPECT_EQ(model->synthesize("Spoken after the reference.", v, o).samples, streamed);
  ASSERT_EQ(v.cache->prefixes.size(), 1u);
  EXPECT_TRUE(v.cache->prefixes[0].from_file);
  // Not streamed: the same state; within float rounding of the streamed audio
  // (its generated frames are decoded in other blocks).
  o.stream_audio = false;
  whole = model->synthesize("Spoken after the reference.", v, o).samples;
  EXPECT_TRUE(test::within_golden_tolerance(whole, streamed));
}

}  // namespace
}  // namespace izwi
