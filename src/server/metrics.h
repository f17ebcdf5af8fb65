// Prometheus metrics of the server (text exposition format 0.0.4).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "izwi/tts.h"

namespace izwi::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}
  void observe(double v);
  void render(std::string& out, const std::string& name, const std::string& labels = "") const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (the last: +Inf)
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void request(const std::string& route, const std::string& method, int status, double seconds);
  // One finished generation; first_audio < 0 when it was not streamed.
  void generation(double audio_seconds, double rtf, double first_audio);
  // A job utterance this replica's worker spoke: claim to stored audio.
  void job_utterance(double seconds);

  struct Gauges {
    int running = 0, waiting = 0;
    std::vector<std::string> loaded_models;
    std::vector<std::pair<std::string, TtsModel::BatchStats>> batches;
    int64_t jobs_waiting = -1;  // job utterances waiting for a worker (-1: unknown)
  };
  std::string render(const Gauges& g) const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;  // by route
  Histogram first_audio_, rtf_, job_utterance_;
  double audio_seconds_ = 0;
  uint64_t generations_ = 0;
};

}  // namespace izwi::server
