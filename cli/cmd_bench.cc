// `izwi bench`: speed of one model on this machine, stage by stage, next to
// the memory bandwidth the machine gives a plain read loop.
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands.h"
#include "izwi/izwi.h"

#ifndef IZWI_SOURCE_DIR
#define IZWI_SOURCE_DIR "."
#endif

namespace izwi::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct BenchArgs {
  std::string model, random, configs = std::string(IZWI_SOURCE_DIR) + "/tests/data/qwen3-tts";
  int frames = 64, threads = 0, first_block = 1, block = 12, repeat = 1;
  bool json = false, overlap = false;
  std::vector<std::string> weights = {"bf16", "q8", "q4"};
  std::string codec = kDefaultCodec;
  std::string codec_thread = "auto";
  std::vector<int> streams = {1};
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// GB/s that `threads` threads reach summing a 512 MB buffer (best of 3): the
// ceiling for a loop that streams weights from memory.
double read_loop_gbps(int threads) {
  const size_t n = (512u << 20) / sizeof(uint64_t);
  std::vector<uint64_t> buf(n, 1);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<uint64_t> sums(static_cast<size_t>(threads));
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const size_t b = n * t / threads, e = n * (t + 1) / threads;
        // Integer sums: the compiler vectorises them freely, so memory is the limit.
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (size_t i = b; i + 8 <= e; i += 8) {
          s0 += buf[i], s1 += buf[i + 1], s2 += buf[i + 2], s3 += buf[i + 3];
          s4 += buf[i + 4], s5 += buf[i + 5], s6 += buf[i + 6], s7 += buf[i + 7];
        }
        sums[t] = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
      });
    for (auto& th : pool) th.join();
    best = std::max(best, static_cast<double>(n * sizeof(uint64_t)) / seconds_since(t0) / 1e9);
    if (sums[0] != n / threads) std::fprintf(stderr, "read loop: unexpected sum\n");
  }
  return best;
}

std::string cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/izwi";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/izwi";
  return (fs::temp_directory_path() / "izwi-cache").string();
}

// A random checkpoint of a released config, written once into the cache.
std::string random_model(const BenchArgs& a) {
  const std::string size = a.random == "0.6b" ? "0.6B" : "1.7B";
  const fs::path from = fs::path(a.configs) / ("Qwen3-TTS-12Hz-" + size + "-Base");
  const fs::path out = fs::path(cache_dir()) / ("random-" + a.random + "-base");
  if (!fs::exists(out / "speech_tokenizer" / "model.safetensors")) {
    if (!fs::exists(from / "config.json"))
      throw Error(ErrorKind::kNotFound, "no released config at '" + from.string() +
                                            "'; pass --configs DIR (izwi's tests/data/qwen3-tts)");
    std::fprintf(stderr, "writing a random %s checkpoint to %s (once)...\n", size.c_str(),
                 out.string().c_str());
    fs::remove_all(out);
    write_random_checkpoint(from.string(), out.string(), 1,
                            (fs::path(a.configs) / "text-tokenizer").string());
  }
  return out.string();
}

// Peak resident memory since the last reset_peak_rss(), from /proc (VmHWM).
double peak_rss_gb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / (1024.0 * 1024.0);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / (1024.0 * 1024.0);
}

// Lets each format's run report its own peak (Linux: "5" resets VmHWM to the
// current RSS). The previous format's model is gone by then, but the allocator
// may still hold its freed memory: given back first, or it would count toward
// the next format's peak (0.81 GB for q4 alone, 1.07 GB after bf16 and q8).
void reset_peak_rss() {
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";
}

