// Byte-level BPE merges over vocabulary ids.
//
// The slow Qwen2/GPT-2 algorithm repeatedly takes the adjacent pair with the
// lowest merge rank and merges all its non-overlapping occurrences left to
// right. This implementation does exactly that in rounds over a min-heap of
// (rank, position) pairs on a linked list, so a long piece costs O(n log n)
// instead of O(n^2).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace izwi::text {

class BpeMerges {
 public:
  // Adds merge `rank` joining ids (left, right) into id `merged`.
  void add(int32_t left, int32_t right, int32_t merged, int32_t rank);
  size_t size() const { return merges_.size(); }

  // Merges `ids` (the byte symbols of one piece) in place.
  void apply(std::vector<int32_t>& ids) const;

 private:
  struct Merge {
    int32_t rank, merged;
  };
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  std::unordered_map<uint64_t, Merge> merges_;
};

}  // namespace izwi::text
