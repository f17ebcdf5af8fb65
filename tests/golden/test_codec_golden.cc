// The speech tokenizer against the official implementation's golden vectors
// (tests/data/golden, see its README): decoder stage by stage and the chunked
// 330-frame decode; encoder intermediates and exact codes.
#include <cmath>
#include <map>

#include "core/thread_pool.h"
#include "izwi/speech_tokenizer.h"
#include "kernels/ops.h"
#include "models/qwen3_tts/codec_decoder.h"
#include "models/qwen3_tts/codec_encoder.h"
#include "pipeline/audio_out.h"
#include "test_util.h"

namespace izwi {
namespace {

using test::load_f32;
using test::load_i64;
using test::within_golden_tolerance;

struct Stage {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

class CodecGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = test::golden_model() + "/speech_tokenizer";
    config_ = new SpeechTokenizerConfig(SpeechTokenizerConfig::load(dir + "/config.json"));
    CheckpointWeights w(Checkpoint::open(dir));
    decoder_ = new codec::CodecDecoder(config_->decoder, w);
    encoder_ = new codec::CodecEncoder(config_->encoder, config_->encode_downsample_rate,
                                       config_->encoder.num_quantizers, w);
    pool_ = new ThreadPool(2);
  }
  static void TearDownTestSuite() {
    delete decoder_;
    delete encoder_;
    delete config_;
    delete pool_;
  }

  static std::vector<int32_t> codes_of(const std::string& name, int64_t* frames) {
    std::vector<int64_t> shape;
    auto v = load_i64(name, &shape);
    *frames = shape[0];
    return std::vector<int32_t>(v.begin(), v.end());
  }

  static codec::Trace recorder(std::map<std::string, Stage>& out) {
    return [&out](const std::string& stage, const std::vector<int64_t>& shape, const float* data) {
      int64_t n = 1;
      for (auto d : shape) n *= d;
      out[stage] = Stage{shape, std::vector<float>(data, data + n)};
    };
  }

  static inline SpeechTokenizerConfig* config_ = nullptr;
  static inline codec::CodecDecoder* decoder_ = nullptr;
  static inline codec::CodecEncoder* encoder_ = nullptr;
  static inline ThreadPool* pool_ = nullptr;
};

TEST_F(CodecGolden, DecoderMatchesEveryStage) {
  int64_t frames;
  auto codes = codes_of("dec_ref_codes", &frames);
  std::map<std::string, Stage> stages;
  auto wav = decoder_->forward(pool_, codes.data(), frames, recorder(stages));
  for (const char* name : {"quantizer_out", "pre_conv_out", "pre_transformer_out", "upsample0_out",
                           "upsample1_out", "decoder0_out", "decoder1_out", "decoder2_out",
                           "decoder3_out", "decoder4_out", "decoder5_out", "decoder6_out"}) {
    SCOPED_TRACE(name);
    std::vector<int64_t> shape;
    auto ref = load_f32(std::string("dec_ref_") + name, &shape);
    ASSERT_TRUE(stages.count(name));
    EXPECT_EQ(stages[name].shape, shape);
    EXPECT_TRUE(within_golden_tolerance(stages[name].data, ref));
  }
  EXPECT_TRUE(within_golden_tolerance(wav, load_f32("dec_ref_wav")));
}

TEST_F(CodecGolden, ChunkedDecodeOf330FramesMatches) {
  int64_t frames;
  auto codes = codes_of("dec_long330_codes", &frames);
  ASSERT_EQ(frames, 330);
  auto wav = decoder_->decode(pool_, codes.data(), frames);
  EXPECT_EQ(wav.size(), 330u * 1920u);
  EXPECT_TRUE(within_golden_tolerance(wav, load_f32("dec_long330_wav")));
}

// Decodes `codes` in blocks of `block` frames through one DecoderStream.
std::vector<float> stream_in_blocks(const codec::CodecDecoder& dec, ThreadPool* pool,
                                    const std::vector<int32_t>& codes, int64_t frames,
                                    int64_t block) {
  codec::DecoderStream st = dec.new_stream();
  std::vector<float> wav;
  for (int64_t f = 0; f < frames; f += block) {
    const size_t before = wav.size();
    const int64_t n = std::min(block, frames - f);
    dec.decode_stream(pool, codes.data() + f * 16, n, st, wav);
    EXPECT_EQ(wav.size() - before, static_cast<size_t>(n * 1920));  // no lag: a block's audio
  }
  return wav;
}

TEST_F(CodecGolden, StreamedBlocksOfAnySizeEqualOneDecode) {
  int64_t frames;
  auto codes = codes_of("dec_ref_codes", &frames);
  const auto whole = decoder_->forward(pool_, codes.data(), frames);
  const auto golden = load_f32("dec_ref_wav");
  for (int64_t block : {1, 2, 3, 7, 25, 300}) {
    SCOPED_TRACE("block " + std::to_string(block));
    const auto wav = stream_in_blocks(*decoder_, pool_, codes, frames, block);
    EXPECT_TRUE(within_golden_tolerance(wav, golden));
    EXPECT_TRUE(within_golden_tolerance(wav, whole));
  }
}

// Signal-to-error ratio of `ours` against `ref`, in dB.
double snr_db(const std::vector<float>& ours, const std::vector<float>& ref) {
  double sig = 0, err = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    sig += static_cast<double>(ref[i]) * ref[i];
    err += (static_cast<double>(ours[i]) - ref[i]) * (static_cast<double>(ours[i]) - ref[i]);
  }
  return 10.0 * std::log10(sig / std::max(err, 1e-30));
}

