#include "text/bpe.h"

#include <queue>

namespace izwi::text {

void BpeMerges::add(int32_t left, int32_t right, int32_t merged, int32_t rank) {
  merges_.emplace(key(left, right),
                  Merge{rank, merged});  // the first (lowest) rank wins on duplicates
}

void BpeMerges::apply(std::vector<int32_t>& ids) const {
  const int n = static_cast<int>(ids.size());
  if (n < 2) return;
  // Doubly linked list over positions; a removed node has id -1.
  std::vector<int32_t> tok(ids);
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Cand {
    int32_t rank;
    int pos;              // left node
    int32_t left, right;  // ids when queued, to detect stale entries
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](int i) {
    const int j = i >= 0 ? next[i] : -1;
    if (i < 0 || j < 0) return;
    auto it = merges_.find(key(tok[i], tok[j]));
    if (it != merges_.end()) heap.push({it->second.rank, i, tok[i], tok[j]});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);

  while (!heap.empty()) {
    // One round: every occurrence of the lowest-rank pair, left to right. Pairs
    // created during the round are queued for later rounds (their ranks are
    // never lower in a trained merge list, and equal ranks would be the same pair).
    const int32_t rank = heap.top().rank;
    std::vector<Cand> round;
    while (!heap.empty() && heap.top().rank == rank) {
      round.push_back(heap.top());
      heap.pop();
    }
    std::vector<int> touched;
    for (const Cand& c : round) {
      const int i = c.pos;
      if (tok[i] != c.left) continue;
      const int j = next[i];
      if (j < 0 || tok[j] != c.right) continue;
      tok[i] = merges_.at(key(c.left, c.right)).merged;
      tok[j] = -1;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      touched.push_back(i);
    }
    for (int i : touched) {
      if (tok[i] < 0) continue;
      push(prev[i]);
      push(i);
    }
  }
  ids.clear();
  for (int i = 0; i >= 0; i = next[i]) ids.push_back(tok[i]);
}

}  // namespace izwi::text
