// Storage on 64-byte boundaries (cache lines) for buffers the SIMD kernels
// read 64 bytes at a time: a 64-byte load that straddles two lines costs two,
// and malloc aligns to 16 (large blocks, which it maps, included).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace izwi {

template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64)));
  }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const {
    return true;
  }
};

template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace izwi