// One format's run: the model loaded with it, then the same measurements.
nlohmann::ordered_json bench_format(const BenchArgs& a, const std::string& dir, WeightFormat format,
                                    double read_gbps) {
  reset_peak_rss();
  const auto t_load = Clock::now();
  ModelOptions mo;
  mo.n_threads = a.threads;
  mo.weights = format;
  mo.codec = parse_codec_precision(a.codec);
  mo.codec_thread = parse_codec_thread_use(a.codec_thread);
  auto model = TtsModel::load(dir, mo);
  const double load_s = seconds_since(t_load);

  // An x-vector clone from a 5 s synthetic clip: a voiced, modulated tone.
  Audio clip;
  clip.sample_rate = 24000;
  for (int i = 0; i < 24000 * 5; ++i)
    clip.samples.push_back(0.3f * std::sin(0.05f * i) * (0.6f + 0.4f * std::sin(0.0008f * i)));
  ReferenceOptions raw;
  raw.preprocess = false;
  const Voice voice = model->clone_voice(clip, "", raw);

  // 1. Generation with streamed audio: stages, first audio, real-time factor.
  const char* kText =
      "Hello, this is my cloned voice, speaking for a little while to measure the speed.";
  SynthesisOptions o;
  o.language = "english";
  o.seed = 1;
  o.max_new_tokens = a.frames + 1;
  // Every run makes all its frames: random weights sample the end-of-speech
  // code now and then, and a run (or one of several streams) that stops early
  // is not the same measurement as the one it is compared with. 80 ms frames;
  // the limit above caps it.
  o.min_seconds = 0.08 * a.frames;
  o.stream_audio = true;
  o.first_block_frames = a.first_block;
  o.block_frames = a.block;
  o.overlap_codec = a.overlap;
  // 0. A first request of two frames: it pays what a loaded model's first use
  // costs once (page faults on the mapped checkpoint's weights, first touch of
  // scratch buffers), which would otherwise be charged to the run measured
  // next. Reported on its own as first_request_s.
  SynthesisOptions w = o;
  w.max_new_tokens = 3;
  const auto t_first = Clock::now();
  model->synthesize("Hello.", voice, w);
  const double first_request_s = seconds_since(t_first);

  // N streams at once, stepped together (SynthesisSession::step_all): the
  // audio seconds they make per second.
  auto run_streams = [&](int n) {
    std::vector<std::unique_ptr<SynthesisSession>> sessions;
    std::vector<SynthesisSession*> active;
    const int64_t handed_before = model->batch_stats().codec_thread_blocks;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      SynthesisOptions si = o;
      si.seed = 1 + static_cast<uint64_t>(i);
      sessions.push_back(model->start(kText, voice, si));
      active.push_back(sessions.back().get());
    }
    while (!active.empty()) {
      SynthesisSession::step_all(active);
      std::vector<SynthesisSession*> still;
      for (SynthesisSession* x : active)
        if (!x->done()) still.push_back(x);
      active = still;
    }
    const double wall = seconds_since(t0);
    double audio = 0, worst_first = 0, prefill = 0, codec = 0, beside = 0, talker = 0,
           predictor = 0;
    int64_t frames_made = 0;
    for (auto& x : sessions) {
      const SynthesisResult sr = x->finish();
      audio += sr.seconds();
      worst_first = std::max(worst_first, sr.timings.first_audio);
      prefill += sr.timings.prefill;
      codec += sr.timings.codec;
      beside += sr.timings.codec_beside;
      // The talker and code predictor step the streams together: each stream
      // is charged the whole batch's time, so the longest one is the total.
      talker = std::max(talker, sr.timings.talker);
      predictor = std::max(predictor, sr.timings.code_predictor);
      frames_made = std::max<int64_t>(frames_made, sr.codes.frames);
    }
    nlohmann::ordered_json sj;
    sj["streams"] = n;
    sj["audio_s"] = audio;
    sj["wall_s"] = wall;
    sj["audio_s_per_s"] = audio / wall;
    sj["worst_first_audio_s"] = worst_first;
    // Where the time went: prompts and audio blocks run one stream at a time,
    // the frames of all streams together; codec_beside_s of codec_s ran on the
    // codec thread while the frames were made (not in the wall time's sum).
    sj["prefill_s"] = prefill;
    sj["talker_s"] = talker;
    sj["code_predictor_s"] = predictor;
    sj["codec_s"] = codec;
    sj["codec_beside_s"] = beside;
    // Audio blocks handed to the model's codec thread (--codec-thread).
    sj["codec_thread_blocks"] = model->batch_stats().codec_thread_blocks - handed_before;
    sj["steps"] = frames_made;
    return sj;
  };

  // --repeat: the same run again (same seed, same frames); the run with the
  // median time is reported, with the fastest and slowest RTF beside it (a
  // shared machine's memory bandwidth drifts from one run to the next). Each
  // --streams run comes right after a single-stream run and is compared with
  // that one: the pair sees the same machine, where runs minutes apart may
  // not (30 % apart here). The pair with the median ratio is reported. They
  // run after the single-stream runs, whose peak memory is reported.
  std::vector<SynthesisResult> runs;
  for (int i = 0; i < a.repeat; ++i) runs.push_back(model->synthesize(kText, voice, o));
  const double peak_rss = peak_rss_gb();  // of one stream
  std::map<int, std::vector<std::pair<double, nlohmann::ordered_json>>> paired;
  const bool several = std::any_of(a.streams.begin(), a.streams.end(), [](int n) { return n > 1; });
  for (int i = 0; several && i < a.repeat; ++i) {
    const SynthesisResult one = model->synthesize(kText, voice, o);
    const double one_stream = one.seconds() / one.timings.total;
    for (int n : a.streams) {
      if (n <= 1) continue;
      nlohmann::ordered_json sj = run_streams(n);
      const double ratio = sj["audio_s_per_s"].get<double>() / one_stream;
      paired[n].emplace_back(ratio, std::move(sj));
    }
  }
  std::sort(runs.begin(), runs.end(), [](const SynthesisResult& x, const SynthesisResult& y) {
    return x.timings.total < y.timings.total;
  });
  const SynthesisResult& r = runs[runs.size() / 2];
  auto rtf_of = [](const SynthesisResult& x) {
    return x.seconds() > 0 ? x.timings.total / x.seconds() : 0.0;
  };
  const int64_t frames = std::max<int64_t>(1, r.codes.frames);
  const SynthesisTimings& t = r.timings;

  // 2. A 100-token prompt (text in the prompt): the prefill alone.
  std::string words;
  while (model->tokenizer().encode(words).size() < 100) words += "one more word, ";
  SynthesisOptions p = o;
  p.non_streaming = true;
  p.chunking.max_chars = 0;  // one prompt: a long text's first chunk is shorter
  auto session = model->start(words, voice, p);
  session->step();
  session->cancel();
  const SynthesisResult pr = session->finish();
  const int64_t prompt_tokens = static_cast<int64_t>(pr.text_ids.size()) - 8;

  const auto wb = model->weight_bytes();
  const double gen_per_frame = (t.talker + t.code_predictor) / frames;
  nlohmann::ordered_json j;
  j["weights"] = weight_format_name(format);
  j["codec"] = codec_precision_name(model->codec_precision());
  j["codec_thread"] = a.codec_thread;  // auto, on or off (ModelOptions::codec_thread)
  j["threads"] = model->threads();
  j["load_s"] = load_s;
  j["first_request_s"] = first_request_s;
  j["frames"] = r.codes.frames;
  j["audio_s"] = r.seconds();
  j["prefill_ms"] = t.prefill * 1e3;
  j["prefill_100_tokens_ms"] = pr.timings.prefill * 1e3;
  j["prefill_100_tokens"] = prompt_tokens;
  j["talker_ms_per_frame"] = t.talker / frames * 1e3;
  j["code_predictor_ms_per_frame"] = t.code_predictor / frames * 1e3;
  j["codec_ms_per_frame"] = t.codec / frames * 1e3;
  j["weights_gb_per_frame"] = static_cast<double>(wb.per_frame()) / 1e9;
  j["effective_gbps"] = static_cast<double>(wb.per_frame()) / gen_per_frame / 1e9;
  j["read_loop_gbps"] = read_gbps;
  j["first_audio_s"] = t.first_audio;
  j["total_s"] = t.total;
  j["rtf"] = rtf_of(r);
  j["repeats"] = a.repeat;
  j["rtf_min"] = rtf_of(runs.front());
  j["rtf_max"] = rtf_of(runs.back());
  j["peak_rss_gb"] = peak_rss;
  for (auto& [n, pairs] : paired) {
    std::sort(pairs.begin(), pairs.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    nlohmann::ordered_json sj = pairs[pairs.size() / 2].second;
    sj["vs_one_stream"] = pairs[pairs.size() / 2].first;
    sj["vs_one_stream_min"] = pairs.front().first;
    sj["vs_one_stream_max"] = pairs.back().first;
    j["streams"].push_back(sj);
  }

  return j;
}

