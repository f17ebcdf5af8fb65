#include "core/error.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <numeric>

namespace izwi {

ErrorKind write_error_kind(int err) {
  return err == ENOSPC || err == EDQUOT || err == EFBIG ? ErrorKind::kNoSpace : ErrorKind::kIo;
}

namespace {

char fold(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// Edits (insert, delete, change, swap two neighbours) between a and b, case
// folded: the optimal-string-alignment distance, in three rows.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  std::iota(prev.begin(), prev.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = fold(a[i - 1]) == fold(b[j - 1]);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
      if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) && fold(a[i - 2]) == fold(b[j - 1]))
        cur[j] = std::min(cur[j], before[j - 2] + 1);
    }
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string closest_name(std::string_view typed, const std::vector<std::string>& names) {
  // Up to one edit per three letters typed (1 to 3): "alcie" finds "alice",
  // while a short name is matched only across a one-letter slip.
  const size_t limit = std::clamp<size_t>(typed.size() / 3, 1, 3);
  const std::string* best = nullptr;
  size_t best_distance = limit + 1;
  for (const auto& name : names) {
    if (name == typed) continue;
    const size_t d = edit_distance(typed, name);
    if (d < best_distance) {
      best = &name;
      best_distance = d;
    }
  }
  return best ? *best : "";
}

std::string did_you_mean(std::string_view typed, const std::vector<std::string>& names) {
  const std::string best = closest_name(typed, names);
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

}  // namespace izwi