// The bf16 decoder streams as the f32 one does. Its convolutions and linears
// give the same sums for any block size (each output row's sum runs in one
// order however many rows a call has), so blocks of any size equal one decode
// (measured: bit for bit, 2026-12, AVX512-BF16). Until the linears were packed,
// the plain f32 small-row kernels summed in an order that depended on the rows
// per call, and a last-bit difference could round a bf16 input the other way:
// 57 dB below the signal, far below the bf16 decoder's own error (33-34 dB).
// The bar stays at that.
TEST_F(CodecGolden, Bf16StreamedBlocksOfAnySizeMatchOneDecode) {
  if (!ops::bf16_convolutions_available())
    GTEST_SKIP() << "no AMX-BF16 or AVX512-BF16 on this CPU (or OS)";
  const std::string dir = test::golden_model() + "/speech_tokenizer";
  CheckpointWeights w(Checkpoint::open(dir));
  codec::CodecDecoder bf16(config_->decoder, w);
  bf16.use_bf16(w);
  int64_t frames;
  auto codes = codes_of("dec_ref_codes", &frames);
  const auto whole = bf16.forward(pool_, codes.data(), frames);
  EXPECT_FALSE(within_golden_tolerance(whole, decoder_->forward(pool_, codes.data(), frames)));
  for (int64_t block : {1, 2, 7, 25}) {
    SCOPED_TRACE("block " + std::to_string(block));
    const auto wav = stream_in_blocks(bf16, pool_, codes, frames, block);
    ASSERT_EQ(wav.size(), whole.size());
    const double snr = snr_db(wav, whole);
    size_t first = wav.size(), n = 0;
    for (size_t i = 0; i < wav.size(); ++i)
      if (std::abs(wav[i] - whole[i]) > 1e-5f) {
        first = std::min(first, i);
        ++n;
      }
    std::printf("bf16, blocks of %lld frames: %.1f dB from one decode (%zu differ, first %zu)\n",
                static_cast<long long>(block), snr, n, first);
    EXPECT_GT(snr, 50.0);
  }
}

