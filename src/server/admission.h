// A bounded queue in front of the engine: at most `max_running` generations
// at once, at most `max_waiting` requests waiting for one; the rest are turned
// away at once (429) instead of piling up.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace izwi::server {

class Admission {
 public:
  Admission(int max_running, int max_waiting);

  // Holds a running slot until destroyed.
  class Ticket {
   public:
    explicit Ticket(Admission* a) : a_(a) {}
    Ticket(Ticket&& o) noexcept : a_(o.a_) { o.a_ = nullptr; }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket();

   private:
    Admission* a_;
  };

  // Waits for a slot. Throws ApiError 429 (with Retry-After) when the queue is
  // full, 503 once the server is shutting down, and 499 when `client_gone`
  // says the client left while it waited.
  std::unique_ptr<Ticket> enter(const std::function<bool()>& client_gone);
  void close();  // shutting down: waiters and newcomers get 503

  int running() const;
  int waiting() const;

 private:
  void leave();

  const int max_running_, max_waiting_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0, waiting_ = 0;
  bool closed_ = false;
};

}  // namespace izwi::server
