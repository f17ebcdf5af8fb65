// The kernels' per-thread scratch buffers, and a way to give a thread's back.
//
// A kernel keeps its working buffers in thread_local containers that only
// grow, so that generation allocates nothing per frame. But a server runs each
// request on whichever of its connection threads took it, and every such thread
// would keep the largest buffers any request made it grow: measured on the
// 0.6B model, 16 requests took a server from 1.18 to 1.89 GB. So the library
// gives a thread's buffers back when a public call that used them ends
// (release_thread_scratch), and the next one grows them again (page faults of
// a few ms per request).
#pragma once

#include <cstddef>

namespace izwi {

namespace detail {
// One registered buffer of the calling thread.
class ScratchEntry {
 public:
  ScratchEntry();
  virtual ~ScratchEntry();
  ScratchEntry(const ScratchEntry&) = delete;
  ScratchEntry& operator=(const ScratchEntry&) = delete;
  virtual void release() = 0;
  virtual size_t bytes() const = 0;
};
}  // namespace detail

// A thread_local buffer that release_thread_scratch() empties: use it as the
// container itself (`thread_local ThreadScratch<std::vector<float>> cols;`).
// Only for buffers that are sized again before every use.
template <typename Container>
class ThreadScratch : public Container, private detail::ScratchEntry {
 private:
  void release() override { static_cast<Container&>(*this) = Container(); }
  size_t bytes() const override {
    if constexpr (requires(const Container& c) { c.capacity(); })
      return this->capacity() * sizeof(typename Container::value_type);
    else
      return 0;  // a struct of buffers: released, not counted
  }
};

// Empties the calling thread's ThreadScratch buffers (their memory goes back).
void release_thread_scratch();
// What the calling thread's ThreadScratch buffers hold, in bytes (capacity).
size_t thread_scratch_bytes();

// Calls release_thread_scratch() when it goes out of scope: at the end of a
// public call that runs kernels on the caller's thread.
struct ThreadScratchRelease {
  ThreadScratchRelease() = default;
  ~ThreadScratchRelease() { release_thread_scratch(); }
  ThreadScratchRelease(const ThreadScratchRelease&) = delete;
  ThreadScratchRelease& operator=(const ThreadScratchRelease&) = delete;
};

}  // namespace izwi