// The Winograd decoder (f32, kernel-7 convolutions by F(4, 7)) streams as the
// f32 one does, and its waveform stays within the golden tolerance of the
// official one, whole or in blocks of any size: its transforms round
// differently from direct sums, by about 1e-5 of each convolution's scale
// (measured: largest difference 4.6e-5 against the tolerance's 1e-4).
TEST_F(CodecGolden, WinogradStreamedBlocksOfAnySizeStayWithinTheGoldenTolerance) {
  if (!ops::packed_convolutions_available()) GTEST_SKIP() << "no AVX2 or AVX-512 (IZWI_ISA)";
  const std::string dir = test::golden_model() + "/speech_tokenizer";
  CheckpointWeights w(Checkpoint::open(dir));
  codec::CodecDecoder wino(config_->decoder, w);
  wino.use_winograd(w);
  ASSERT_TRUE(wino.winograd());
  int64_t frames;
  auto codes = codes_of("dec_ref_codes", &frames);
  const auto golden = load_f32("dec_ref_wav");
  const auto exact = decoder_->forward(pool_, codes.data(), frames);
  const auto whole = wino.forward(pool_, codes.data(), frames);
  EXPECT_NE(whole, exact);  // it really is another path
  EXPECT_TRUE(within_golden_tolerance(whole, golden));
  double max_err = 0;
  for (size_t i = 0; i < golden.size(); ++i)
    max_err = std::max(max_err, std::abs(static_cast<double>(whole[i]) - golden[i]));
  std::printf(
      "winograd decode: %.1f dB SNR against the official f32 waveform (largest "
      "difference %.2g; the tolerance is 1e-4), %.1f dB against ours in f32\n",
      snr_db(whole, golden), max_err, snr_db(whole, exact));
  for (int64_t block : {1, 2, 7, 25}) {
    SCOPED_TRACE("block " + std::to_string(block));
    const auto wav = stream_in_blocks(wino, pool_, codes, frames, block);
    EXPECT_TRUE(within_golden_tolerance(wav, golden));
    EXPECT_GT(snr_db(wav, whole), 80.0);
  }
}

TEST_F(CodecGolden, StreamerReproducesTheOfficialChunkedDecodeAtAnyLength) {
  int64_t frames;
  auto codes = codes_of("dec_long330_codes", &frames);
  const auto golden = load_f32("dec_long330_wav");
  for (int64_t block : {1, 7, 25, 40}) {
    SCOPED_TRACE("block " + std::to_string(block));
    codec::ChunkedStream streamer(*decoder_);
    std::vector<float> wav;
    for (int64_t f = 0; f < frames; f += block)
      streamer.push(pool_, codes.data() + f * 16, std::min(block, frames - f), &wav);
    EXPECT_EQ(streamer.frames(), frames);
    EXPECT_TRUE(within_golden_tolerance(wav, golden));
  }
  // A prefix pushed without output (an ICL reference) leaves the same state.
  codec::ChunkedStream prefixed(*decoder_);
  prefixed.push(pool_, codes.data(), 290, nullptr);
  std::vector<float> tail;
  prefixed.push(pool_, codes.data() + 290 * 16, 40, &tail);
  EXPECT_TRUE(
      within_golden_tolerance(tail, std::vector<float>(golden.end() - 40 * 1920, golden.end())));
}

// Past 300 frames one unbroken stream is not, in exact arithmetic, the
// official decode: the official code restarts every 300 frames with only 25
// frames of context (so ChunkedStream restarts too), while an unbroken stream
// still sees earlier frames through the transformer's 72-frame window. Measured
// on the tiny golden weights the effect is below float rounding (both halves
// differ by ~5e-6, the same as streamed-vs-whole rounding), so this checks the
// unbroken stream stays within the golden tolerance of the official audio on
// both sides of frame 300 and prints the two maxima.
TEST_F(CodecGolden, UnbrokenStreamPast300FramesStaysCloseToTheOfficialDecode) {
  int64_t frames;
  auto codes = codes_of("dec_long330_codes", &frames);
  const auto golden = load_f32("dec_long330_wav");
  const auto unbroken = stream_in_blocks(*decoder_, pool_, codes, frames, 25);
  ASSERT_EQ(unbroken.size(), golden.size());
  const auto split = static_cast<std::ptrdiff_t>(300 * 1920);
  EXPECT_TRUE(
      within_golden_tolerance(std::vector<float>(unbroken.begin(), unbroken.begin() + split),
                              std::vector<float>(golden.begin(), golden.begin() + split)));
  EXPECT_TRUE(within_golden_tolerance(std::vector<float>(unbroken.begin() + split, unbroken.end()),
                                      std::vector<float>(golden.begin() + split, golden.end())));
  double before = 0, after = 0;
  for (size_t i = 0; i < golden.size(); ++i) {
    const double d = std::abs(static_cast<double>(unbroken[i]) - golden[i]);
    double& m = static_cast<std::ptrdiff_t>(i) < split ? before : after;
    m = std::max(m, d);
  }
  std::printf("unbroken stream vs official: max difference %.3g up to frame 300, %.3g after\n",
              before, after);
}

