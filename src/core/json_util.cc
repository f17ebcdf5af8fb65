#include "core/json_util.h"

#include <fstream>

namespace izwi {

nlohmann::json load_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::kNotFound, "cannot open '", path, "'");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::kInvalidFormat, "'", path, "' is not valid JSON: ", e.what());
  }
}

int JsonView::positive_int(const std::string& key) const {
  const auto v = get<int64_t>(key);
  if (v <= 0 || v > (1 << 30))
    fail(ErrorKind::kInvalidFormat, where_, ": key '", key, "' must be a positive integer, got ",
         v);
  return static_cast<int>(v);
}

int JsonView::positive_int_or(const std::string& key, int fallback) const {
  return has(key) ? positive_int(key) : fallback;
}

}  // namespace izwi
