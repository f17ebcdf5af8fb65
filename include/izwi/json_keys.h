// izwi — a check on JSON that people write (request bodies, batch lines).
#pragma once

#include <string>
#include <string_view>

namespace izwi {

// The first key that one JSON object in `json` repeats, or "" if none does
// (or `json` is not valid JSON: the parse that reads it reports that).
// JSON parsers keep one of the two values without a word, so
// {"text": "a", "text": "b"} would speak "b" where the sender may have meant "a".
std::string repeated_json_key(std::string_view json);

}  // namespace izwi