// A long ICL reference (over one official chunk of 300 frames): the state
// after it, pushed for its state only, skips decoding the chunks it completes,
// and gives the same audio after it, bit for bit, as decoding every frame; so
// does pipeline::decode_output against the whole official decode and its cut.
TEST_F(CodecGolden, ReferencePrefixSkipsTheChunksItCompletes) {
  int64_t frames;
  const auto codes = codes_of("dec_long330_codes", &frames);  // 330 frames
  for (int64_t ref : {int64_t{300}, int64_t{310}}) {
    SCOPED_TRACE(ref);
    codec::ChunkedStream every(*decoder_);  // the same pushes, every frame decoded
    std::vector<float> all;
    every.push(pool_, codes.data(), ref, &all);
    every.push(pool_, codes.data() + ref * 16, frames - ref, &all);
    codec::ChunkedStream prefix(*decoder_);
    prefix.push(pool_, codes.data(), ref, nullptr);  // the reference, for its state
    std::vector<float> after;
    prefix.push(pool_, codes.data() + ref * 16, frames - ref, &after);
    ASSERT_EQ(after.size(), static_cast<size_t>((frames - ref) * 1920));
    EXPECT_TRUE(std::equal(after.begin(), after.end(), all.end() - (frames - ref) * 1920));

    const auto whole = decoder_->decode(pool_, codes.data(), frames);
    const auto wav = pipeline::decode_output(pool_, *decoder_, codes.data(), ref,
                                             codes.data() + ref * 16, frames - ref);
    const int64_t cut = pipeline::official_cut(ref, frames - ref, 1920);
    ASSERT_EQ(wav.size(), whole.size() - cut);
    EXPECT_TRUE(std::equal(wav.begin(), wav.end(), whole.begin() + cut));
  }
  // Two whole chunks skipped (the second without its warm-up), then the rest.
  codec::ChunkedStream twice(*decoder_), every(*decoder_);
  std::vector<float> a, b;
  std::vector<int32_t> long_codes(codes);
  long_codes.insert(long_codes.end(), codes.begin(), codes.end());  // 660 frames
  twice.push(pool_, long_codes.data(), 600, nullptr);
  twice.push(pool_, long_codes.data() + 600 * 16, 60, &a);
  every.push(pool_, long_codes.data(), 600, &b);
  b.clear();
  every.push(pool_, long_codes.data() + 600 * 16, 60, &b);
  EXPECT_EQ(a, b);

  EXPECT_EQ(pipeline::reference_chunks_before(300), 0);
  EXPECT_EQ(pipeline::reference_chunks_before(301), 300);
  EXPECT_EQ(pipeline::reference_chunks_before(375), 300);
}

