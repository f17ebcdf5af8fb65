// `izwi bench` end to end on the tiny golden model: the report's structure and
// the relations between its numbers (formats against bf16, repeats, streams),
// not its speeds, which belong to the benchmark runs themselves.
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "test_util.h"

namespace izwi {
namespace {

using test::run_izwi;

// `izwi bench <golden model> <args> --json` (with `env` before it) parsed; a
// discarded value, and a failure, where it exits non-zero or prints no JSON.
nlohmann::json bench_json(const std::string& env, const std::string& args) {
  const auto r = test::run_izwi_env(env, "bench " + test::golden_model() + " " + args + " --json");
  if (r.status != 0) {
    ADD_FAILURE() << "exit status " << r.status << "\n" << r.output;
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  if (j.is_discarded()) ADD_FAILURE() << "no JSON:\n" << r.output;
  return j;
}

// Every run makes the frames asked for: on the tiny model's random weights
// one of two streams (seed 2) samples the end of speech before 60 frames,
// and a stream that stops early would not be the same measurement as the
// single-stream run it is compared with.
TEST(CliBench, EveryRunMakesAllItsFrames) {
  const auto j = bench_json("", "-t 2 --frames 60 --streams 2 --weights q8");
  ASSERT_FALSE(j.is_discarded());
  const auto& run = j["runs"][0];
  EXPECT_EQ(run["frames"].get<int64_t>(), 60);
  EXPECT_EQ(run["streams"][0]["steps"].get<int64_t>(), 60);
  EXPECT_DOUBLE_EQ(run["streams"][0]["audio_s"].get<double>(), 2 * 60 * 0.08);
}

TEST(CliBench, JsonReportsEveryFormatRepeatsAndStreams) {
  const auto j = bench_json("", "-t 2 --frames 4 --repeat 3 --streams 2 --weights bf16,q8");
  ASSERT_FALSE(j.is_discarded());
  EXPECT_GT(j["read_loop_gbps"].get<double>(), 0.0);
  ASSERT_EQ(j["runs"].size(), 2u);
  const auto& bf16 = j["runs"][0];
  const auto& q8 = j["runs"][1];
  EXPECT_EQ(bf16["weights"], "bf16");
  EXPECT_EQ(q8["weights"], "q8");
  // --codec-thread auto: none for bf16 weights, so nothing is decoded beside
  // its frames; 8-bit weights get one, and the two streams' blocks after
  // the first go to it.
  EXPECT_EQ(bf16["codec_thread"], "auto");
  EXPECT_EQ(bf16["streams"][0]["codec_thread_blocks"].get<int64_t>(), 0);
  EXPECT_EQ(bf16["streams"][0]["codec_beside_s"].get<double>(), 0.0);
  EXPECT_GT(q8["streams"][0]["codec_thread_blocks"].get<int64_t>(), 0);
  for (const auto& run : j["runs"]) {
    EXPECT_EQ(run["frames"].get<int64_t>(), 4);
    EXPECT_DOUBLE_EQ(run["audio_s"].get<double>(), 4 * 0.08);
    EXPECT_EQ(run["repeats"].get<int>(), 3);
    // The median run, between the fastest and the slowest.
    EXPECT_LE(run["rtf_min"].get<double>(), run["rtf"].get<double>());
    EXPECT_LE(run["rtf"].get<double>(), run["rtf_max"].get<double>());
    EXPECT_NEAR(run["rtf"].get<double>(),
                run["total_s"].get<double>() / run["audio_s"].get<double>(), 1e-9);
    EXPECT_GT(run["first_request_s"].get<double>(), 0.0);
    EXPECT_GE(run["prefill_100_tokens"].get<int64_t>(), 90);
    ASSERT_EQ(run["streams"].size(), 1u);
    const auto& s = run["streams"][0];
    EXPECT_EQ(s["streams"].get<int>(), 2);
    EXPECT_DOUBLE_EQ(s["audio_s"].get<double>(), 2 * 4 * 0.08);  // each stream its 4 frames
    EXPECT_EQ(s["steps"].get<int64_t>(), 4);
    EXPECT_NEAR(s["audio_s_per_s"].get<double>(),
                s["audio_s"].get<double>() / s["wall_s"].get<double>(), 1e-6);
    // Compared with the single-stream run just before it: the median of 3 pairs.
    EXPECT_LE(s["vs_one_stream_min"].get<double>(), s["vs_one_stream"].get<double>());
    EXPECT_LE(s["vs_one_stream"].get<double>(), s["vs_one_stream_max"].get<double>());
    EXPECT_GT(s["vs_one_stream_min"].get<double>(), 0.0);
    // Its parts fit in the wall time they were measured in, less what the
    // codec thread decoded beside the frames.
    EXPECT_GE(s["codec_beside_s"].get<double>(), 0.0);
    EXPECT_LE(s["codec_beside_s"].get<double>(), s["codec_s"].get<double>());
    EXPECT_LE(s["prefill_s"].get<double>() + s["talker_s"].get<double>() +
                  s["code_predictor_s"].get<double>() + s["codec_s"].get<double>() -
                  s["codec_beside_s"].get<double>(),
              s["wall_s"].get<double>() * 1.001);
  }
  // 8-bit weights are about half the bytes of bf16 per frame.
  EXPECT_LT(q8["weights_gb_per_frame"].get<double>(),
            0.75 * bf16["weights_gb_per_frame"].get<double>());
  EXPECT_NEAR(q8["rtf_vs_bf16"].get<double>(), q8["rtf"].get<double>() / bf16["rtf"].get<double>(),
              1e-9);
}

// --codec-thread on gives the bf16 model a codec thread, which decodes the
// two streams' later blocks, and off takes the 8-bit model's away; a value it
// does not know is refused with the choices. Two threads: the codec thread
// needs a pool of two.
TEST(CliBench, CodecThreadOption) {
  const auto on = bench_json("", "-t 2 --frames 6 --streams 2 --weights bf16 --codec-thread on");
  ASSERT_FALSE(on.is_discarded());
  EXPECT_EQ(on["runs"][0]["codec_thread"], "on");
  EXPECT_GT(on["runs"][0]["streams"][0]["codec_thread_blocks"].get<int64_t>(), 0);
  const auto off = bench_json("", "-t 2 --frames 6 --streams 2 --weights q8 --codec-thread off");
  ASSERT_FALSE(off.is_discarded());
  EXPECT_EQ(off["runs"][0]["streams"][0]["codec_thread_blocks"].get<int64_t>(), 0);
  EXPECT_EQ(off["runs"][0]["streams"][0]["codec_beside_s"].get<double>(), 0.0);
  const auto bad = run_izwi("bench " + test::golden_model() + " --codec-thread sometimes");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("--codec-thread"), std::string::npos) << bad.output;
}

TEST(CliBench, TextReportSaysWhatItMeasured) {
  const auto r = run_izwi("bench " + test::golden_model() + " --frames 3 --repeat 2 --weights q4");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* want :
       {"[q4]", "first two-frame request", "per frame", "the median of 2 runs", "peak RSS"})
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
}

// The kernels line names what ran: capped to plain C++ by IZWI_ISA, the
// scalar kernels and the f32 codec (no bf16 products without AVX-512).
TEST(CliBench, ReportsTheKernelsItRan) {
  const auto j = bench_json("IZWI_ISA=scalar ", "--frames 2 --weights q8");
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["cpu_kernels"], "scalar, f32 codec");
  const auto text = run_izwi("bench " + test::golden_model() + " --frames 2 --weights q8");
  ASSERT_EQ(text.status, 0) << text.output;
  EXPECT_NE(text.output.find("kernels      "), std::string::npos) << text.output;
}

