// Vectors whose new elements are left uninitialized (default-initialized)
// instead of zeroed, for large buffers that the next kernel writes in full:
// zeroing one first is a pass over memory that is paid for nothing (the codec
// decoder's last block makes 8.8 MB signals per 12 frames, and zeroing them
// cost about as much as the convolutions that fill them).
#pragma once

#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace izwi {

template <class T>
struct NoZeroAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = NoZeroAllocator<U>;
  };
  NoZeroAllocator() = default;
  template <class U>
  NoZeroAllocator(const NoZeroAllocator<U>&) {}
  // vector(n) and resize(n) construct with no arguments: default-initialize.
  template <class U>
  void construct(U* p) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

template <class T>
using NoZeroVector = std::vector<T, NoZeroAllocator<T>>;

}  // namespace izwi
