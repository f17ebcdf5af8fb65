#include "server/api_error.h"

#include <nlohmann/json.hpp>

namespace izwi::server {

std::string error_type(int status) {
  switch (status) {
    case 401:
      return "authentication_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
      return "service_unavailable";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

size_t characters(const std::string& utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;  // every byte but continuations
  return n;
}

void check_input_length(size_t chars, int limit, const std::string& what, const char* flag) {
  if (chars > static_cast<size_t>(limit))
    throw ApiError(400, "input_too_long",
                   what + " has " + std::to_string(chars) + " characters; this server takes " +
                       std::to_string(limit) + " at most (izwi serve " + flag + ")",
                   "input");
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_body(int status, const std::string& code, const std::string& message,
                       const std::string& param) {
  nlohmann::json e = {{"message", message},
                      {"type", error_type(status)},
                      {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
                      {"code", code}};
  // Messages quote what the client sent (a voice id, a path), which need not
  // be UTF-8: such bytes become U+FFFD instead of an exception (every JSON
  // this server writes goes through json_text).
  return json_text(nlohmann::json{{"error", e}});
}

ApiError from_library_error(const Error& e, const std::string& param) {
  switch (e.kind()) {
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kInvalidFormat:
      return ApiError(400, "invalid_request", e.what(), param);
    case ErrorKind::kNotFound:
      return ApiError(404, "not_found", e.what(), param);
    case ErrorKind::kExists:
      return ApiError(409, "conflict", e.what(), param);
    case ErrorKind::kNoSpace:
      // The client did nothing wrong; the server's operator has to free space.
      return ApiError(507, "insufficient_storage",
                      std::string(e.what()) + " (the server is out of storage space)", param);
    default:
      return ApiError(500, "internal_error", e.what(), param);
  }
}

}  // namespace izwi::server
