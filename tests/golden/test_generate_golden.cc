// The whole generation path against the official generate_voice_clone, from
// token ids (the id cases of the golden README): prompt embeddings, every
// talker call, the code predictor, exact codes and the output waveform.
#include "core/thread_pool.h"
#include "models/qwen3_tts/codec_decoder.h"
#include "models/qwen3_tts/generator.h"
#include "pipeline/audio_out.h"
#include "test_util.h"
#include "tiny_model.h"

namespace izwi {
namespace {

using test::load_f32;
using test::load_i64;
using test::within_golden_tolerance;

using test::tiny;

std::vector<int32_t> i32(const std::vector<int64_t>& v) {
  return std::vector<int32_t>(v.begin(), v.end());
}

struct Case {
  std::string name;
  bool icl, non_streaming;
  int max_new_tokens;
};

class GenerateGolden : public ::testing::TestWithParam<Case> {};

TEST_P(GenerateGolden, MatchesTheOfficialGenerateStepByStep) {
  const Case c = GetParam();
  auto& m = tiny();
  const std::string p = "gen_" + c.name + "_";
  tts::PromptSpec spec;
  spec.text_ids = i32(load_i64(p + "input_ids"));
  const auto xvec = load_f32(p + "spk_embedding");
  spec.xvector = xvec.data();
  spec.language_id = m.config.talker.codec_language_id.at("english");
  spec.non_streaming = c.non_streaming;
  std::vector<int32_t> ref_codes;
  std::vector<int64_t> ref_shape;
  if (c.icl) {
    spec.ref_ids = i32(load_i64(p + "ref_ids"));
    ref_codes = i32(load_i64(p + "ref_code", &ref_shape));
    spec.ref_codes = ref_codes.data();
    spec.ref_frames = ref_shape[0];
  }
  const tts::Prompt prompt = tts::build_prompt(&m.pool, m.config, m.talker, m.cp, spec);
  EXPECT_TRUE(within_golden_tolerance(prompt.embeds, load_f32(p + "prefill_embeds")));
  std::vector<int64_t> pos_shape;
  const auto pos = load_f32(p + "prefill_position_ids", &pos_shape);
  ASSERT_EQ(pos_shape[1], prompt.length);
  for (int64_t i = 0; i < prompt.length; ++i)
    EXPECT_EQ(pos[i], static_cast<float>(i));  // 0 .. T0-1 on every axis

  tts::GenerateOptions opt;
  opt.talker.do_sample = false;
  opt.subtalker.do_sample = false;
  opt.max_new_tokens = c.max_new_tokens;
  tts::GenerateTrace trace;
  const tts::Generated g = tts::generate(&m.pool, m.talker, m.cp, prompt, opt, &trace);

  EXPECT_EQ(std::vector<int64_t>(g.talker_sequence.begin(), g.talker_sequence.end()),
            load_i64(p + "talker_sequence"));
  EXPECT_EQ(std::vector<int64_t>(g.codes.begin(), g.codes.end()), load_i64(p + "codes"));
  EXPECT_TRUE(within_golden_tolerance(trace.talker_logits, load_f32(p + "talker_logits")));
  EXPECT_TRUE(
      within_golden_tolerance(trace.talker_last_hidden, load_f32(p + "talker_last_hidden")));
  EXPECT_TRUE(within_golden_tolerance(trace.step_embeds, load_f32(p + "step_embeds")));
  EXPECT_TRUE(within_golden_tolerance(trace.cp_logits, load_f32(p + "cp_logits")));
  EXPECT_TRUE(within_golden_tolerance(trace.frame_hidden, load_f32(p + "hidden")));

  const auto wav = pipeline::decode_output(&m.pool, m.decoder, c.icl ? ref_codes.data() : nullptr,
                                           c.icl ? ref_shape[0] : 0, g.codes.data(), g.frames);
  EXPECT_TRUE(within_golden_tolerance(wav, load_f32(p + "wav")));
}

INSTANTIATE_TEST_SUITE_P(IdCases, GenerateGolden,
                         ::testing::Values(Case{"xvec", false, false, 12},
                                           Case{"icl", true, false, 12},
                                           Case{"icl_nonstream", true, true, 12},
                                           Case{"xvec_eos", false, false, 40}),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace izwi
