// izwi — errors raised by the library.
//
// Every failure the user can cause (a missing file, a malformed checkpoint, bad
// codes, wrong audio) is reported as an izwi::Error whose message says what was
// expected and what arrived. The library never calls exit().
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace izwi {

enum class ErrorKind {
  kInvalidArgument,  // bad input from the caller: codes out of range, empty audio, ...
  kNotFound,         // a file, tensor or config key that does not exist
  kInvalidFormat,    // a file that exists but is malformed or truncated
  kIo,               // the operating system refused a read or write
  kNoSpace,          // a write ran out of room (disk full, quota, file-size limit)
  kExists,           // a name already taken (a saved voice); the front end says how to go on
  kInternal,         // a bug in izwi
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// For "not found" messages: the one of `names` closest to what was typed,
// when it is close (a case difference, or a few letters added, dropped,
// changed or swapped); "" otherwise.
std::string closest_name(std::string_view typed, const std::vector<std::string>& names);
// " (did you mean 'alice'?)" with closest_name's answer, or "".
std::string did_you_mean(std::string_view typed, const std::vector<std::string>& names);

}  // namespace izwi
