// Typed access to JSON config files with errors that name the file and key.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"

namespace izwi {

nlohmann::json load_json_file(const std::string& path);

// A view of one JSON object; `where` is "file.json" or "file.json: decoder_config".
class JsonView {
 public:
  JsonView(const nlohmann::json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) fail(ErrorKind::kInvalidFormat, where_, ": expected a JSON object");
  }

  bool has(const std::string& key) const { return j_.contains(key) && !j_.at(key).is_null(); }

  JsonView child(const std::string& key) const {
    if (!has(key)) fail(ErrorKind::kInvalidFormat, where_, ": missing key '", key, "'");
    return JsonView(j_.at(key), where_ + ": " + key);
  }

  template <typename T>
  T get(const std::string& key) const {
    if (!has(key)) fail(ErrorKind::kInvalidFormat, where_, ": missing key '", key, "'");
    return convert<T>(key);
  }

  template <typename T>
  T get_or(const std::string& key, T fallback) const {
    return has(key) ? convert<T>(key) : fallback;
  }

  // The first of several spellings that is present (released and tiny configs
  // spell some keys differently, e.g. "frame_rate" / "_frame_rate").
  template <typename T>
  T get_any(std::initializer_list<const char*> keys) const {
    for (const char* k : keys)
      if (has(k)) return convert<T>(k);
    fail(ErrorKind::kInvalidFormat, where_, ": missing key '", *keys.begin(), "'");
  }

  // A positive integer (sizes, counts): rejects 0 and negatives.
  int positive_int(const std::string& key) const;
  int positive_int_or(const std::string& key, int fallback) const;

  const std::string& where() const { return where_; }

 private:
  template <typename T>
  T convert(const std::string& key) const {
    try {
      return j_.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
      fail(ErrorKind::kInvalidFormat, where_, ": key '", key, "' has an unexpected type (",
           j_.at(key).type_name(), ": ", j_.at(key).dump(), ")");
    }
  }

  const nlohmann::json& j_;
  std::string where_;
};

}  // namespace izwi
