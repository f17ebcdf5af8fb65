// `izwi worker`: drains the job queue (POST /v1/jobs) in the voice database.
// Any number may run, on any machines sharing a PostgreSQL database.
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "commands.h"
#include "interrupt.h"
#include "izwi/izwi.h"

namespace izwi::cli {

namespace {

struct WorkerArgs {
  std::string model;
  int threads = 0;
  std::string weights = kDefaultWeights, codec = kDefaultCodec;
  double lease = 60, poll = 0.5;
  bool exit_when_idle = false;
  std::string name;
};

}  // namespace

void register_worker(CLI::App& app, const ContextPtr& ctx) {
  auto a = std::make_shared<WorkerArgs>();
  CLI::App* cmd = app.add_subcommand(
      "worker",
      "Speak queued jobs (POST /v1/jobs) from the voice database; with PostgreSQL (--database) "
      "any number of workers on any machines share the queue");
  cmd->add_option("-m,--model", a->model,
                  "Model for jobs that name none (default: IZWI_DEFAULT_MODEL or "
                  "qwen3-tts-0.6b-base)");
  cmd->add_option("-t,--threads", a->threads, "Model worker threads (0 = all cores)")
      ->check(zero_or_more());
  add_weights_option(cmd, a->weights);
  add_codec_option(cmd, a->codec);
  cmd->add_option("--lease-seconds", a->lease,
                  "Claim on an utterance, renewed while speaking; if this worker dies another "
                  "takes the utterance over after this long")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  cmd->add_option("--poll-seconds", a->poll, "How often an idle worker looks for work")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 60.0));
  cmd->add_flag("--exit-when-idle", a->exit_when_idle, "Exit once no utterance is waiting");
  cmd->add_option("--name", a->name, "This worker's name in the queue (default host:pid)");
  cmd->callback([a, ctx] {
    VoiceStore store(voice_store_options(*ctx));
    JobQueue queue(store);
    std::map<std::string, std::shared_ptr<const TtsModel>> models;  // by directory
    auto model_for = [&](const std::string& name, bool cloning) {
      const std::string dir = resolve_model(
          *ctx, name.empty() ? (a->model.empty() ? default_model_name() : a->model) : name,
          cloning);
      auto& m = models[dir];
      if (!m)
        m = TtsModel::load(dir, ModelOptions{a->threads, parse_weight_format(a->weights), true,
                                             parse_codec_precision(a->codec)});
      return m;
    };
    std::string name = a->name;
    if (name.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      name = std::string(host) + ":" + std::to_string(getpid());
    }
    JobWorker worker(queue, model_for, name, a->lease);
    const StopSignals stop_signals;  // SIGTERM/SIGINT: finish the utterance, then exit
    if (!ctx->quiet)
      std::fprintf(stderr, "izwi worker %s: jobs in %s\n", name.c_str(), store.dir().c_str());
    int spoken = 0;
    while (!StopSignals::received()) {
      if (worker.run_one()) {
        ++spoken;
        continue;
      }
      if (a->exit_when_idle) break;
      std::this_thread::sleep_for(std::chrono::duration<double>(a->poll));
    }
    if (!ctx->quiet)
      std::fprintf(stderr, "izwi worker %s: %d utterances spoken\n", name.c_str(), spoken);
  });
}

}  // namespace izwi::cli
