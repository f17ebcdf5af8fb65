// Errors in the OpenAI shape: {"error": {"message", "type", "param", "code"}}.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "izwi/error.h"

namespace izwi::server {

struct ApiError : std::runtime_error {
  ApiError(int status_, std::string code_, const std::string& message, std::string param_ = "")
      : std::runtime_error(message),
        status(status_),
        code(std::move(code_)),
        param(std::move(param_)) {}
  int status;
  std::string code;     // stable, machine-readable: "model_not_found", "queue_full", ...
  std::string param;    // the request field at fault, if any
  int retry_after = 0;  // seconds, for 429/503
};

// "invalid_request_error", "authentication_error", ... from the status.
std::string error_type(int status);
// The response body for an error.
std::string error_body(int status, const std::string& code, const std::string& message,
                       const std::string& param = "");
// A library error as an API error: bad input is 400, a missing thing 404, the rest 500.
ApiError from_library_error(const Error& e, const std::string& param = "");

// Characters as the length limits count them: Unicode code points of UTF-8
// text (a CJK character is one, as a client's own count would be).
size_t characters(const std::string& utf8);

// A 400 "input_too_long" when `what` has more than `limit` characters; `flag`
// is the izwi serve option that sets the limit.
void check_input_length(size_t chars, int limit, const std::string& what, const char* flag);

// Every JSON this server writes: compact, with bytes that are not UTF-8 (a
// client's path or voice id quoted back) as U+FFFD instead of an exception.
std::string json_text(const nlohmann::json& j);

}  // namespace izwi::server
