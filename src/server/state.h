// What every handler of one server shares. Per-request state lives in the
// handlers; this holds the shared, thread-safe parts.
#pragma once

#include <atomic>
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
        models(o.models, o.threads, o.max_loaded_models, o.allow_pull, o.offline),
        admission(o.max_concurrent, o.queue) {}

  ServerOptions options;
  ModelPool models;
  Admission admission;
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

 private:
  std::mutex mu_;
  std::set<SynthesisSession*> sessions_;
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