void check_encode_case(codec::CodecEncoder& enc, ThreadPool* pool, const std::string& name) {
  SCOPED_TRACE(name);
  auto wav = load_f32("enc_" + name + "_in_wav");
  std::map<std::string, Stage> stages;
  auto codes = enc.encode(pool, wav.data(), static_cast<int64_t>(wav.size()),
                          [&](auto& s, auto& shape, const float* d) {
                            int64_t n = 1;
                            for (auto x : shape) n *= x;
                            stages[s] = Stage{shape, std::vector<float>(d, d + n)};
                          });
  for (const char* stage : {"conv_out", "transformer_out", "downsample_out"}) {
    SCOPED_TRACE(stage);
    std::vector<int64_t> shape;
    auto ref = load_f32("enc_" + name + "_" + stage, &shape);
    EXPECT_EQ(stages[stage].shape, shape);
    EXPECT_TRUE(within_golden_tolerance(stages[stage].data, ref));
  }
  // All 32 RVQ levels [32, frames] (levels 16..31 are computed but unused by Qwen3-TTS).
  std::vector<int64_t> shape;
  auto all = load_i64("enc_" + name + "_all_codes", &shape);
  const int64_t frames = shape[1];
  ASSERT_EQ(static_cast<int64_t>(codes.size()), frames * 32);
  int mismatches_first16 = 0, mismatches_rest = 0;
  for (int64_t q = 0; q < 32; ++q)
    for (int64_t f = 0; f < frames; ++f)
      if (codes[f * 32 + q] != all[q * frames + f])
        (q < 16 ? mismatches_first16 : mismatches_rest)++;
  EXPECT_EQ(mismatches_first16, 0);
  EXPECT_EQ(mismatches_rest, 0);
}

TEST_F(CodecGolden, EncoderMatchesIntermediatesAndAllCodes) {
  check_encode_case(*encoder_, pool_, "ref");
  check_encode_case(*encoder_, pool_, "exact15");
}

// The SEANet runs over blocks with carried histories (codec_encoder.h): any
// block size gives the codes one block over the whole clip gives, and with
// izwi's GEMM (AVX2 or AVX-512) the same activations bit for bit, the padded
// last block included (31200 samples: 32.5 steps of 960).
TEST_F(CodecGolden, EncoderBlocksOfAnySizeGiveTheWholeClipsOutput) {
  const auto wav = load_f32("enc_ref_in_wav");
  const auto n = static_cast<int64_t>(wav.size());
  auto encode_in_blocks = [&](int steps, std::map<std::string, Stage>& stages) {
    encoder_->set_block_steps(steps);
    auto codes = encoder_->encode(pool_, wav.data(), n, recorder(stages));
    encoder_->set_block_steps(25);
    return codes;
  };
  std::map<std::string, Stage> whole;
  const auto codes_whole = encode_in_blocks(1000, whole);
  ASSERT_EQ(whole["conv_out"].shape, (std::vector<int64_t>{config_->encoder.hidden_size, 33}));
  for (int steps : {1, 2, 7, 25, 32, 33}) {
    SCOPED_TRACE(steps);
    std::map<std::string, Stage> stages;
    EXPECT_EQ(encode_in_blocks(steps, stages), codes_whole);
    EXPECT_EQ(stages["conv_out"].shape, whole["conv_out"].shape);
    if (ops::packed_convolutions_available()) {
      EXPECT_TRUE(stages["conv_out"].data == whole["conv_out"].data);
    } else {  // BLAS's summation order may follow the block's length
      EXPECT_TRUE(within_golden_tolerance(stages["conv_out"].data, whole["conv_out"].data));
    }
  }
}

