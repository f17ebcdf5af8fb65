// izwi — base64 (RFC 4648, standard alphabet), as voice files and the HTTP API carry bytes.
#pragma once

#include <string>
#include <string_view>

namespace izwi {

std::string base64_encode(std::string_view bytes);
// Line breaks and spaces are ignored; anything else that is not base64 (bad
// characters, a length that is not a multiple of 4, misplaced '=') throws
// izwi::Error (kInvalidFormat) naming `what`.
std::string base64_decode(std::string_view text, const std::string& what = "data");

}  // namespace izwi