// IZWI_ISA=avx512-noamx keeps every kernel but AMX's: where the CPU's bf16
// products are AMX tiles, they become AVX512-BF16 (every AMX CPU has it), and
// nothing else in the line changes.
TEST(CliBench, AvxNoAmxTurnsOnlyTheTilesOff) {
  const auto plain = bench_json("", "--frames 2 --weights q8");
  const auto noamx = bench_json("IZWI_ISA=avx512-noamx ", "--frames 2 --weights q8");
  ASSERT_FALSE(plain.is_discarded());
  ASSERT_FALSE(noamx.is_discarded());
  std::string expected = plain["cpu_kernels"].get<std::string>();
  if (const size_t at = expected.find("by amx"); at != std::string::npos)
    expected.replace(at, 6, "by avx512-bf16");
  EXPECT_EQ(noamx["cpu_kernels"], expected);
}

TEST(CliBench, BadArgumentsAreRefusedWithAReason) {
  for (const char* args : {"--repeat 0", "--frames 1", "--weights q3", "--streams 0"}) {
    const auto r = run_izwi("bench " + test::golden_model() + " " + args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.output.find(std::string(args).substr(0, std::string(args).find(' '))),
              std::string::npos)
        << args << ": " << r.output;
  }
  const auto r = run_izwi("bench /nonexistent/model --frames 2");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("/nonexistent/model"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace izwi
