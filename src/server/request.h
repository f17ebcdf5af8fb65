// Reading request fields the same way from multipart forms and JSON bodies,
// with errors that name the field.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace izwi::server {

class RequestFields {
 public:
  // Parses a JSON body or takes the parts of a multipart form; anything else
  // is a 415-style 400 naming the two accepted content types. `known` are the
  // fields the endpoint reads (and all it may ask for). A form part sent twice
  // is a 400, as either could be meant; so is an unknown field that looks like
  // a misspelt known one ('refrence_audio'), which would otherwise be dropped
  // without a word. Other unknown fields are ignored: clients written for
  // other OpenAI-compatible servers send extras of their own.
  RequestFields(const httplib::Request& req, std::vector<std::string> known);

  bool multipart() const { return multipart_; }
  bool has(const std::string& name) const;
  std::optional<std::string> text(const std::string& name) const;
  std::optional<double> number(const std::string& name) const;
  std::optional<int64_t> integer(const std::string& name) const;
  // A whole number from 0 to 2^64 - 1 (a seed): all of them, where integer()
  // stops at +-9e15, and a negative one refused rather than wrapped.
  std::optional<uint64_t> unsigned_integer(const std::string& name) const;
  std::optional<bool> boolean(const std::string& name) const;
  // A voice: its name, or (JSON) OpenAI's custom-voice reference {"id": NAME}.
  std::optional<std::string> voice(const std::string& name) const;
  // A file part (multipart) or base64 text (JSON, data: URLs allowed).
  std::optional<std::string> bytes(const std::string& name) const;

 private:
  void check_names() const;

  const httplib::Request& req_;
  std::vector<std::string> known_;
  bool multipart_ = false;
  nlohmann::json json_;
};

// Throws a 400 ("duplicate_field") naming a key that one object of the JSON
// `body` repeats: either value could be the one meant.
void reject_repeated_keys(const std::string& body);

// The keys of a JSON object, in its order.
std::vector<std::string> field_names(const nlohmann::json& object);

// Throws a 400 ("unknown_field") for the first of `sent` that is not in `known`
// but looks like a misspelling of one of them; `where` names the object in a
// nested request ("inputs[2]"), empty for the body itself.
void reject_misspelt_fields(const std::vector<std::string>& sent,
                            const std::vector<std::string>& known, const std::string& where);

// A JSON voice field's name: a string, or OpenAI's custom-voice reference
// {"id": NAME} (what the OpenAI SDKs send for a voice that is not built in).
std::string voice_name(const nlohmann::json& v, const std::string& field, const std::string& param);

// base64 or a data: URL's payload; throws ApiError 400 (code "invalid_base64",
// param `param`) on bad or empty input.
std::string base64_decode(const std::string& text, const std::string& param);

}  // namespace izwi::server
