#include "server/admission.h"

#include <chrono>

#include "server/api_error.h"

namespace izwi::server {

Admission::Admission(int max_running, int max_waiting)
    : max_running_(max_running < 1 ? 1 : max_running),
      max_waiting_(max_waiting < 0 ? 0 : max_waiting) {}

Admission::Ticket::~Ticket() {
  if (a_) a_->leave();
}

std::unique_ptr<Admission::Ticket> Admission::enter(const std::function<bool()>& client_gone) {
  std::unique_lock<std::mutex> lock(mu_);
  auto unavailable = [] {
    ApiError e(503, "shutting_down", "the server is shutting down; try again shortly");
    e.retry_after = 5;
    return e;
  };
  if (closed_) throw unavailable();
  if (running_ < max_running_ && waiting_ == 0) {
    ++running_;
    return std::make_unique<Ticket>(this);
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
  while (!closed_ && running_ >= max_running_) {
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
  return std::make_unique<Ticket>(this);
}

void Admission::leave() {
  std::lock_guard<std::mutex> lock(mu_);
  --running_;
  cv_.notify_all();
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
