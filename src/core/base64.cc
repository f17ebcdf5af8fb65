// Base64 through OpenSSL's block coder (which checks the alphabet), with the
// padding and whitespace rules it leaves to the caller.
#include "izwi/base64.h"

#include <openssl/evp.h>

#include <limits>

#include "core/error.h"

namespace izwi {

std::string base64_encode(std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) / 4 * 3)
    fail(ErrorKind::kInvalidArgument, "cannot base64-encode ", bytes.size(), " bytes at once");
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text, const std::string& what) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text)
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') clean += c;
  if (clean.size() % 4 != 0 || clean.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    fail(ErrorKind::kInvalidFormat, what, " is not valid base64 (length ", clean.size(),
         " is not a multiple of 4)");
  // '=' only as the last one or two characters.
  const size_t first_pad = clean.find('=');
  const size_t pad = first_pad == std::string::npos ? 0 : clean.size() - first_pad;
  if (pad > 2 || (pad > 0 && clean.find_first_not_of('=', first_pad) != std::string::npos))
    fail(ErrorKind::kInvalidFormat, what, " is not valid base64 (misplaced '=')");
  std::string out(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) fail(ErrorKind::kInvalidFormat, what, " is not valid base64");
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace izwi
