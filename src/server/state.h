// What every handler of one server shares. Per-request state lives in the
// handlers; this holds the shared, thread-safe parts.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>

#include "izwi/izwi.h"
#include "server/admission.h"
#include "server/metrics.h"
#include "server/model_pool.h"
#include "server/server.h"

namespace izwi::server {

struct ServerState {
  explicit ServerState(const ServerOptions& o)
      : options(o),
        models(o.models, ModelOptions{o.threads, o.weights, true, o.codec, o.codec_thread},
               o.max_loaded_models, o.allow_pull, o.offline),
        admission(o.max_concurrent, o.queue, memory_budget_bytes(o.memory_budget_mb)),
        voices(VoiceStoreOptions{"", o.database, o.database_connections}),
        jobs(voices) {}

  ServerOptions options;
  ModelPool models;
  Admission admission;
  // One store for every request (thread-safe): with PostgreSQL a bounded pool
  // of connections; with SQLite one connection, which sees other processes'
  // commits (`izwi voices …`) at its next statement.
  VoiceStore voices;
  JobQueue jobs;  // in the voices' database
  Metrics metrics;
  std::atomic<bool> draining{false};

  // Running sessions, so a shutdown past its grace period can cancel them.
  void add(SynthesisSession* s) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.insert(s);
  }
  void remove(SynthesisSession* s) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(s);
  }
  void cancel_all() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto* s : sessions_) s->cancel();
  }

  // A saved voice for a model, loaded once and reused while the stored profile
  // is unchanged: the Voice keeps derived state (an ICL voice's codec prefix)
  // that would otherwise be recomputed by every request.
  Voice saved_voice(const std::string& name, const std::shared_ptr<const TtsModel>& model) {
    const VoiceProfile p = voices.get(name);
    const std::string key = name + "\n" + model->model_size();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = voice_cache_.find(key);
      // Valid while the profile is unchanged (its revision changes with every
      // save of the name) and made with this very model (an unloaded model's
      // entry expires with it, so a new model at the same address never matches).
      if (it != voice_cache_.end() && it->second.revision == p.revision &&
          it->second.model.lock() == model)
        return it->second.voice;
    }
    Voice v = voices.load(name, *model);
    std::lock_guard<std::mutex> lock(mu_);
    if (voice_cache_.size() > 64)
      voice_cache_.clear();  // a bound, not an LRU: rebuilding is cheap enough
    voice_cache_[key] = {p.revision, model, v};
    return v;
  }

 private:
  std::mutex mu_;
  std::set<SynthesisSession*> sessions_;
  struct CachedVoice {
    std::string revision;
    std::weak_ptr<const TtsModel> model;
    Voice voice;
  };
  std::map<std::string, CachedVoice> voice_cache_;  // by name and model size
};

// Registers a session with the state for its lifetime.
class SessionRegistration {
 public:
  SessionRegistration(ServerState& st, SynthesisSession* s) : st_(st), s_(s) { st_.add(s_); }
  ~SessionRegistration() { st_.remove(s_); }
  SessionRegistration(const SessionRegistration&) = delete;
  SessionRegistration& operator=(const SessionRegistration&) = delete;

 private:
  ServerState& st_;
  SynthesisSession* s_;
};

}  // namespace izwi::server
