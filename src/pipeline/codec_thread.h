// A thread that decodes batched sessions' audio blocks while the stepping
// thread makes their frames on the other core (SynthesisSession::step_frames).
//
// Why: a step of four q4 streams on two cores spent ~24 ms making the frames
// with both threads (47-50 core-ms of what one thread does in 40.5) and ~26 ms
// decoding their audio. With the blocks decoded here while one thread makes
// the frames, the two cores' work is what each does best alone, and the
// stepping thread takes a queued block itself whenever this thread falls
// behind (see `take_behind`), so the two stay balanced. While this thread is
// idle the frames' loops use both cores (busy_flag, ThreadPool::SoloWhile).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "models/qwen3_tts/codec_decoder.h"

namespace izwi::pipeline {

class CodecThread {
 public:
  // One block of one session: decoded on this thread or, when it is taken
  // back, on the stepping thread; never two of one owner at once, and an
  // owner's blocks in the order they were submitted.
  struct Job {
    const void* owner = nullptr;             // the session
    codec::ChunkedStream* stream = nullptr;  // the owner's decoder state
    std::vector<int32_t> codes;              // [frames, groups]
    int64_t frames = 0;
    std::vector<float> audio;  // the block's samples, once done
    std::exception_ptr error;  // what the decoder threw
    double seconds = 0;        // decoding time
    bool on_thread = false;    // decoded on this thread (else by a caller, frames waiting)
    enum class State { kQueued, kRunning, kDone } state = State::kQueued;  // under the mutex
  };

  CodecThread();
  ~CodecThread();  // finishes the running job, drops the queued ones
  CodecThread(const CodecThread&) = delete;
  CodecThread& operator=(const CodecThread&) = delete;

  void submit(std::shared_ptr<Job> job);
  // True while a job runs or waits here: the frames should leave this core
  // alone. busy_flag() is the same as a flag to read without the lock
  // (ThreadPool::SoloWhile).
  bool busy() const;
  const std::atomic<bool>& busy_flag() const { return busy_; }
  bool done(const Job& job) const;
  // While more than `frames` frames wait here (not counting the running job),
  // decodes the oldest waiting job it may start on the calling thread.
  void take_behind(int64_t frames);
  // Returns once `job` is done, decoding waiting jobs on the calling thread
  // meanwhile (this one, its owner's earlier ones, or others that may start).
  void finish(Job& job);
  // Drops `owner`'s waiting jobs and waits for its running one (a session
  // that ends early or is destroyed).
  void cancel(const void* owner);

 private:
  void loop();
  // The oldest queued job whose owner has none running (null: none), taken
  // out of the queue and marked running; `here`: by this thread, which is
  // then busy. Under mu_.
  std::shared_ptr<Job> take_locked(bool here);
  // Without the lock; marks it done under it (here: on this thread).
  void run(Job& job, bool here);
  // busy_ from thread_busy_ and the queue, after either changed. Under mu_.
  void update_busy_locked() { busy_.store(thread_busy_ || !queue_.empty()); }

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // a job queued, or stopping
  std::condition_variable done_cv_;  // a job done
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<const void*> running_;  // owners with a job running (here or on a caller)
  int64_t queued_frames_ = 0;
  bool thread_busy_ = false;  // this thread is decoding
  bool stop_ = false;
  std::atomic<bool> busy_{false};  // busy(), for readers without the lock
  std::thread thread_;
};

}  // namespace izwi::pipeline
