#include "pipeline/codec_thread.h"

#include <algorithm>
#include <chrono>

namespace izwi::pipeline {

CodecThread::CodecThread() : thread_([this] { loop(); }) {}

CodecThread::~CodecThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

void CodecThread::submit(std::shared_ptr<Job> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    job->state = Job::State::kQueued;
    queued_frames_ += job->frames;
    queue_.push_back(std::move(job));
    update_busy_locked();
  }
  work_cv_.notify_one();
}

bool CodecThread::busy() const {
  return busy_.load();
}

bool CodecThread::done(const Job& job) const {
  std::lock_guard<std::mutex> lock(mu_);
  return job.state == Job::State::kDone;
}

std::shared_ptr<CodecThread::Job> CodecThread::take_locked(bool here) {
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    const void* owner = (*it)->owner;
    // (The first queued job of an owner is its oldest: owners' jobs queue in order.)
    if (std::find(running_.begin(), running_.end(), owner) != running_.end()) continue;
    std::shared_ptr<Job> job = std::move(*it);
    queue_.erase(it);
    // This thread's job marks it busy in the same update: busy_ never reads
    // false between the queue emptying and the job starting.
    if (here) thread_busy_ = true;
    update_busy_locked();
    queued_frames_ -= job->frames;
    job->state = Job::State::kRunning;
    running_.push_back(owner);
    return job;
  }
  return nullptr;
}

void CodecThread::run(Job& job, bool here) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    // One thread alone: the other core makes frames (or decodes another block).
    job.stream->push(nullptr, job.codes.data(), job.frames, &job.audio);
  } catch (...) {
    job.error = std::current_exception();
  }
  job.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  job.on_thread = here;
  {
    std::lock_guard<std::mutex> lock(mu_);
    job.state = Job::State::kDone;
    running_.erase(std::find(running_.begin(), running_.end(), job.owner));
    if (here) thread_busy_ = false;  // with the job's end: busy() never outlasts it
    update_busy_locked();
  }
  done_cv_.notify_all();
  work_cv_.notify_all();  // the owner's next job may start now
}

void CodecThread::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    std::shared_ptr<Job> job;
    work_cv_.wait(lock, [&] { return stop_ || (job = take_locked(true)) != nullptr; });
    if (!job) return;  // stopping
    lock.unlock();
    run(*job, true);
    lock.lock();
  }
}

void CodecThread::take_behind(int64_t frames) {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queued_frames_ <= frames || !(job = take_locked(false))) return;
    }
    run(*job, false);
  }
}

void CodecThread::finish(Job& job) {
  std::unique_lock<std::mutex> lock(mu_);
  while (job.state != Job::State::kDone) {
    // Any job that may start (this one, one of its owner's before it, or
    // another's): the calling thread works rather than waits, and the owners'
    // orders hold.
    if (std::shared_ptr<Job> next = take_locked(false)) {
      lock.unlock();
      run(*next, false);
      lock.lock();
    } else {
      done_cv_.wait(lock);
    }
  }
}

void CodecThread::cancel(const void* owner) {
  std::unique_lock<std::mutex> lock(mu_);
  for (auto it = queue_.begin(); it != queue_.end();) {
    if ((*it)->owner == owner) {
      queued_frames_ -= (*it)->frames;
      it = queue_.erase(it);
      update_busy_locked();
    } else {
      ++it;
    }
  }
  done_cv_.wait(
      lock, [&] { return std::find(running_.begin(), running_.end(), owner) == running_.end(); });
}

}  // namespace izwi::pipeline
