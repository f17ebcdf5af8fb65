// izwi-quant-quality: how far the 8/4-bit weight formats move a model's outputs
// from its exact (bf16) weights. For each format:
//   - talker, step by step over `steps` frames of teacher-forced input (codec
//     embeddings of seeded random codes): logits' relative error
//     ||l_q - l_bf16|| / ||l_bf16|| and the fraction of steps whose argmax agrees;
//   - talker prompt: the same `steps` inputs in one forward pass (a prefill,
//     which takes the many-row kernels), the same two numbers over its rows;
//   - code predictor, teacher-forced on the talker's hidden states: the same
//     two numbers over its 15 heads;
//   - greedy generation through the public API (an x-vector clone of a
//     synthetic clip, or the first preset speaker): how many leading frames
//     have all 16 codes equal to the bf16 run's, and the share of equal codes.
//
//   izwi-quant-quality tests/data/golden/model --json
//   izwi-quant-quality ~/.cache/izwi/random-0.6b-base --formats q8,q4
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "core/quant.h"
#include "core/thread_pool.h"
#include "izwi/izwi.h"
#include "models/qwen3_tts/code_predictor.h"
#include "models/qwen3_tts/sampler.h"
#include "models/qwen3_tts/talker.h"

namespace {

using namespace izwi;

struct Parts {
  std::unique_ptr<tts::Talker> talker;
  std::unique_ptr<tts::CodePredictor> cp;
};

Parts load_parts(const ModelConfig& config, CheckpointWeights& ck, DType format, ThreadPool* pool) {
  QuantizingWeights w(ck, format, is_talker_linear, pool);
  Parts p;
  p.talker = std::make_unique<tts::Talker>(config, w, tts::kv_cache_for(format));  // as loaded
  p.cp = std::make_unique<tts::CodePredictor>(config.code_predictor,
                                              config.talker.stack.hidden_size, w);
  return p;
}

// Logits of every teacher-forced step: talker [steps, V] and code predictor
// [steps, 15, Vcp], plus the talker hidden states the code predictor reads.
struct Outputs {
  std::vector<float> talker, prompt, cp, hidden;
};

Outputs run(const Parts& p, const std::vector<int32_t>& codes, int steps, int groups,
            const std::vector<float>* hidden_in, ThreadPool* pool) {
  const int H = p.talker->hidden(), V = p.talker->vocab(), Vc = p.cp->vocab();
  Outputs o;
  auto state = p.talker->new_state(steps);
  std::vector<float> x(H), h(H), l(V), lc((groups - 1) * Vc), e0(H);
  for (int t = 0; t < steps; ++t) {
    p.talker->embed_codec(codes[t * groups], x.data());
    const int64_t pos = t;
    p.talker->forward(pool, x.data(), 1, &pos, nullptr, state, h.data());
    p.talker->logits(pool, h.data(), 1, l.data());
    o.talker.insert(o.talker.end(), l.begin(), l.end());
    o.hidden.insert(o.hidden.end(), h.begin(), h.end());
    // The code predictor reads the same hidden state in both runs (the exact one).
    const float* hid = hidden_in ? hidden_in->data() + static_cast<size_t>(t) * H : h.data();
    p.talker->embed_codec(codes[t * groups], e0.data());
    p.cp->teacher_forced(pool, hid, e0.data(), codes.data() + t * groups, lc.data());
    o.cp.insert(o.cp.end(), lc.begin(), lc.end());
  }
  // The same inputs as one prompt.
  auto prompt_state = p.talker->new_state(steps);
  std::vector<float> xs(static_cast<size_t>(steps) * H), hs(xs.size());
  std::vector<int64_t> positions(steps);
  for (int t = 0; t < steps; ++t) {
    p.talker->embed_codec(codes[t * groups], xs.data() + static_cast<size_t>(t) * H);
    positions[t] = t;
  }
  p.talker->forward(pool, xs.data(), steps, positions.data(), nullptr, prompt_state, hs.data());
  o.prompt.resize(static_cast<size_t>(steps) * V);
  p.talker->logits(pool, hs.data(), steps, o.prompt.data());
  return o;
}

// Relative error and argmax agreement over rows of `width`.
nlohmann::ordered_json compare(const std::vector<float>& q, const std::vector<float>& ref,
                               int width) {
  double num = 0, den = 0;
  int agree = 0;
  const int rows = static_cast<int>(ref.size() / width);
  for (int r = 0; r < rows; ++r) {
    const float* a = q.data() + static_cast<size_t>(r) * width;
    const float* b = ref.data() + static_cast<size_t>(r) * width;
    for (int i = 0; i < width; ++i) {
      num += (a[i] - b[i]) * static_cast<double>(a[i] - b[i]);
      den += b[i] * static_cast<double>(b[i]);
    }
    agree += tts::argmax(a, width) == tts::argmax(b, width);
  }
  nlohmann::ordered_json j;
  j["relative_error"] = std::sqrt(num / std::max(den, 1e-30));
  j["argmax_agreement"] = static_cast<double>(agree) / rows;
  return j;
}

AudioCodes greedy_codes(const std::string& dir, WeightFormat f, int frames, int threads) {
  ModelOptions mo;
  mo.n_threads = threads;
  mo.weights = f;
  mo.weight_cache = false;  // measure this build's quantization, never a cached one
  auto model = TtsModel::load(dir, mo);
  Voice voice;
  if (model->can_clone()) {
    Audio clip;
    clip.sample_rate = 24000;
    for (int i = 0; i < 24000 * 5; ++i)
      clip.samples.push_back(0.3f * std::sin(0.05f * i) * (0.6f + 0.4f * std::sin(0.0008f * i)));
    ReferenceOptions raw;
    raw.preprocess = false;
    voice = model->clone_voice(clip, "", raw);
  } else {
    voice = model->preset_voice(model->speakers().at(0));
  }
  SynthesisOptions o;
  o.greedy = true;
  o.seed = 1;
  o.max_new_tokens = frames;
  o.language = "english";
  return model->synthesize("Hello, this is a test of the weight formats.", voice, o).codes;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measure how the q8 / q4 weight formats change a model's logits and codes"};
  std::string dir;
  std::vector<std::string> formats = {"q8", "q4"};
  int steps = 32, frames = 32, threads = 0;
  bool json = false;
  app.add_option("model", dir, "Checkpoint directory")->required()->check(CLI::ExistingDirectory);
  app.add_option("--formats", formats, "Formats to compare with bf16")
      ->delimiter(',')
      ->check(CLI::IsMember({"q8", "q4"}))
      ->capture_default_str();
  app.add_option("--steps", steps, "Teacher-forced steps")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--frames", frames, "Greedy frames to generate")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("-t,--threads", threads, "Worker threads (0 = all cores)");
  app.add_flag("--json", json, "Print JSON");
  CLI11_PARSE(app, argc, argv);
  try {
    ThreadPool pool(threads);
    const ModelConfig config = ModelConfig::load(dir + "/config.json");
    CheckpointWeights ck(Checkpoint::open(dir, "model"));
    const int groups = config.talker.num_code_groups;
    std::mt19937 rng(7);
    std::vector<int32_t> codes(static_cast<size_t>(steps) * groups);
    std::uniform_int_distribution<int32_t> code(0, config.code_predictor.vocab_size - 1);
    for (auto& c : codes) c = code(rng);

    const Outputs ref =
        run(load_parts(config, ck, DType::kBF16, &pool), codes, steps, groups, nullptr, &pool);
    const AudioCodes ref_codes = greedy_codes(dir, WeightFormat::kBf16, frames, threads);
    nlohmann::ordered_json out;
    out["model"] = dir;
    for (const std::string& name : formats) {
      const WeightFormat wf = parse_weight_format(name);
      const DType dt = wf == WeightFormat::kQ8 ? DType::kQ8 : DType::kQ4;
      Parts p = load_parts(config, ck, dt, &pool);
      const Outputs q = run(p, codes, steps, groups, &ref.hidden, &pool);
      nlohmann::ordered_json j;
      j["talker"] = compare(q.talker, ref.talker, p.talker->vocab());
      j["talker_prompt"] = compare(q.prompt, ref.prompt, p.talker->vocab());
      j["code_predictor"] = compare(q.cp, ref.cp, p.cp->vocab());
      const AudioCodes g = greedy_codes(dir, wf, frames, threads);
      const int64_t common = std::min(g.frames, ref_codes.frames);
      int64_t prefix = 0, equal = 0;
      bool same = true;
      for (int64_t f = 0; f < common; ++f) {
        int eq = 0;
        for (int c = 0; c < groups; ++c) eq += g.at(f, c) == ref_codes.at(f, c);
        equal += eq;
        if (same && eq == groups)
          ++prefix;
        else
          same = false;
      }
      j["greedy_frames"] = common;
      j["greedy_identical_leading_frames"] = prefix;
      j["greedy_code_agreement"] =
          common ? static_cast<double>(equal) / static_cast<double>(common * groups) : 0.0;
      out[name] = j;
      if (!json)
        std::printf(
            "%s: talker logits rel. error %.4f, argmax agreement %.3f; as a prompt %.4f, %.3f; "
            "code predictor %.4f, %.3f; greedy: %lld of %lld leading frames identical, %.3f of "
            "codes equal\n",
            name.c_str(), j["talker"]["relative_error"].get<double>(),
            j["talker"]["argmax_agreement"].get<double>(),
            j["talker_prompt"]["relative_error"].get<double>(),
            j["talker_prompt"]["argmax_agreement"].get<double>(),
            j["code_predictor"]["relative_error"].get<double>(),
            j["code_predictor"]["argmax_agreement"].get<double>(), static_cast<long long>(prefix),
            static_cast<long long>(common), j["greedy_code_agreement"].get<double>());
    }
    if (json) std::printf("%s\n", out.dump(2).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
