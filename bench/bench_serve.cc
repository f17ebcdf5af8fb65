// Time to first audio and real-time factor through `izwi serve` (HTTP,
// streamed PCM) next to the library's own session, for 1 and N concurrent
// clients, on a checkpoint directory (e.g. the real-size random one that
// `izwi bench --random 0.6b` caches in ~/.cache/izwi/random-0.6b-base).
//
//   build/release/bench/bench_serve --model DIR [--seconds 4] [--clients 1,4] [--threads 0]
//
// Every request asks for exactly --seconds of audio (min = max), so runs compare.
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "izwi/izwi.h"

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Run {
  double first_audio = 0, total = 0, audio_seconds = 0;
};

// A speech-like reference: a few voiced syllables (harmonics with a moving pitch).
izwi::Audio reference_clip() {
  izwi::Audio a;
  a.sample_rate = 24000;
  a.samples.resize(24000 * 6);
  for (size_t i = 0; i < a.samples.size(); ++i) {
    const double t = static_cast<double>(i) / 24000;
    const double f0 = 120 + 30 * std::sin(2 * M_PI * 0.7 * t);
    const double env = std::max(0.0, std::sin(2 * M_PI * 2.5 * t));
    double v = 0;
    for (int h = 1; h <= 8; ++h) v += std::sin(2 * M_PI * f0 * h * t) / h;
    a.samples[i] = static_cast<float>(0.2 * env * v);
  }
  return a;
}

Run library_run(const izwi::TtsModel& model, const izwi::Voice& voice, double seconds) {
  izwi::SynthesisOptions o;
  o.min_seconds = o.max_seconds = seconds;
  o.seed = 1;
  Run r;
  const auto t0 = Clock::now();
  o.on_audio = [&](const float*, int64_t n) {
    if (r.first_audio == 0) r.first_audio = since(t0);
    r.audio_seconds += static_cast<double>(n) / model.sample_rate();
    return true;
  };
  model.synthesize("The quick brown fox jumps over the lazy dog, again and again.", voice, o);
  r.total = since(t0);
  return r;
}

Run http_run(int port, double seconds) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(600, 0);
  const nlohmann::json body = {
      {"input", "The quick brown fox jumps over the lazy dog, again and again."},
      {"voice", "bench"},
      {"response_format", "pcm"},
      {"stream_format", "audio"},
      {"seed", 1},
      {"min_seconds", seconds},
      {"max_seconds", seconds}};
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/audio/speech";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  Run r;
  size_t bytes = 0;
  const auto t0 = Clock::now();
  req.content_receiver = [&](const char*, size_t n, uint64_t, uint64_t) {
    if (bytes == 0) r.first_audio = since(t0);
    bytes += n;
    return true;
  };
  httplib::Response res;
  httplib::Error err;
  if (!c.send(req, res, err) || res.status != 200)
    throw std::runtime_error("request failed: " + httplib::to_string(err) + " " + res.body);
  r.total = since(t0);
  r.audio_seconds = static_cast<double>(bytes) / 2 / 24000;
  return r;
}

void report(const std::string& what, int clients, const std::vector<Run>& runs) {
  double fa = 0, rtf = 0, worst_fa = 0;
  for (const auto& r : runs) {
    fa += r.first_audio;
    worst_fa = std::max(worst_fa, r.first_audio);
    rtf += r.total / r.audio_seconds;
  }
  std::printf("%-8s clients %d: first audio %.3f s (worst %.3f s), RTF %.2f per request\n",
              what.c_str(), clients, fa / runs.size(), worst_fa, rtf / runs.size());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"izwi serve vs the library: time to first audio and RTF"};
  std::string model_dir, clients_s = "1,4";
  double seconds = 4;
  int threads = 0;
  app.add_option("--model", model_dir, "Checkpoint directory")->required();
  app.add_option("--seconds", seconds, "Audio per request");
  app.add_option("--clients", clients_s, "Concurrent clients to try, comma separated");
  app.add_option("--threads", threads, "Model worker threads (0 = all cores)");
  CLI11_PARSE(app, argc, argv);
  std::vector<int> clients;
  std::stringstream ss(clients_s);
  for (std::string x; std::getline(ss, x, ',');) clients.push_back(std::stoi(x));

  // The library: one model, the same voice, requests one after another or at once.
  auto model = izwi::TtsModel::load(model_dir, izwi::ModelOptions{threads});
  const izwi::Voice voice = model->clone_voice(reference_clip());
  library_run(*model, voice, 1.0);  // warm the page cache and the pools
  for (int n : clients) {
    std::vector<std::future<Run>> fs;
    for (int i = 0; i < n; ++i)
      fs.push_back(
          std::async(std::launch::async, [&] { return library_run(*model, voice, seconds); }));
    std::vector<Run> runs;
    for (auto& f : fs) runs.push_back(f.get());
    report("library", n, runs);
  }
  model.reset();

  // The server, with a saved voice from the same clip, as many slots as clients.
  char tmpl[] = "/tmp/izwi-bench-XXXXXX";
  const std::string data = mkdtemp(tmpl);
  const std::string log = data + "/serve.log";
  const int max_clients = *std::max_element(clients.begin(), clients.end());
  const pid_t pid = fork();
  if (pid == 0) {
    setenv("IZWI_DATA_DIR", data.c_str(), 1);
    freopen(log.c_str(), "w", stderr);
    const std::string conc = std::to_string(max_clients), th = std::to_string(threads);
    execl(IZWI_BINARY, "izwi", "serve", "--port", "0", "--model", model_dir.c_str(),
          "--max-concurrent", conc.c_str(), "--threads", th.c_str(), "--max-audio-seconds", "0",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int port = -1;
  for (int i = 0; i < 3000 && port < 0; ++i) {
    std::ifstream in(log);
    std::stringstream s;
    s << in.rdbuf();
    std::smatch m;
    const std::string text = s.str();
    if (std::regex_search(text, m, std::regex(R"(listening on http://[0-9.]+:([0-9]+))")))
      port = std::stoi(m[1]);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(600, 0);
  for (int i = 0; i < 3000; ++i) {
    auto r = c.Get("/readyz");
    if (r && r->status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const izwi::Audio ref = reference_clip();
  izwi::write_audio(data + "/ref.wav", ref);
  std::ifstream in(data + "/ref.wav", std::ios::binary);
  std::stringstream wav;
  wav << in.rdbuf();
  httplib::MultipartFormDataItems form = {{"name", "bench", "", ""},
                                          {"audio", wav.str(), "ref.wav", "audio/wav"}};
  auto made = c.Post("/v1/voices", form);
  if (!made || made->status != 201) {
    std::fprintf(stderr, "saving the voice failed\n");
    kill(pid, SIGKILL);
    return 1;
  }
  http_run(port, 1.0);  // warm-up, as for the library
  for (int n : clients) {
    std::vector<std::future<Run>> fs;
    for (int i = 0; i < n; ++i)
      fs.push_back(std::async(std::launch::async, [&] { return http_run(port, seconds); }));
    std::vector<Run> runs;
    for (auto& f : fs) runs.push_back(f.get());
    report("http", n, runs);
  }
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  std::filesystem::remove_all(data);
  return 0;
}