void print_run(const nlohmann::ordered_json& j) {
  std::printf("[%s]\n", j["weights"].get<std::string>().c_str());
  std::printf(
      "  load         %.1f s, then a first two-frame request %.2f s (not in the numbers below)\n",
      j["load_s"].get<double>(), j["first_request_s"].get<double>());
  std::printf("  prefill      %.0f ms (x-vector prompt); %lld-token text prompt: %.0f ms\n",
              j["prefill_ms"].get<double>(),
              static_cast<long long>(j["prefill_100_tokens"].get<int64_t>()),
              j["prefill_100_tokens_ms"].get<double>());
  std::printf("  per frame    talker %.1f ms, code predictor %.1f ms, codec %.1f ms (%s)\n",
              j["talker_ms_per_frame"].get<double>(),
              j["code_predictor_ms_per_frame"].get<double>(), j["codec_ms_per_frame"].get<double>(),
              j["codec"].get<std::string>().c_str());
  std::printf("  bandwidth    %.2f GB of weights per frame: %.1f GB/s effective\n",
              j["weights_gb_per_frame"].get<double>(), j["effective_gbps"].get<double>());
  std::printf(
      "  end to end   %lld frames = %.2f s of audio in %.2f s: RTF %.2f, first audio %.3f s\n",
      static_cast<long long>(j["frames"].get<int64_t>()), j["audio_s"].get<double>(),
      j["total_s"].get<double>(), j["rtf"].get<double>(), j["first_audio_s"].get<double>());
  if (j["repeats"].get<int>() > 1)
    std::printf("  repeats      the median of %d runs; RTF %.2f-%.2f\n", j["repeats"].get<int>(),
                j["rtf_min"].get<double>(), j["rtf_max"].get<double>());
  std::printf("  memory       peak RSS %.2f GB\n", j["peak_rss_gb"].get<double>());
  if (j.contains("streams"))
    for (const auto& s : j["streams"])
      std::printf(
          "  %d streams    %.2f s of audio per second together (%.2fx the single stream run "
          "just before; %.2f-%.2fx over the repeats), worst first audio %.3f s\n",
          s["streams"].get<int>(), s["audio_s_per_s"].get<double>(),
          s["vs_one_stream"].get<double>(), s["vs_one_stream_min"].get<double>(),
          s["vs_one_stream_max"].get<double>(), s["worst_first_audio_s"].get<double>());
  if (j.contains("streams"))
    for (const auto& s : j["streams"]) {
      const double steps = std::max<double>(1, s["steps"].get<double>());
      std::printf(
          "  %d streams    of %.2f s: prompts %.2f s, per step (a frame of each) talker %.1f ms, "
          "code predictor %.1f ms, codec %.1f ms (%.1f of it beside the frames; %lld blocks handed "
          "to the codec thread)\n",
          s["streams"].get<int>(), s["wall_s"].get<double>(), s["prefill_s"].get<double>(),
          s["talker_s"].get<double>() / steps * 1e3,
          s["code_predictor_s"].get<double>() / steps * 1e3,
          s["codec_s"].get<double>() / steps * 1e3, s["codec_beside_s"].get<double>() / steps * 1e3,
          static_cast<long long>(s["codec_thread_blocks"].get<int64_t>()));
    }
}

