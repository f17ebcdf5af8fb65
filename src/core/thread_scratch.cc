#include "core/thread_scratch.h"

#include <algorithm>
#include <vector>

namespace izwi {

namespace {

// The calling thread's entries. Made during its first entry's construction,
// so destroyed after every entry at thread exit (reverse order of completion).
std::vector<detail::ScratchEntry*>& entries() {
  thread_local std::vector<detail::ScratchEntry*> list;
  return list;
}

}  // namespace

detail::ScratchEntry::ScratchEntry() {
  entries().push_back(this);
}

detail::ScratchEntry::~ScratchEntry() {
  auto& list = entries();
  list.erase(std::remove(list.begin(), list.end(), this), list.end());
}

void release_thread_scratch() {
  for (detail::ScratchEntry* e : entries()) e->release();
}

size_t thread_scratch_bytes() {
  size_t total = 0;
  for (const detail::ScratchEntry* e : entries()) total += e->bytes();
  return total;
}

}  // namespace izwi
