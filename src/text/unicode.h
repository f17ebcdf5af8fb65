// UTF-8 helpers for the text tokenizer: validation, NFC, the GPT-2 byte-level
// alphabet, and lenient decoding.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace izwi::text {

// Throws izwi::Error naming the byte offset of the first invalid UTF-8 sequence.
void check_utf8(std::string_view s);

// Unicode canonical composition (NFC), via utf8proc. Input must be valid UTF-8.
std::string nfc(std::string_view s);

// The code points of valid UTF-8 (throws as check_utf8 for invalid input).
std::u32string code_points(std::string_view s);
// A code point's general category, coarsely: a letter (L*), a combining mark
// (M*), a decimal digit (Nd) or anything else.
enum class CharClass { kLetter, kMark, kDigit, kOther };
CharClass char_class(uint32_t code_point);

// The byte-level alphabet: each byte 0..255 as one printable code point
// (printable Latin-1 bytes map to themselves, the other 68 to U+0100..U+0143),
// UTF-8 encoded. `byte_of_symbol` is the inverse (-1 for other code points).
const std::array<std::string, 256>& byte_symbols();
int byte_of_symbol(uint32_t code_point);

// Decodes UTF-8 like Python's bytes.decode(errors="replace"): each maximal
// invalid subpart becomes one U+FFFD.
std::string decode_utf8_lenient(std::string_view bytes);

// Appends the UTF-8 encoding of a code point.
void append_utf8(std::string& out, uint32_t cp);

}  // namespace izwi::text