// Conv1d::causal_block against one Conv1d::causal call, for the strides,
// dilations and both paddings the encoders' configs may name (the golden
// tokenizer pads with zeros; "replicate" starts the history from the first
// sample and pads the last block with the last one).
TEST(CodecLayers, CausalBlocksJoinToOneCausalCall) {
  ThreadPool pool(2);
  RandomWeights w(7, DType::kF32);
  struct Case {
    int in, out, kernel, stride, dilation;
  };
  for (const Case c : {Case{3, 5, 7, 1, 1}, Case{4, 6, 3, 1, 3}, Case{4, 8, 8, 4, 1},
                       Case{6, 4, 10, 5, 1}, Case{5, 5, 1, 1, 1}, Case{2, 3, 4, 2, 1}}) {
    codec::Conv1d conv;
    conv.load(w, "conv", c.in, c.out, c.kernel, c.stride, c.dilation);
    for (ops::PadMode mode : {ops::PadMode::kZeros, ops::PadMode::kReplicate}) {
      SCOPED_TRACE(testing::Message()
                   << "kernel " << c.kernel << " stride " << c.stride << " dilation " << c.dilation
                   << " replicate " << (mode == ops::PadMode::kReplicate));
      const int64_t T = 20 * c.stride + 3;  // a ragged end for strides > 1
      codec::Signal x(c.in, T);
      for (size_t i = 0; i < x.data.size(); ++i)
        x.data[i] = std::sin(0.37f * static_cast<float>(i)) + 0.5f;
      const codec::Signal whole = conv.causal(&pool, x, mode);
      for (int64_t block : {int64_t{1}, int64_t{3}, int64_t{8}, T}) {
        const int64_t len = block * c.stride;
        std::vector<float> history;
        std::vector<std::vector<float>> rows(static_cast<size_t>(c.out));
        for (int64_t t0 = 0; t0 < T; t0 += len) {
          const int64_t n = std::min(len, T - t0);
          codec::Signal part(c.in, n);
          for (int64_t ch = 0; ch < c.in; ++ch) std::copy_n(x.row(ch) + t0, n, part.row(ch));
          codec::Signal y = conv.causal_block(&pool, part, history, mode, t0 + n == T);
          for (int64_t ch = 0; ch < c.out; ++ch)
            rows[ch].insert(rows[ch].end(), y.row(ch), y.row(ch) + y.frames);
        }
        std::vector<float> joined;
        for (const auto& r : rows) joined.insert(joined.end(), r.begin(), r.end());
        ASSERT_EQ(joined.size(), whole.data.size()) << "block " << block;
        for (size_t i = 0; i < joined.size(); ++i)
          ASSERT_NEAR(joined[i], whole.data[i], 1e-5f * (1.0f + std::abs(whole.data[i])))
              << "block " << block << ", output " << i;
      }
    }
  }
  codec::Conv1d strided;
  strided.load(w, "strided", 2, 2, 4, 2);
  std::vector<float> history;
  EXPECT_THROW(
      strided.causal_block(&pool, codec::Signal(2, 3), history, ops::PadMode::kZeros, false),
      Error);  // only the last block may end between strides
}

TEST(CodecGoldenApi, PublicApiEncodesExactlyAndDecodesWithinTolerance) {
  auto codec = SpeechTokenizer::load(test::golden_model());
  EXPECT_EQ(codec->num_codebooks(), 16);
  EXPECT_EQ(codec->samples_per_frame(), 1920);
  for (const char* name : {"ref", "exact15"}) {
    SCOPED_TRACE(name);
    auto wav = load_f32(std::string("enc_") + name + "_in_wav");
    AudioCodes codes = codec->encode(wav.data(), wav.size(), 24000);
    std::vector<int64_t> shape;
    auto ref = load_i64(std::string("enc_") + name + "_codes", &shape);
    ASSERT_EQ(codes.frames, shape[0]);  // 31200 samples -> 17 frames (partial last), 28800 -> 15
    EXPECT_EQ(std::vector<int64_t>(codes.values.begin(), codes.values.end()), ref);
  }
  std::vector<int64_t> shape;
  auto ref_codes = load_i64("dec_ref_codes", &shape);
  AudioCodes codes{shape[0], 16, std::vector<int32_t>(ref_codes.begin(), ref_codes.end())};
  EXPECT_TRUE(within_golden_tolerance(codec->decode(codes), load_f32("dec_ref_wav")));
}

