#include "core/thread_pool.h"

#include <immintrin.h>

#include <algorithm>

#include "core/error.h"

namespace izwi {

namespace {
// About 50-100 us of spinning: longer than the gap between two loops of one
// decoding step, far shorter than the gap between requests.
constexpr int kSpins = 20000;

// ThreadPool::loop_: generation << 32 | kClosed | workers in the loop.
constexpr uint64_t kClosed = uint64_t{1} << 31;
constexpr uint64_t kCount = kClosed - 1;
uint64_t loop_id(uint64_t generation) {
  return (generation & 0xffffffffu) << 32;
}

// Waits for `done`, spinning a little, then giving the core away: the thread
// waited for may be the one that needs it.
template <typename Done>
void wait_for(Done&& done) {
  for (int spins = 0; !done(); ++spins) {
    if (spins < kSpins)
      _mm_pause();
    else
      std::this_thread::yield();
  }
}
}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0)
    n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ranges_.assign(static_cast<size_t>(n_threads), {0, 0});
  claimed_ = std::make_unique<std::atomic<int>[]>(static_cast<size_t>(n_threads));
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_range(Body fn, int64_t begin, int64_t end) {
  if (end <= begin) return;
  try {
    fn(begin, end);
  } catch (...) {
    std::lock_guard<std::mutex> lock(error_mu_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    // Spin for the next loop, then sleep until woken.
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen && !stop_.load()) {
      if (++spins < kSpins) {
        _mm_pause();
        continue;
      }
      std::unique_lock<std::mutex> lock(mu_);
      ++sleepers_;
      cv_work_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
      --sleepers_;
    }
    if (stop_.load()) return;
    seen = generation_.load(std::memory_order_acquire);
    if (!join(seen)) continue;  // that loop is over (or closing) already
    if (chunk_ > 0)
      run_chunks(*job_);
    else
      run_ranges(*job_, index);
    loop_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

// Enters the loop of `generation` if it is still open: from then on the
// caller waits for this worker; if it is closed, the worker must not touch it.
bool ThreadPool::join(uint64_t generation) {
  uint64_t s = loop_.load(std::memory_order_acquire);
  for (;;) {
    if ((s & ~(kClosed | kCount)) != loop_id(generation) || (s & kClosed)) return false;
    if (loop_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) return true;
  }
}

void ThreadPool::run_chunks(Body fn) {
  for (;;) {
    const int64_t b = next_.fetch_add(chunk_, std::memory_order_relaxed);
    if (b >= end_) return;
    run_range(fn, b, std::min(end_, b + chunk_));
  }
}

// The thread's own range first, then any other nobody has taken.
void ThreadPool::run_ranges(Body fn, int first) {
  const int n = size();
  for (int k = 0; k < n; ++k) {
    const int i = (first + k) % n;
    if (claimed_[i].load(std::memory_order_relaxed) == 0 &&
        claimed_[i].exchange(1, std::memory_order_acq_rel) == 0)
      run_range(fn, ranges_[i].first, ranges_[i].second);
  }
}

// Publishes fn to the workers and wakes any that sleep. The loop opens (with
// no worker in it) before its generation is published.
void ThreadPool::start(Body& fn) {
  job_ = &fn;
  error_ = nullptr;
  const uint64_t generation = generation_.load(std::memory_order_relaxed) + 1;
  loop_.store(loop_id(generation), std::memory_order_release);
  {
    // Publishing under the lock: a worker about to sleep sees the new generation.
    std::lock_guard<std::mutex> lock(mu_);
    generation_.store(generation, std::memory_order_release);
  }
  if (sleepers_.load() > 0) cv_work_.notify_all();
}

// Called once the caller has run or seen taken every range (or chunk): closes
// the loop, then waits for the workers that joined it.
void ThreadPool::finish() {
  loop_.fetch_or(kClosed, std::memory_order_acq_rel);
  wait_for([&] { return (loop_.load(std::memory_order_acquire) & kCount) == 0; });
  job_ = nullptr;
  chunk_ = 0;
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, Body fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t parts = std::min<int64_t>(size(), (n + grain - 1) / grain);
  if (parts <= 1 || workers_.empty() || solo()) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> run_lock(run_mu_);
  const int64_t chunk = (n + parts - 1) / parts;
  for (int64_t p = 0; p < size(); ++p) {
    ranges_[p] = p < parts ? std::make_pair(p * chunk, std::min(n, (p + 1) * chunk))
                           : std::make_pair(int64_t{0}, int64_t{0});
    claimed_[p].store(p < parts ? 0 : 1, std::memory_order_relaxed);
  }
  start(fn);  // chunk_ is 0 outside parallel_for_dynamic (finish() resets it)
  run_ranges(fn, 0);
  finish();
}

void ThreadPool::parallel_for_dynamic(int64_t n, int64_t chunk, Body fn) {
  if (n <= 0) return;
  chunk = std::max<int64_t>(chunk, 1);
  if (n <= chunk || workers_.empty() || solo()) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> run_lock(run_mu_);
  chunk_ = chunk;
  end_ = n;
  next_.store(0, std::memory_order_relaxed);
  start(fn);
  run_chunks(fn);
  finish();
}

bool ThreadPool::solo() const {
  const std::atomic<bool>* busy = solo_while_.load(std::memory_order_acquire);
  return busy && busy->load(std::memory_order_acquire);
}

ThreadPool::SoloWhile::SoloWhile(ThreadPool* pool, const std::atomic<bool>& busy) : pool_(pool) {
  if (!pool_) return;
  const std::atomic<bool>* none = nullptr;
  // One at a time: a second would silently replace the first one's flag.
  const bool first =
      pool_->solo_while_.compare_exchange_strong(none, &busy, std::memory_order_acq_rel);
  IZWI_ASSERT(first);
}

ThreadPool::SoloWhile::~SoloWhile() {
  if (pool_) pool_->solo_while_.store(nullptr, std::memory_order_release);
}

void parallel_for(ThreadPool* pool, int64_t n, int64_t grain, ThreadPool::Body fn) {
  if (pool)
    pool->parallel_for(n, grain, fn);
  else if (n > 0)
    fn(0, n);
}

void parallel_for_dynamic(ThreadPool* pool, int64_t n, int64_t chunk, ThreadPool::Body fn) {
  if (pool)
    pool->parallel_for_dynamic(n, chunk, fn);
  else if (n > 0)
    fn(0, n);
}

}  // namespace izwi
