#include "core/json_util.h"

#include <fstream>
#include <set>

#include "izwi/json_keys.h"

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

namespace {

// Keeps the keys seen so far in each object being read; stops at the first
// repeat.
class RepeatedKeyFinder : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string repeated;

  bool start_object(std::size_t) override {
    open_.emplace_back();
    return true;
  }
  bool end_object() override {
    open_.pop_back();
    return true;
  }
  bool key(string_t& name) override {
    if (!open_.back().insert(name).second) repeated = name;
    return repeated.empty();  // false stops the parse
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  std::vector<std::set<std::string>> open_;
};

}  // namespace

std::string repeated_json_key(std::string_view json) {
  RepeatedKeyFinder finder;
  nlohmann::json::sax_parse(json.begin(), json.end(), &finder, nlohmann::json::input_format_t::json,
                            /*strict=*/true);
  return finder.repeated;
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
