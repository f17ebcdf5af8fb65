// The quality bar of the 8/4-bit weight formats on the golden tiny model,
// measured by izwi-quant-quality against the same model's exact weights, and
// the formats through the CLI.
//
// The bar (docs/ARCHITECTURE.md, "Weight formats"): teacher-forced logits
// within 3 % relative error of the exact ones and the same argmax on at least
// 90 % of the steps, for the talker and for the code predictor. Q8 meets it
// (the default of the CLI and server); Q4 does not on random weights, which is
// why it is opt-in. Greedy generation on random weights diverges after a frame
// or two with either format (near-flat logits), so it is reported, not held to a bar.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "e2e/cli_run.h"
#include "izwi/izwi.h"
#include "test_util.h"

namespace izwi {
namespace {

nlohmann::json measure() {
  const std::string cmd = std::string(IZWI_QUANT_QUALITY) + " '" + test::golden_model() +
                          "' --steps 64 --frames 8 -t 2 --json 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  EXPECT_EQ(pclose(p), 0) << out;
  return nlohmann::json::parse(out);
}

TEST(QuantQuality, Q8MeetsTheBarAndQ4IsReportedAgainstIt) {
  const nlohmann::json j = measure();
  for (const char* part : {"talker", "code_predictor"}) {
    SCOPED_TRACE(part);
    const auto& q8 = j["q8"][part];
    EXPECT_LE(q8["relative_error"].get<double>(), 0.03);
    EXPECT_GE(q8["argmax_agreement"].get<double>(), 0.90);
    // Q4 moves the logits more than Q8 (and, on these weights, past the bar).
    const auto& q4 = j["q4"][part];
    EXPECT_GT(q4["relative_error"].get<double>(), q8["relative_error"].get<double>());
    EXPECT_LT(q4["relative_error"].get<double>(), 0.5);
  }
  EXPECT_GT(j["q8"]["greedy_frames"].get<int>(), 0);
  EXPECT_LE(j["q8"]["greedy_frames"].get<int>(), 8);
}

// A copy of the tiny model: loading it quantized writes the weight cache into it.
std::string copy_of_tiny_model(const test::TempDir& d) {
  const std::string dir = d.file("model");
  std::filesystem::copy(test::golden_model(), dir, std::filesystem::copy_options::recursive);
  std::filesystem::remove_all(dir + "/.izwi-cache");  // other tests' runs may have left one
  return dir;
}

// --weights through the binary: the default is q8 and says so; each format
// speaks; quantized sums do not depend on how rows are split over threads, so
// 1 and 2 threads give the same codes, and the second load, from the weight
// cache the first one wrote, gives them too; an unknown format is refused.
TEST(QuantQuality, CliLoadsEachFormat) {
  test::TempDir d;
  const std::string model = copy_of_tiny_model(d);
  write_audio(d.file("ref.wav"), Audio{test::load_f32("spk_in_wav"), 24000, 1},
              SampleFormat::kFloat32);
  const std::string base = "tts 'Hello there.' -m " + model + " -s " + d.file("ref.wav") +
                           " --language english --seed 5 --max-new-tokens 8 ";
  const std::string cache = model + "/.izwi-cache/weights-q8.safetensors";
  ASSERT_FALSE(std::filesystem::exists(cache));
  auto r = test::run_izwi(base + "-t 1 -o " + d.file("a.wav") + " --codes-out " + d.file("a.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("q8 weights"), std::string::npos) << r.output;
  ASSERT_TRUE(std::filesystem::exists(cache));
  r = test::run_izwi(base + "-t 2 -o " + d.file("b.wav") + " --codes-out " + d.file("b.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_npy(d.file("a.npy")).as_i64(), read_npy(d.file("b.npy")).as_i64());
  EXPECT_EQ(read_audio(d.file("a.wav")).samples, read_audio(d.file("b.wav")).samples);
  for (const char* f : {"q4", "bf16"}) {
    r = test::run_izwi(base + "--weights " + f + " -o " + d.file("c.wav"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find(std::string(f) + " weights"), std::string::npos) << r.output;
    EXPECT_GT(read_audio(d.file("c.wav")).samples.size(), 0u);
  }
  r = test::run_izwi(base + "--weights q3 -o " + d.file("c.wav"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("q8"), std::string::npos) << r.output;
}

// The weight cache: used when it matches, and a stale, damaged or unwritable
// one never changes what the model computes.
TEST(WeightCache, IsUsedWhenItMatchesAndReplacedWhenItDoesNot) {
  test::TempDir d;
  const std::string model = copy_of_tiny_model(d);
  const std::string cache = model + "/.izwi-cache/weights-q4.safetensors";
  ModelOptions o;
  o.n_threads = 2;
  o.weights = WeightFormat::kQ4;
  SynthesisOptions so;
  so.greedy = true;
  so.max_new_tokens = 6;
  const auto speak = [&] {
    auto m = TtsModel::load(model, o);
    return m->synthesize("Hi.", m->clone_voice(Audio{test::load_f32("spk_in_wav"), 24000, 1}), so)
        .codes.values;
  };
  const auto first = speak();  // quantizes, writes the cache
  ASSERT_TRUE(std::filesystem::exists(cache));
  const auto written = std::filesystem::last_write_time(cache);
  EXPECT_EQ(speak(), first);  // maps the cache, leaves it as it is
  EXPECT_EQ(std::filesystem::last_write_time(cache), written);

  // A checkpoint that changed (here: its modification time) gets a new cache.
  std::filesystem::last_write_time(model + "/model.safetensors", written + std::chrono::seconds(5));
  EXPECT_EQ(speak(), first);
  EXPECT_NE(std::filesystem::last_write_time(cache), written);

  // A damaged cache is ignored and rewritten.
  std::filesystem::resize_file(cache, 100);
  EXPECT_EQ(speak(), first);
  EXPECT_GT(std::filesystem::file_size(cache), 100u);

  // Without the cache (option off) nothing is written and the result is the same.
  std::filesystem::remove_all(model + "/.izwi-cache");
  o.weight_cache = false;
  EXPECT_EQ(speak(), first);
  EXPECT_FALSE(std::filesystem::exists(cache));
}

}  // namespace
}  // namespace izwi
