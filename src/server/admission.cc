#include "server/admission.h"

#include <chrono>
#include <fstream>
#include <string>

#include "server/api_error.h"

namespace izwi::server {

namespace {
std::string mib(size_t bytes) {
  return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB";
}
}  // namespace

size_t memory_budget_bytes(int64_t mb) {
  if (mb < 0) return 0;
  if (mb > 0) return static_cast<size_t>(mb) << 20;
  uint64_t available = 0;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    uint64_t kb = 0;
    meminfo >> kb;
    meminfo.ignore(64, '\n');
    if (key == "MemAvailable:") available = kb << 10;
  }
  // In a container the cgroup's limit may be the tighter one.
  uint64_t limit = 0, current = 0;
  if (std::ifstream f("/sys/fs/cgroup/memory.max"); f >> limit)
    if (std::ifstream c("/sys/fs/cgroup/memory.current"); c >> current && limit > current)
      available = available == 0 ? limit - current : std::min<uint64_t>(available, limit - current);
  return static_cast<size_t>(available / 2);
}

Admission::Admission(int max_running, int max_waiting, size_t budget_bytes)
    : max_running_(max_running < 1 ? 1 : max_running),
      max_waiting_(max_waiting < 0 ? 0 : max_waiting),
      budget_(budget_bytes) {}

Admission::Ticket::~Ticket() {
  if (a_) a_->leave(bytes_);
}

std::unique_ptr<Admission::Ticket> Admission::enter(const std::function<bool()>& client_gone,
                                                    size_t bytes) {
  std::unique_lock<std::mutex> lock(mu_);
  if (budget_ > 0 && bytes > budget_)
    throw ApiError(413, "request_too_large",
                   "this request needs about " + mib(bytes) + " of memory and the server allows " +
                       mib(budget_) +
                       " for requests (izwi serve --memory-budget-mb): stream it "
                       "(stream_format), lower max_seconds, or split the text");
  auto unavailable = [] {
    ApiError e(503, "shutting_down", "the server is shutting down; try again shortly");
    e.retry_after = 5;
    return e;
  };
  if (closed_) throw unavailable();
  if (running_ < max_running_ && waiting_ == 0 && fits(bytes)) {
    ++running_;
    reserved_ += bytes;
    return std::make_unique<Ticket>(this, bytes);
  }
  if (waiting_ >= max_waiting_) {
    ApiError e(429, "queue_full",
               "the server is busy: " + std::to_string(running_) + " generation(s) running and " +
                   std::to_string(waiting_) +
                   " waiting (izwi serve --max-concurrent / --queue); retry later");
    e.retry_after = 2;
    throw e;
  }
  ++waiting_;
  while (!closed_ && (running_ >= max_running_ || !fits(bytes))) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    if (client_gone && client_gone()) {
      --waiting_;
      cv_.notify_all();
      throw ApiError(499, "client_closed_request", "the client went away while queued");
    }
  }
  --waiting_;
  if (closed_) throw unavailable();
  ++running_;
  reserved_ += bytes;
  return std::make_unique<Ticket>(this, bytes);
}

void Admission::leave(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  --running_;
  reserved_ -= bytes;
  cv_.notify_all();
}

size_t Admission::budget_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return budget_;
}

void Admission::set_budget(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  budget_ = bytes;
  cv_.notify_all();
}

size_t Admission::reserved_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reserved_;
}

void Admission::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

int Admission::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

int Admission::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

}  // namespace izwi::server
