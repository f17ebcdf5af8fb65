// A fixed pool of worker threads for data-parallel loops.
//
// The hot loops split their outer dimension (channels, rows) into one range per
// thread; the calling thread runs the first range itself. Decoding runs
// hundreds of short loops per frame, so a loop costs no allocation (the body is
// passed by reference) and workers spin briefly on an atomic before sleeping,
// instead of a condition-variable round trip per loop. An exception thrown by a
// range is rethrown to the caller once every range has finished.
//
// A loop never waits for a thread that has not started on it: the ranges are
// claimed, each by one thread, and the caller runs every range still unclaimed
// once its own is done. A worker joins a loop only while the loop is open, and
// the caller closes it before waiting, so it waits only for ranges already
// being run. Without this a worker that had lost its core (another process on
// a busy machine) held up every loop for a scheduler time slice: with one other
// busy process on this 2-core machine a frame took 4x as long instead of ~2x.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/function_ref.h"

namespace izwi {

class ThreadPool {
 public:
  // n_threads <= 0: one per hardware thread.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(begin, end) over [0, n) split into at most size() contiguous
  // ranges of at least `grain` items; returns when all are done.
  using Body = FunctionRef<void(int64_t, int64_t)>;
  void parallel_for(int64_t n, int64_t grain, Body fn);

  // Runs fn(begin, end) over [0, n) in chunks of `chunk` items (the last may be
  // shorter) that the threads claim in order as they come free. A thread that
  // starts late or loses its core for a while (another process, the codec's
  // thread) leaves its share to the others instead of holding up the loop, as
  // a fixed split would. For bodies that cost little per call (a GEMV's rows).
  void parallel_for_dynamic(int64_t n, int64_t chunk, Body fn);

  // While one lives, this pool's loops run on the calling thread alone
  // whenever `busy` is true, checked as each loop starts. Batched streams'
  // frames hold one on the codec thread's flag: they leave the other core to
  // it while it decodes, and take that core back at their next loop once it is
  // idle rather than at their next step. A null pool: nothing to do.
  class SoloWhile {
   public:
    SoloWhile(ThreadPool* pool, const std::atomic<bool>& busy);
    ~SoloWhile();
    SoloWhile(const SoloWhile&) = delete;
    SoloWhile& operator=(const SoloWhile&) = delete;

   private:
    ThreadPool* pool_;
  };

 private:
  bool solo() const;
  void worker_loop(int index);
  bool join(uint64_t generation);
  void run_range(Body fn, int64_t begin, int64_t end);
  void run_ranges(Body fn, int first);
  void run_chunks(Body fn);
  void start(Body& fn);
  void finish();

  std::vector<std::thread> workers_;
  std::mutex mu_;  // guards sleeping and waking
  std::condition_variable cv_work_;
  Body* job_ = nullptr;
  std::vector<std::pair<int64_t, int64_t>> ranges_;
  // parallel_for: per range, whether a thread has taken it (0 / 1).
  std::unique_ptr<std::atomic<int>[]> claimed_;
  // parallel_for_dynamic: chunk_ > 0, the next unclaimed item, the loop's end.
  int64_t chunk_ = 0, end_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<uint64_t> generation_{0};
  // The current loop: its generation (high 32 bits), whether it is closed to
  // new workers (kClosed) and how many workers are in it (low bits).
  std::atomic<uint64_t> loop_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};
  std::exception_ptr error_;  // the first exception of the current loop
  std::mutex error_mu_;
  std::mutex run_mu_;  // one parallel_for at a time per pool
  std::atomic<const std::atomic<bool>*> solo_while_{nullptr};  // a SoloWhile's flag
};

// Runs on `pool` if given, else inline on the calling thread.
void parallel_for(ThreadPool* pool, int64_t n, int64_t grain, ThreadPool::Body fn);
void parallel_for_dynamic(ThreadPool* pool, int64_t n, int64_t chunk, ThreadPool::Body fn);

}  // namespace izwi
