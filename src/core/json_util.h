// Typed access to JSON config files with errors that name the file and key.
#pragma once

#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace izwi {

nlohmann::json load_json_file(const std::string& path);

namespace detail {
template <typename T>
struct is_vector : std::false_type {};
template <typename U, typename A>
struct is_vector<std::vector<U, A>> : std::true_type {};
template <typename T>
struct is_string_map : std::false_type {};
template <typename U, typename C, typename A>
struct is_string_map<std::map<std::string, U, C, A>> : std::true_type {};

// Whether every number that get<T>() would turn into an integer is one that
// fits: nlohmann converts 1e40 or 2.5 to int with a plain cast, which is
// undefined behaviour for values out of range (found by fuzzing config.json).
template <typename T>
bool integers_fit(const nlohmann::json& j) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (j.is_number_unsigned())
      return j.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    if (j.is_number_integer())
      return j.get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
             (j.get<int64_t>() < 0 || static_cast<uint64_t>(j.get<int64_t>()) <=
                                          static_cast<uint64_t>(std::numeric_limits<T>::max()));
    return !j.is_number_float();  // other types: get<T>() throws, as it should
  } else if constexpr (is_vector<T>::value) {
    if (!j.is_array()) return true;
    for (const auto& e : j)
      if (!integers_fit<typename T::value_type>(e)) return false;
    return true;
  } else if constexpr (is_string_map<T>::value) {
    if (!j.is_object()) return true;
    for (const auto& [k, v] : j.items())
      if (!integers_fit<typename T::mapped_type>(v)) return false;
    return true;
  } else {
    return true;
  }
}
}  // namespace detail

// j.get<T>(), except that integers must be whole numbers in T's range: throws
// nlohmann::json::type_error otherwise, as get<T>() does for a wrong type.
template <typename T>
T json_get(const nlohmann::json& j) {
  if (!detail::integers_fit<T>(j))
    throw nlohmann::json::type_error::create(302, "number out of range or not whole", &j);
  return j.get<T>();
}

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
      return json_get<T>(j_.at(key));
    } catch (const nlohmann::json::exception&) {
      fail(ErrorKind::kInvalidFormat, where_, ": key '", key, "' has an unexpected type (",
           j_.at(key).type_name(), ": ", j_.at(key).dump(), ")");
    }
  }

  const nlohmann::json& j_;
  std::string where_;
};

}  // namespace izwi
