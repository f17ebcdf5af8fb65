// A bounded queue in front of the engine: at most `max_running` generations
// at once, at most `max_waiting` requests waiting for one; the rest are turned
// away at once (429) instead of piling up. With a memory budget, running
// requests' estimated memory (TtsModel::memory_estimate) also stays within it:
// a request that fits the budget waits until it fits beside the others, one
// that could never fit is refused (413).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

namespace izwi::server {

// --memory-budget-mb in bytes: as given, 0 (no budget) when negative, and for
// 0 half of the memory available now (MemAvailable, or a tighter cgroup limit).
size_t memory_budget_bytes(int64_t mb);

class Admission {
 public:
  // budget_bytes = 0: no memory budget.
  Admission(int max_running, int max_waiting, size_t budget_bytes = 0);

  // Holds a running slot until destroyed.
  class Ticket {
   public:
    Ticket(Admission* a, size_t bytes) : a_(a), bytes_(bytes) {}
    Ticket(Ticket&& o) noexcept : a_(o.a_), bytes_(o.bytes_) { o.a_ = nullptr; }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket();

   private:
    Admission* a_;
    size_t bytes_;
  };

  // Waits for a slot (and `bytes` of the memory budget). Throws ApiError 413
  // when `bytes` exceeds the whole budget, 429 (with Retry-After) when the
  // queue is full, 503 once the server is shutting down, and 499 when
  // `client_gone` says the client left while it waited.
  std::unique_ptr<Ticket> enter(const std::function<bool()>& client_gone, size_t bytes = 0);
  void close();  // shutting down: waiters and newcomers get 503

  int running() const;
  int waiting() const;
  size_t budget_bytes() const;
  void set_budget(size_t bytes);  // e.g. once the default model is loaded
  size_t reserved_bytes() const;  // the running requests' estimates

 private:
  void leave(size_t bytes);
  bool fits(size_t bytes) const { return budget_ == 0 || reserved_ + bytes <= budget_; }

  const int max_running_, max_waiting_;
  size_t budget_;
  size_t reserved_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0, waiting_ = 0;
  bool closed_ = false;
};

}  // namespace izwi::server