void run_bench(const BenchArgs& a, const Context& ctx) {
  if (!a.model.empty() && !a.random.empty())
    throw Error(ErrorKind::kInvalidArgument, "give a MODEL or --random, not both");
  std::vector<WeightFormat> formats;
  for (const std::string& w : a.weights) formats.push_back(parse_weight_format(w));
  const std::string dir =
      !a.random.empty()
          ? random_model(a)
          : resolve_model(ctx, a.model.empty() ? default_model_name() : a.model, true);
  const int threads =
      a.threads > 0 ? a.threads : static_cast<int>(std::thread::hardware_concurrency());
  const double read_gbps = read_loop_gbps(std::max(1, threads));

  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  for (WeightFormat f : formats) {
    if (!a.json) std::fprintf(stderr, "measuring %s...\n", weight_format_name(f));
    runs.push_back(bench_format(a, dir, f, read_gbps));
  }
  // Ratios to the bf16 run of this invocation, when there is one.
  const nlohmann::ordered_json* base = nullptr;
  for (const auto& r : runs)
    if (r["weights"] == "bf16") base = &r;
  if (base)
    for (auto& r : runs) {
      r["rtf_vs_bf16"] = r["rtf"].get<double>() / (*base)["rtf"].get<double>();
      r["first_audio_vs_bf16"] =
          r["first_audio_s"].get<double>() / (*base)["first_audio_s"].get<double>();
    }
  if (a.json) {
    nlohmann::ordered_json j;
    j["model"] = dir;
    j["read_loop_gbps"] = read_gbps;
    j["cpu_kernels"] = cpu_kernels();
    j["runs"] = runs;
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("model        %s (%d threads)\n", dir.c_str(), runs[0]["threads"].get<int>());
  std::printf("kernels      %s\n", cpu_kernels().c_str());
  std::printf("read loop    %.1f GB/s\n", read_gbps);
  for (const auto& r : runs) print_run(r);
  if (base && runs.size() > 1) {
    std::printf("\n%-6s %8s %10s %12s %10s\n", "format", "RTF", "vs bf16", "first audio",
                "peak RSS");
    for (const auto& r : runs)
      std::printf("%-6s %8.2f %9.2fx %11.3fs %8.2fGB\n", r["weights"].get<std::string>().c_str(),
                  r["rtf"].get<double>(), r["rtf_vs_bf16"].get<double>(),
                  r["first_audio_s"].get<double>(), r["peak_rss_gb"].get<double>());
  }
}

}  // namespace

