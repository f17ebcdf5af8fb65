#include <cstddef>

#include "izwi/izwi.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace izwi {

bool configure_allocator() {
#if defined(__GLIBC__)
  // glibc serves blocks above the mmap threshold (128 KB at start, raised
  // only to the largest block freed so far) from fresh mappings, and returns
  // the heap's top once more than twice that lies free. The codec's signals
  // (up to ~9 MB per 12-frame block, a few alive at once) then come back as
  // new pages every block, each faulted in and zeroed by the kernel. The
  // largest threshold glibc accepts (32 MB on 64-bit) keeps them on the heap,
  // and trimming only past 128 MB keeps the freed ones there for the next block.
  //
  // Threads other than the first get arenas of their own, made of 64 MB heaps,
  // and a heap that empties is unmapped whatever the trim threshold: the pool's
  // threads decoding two streams' blocks at once (four q4 streams) took ~500
  // page faults a step that way. One arena for all keeps their blocks on the
  // one heap; its lock is taken a few hundred times a step, not per sample.
  constexpr int kMmapThreshold = 32 << 20;
  constexpr int kTrimThreshold = 128 << 20;
  return mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 &&
         mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1 && mallopt(M_ARENA_MAX, 1) == 1;
#else
  return false;
#endif
}

}  // namespace izwi