// The bf16 decoder (docs/ARCHITECTURE.md, "The codec decoder"): not within the
// f32 tolerance, its error at least 30 dB below the signal on these tiny random
// weights (measured 33.1 dB; 42.5 dB on the real-size random checkpoint).
TEST(CodecGoldenApi, Bf16DecodeStaysWithinItsBar) {
  auto codec = SpeechTokenizer::load(test::golden_model(), CodecOptions{2, CodecPrecision::kBf16});
  if (codec->decode_precision() != CodecPrecision::kBf16)
    GTEST_SKIP() << "this CPU (or OS) offers no AMX-BF16 or AVX512-BF16; the decoder runs in f32";
  std::vector<int64_t> shape;
  auto ref_codes = load_i64("dec_ref_codes", &shape);
  AudioCodes codes{shape[0], 16, std::vector<int32_t>(ref_codes.begin(), ref_codes.end())};
  const auto ref = load_f32("dec_ref_wav");
  const auto wav = codec->decode(codes);
  ASSERT_EQ(wav.size(), ref.size());
  EXPECT_FALSE(within_golden_tolerance(wav, ref));  // it really is the bf16 path
  const double snr = snr_db(wav, ref);
  std::printf("bf16 decode: %.1f dB SNR against the official f32 waveform\n", snr);
  EXPECT_GT(snr, 30.0);
}

// Asked through the public API, the Winograd decoder runs where the GEMM does
// and bf16 falls back to it where there are no bf16 products.
TEST(CodecGoldenApi, WinogradDecodeIsWhatTheFastModeRunsWithoutBf16) {
  auto codec =
      SpeechTokenizer::load(test::golden_model(), CodecOptions{2, CodecPrecision::kWinograd});
  if (!ops::packed_convolutions_available()) {
    EXPECT_EQ(codec->decode_precision(), CodecPrecision::kF32);
    GTEST_SKIP() << "no AVX2 or AVX-512 (IZWI_ISA): the decoder runs in f32";
  }
  ASSERT_EQ(codec->decode_precision(), CodecPrecision::kWinograd);
  std::vector<int64_t> shape;
  auto ref_codes = load_i64("dec_ref_codes", &shape);
  AudioCodes codes{shape[0], 16, std::vector<int32_t>(ref_codes.begin(), ref_codes.end())};
  EXPECT_TRUE(within_golden_tolerance(codec->decode(codes), load_f32("dec_ref_wav")));
  auto fast = SpeechTokenizer::load(test::golden_model(), CodecOptions{2, CodecPrecision::kBf16});
  EXPECT_EQ(fast->decode_precision(),
            ops::bf16_convolutions_available() ? CodecPrecision::kBf16 : CodecPrecision::kWinograd);
  EXPECT_EQ(parse_codec_precision("winograd"), CodecPrecision::kWinograd);
  EXPECT_STREQ(codec_precision_name(CodecPrecision::kWinograd), "winograd");
}

TEST(CodecGoldenApi, RejectsBadInput) {
  auto codec = SpeechTokenizer::load(test::golden_model());
  std::vector<float> wav(4800, 0.1f);
  EXPECT_THROW(codec->encode(wav.data(), wav.size(), 16000), Error);
  EXPECT_THROW(codec->encode(wav.data(), 0, 24000), Error);
  wav[7] = NAN;
  EXPECT_THROW(codec->encode(wav.data(), wav.size(), 24000), Error);
  AudioCodes bad{2, 16, std::vector<int32_t>(32, 0)};
  bad.values[20] = 256;  // codebook size of the tiny model
  try {
    codec->decode(bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "code 256 at frame 1, codebook 4 is out of range [0, 256)");
  }
  bad.values[20] = -1;
  EXPECT_THROW(codec->decode(bad), Error);
  EXPECT_THROW(codec->decode(AudioCodes{2, 8, std::vector<int32_t>(16, 0)}), Error);
  EXPECT_THROW(codec->decode(AudioCodes{0, 16, {}}), Error);
  EXPECT_THROW(codec->decode(AudioCodes{3, 16, std::vector<int32_t>(32, 0)}), Error);
}

TEST(CodecGoldenApi, LoadErrorsAreClear) {
  test::TempDir dir;
  try {
    SpeechTokenizer::load(dir.file("nope"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
  }
  try {
    SpeechTokenizer::load(dir.path().string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Qwen3-TTS checkpoint"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace izwi
