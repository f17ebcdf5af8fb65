#include "server/metrics.h"

#include <cstdio>
#include <tuple>

namespace izwi::server {

namespace {

std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

const std::vector<double> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                             1,     2.5,  5,     10,   30,  60,   120};

}  // namespace

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cum = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    cum += counts_[i];
    const std::string le = i < bounds_.size() ? num(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " + std::to_string(cum) + "\n";
  }
  const std::string l = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + l + " " + num(sum_) + "\n";
  out += name + "_count" + l + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : first_audio_({0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32}),
      rtf_({0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20}),
      job_utterance_({0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300}) {}

void Metrics::job_utterance(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  job_utterance_.observe(seconds);
}

void Metrics::request(const std::string& route, const std::string& method, int status,
                      double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, method, status}];
  latency_.try_emplace(route, kLatencyBuckets).first->second.observe(seconds);
}

void Metrics::generation(double audio_seconds, double rtf, double first_audio) {
  std::lock_guard<std::mutex> lock(mu_);
  ++generations_;
  audio_seconds_ += audio_seconds;
  if (audio_seconds > 0) rtf_.observe(rtf);
  if (first_audio >= 0) first_audio_.observe(first_audio);
}

std::string Metrics::render(const Gauges& g) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string o;
  o += "# HELP izwi_http_requests_total HTTP requests by route, method and status.\n";
  o += "# TYPE izwi_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    o += "izwi_http_requests_total{route=\"" + route + "\",method=\"" + method + "\",status=\"" +
         std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  o += "# HELP izwi_http_request_duration_seconds Time from request to the end of the response.\n";
  o += "# TYPE izwi_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_)
    h.render(o, "izwi_http_request_duration_seconds", "route=\"" + route + "\"");
  o +=
      "# HELP izwi_time_to_first_audio_seconds Streamed requests: time to the first audio block.\n";
  o += "# TYPE izwi_time_to_first_audio_seconds histogram\n";
  first_audio_.render(o, "izwi_time_to_first_audio_seconds");
  o += "# HELP izwi_real_time_factor Generation time over audio duration, per request.\n";
  o += "# TYPE izwi_real_time_factor histogram\n";
  rtf_.render(o, "izwi_real_time_factor");
  o += "# HELP izwi_audio_seconds_total Seconds of audio generated.\n";
  o += "# TYPE izwi_audio_seconds_total counter\n";
  o += "izwi_audio_seconds_total " + num(audio_seconds_) + "\n";
  o += "# HELP izwi_generations_total Generations finished (or cancelled).\n";
  o += "# TYPE izwi_generations_total counter\n";
  o += "izwi_generations_total " + std::to_string(generations_) + "\n";
  o += "# HELP izwi_generations_running Generations running now.\n";
  o += "# TYPE izwi_generations_running gauge\n";
  o += "izwi_generations_running " + std::to_string(g.running) + "\n";
  o += "# HELP izwi_queue_depth Requests waiting for a generation slot.\n";
  o += "# TYPE izwi_queue_depth gauge\n";
  o += "izwi_queue_depth " + std::to_string(g.waiting) + "\n";
  o += "# HELP izwi_job_utterance_seconds Job utterances this replica spoke: claim to stored "
       "audio.\n";
  o += "# TYPE izwi_job_utterance_seconds histogram\n";
  job_utterance_.render(o, "izwi_job_utterance_seconds");
  if (g.jobs_waiting >= 0) {
    o += "# HELP izwi_job_utterances_waiting Job utterances waiting for a worker (all replicas).\n";
    o += "# TYPE izwi_job_utterances_waiting gauge\n";
    o += "izwi_job_utterances_waiting " + std::to_string(g.jobs_waiting) + "\n";
  }
  o += "# HELP izwi_models_loaded Models loaded in memory.\n";
  o += "# TYPE izwi_models_loaded gauge\n";
  o += "izwi_models_loaded " + std::to_string(g.loaded_models.size()) + "\n";
  o += "# HELP izwi_model_loaded 1 for each loaded model.\n";
  o += "# TYPE izwi_model_loaded gauge\n";
  for (const auto& m : g.loaded_models) o += "izwi_model_loaded{model=\"" + m + "\"} 1\n";
  o += "# HELP izwi_batched_steps_total Generation steps that made frames of concurrent requests "
       "together.\n";
  o += "# TYPE izwi_batched_steps_total counter\n";
  for (const auto& [m, b] : g.batches)
    o += "izwi_batched_steps_total{model=\"" + m + "\"} " + std::to_string(b.steps) + "\n";
  o += "# HELP izwi_batched_frames_total Frames those steps made (frames / steps = mean batch).\n";
  o += "# TYPE izwi_batched_frames_total counter\n";
  for (const auto& [m, b] : g.batches)
    o += "izwi_batched_frames_total{model=\"" + m + "\"} " + std::to_string(b.frames) + "\n";
  o += "# HELP izwi_batch_largest The most frames one step has made.\n";
  o += "# TYPE izwi_batch_largest gauge\n";
  for (const auto& [m, b] : g.batches)
    o += "izwi_batch_largest{model=\"" + m + "\"} " + std::to_string(b.largest) + "\n";
  o += "# HELP izwi_codec_thread_blocks_total Audio blocks of concurrent requests decoded beside "
       "their frames (on the model's codec thread).\n";
  o += "# TYPE izwi_codec_thread_blocks_total counter\n";
  for (const auto& [m, b] : g.batches)
    o += "izwi_codec_thread_blocks_total{model=\"" + m + "\"} " +
         std::to_string(b.codec_thread_blocks) + "\n";
  return o;
}

}  // namespace izwi::server
