#include "server/request.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "izwi/base64.h"
#include "izwi/error.h"
#include "izwi/json_keys.h"
#include "server/api_error.h"

namespace izwi::server {

namespace {

ApiError bad_field(const std::string& name, const std::string& what) {
  return ApiError(400, "invalid_value", "'" + name + "' " + what, name);
}

}  // namespace

RequestFields::RequestFields(const httplib::Request& req, std::vector<std::string> known)
    : req_(req), known_(std::move(known)) {
  const std::string type = req.get_header_value("Content-Type");
  if (req.is_multipart_form_data()) {
    multipart_ = true;
  } else if (type.rfind("application/json", 0) == 0 || (type.empty() && !req.body.empty())) {
    json_ = nlohmann::json::parse(req.body, nullptr, false);
    if (json_.is_discarded())
      throw ApiError(400, "invalid_json", "the request body is not valid JSON");
    if (!json_.is_object())
      throw ApiError(400, "invalid_json", "the request body must be a JSON object");
    reject_repeated_keys(req.body);
  } else {
    throw ApiError(400, "unsupported_content_type",
                   "send application/json or multipart/form-data (got '" + type + "')");
  }
  check_names();
}

void RequestFields::check_names() const {
  std::vector<std::string> sent;
  if (multipart_) {
    for (auto it = req_.files.begin(); it != req_.files.end();
         it = req_.files.upper_bound(it->first)) {
      if (const size_t n = req_.files.count(it->first); n > 1)
        throw ApiError(
            400, "duplicate_field",
            "'" + it->first + "' is sent " + std::to_string(n) + " times; send each field once",
            it->first);
      sent.push_back(it->first);
    }
  } else {
    sent = field_names(json_);
  }
  reject_misspelt_fields(sent, known_, "");
}

void reject_repeated_keys(const std::string& body) {
  if (const std::string key = repeated_json_key(body); !key.empty())
    throw ApiError(400, "duplicate_field",
                   "'" + key + "' appears twice in one JSON object; send each field once", key);
}

std::vector<std::string> field_names(const nlohmann::json& object) {
  std::vector<std::string> out;
  for (const auto& item : object.items()) out.push_back(item.key());
  return out;
}

void reject_misspelt_fields(const std::vector<std::string>& sent,
                            const std::vector<std::string>& known, const std::string& where) {
  for (const std::string& name : sent) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    const std::string meant = closest_name(name, known);
    if (!meant.empty())
      throw ApiError(400, "unknown_field",
                     "unknown field '" + name + "'" + (where.empty() ? "" : " in " + where) +
                         " (did you mean '" + meant + "'?)",
                     where.empty() ? name : where);
  }
}

bool RequestFields::has(const std::string& name) const {
  // Every field read is declared, so that a misspelling of it is caught.
  if (std::find(known_.begin(), known_.end(), name) == known_.end())
    throw Error(ErrorKind::kInternal, "the request field '" + name + "' is read but not declared");
  if (multipart_) return req_.has_file(name);
  return json_.contains(name) && !json_[name].is_null();
}

std::optional<std::string> RequestFields::text(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  if (multipart_) return req_.get_file_value(name).content;
  const auto& v = json_[name];
  if (!v.is_string()) throw bad_field(name, "must be a string");
  return v.get<std::string>();
}

std::optional<double> RequestFields::number(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  double d = 0;
  if (multipart_) {
    const std::string s = req_.get_file_value(name).content;
    size_t used = 0;
    try {
      d = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != s.size()) throw bad_field(name, "must be a number, got '" + s + "'");
  } else {
    const auto& v = json_[name];
    if (!v.is_number()) throw bad_field(name, "must be a number");
    d = v.get<double>();
  }
  if (!std::isfinite(d)) throw bad_field(name, "must be a finite number");
  return d;
}

std::optional<int64_t> RequestFields::integer(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  if (!multipart_ && json_[name].is_number_integer()) return json_[name].get<int64_t>();
  if (!multipart_ && json_[name].is_number_unsigned())
    return static_cast<int64_t>(json_[name].get<uint64_t>());
  const std::optional<double> d = number(name);
  if (*d != std::floor(*d) || std::fabs(*d) > 9.0e15) throw bad_field(name, "must be an integer");
  return static_cast<int64_t>(*d);
}

std::optional<uint64_t> RequestFields::unsigned_integer(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  const auto bad = [&](const std::string& got) {
    return bad_field(name, "must be a whole number from 0 to " +
                               std::to_string(std::numeric_limits<uint64_t>::max()) + ", got " +
                               got);
  };
  if (multipart_) {
    const std::string s = req_.get_file_value(name).content;
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
      throw bad("'" + s + "'");
    errno = 0;
    const unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
    if (errno == ERANGE) throw bad("'" + s + "'");
    return v;
  }
  const auto& v = json_[name];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  // A whole float (1e3, 5.0) is taken while it is exact (below 2^53).
  if (v.is_number_float() && v.get<double>() >= 0 && v.get<double>() < 9007199254740992.0 &&
      v.get<double>() == std::floor(v.get<double>()))
    return static_cast<uint64_t>(v.get<double>());
  throw bad(v.dump());
}

std::optional<bool> RequestFields::boolean(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  if (!multipart_) {
    if (!json_[name].is_boolean()) throw bad_field(name, "must be true or false");
    return json_[name].get<bool>();
  }
  const std::string s = req_.get_file_value(name).content;
  if (s == "true" || s == "1" || s == "on" || s == "yes") return true;
  if (s == "false" || s == "0" || s == "off" || s == "no" || s.empty()) return false;
  throw bad_field(name, "must be true or false, got '" + s + "'");
}

std::optional<std::string> RequestFields::voice(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  if (multipart_) return req_.get_file_value(name).content;
  return voice_name(json_[name], name, name);
}

std::string voice_name(const nlohmann::json& v, const std::string& field,
                       const std::string& param) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.size() == 1 && v.contains("id") && v["id"].is_string())
    return v["id"].get<std::string>();
  throw ApiError(400, "invalid_value",
                 "'" + field +
                     "' must be a voice name, or {\"id\": NAME} as the OpenAI SDKs send "
                     "for a custom voice",
                 param);
}

std::optional<std::string> RequestFields::bytes(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  if (multipart_) return req_.get_file_value(name).content;
  return base64_decode(*text(name), name);
}

std::string base64_decode(const std::string& text, const std::string& param) {
  std::string_view s = text;
  // A data: URL (what a browser's FileReader gives) carries its payload after the comma.
  if (s.rfind("data:", 0) == 0) {
    const size_t comma = s.find(',');
    if (comma == std::string::npos || s.substr(0, comma).find(";base64") == std::string::npos)
      throw ApiError(400, "invalid_base64", "'" + param + "' is a data: URL without ;base64,",
                     param);
    s = s.substr(comma + 1);
  }
  try {
    std::string out = izwi::base64_decode(s, "'" + param + "'");
    if (out.empty()) throw Error(ErrorKind::kInvalidFormat, "'" + param + "' is empty");
    return out;
  } catch (const Error& e) {
    throw ApiError(400, "invalid_base64", e.what(), param);
  }
}

}  // namespace izwi::server