void register_bench(CLI::App& app, const ContextPtr& ctx) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Measure synthesis speed: prefill, talker, code predictor and codec per frame, "
      "first audio, real-time factor, memory");
  cmd->footer(
      "Examples:\n"
      "  izwi bench                       # the default model\n"
      "  izwi bench --random 0.6b --json  # random weights of the released 0.6B config\n"
      "  izwi bench --weights q8          # one format only\n"
      "  izwi bench --repeat 5            # the median of 5 runs, with the range\n"
      "RTF is time spent / audio length (below 1 is faster than real time).");
  cmd->add_option("model", a->model, "Model name or checkpoint directory (default: izwi tts's)");
  cmd->add_option("--random", a->random,
                  "Random weights of a released config instead of a real model (written once to "
                  "the cache directory)")
      ->check(CLI::IsMember({"0.6b", "1.7b"}));
  cmd->add_option("--configs", a->configs, "Folder with the released configs (for --random)")
      ->capture_default_str();
  cmd->add_option("--frames", a->frames, "Frames to generate (80 ms each)")
      ->check(CLI::Range(2, 100000))
      ->capture_default_str();
  cmd->add_option("-t,--threads", a->threads, "Worker threads (0 = all cores)")
      ->check(zero_or_more());
  cmd->add_option("--first-block", a->first_block, "Frames in the first streamed audio block")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--block", a->block, "Frames in each later audio block")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_flag("--overlap", a->overlap,
                "Decode audio blocks after the first on their own thread while frames are made");
  cmd->add_option("--weights", a->weights,
                  "Weight formats to measure, each with the model loaded anew (bf16 is the "
                  "baseline the others are compared with)")
      ->delimiter(',')
      ->check(CLI::IsMember({"bf16", "q8", "q4"}))
      ->capture_default_str();
  cmd->add_option("--repeat", a->repeat,
                  "Runs of the end-to-end measurement per format; the median one is reported, "
                  "with the RTF range (for machines whose speed drifts)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  add_codec_option(cmd, a->codec);
  add_codec_thread_option(cmd, a->codec_thread);
  cmd->add_option("--streams", a->streams,
                  "Also run this many streams at once, stepped together (e.g. 4 or 2,4)")
      ->delimiter(',')
      ->check(CLI::Range(1, 64));
  cmd->add_flag("--json", a->json, "Print the numbers as JSON");
  cmd->callback([a, ctx] { run_bench(*a, *ctx); });
}

}  // namespace izwi::cli
