// izwi — the job queue: long work (many utterances, or a long text in
// chunks) that outlives a request and a machine.
//
// A job is a list of utterances with shared parameters, kept in the same
// database as the saved voices (VoiceStore): SQLite for one process, or
// PostgreSQL, where any number of workers (`izwi worker`, or `izwi serve
// --worker`) on any machines drain one queue. A worker claims one utterance
// at a time under a lease it renews while speaking; one that dies loses its
// lease and another worker takes the utterance again, so a job resumes from
// its last finished utterance. Each utterance's audio is stored once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "izwi/tts.h"
#include "izwi/voices.h"

namespace izwi {

namespace store {
class JobRepository;
}

// What every utterance of a job shares; an utterance may override the voice,
// language, instruction and seed.
struct JobParams {
  std::string model;  // "" = the worker's default
  std::string voice;  // a saved voice or a preset speaker ("" = VoiceDesign's instruction)
  std::string language = "auto";
  std::string instruct;
  std::optional<uint64_t> seed;  // utterance i uses seed + i
  double max_seconds = 0;        // per utterance (0: the model's own limit)
};

struct JobUtterance {
  std::string text;
  std::string voice, language, instruct;  // "" = the job's
  std::optional<uint64_t> seed;
};

struct JobItemStatus {
  int index = 0;
  std::string status;  // queued, running, done, failed, cancelled
  int attempts = 0;    // claims (over 1: a worker's lease ran out and another took it over)
  double duration_s = 0;
  std::string error;
};

struct JobStatus {
  std::string id, created_at;
  std::string status;  // queued, running, done, failed (some utterance failed), cancelled
  int total = 0, done = 0, failed = 0;
  std::vector<JobItemStatus> items;
};

class JobQueue {
 public:
  // The queue in `store`'s database (it must outlive the queue).
  explicit JobQueue(VoiceStore& store);

  // Returns the new job's id ("job_" and 24 hex digits). Throws kInvalidArgument
  // for an empty list or an empty text.
  std::string submit(const JobParams& params, const std::vector<JobUtterance>& utterances);
  std::optional<JobStatus> status(const std::string& id);
  // False if there is no such job. Utterances not yet claimed are never spoken.
  bool cancel(const std::string& id);
  // One finished utterance as a WAV file's bytes (nullopt: not finished).
  std::optional<std::string> audio(const std::string& id, int index);
  // Utterances waiting for a worker, over all jobs (queue depth).
  int64_t waiting();

  VoiceStore& voices() { return store_; }

 private:
  friend class JobWorker;
  store::JobRepository& repo();  // defined beside VoiceStore's internals
  VoiceStore& store_;
};

// Drains a JobQueue: claims an utterance, speaks it, stores its audio.
class JobWorker {
 public:
  // The model for a job's `model` ("" = the default), loaded by the caller
  // (kept loaded across utterances). `cloning`: the voice is a saved one (a
  // CustomVoice name then means its Base companion, as everywhere).
  using ModelFor =
      std::function<std::shared_ptr<const TtsModel>(const std::string& model, bool cloning)>;
  JobWorker(JobQueue& queue, ModelFor model_for, std::string name, double lease_seconds = 60);

  // Claims and speaks one utterance. False if none was waiting. An utterance
  // that cannot be spoken (unknown voice, bad text) is marked failed with why.
  bool run_one();
  const std::string& name() const { return name_; }

 private:
  JobQueue& queue_;
  ModelFor model_for_;
  std::string name_;
  double lease_s_;
};

}  // namespace izwi
